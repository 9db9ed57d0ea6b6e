"""Which case a message names: its subject's case tag (`[R-2481]`) or the messages it answers
(In-Reply-To, References) - the customer's earlier messages or the desk's own
acknowledgements and replies.

The subject's tag wins: a customer who writes the case number means that case. A tag of a
case that does not exist is ignored, and the headers are tried next. Naming a case is not
yet a right to add to it: `ronda.intake.trust.may_add_to` decides that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ronda.intake.parse import ParsedMail
from ronda.store.mail import MailLog
from ronda.tickets import Desk, TicketNotFound, ticket_id_from_case

# `[R-2481]`, `[r2481]`, `[ R-2481 ]`; the desk's own tags look like the first.
_CASE_TAG = re.compile(r"\[\s*(R-?\d{4,9})\s*\]", re.IGNORECASE)
_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|rv|res|aw|tr|sv)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def case_in_subject(subject: str) -> str | None:
    """The case number a subject carries (`R-2481`), normalised, or None."""
    found = _CASE_TAG.search(subject or "")
    if not found:
        return None
    digits = found.group(1).upper().removeprefix("R").removeprefix("-")
    return f"R-{digits}"


def bare_subject(subject: str) -> str:
    """The subject without case tags and Re:/Fwd: prefixes."""
    text = _CASE_TAG.sub("", subject or "")
    return " ".join(_REPLY_PREFIX.sub("", text).split())


def tagged_subject(case_number: str, subject: str, *, reply: bool = True) -> str:
    """`[R-2481] Re: <subject>` for the desk's messages about a case."""
    base = bare_subject(subject) or "(no subject)"
    return f"[{case_number}] " + (f"Re: {base}" if reply else base)


@dataclass(frozen=True, slots=True)
class CaseMatch:
    """The case a message names, and how: by the tag in its subject or by its thread."""

    ticket_id: int
    via: Literal["tag", "thread"]


def find_case(desk: Desk, log: MailLog, mail: ParsedMail) -> CaseMatch | None:
    """The case `mail` names, or None for a new case."""
    case = case_in_subject(mail.subject)
    if case is not None and ticket_id_from_case(case) is not None:
        try:
            return CaseMatch(desk.get(case).id, "tag")
        except TicketNotFound:
            pass
    ids = mail.thread_ids()
    found = log.ticket_for(ids) if ids else None
    return CaseMatch(found, "thread") if found is not None else None


__all__ = ["CaseMatch", "bare_subject", "case_in_subject", "find_case", "tagged_subject"]
