"""The [mail] section: the intake's listener, the desk's address, the relay, the rate limits,
the trusted authserv-id, triage rules.

`[[mail.rules]]` are checked here for shape only and kept as dicts; the mail intake compiles
them (ronda.intake.triage.compile_rules).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
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
    # The relay's security and credentials, read here too (choices, names and paths).
    "smtp_tls": "smtp_tls",
    "smtp_user": "smtp_user",
    "smtp_password_env": "smtp_password_env",
    "smtp_password_file": "smtp_password_file",
    "smtp_ca": "smtp_ca",
}
_SPECIAL = frozenset(
    {
        "authserv_id",
        "smtp_tls",
        "smtp_user",
        "smtp_password_env",
        "smtp_password_file",
        "smtp_ca",
    }
)
RELAY_TLS = ("auto", "starttls", "tls", "none")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# RFC 8601's authserv-id is a domain-like token: no spaces, no `;` or quotes.
_AUTHSERV_ID = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.\-_]*[A-Za-z0-9])?")


def read_mail(r: Reader, raw: object, base_dir: Path | None = None) -> MailSettings:
    """[mail]: the scalar settings over the defaults, the relay's credentials, then the
    rules. Paths are relative to the config's folder (`base_dir`)."""
    table = r.table(raw, ("mail",), (*MAIL_KINDS, "rules"))
    if not table:
        return MailSettings()
    generic = {key: kind for key, kind in MAIL_KINDS.items() if key not in _SPECIAL}
    values = r.settings(table, ("mail",), generic)
    if "authserv_id" in table:
        authserv_id = _authserv_id(r, table["authserv_id"])
        if authserv_id is not BAD:
            values["authserv_id"] = authserv_id
    values.update(_relay_access(r, table, base_dir or Path.cwd(), values.get("relay")))
    return replace(MailSettings(), **values, rules=_mail_rules(r, table.get("rules", [])))


def _relay_access(r: Reader, table: dict, base_dir: Path, relay: str | None) -> dict[str, Any]:
    """How the desk talks to its relay: TLS, and the user and where its password is (never
    the password itself: it stays in the environment or a file of its own)."""
    out: dict[str, Any] = {}
    if "smtp_tls" in table:
        tls = r.choice(table["smtp_tls"], ("mail", "smtp_tls"), RELAY_TLS)
        if tls is not BAD:
            out["smtp_tls"] = tls
    if "smtp_user" in table:
        user = r.string(table["smtp_user"], ("mail", "smtp_user"))
        if user is not BAD:
            out["smtp_user"] = user
    if "smtp_password_env" in table:
        path: KeyPath = ("mail", "smtp_password_env")
        name = r.string(table["smtp_password_env"], path)
        if name is not BAD and not ENV_NAME.fullmatch(name):
            r.add(
                path,
                f"{describe(name)} is not an environment variable's name (expected e.g. "
                "RONDA_SMTP_PASSWORD)",
            )
        elif name is not BAD:
            out["smtp_password_env"] = name
    for key in ("smtp_password_file", "smtp_ca"):
        if key in table:
            found = _existing_file(r, table[key], ("mail", key), base_dir)
            if found is not BAD:
                out[key] = found
    if "smtp_ca" in out:
        _check_ca(r, out["smtp_ca"], ("mail", "smtp_ca"))
    has_password = "smtp_password_env" in table or "smtp_password_file" in table
    if "smtp_password_env" in table and "smtp_password_file" in table:
        r.add(
            ("mail", "smtp_password_file"),
            "give smtp_password_env or smtp_password_file, not both",
        )
    if "smtp_user" in table and not has_password:
        r.add(
            ("mail", "smtp_user"),
            "has no password (expected smtp_password_env or smtp_password_file next to it)",
        )
    if has_password and "smtp_user" not in table:
        key = "smtp_password_env" if "smtp_password_env" in table else "smtp_password_file"
        r.add(("mail", key), "is a password without a user (expected smtp_user next to it)")
    if (
        out.get("smtp_tls") == "none"
        and "smtp_user" in out
        and relay
        and not _loopback_relay(relay)
    ):
        r.add(
            ("mail", "smtp_tls"),
            "'none' would send the relay's password in clear over the "
            "network (expected auto, starttls or tls; none only for a relay on this machine)",
        )
    return out


def _existing_file(r: Reader, value: object, path: KeyPath, base_dir: Path) -> Any:
    found = r.path(value, path, base_dir)
    if found is BAD:
        return BAD
    if not found.is_file():
        r.add(path, f"{found} is not a file (expected a path relative to the config's folder)")
        return BAD
    return found


def _check_ca(r: Reader, ca: Path, path: KeyPath) -> None:
    import ssl  # lazily, as [tls] does: only a file with smtp_ca pays for it

    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=str(ca))
    except (ssl.SSLError, OSError, ValueError) as exc:
        r.add(path, f"{ca} is not a usable CA bundle ({exc}) (expected PEM certificates)")


def _loopback_relay(relay: str) -> bool:
    host = relay.rpartition(":")[0].strip("[]").lower()
    return host in ("localhost", "127.0.0.1", "::1") or host.startswith("127.")


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
