"""The [mail] section: the intake's listener, the desk's address, the relay, triage rules.

`[[mail.rules]]` are checked here for shape only and kept as dicts; the mail intake compiles
them (ronda.intake.triage.compile_rules).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ronda.config.errors import KeyPath, describe
from ronda.config.model import MailSettings
from ronda.config.reader import BAD, Reader
from ronda.model import CATEGORIES, SCOPES, Priority

MAIL_KINDS: dict[str, str] = {
    "listen": "listen",
    "desk_address": "email",
    "relay": "relay",
    "max_message_bytes": "count",
}


def read_mail(r: Reader, raw: object) -> MailSettings:
    """[mail]: the scalar settings over the defaults, then the rules."""
    table = r.table(raw, ("mail",), (*MAIL_KINDS, "rules"))
    if not table:
        return MailSettings()
    return replace(
        MailSettings(),
        **r.settings(table, ("mail",), MAIL_KINDS),
        rules=_mail_rules(r, table.get("rules", [])),
    )


def _mail_rules(r: Reader, raw: object) -> tuple[dict, ...]:
    """`[[mail.rules]]`: triage rules the agency tunes (match words -> category,
    priority, scope). Kept as checked dicts; the mail intake compiles them."""
    out: list[dict] = []
    for i, entry in r.array_of_tables(raw, ("mail", "rules")):
        path: KeyPath = ("mail", "rules", i)
        r.table(entry, path, ("name", "match", "category", "priority", "scope"))
        rule: dict[str, Any] = {}
        match = entry.get("match")
        if (
            not isinstance(match, list)
            or not match
            or not all(isinstance(m, str) and m.strip() for m in match)
        ):
            r.add(
                path + ("match",),
                f"{describe(match)} is not a list of words "
                '(expected e.g. ["migración", "re:migra(r|tion)"])',
            )
        else:
            rule["match"] = [m.strip() for m in match]
        if "name" in entry and (name := r.string(entry["name"], path + ("name",))):
            rule["name"] = name
        for key, options in (
            ("category", CATEGORIES),
            ("priority", tuple(p.value for p in Priority)),
            ("scope", SCOPES),
        ):
            if key in entry:
                value = r.choice(entry[key], path + (key,), options)
                if value is not BAD:
                    rule[key] = value
        if not any(k in entry for k in ("category", "priority", "scope")):
            r.add(path, "sets none of category, priority, scope (expected at least one)")
        out.append(rule)
    return tuple(out)
