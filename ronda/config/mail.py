"""The [mail] section: the intake's listener, the desk's address, the relay, the rate limits,
the trusted authserv-id, triage rules.

`[[mail.rules]]` are checked here for shape only and kept as dicts; the mail intake compiles
them (ronda.intake.triage.compile_rules).
"""

from __future__ import annotations

import re
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
    "limit_window": "seconds",
    "new_cases_per_sender": "count0",
    "new_cases_per_domain": "count0",
    "new_cases_per_desk": "count0",
    "acks_per_sender": "count0",
    "acks_per_domain": "count0",
    "acks_per_desk": "count0",
    "authserv_id": "authserv_id",  # read here: a token of RFC 8601, not a generic kind
}

# RFC 8601's authserv-id is a domain-like token: no spaces, no `;` or quotes.
_AUTHSERV_ID = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.\-_]*[A-Za-z0-9])?")


def read_mail(r: Reader, raw: object) -> MailSettings:
    """[mail]: the scalar settings over the defaults, then the rules."""
    table = r.table(raw, ("mail",), (*MAIL_KINDS, "rules"))
    if not table:
        return MailSettings()
    generic = {key: kind for key, kind in MAIL_KINDS.items() if key != "authserv_id"}
    values = r.settings(table, ("mail",), generic)
    if "authserv_id" in table:
        authserv_id = _authserv_id(r, table["authserv_id"])
        if authserv_id is not BAD:
            values["authserv_id"] = authserv_id
    return replace(MailSettings(), **values, rules=_mail_rules(r, table.get("rules", [])))


def _authserv_id(r: Reader, value: object) -> str | None:
    """`authserv_id`: the receiving MTA's name in its Authentication-Results ("" : none)."""
    path: KeyPath = ("mail", "authserv_id")
    if value == "":
        return None
    text = r.string(value, path)
    if text is not BAD and not _AUTHSERV_ID.fullmatch(text):
        r.add(path, f"{describe(value)} is not an authserv-id (expected e.g. mx.agencia.example)")
        return BAD
    return text.lower() if text is not BAD else BAD


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
