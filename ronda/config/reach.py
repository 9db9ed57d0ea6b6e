"""The sections about reaching people: [[agents]], [oncall], [notices] and [outbox].

Agents' notification targets are Apprise URLs, checked here for their scheme against the
services Apprise knows (`${NAME}` in a URL is an environment variable, read only when a
notification is sent, so a token never has to be written in the file). Messages about a
URL name its scheme only: the rest may be a secret.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from datetime import datetime, tzinfo
from functools import cache
from pathlib import Path
from typing import Any

from ronda.config.errors import KeyPath, describe
from ronda.config.model import Agent, NoticeSettings, OncallSettings, OutboxSettings
from ronda.config.reader import BAD, Reader
from ronda.config.sites import LANGS
from ronda.model import Priority

AGENT_KEYS = ("name", "email", "lang", "notify", "notify_by_email", "signature")
SIGNATURE_MAX = 1000  # characters: a few lines under a reply
ONCALL_KINDS: dict[str, str] = {
    "rate_limit": "count0",
    "rate_window": "seconds",
    "catch_up": "seconds",
}
ONCALL_ROTAS = ("business_hours", "after_hours", "escalation")
ONCALL_RULES = ("opened", "warning", "breached")
ONCALL_KEYS = (*ONCALL_ROTAS, "rotation_start", *ONCALL_RULES, *ONCALL_KINDS)
NOTICE_KINDS: dict[str, str] = {"catch_up": "seconds"}
NOTICE_KEYS = ("priorities", "delay", "recovery_after", "templates", *NOTICE_KINDS)
OUTBOX_KINDS: dict[str, str] = {
    "retry_first": "seconds",
    "retry_max": "seconds",
    "give_up_after": "seconds",
}
# `${NAME}`: an environment variable's value, put in when a notification is sent.
SECRET = re.compile(r"\$\{([^}]*)\}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


@cache
def apprise_schemes() -> frozenset[str]:
    """Every URL scheme the installed Apprise can notify through (lower case)."""
    from apprise.manager_plugins import NotificationManager  # lazily: ~0.1 s to import

    return frozenset(s.lower() for s in NotificationManager().schemas())


def url_scheme(url: str) -> str | None:
    """The scheme of an Apprise URL (`ntfy`), or None when it has none."""
    match = _SCHEME.match(url.strip())
    return match.group(1).lower() if match else None


def read_agents(r: Reader, raw: object) -> tuple[Agent, ...]:
    """[[agents]]: unique names, an optional e-mail, language and signature, Apprise
    URLs."""
    out: list[Agent] = []
    names: dict[str, int] = {}
    for i, entry in r.array_of_tables(raw, ("agents",)):
        path: KeyPath = ("agents", i)
        r.table(entry, path, AGENT_KEYS)
        name = r.required_name(entry, path, names, "agents")
        values: dict[str, Any] = {"name": name}
        if "email" in entry:
            email = r.kind("email", entry["email"], path + ("email",))
            if email is not BAD:
                values["email"] = email.lower()
        if "lang" in entry:
            lang = r.choice(entry["lang"], path + ("lang",), LANGS)
            if lang is not BAD:
                values["lang"] = lang
        if "notify_by_email" in entry:
            by_mail = r.kind("bool", entry["notify_by_email"], path + ("notify_by_email",))
            if by_mail is not BAD:
                values["notify_by_email"] = by_mail
        if "notify" in entry:
            values["notify"] = _urls(r, entry["notify"], path + ("notify",))
        if "signature" in entry:
            signature = r.string(entry["signature"], path + ("signature",))
            if signature is not BAD and len(signature) > SIGNATURE_MAX:
                r.add(
                    path + ("signature",),
                    f"is {len(signature)} characters (expected at most {SIGNATURE_MAX})",
                )
            elif signature is not BAD:
                values["signature"] = signature
        out.append(Agent(**values))
    return tuple(out)


def _urls(r: Reader, raw: object, path: KeyPath) -> tuple[str, ...]:
    if not isinstance(raw, list):
        r.add(
            path,
            f"{describe(raw)} is not an array of Apprise URLs "
            '(expected e.g. ["ntfy://ntfy.sh/ronda-oncall"])',
        )
        return ()
    out: list[str] = []
    for j, url in enumerate(raw):
        here = path + (j,)
        if not isinstance(url, str) or not url.strip():
            r.add(
                here,
                f"{describe(url) if not isinstance(url, str) else 'an empty string'} "
                "is not an Apprise URL (expected e.g. ntfy://ntfy.sh/ronda-oncall)",
            )
            continue
        scheme = url_scheme(url)
        if scheme is None:
            r.add(
                here,
                "has no scheme (expected an Apprise URL such as ntfy://..., "
                "tgram://..., mailto://..., json://...)",
            )
            continue
        try:
            known = apprise_schemes()
        except ImportError:
            r.add(here, "cannot be checked: the apprise package is not installed")
            continue
        if scheme not in known:
            close = difflib.get_close_matches(scheme, sorted(known), n=1, cutoff=0.7)
            hint = f"did you mean {close[0]}://?" if close else "see Apprise's list of services"
            r.add(here, f"{scheme}:// is not a scheme Apprise knows ({hint})")
            continue
        bad = [name for name in SECRET.findall(url) if not _ENV_NAME.fullmatch(name)]
        if bad:
            r.add(
                here,
                f"${{{bad[0]}}} is not an environment variable's name "
                "(expected ${NAME} with letters, digits and _)",
            )
            continue
        out.append(url.strip())
    return tuple(out)


def _names(r: Reader, raw: object, path: KeyPath, agents: Sequence[str]) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        r.add(
            path,
            f'{describe(raw)} is not an array of agents\' names (expected e.g. ["laura", "mateo"])',
        )
        return ()
    out: list[str] = []
    for j, name in enumerate(raw):
        name = name.strip()
        if name not in agents:
            close = difflib.get_close_matches(name, agents, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "expected a name from [[agents]]"
            r.add(path + (j,), f"{name!r} is not a declared agent ({hint})")
        else:
            out.append(name)
    return tuple(out)


def _priorities(r: Reader, raw: object, path: KeyPath) -> Any:
    options = tuple(p.value for p in Priority)
    if not isinstance(raw, list):
        r.add(
            path,
            f"{describe(raw)} is not an array of priorities (expected some of "
            f'{", ".join(options)}, e.g. ["high"]; [] for none)',
        )
        return BAD
    out: list[Priority] = []
    for j, item in enumerate(raw):
        if not isinstance(item, str) or item.strip().lower() not in options:
            r.add(path + (j,), f"{describe(item)} is not one of {', '.join(options)}")
            return BAD
        out.append(Priority(item.strip().lower()))
    return tuple(dict.fromkeys(out))


def _seconds0(r: Reader, raw: object, path: KeyPath) -> Any:
    """A duration that may be zero (0: at once)."""
    if raw == 0 and not isinstance(raw, bool):
        return 0.0
    return r.kind("seconds", raw, path)


def read_oncall(r: Reader, raw: object, agents: Sequence[Agent], tz: tzinfo) -> OncallSettings:
    """[oncall]: the turns (agents' names), when week 0 begins, the rules and the limits."""
    table = r.table(raw, ("oncall",), ONCALL_KEYS)
    if not table:
        return OncallSettings()
    names = [a.name for a in agents]
    values: dict[str, Any] = r.settings(table, ("oncall",), ONCALL_KINDS)
    for key in ONCALL_ROTAS:
        if key in table:
            values[key] = _names(r, table[key], ("oncall", key), names)
    for key in ONCALL_RULES:
        if key in table:
            found = _priorities(r, table[key], ("oncall", key))
            if found is not BAD:
                values[key] = found
    if "rotation_start" in table:
        start = _instant(r, table["rotation_start"], ("oncall", "rotation_start"), tz)
        if start is not BAD:
            values["rotation_start"] = start
    return OncallSettings(**values)


def _instant(r: Reader, value: object, path: KeyPath, tz: tzinfo) -> Any:
    """A date-time; naive ones take the calendar's time zone."""
    if isinstance(value, str) and len(value.strip()) > len("2026-01-05"):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    if not isinstance(value, datetime):
        r.add(
            path,
            f"{describe(value)} is not a date-time (expected the start of a turn, "
            "e.g. 2026-01-05T08:00:00)",
        )
        return BAD
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def read_notices(r: Reader, raw: object, base_dir: Path) -> NoticeSettings:
    """[notices]: which cases customers are told of, when, and the agency's templates."""
    table = r.table(raw, ("notices",), NOTICE_KEYS)
    if not table:
        return NoticeSettings()
    values: dict[str, Any] = r.settings(table, ("notices",), NOTICE_KINDS)
    if "priorities" in table:
        found = _priorities(r, table["priorities"], ("notices", "priorities"))
        if found is not BAD:
            values["priorities"] = found
    for key in ("delay", "recovery_after"):
        if key in table:
            seconds = _seconds0(r, table[key], ("notices", key))
            if seconds is not BAD:
                values[key] = seconds
    if "templates" in table:
        folder = r.folder(
            table["templates"], ("notices", "templates"), base_dir, "a folder of templates"
        )
        if folder is not BAD:
            values["templates"] = folder
    return NoticeSettings(**values)


def read_outbox(r: Reader, raw: object) -> OutboxSettings:
    """[outbox]: the back-off between delivery attempts and when to give up."""
    table = r.table(raw, ("outbox",), tuple(OUTBOX_KINDS))
    if not table:
        return OutboxSettings()
    settings = OutboxSettings(**r.settings(table, ("outbox",), OUTBOX_KINDS))
    if settings.retry_max < settings.retry_first:
        key = "retry_max" if "retry_max" in table else "retry_first"
        r.add(
            ("outbox", key),
            f"retry_max ({settings.retry_max:g} s) is less than "
            f"retry_first ({settings.retry_first:g} s) (expected first <= max)",
        )
    return settings


__all__ = [
    "AGENT_KEYS",
    "NOTICE_KEYS",
    "ONCALL_KEYS",
    "OUTBOX_KINDS",
    "SECRET",
    "apprise_schemes",
    "read_agents",
    "read_notices",
    "read_oncall",
    "read_outbox",
    "url_scheme",
]
