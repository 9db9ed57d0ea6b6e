"""Saved replies (macros): texts an agent picks to start a reply, with a few fields filled
from the case. Pure: the config reader checks them, the TUI fills them.

Fields are written `{case}`, `{customer}`, `{site}`, `{limit}` (the answer's limit, in the
desk's time zone); `{{` and `}}` are literal braces. Any other field is refused when the
config is loaded, with the file and line where it was written.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from ronda.config.model import SavedReply
from ronda.model import Ticket
from ronda.when import format_when

FIELDS: tuple[str, ...] = ("case", "customer", "site", "limit")
_FORMATTER = string.Formatter()


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """A field the text may not use, or braces that do not close: on `line` (1-based)."""

    line: int
    message: str


def field_problems(text: str) -> list[FieldProblem]:
    """Every unknown field and unbalanced brace in `text`, by line."""
    problems: list[FieldProblem] = []
    expected = ", ".join("{" + f + "}" for f in FIELDS)
    for number, line in enumerate(text.splitlines() or [""], start=1):
        try:
            parts = list(_FORMATTER.parse(line))
        except ValueError as exc:
            problems.append(
                FieldProblem(number, f"{exc} (write {{{{ and }}}} for a literal brace)")
            )
            continue
        for _, name, spec, conversion in parts:
            if name is None:
                continue
            if name not in FIELDS or spec or conversion:
                shown = "{" + name + (f"!{conversion}" if conversion else "")
                shown += (f":{spec}" if spec else "") + "}"
                problems.append(
                    FieldProblem(number, f"{shown} is not a field (expected {expected})")
                )
    return problems


def reply_limit(ticket: Ticket) -> datetime | None:
    """The answer the customer waits for next: the next reply's limit when one is due, else
    the first response's while it is owed."""
    if ticket.reply_limit_at is not None:
        return ticket.reply_limit_at
    if ticket.first_response_at is None:
        return ticket.sla_limit_at
    return None


def field_values(ticket: Ticket) -> dict[str, str]:
    """What the fields say for `ticket` (`-` where the case has none)."""
    return {
        "case": ticket.case_number,
        "customer": ticket.customer or "-",
        "site": ticket.site or "-",
        "limit": format_when(reply_limit(ticket)),
    }


def fill(text: str, values: Mapping[str, str]) -> str:
    """`text` with its fields replaced; a text that slipped past the load check is left
    as written rather than failing in the agent's hands."""
    try:
        return text.format_map(dict(values))
    except (KeyError, ValueError, IndexError, AttributeError):
        return text


def offered(replies: tuple[SavedReply, ...], lang: str) -> list[SavedReply]:
    """The saved replies for an agent working in `lang`: that language's first, then those
    for any language, then the others (a customer may write in the other language)."""

    def rank(reply: SavedReply) -> int:
        if reply.lang == lang:
            return 0
        return 1 if reply.lang is None else 2

    return sorted(replies, key=lambda r: (rank(r), r.name.lower()))


__all__ = [
    "FIELDS",
    "FieldProblem",
    "SavedReply",
    "field_problems",
    "field_values",
    "fill",
    "offered",
    "reply_limit",
]
