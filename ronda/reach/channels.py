"""Agents' notification channels through Apprise: one library for ntfy, Telegram, Slack,
Teams, Matrix, e-mail, generic webhooks (`json://`) and some hundred services more.

A URL in the config may hold `${NAME}`: the environment variable NAME is put in only here,
when a notification is sent, and its value is masked in anything this module reports. The
outbox names a target by its scheme and a digest of the URL as written (`target_id`), never
by the URL, so no token reaches the database, a log or the TUI.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping, Sequence

from ronda.config.reach import SECRET, url_scheme

_CAPTURE = threading.Lock()  # Apprise's log capture is process-wide: one notification at a time


class ChannelError(Exception):
    """A notification did not go out; the text (secrets masked) says why."""


def target_id(url: str) -> str:
    """How the outbox names one of an agent's URLs: `ntfy:3f2a9c1e0b`."""
    digest = hashlib.sha256(url.strip().encode("utf-8")).hexdigest()[:10]
    return f"{url_scheme(url) or 'url'}:{digest}"


def find_target(urls: Sequence[str], target: str) -> str | None:
    """The URL of `urls` that `target` names, or None (the config changed since)."""
    return next((u for u in urls if target_id(u) == target), None)


def expand(url: str, environ: Mapping[str, str]) -> tuple[str, list[str]]:
    """The URL with every `${NAME}` replaced by its environment variable, and the values put
    in (to mask). `ChannelError` names a variable that is not set."""
    secrets: list[str] = []

    def value(match: object) -> str:
        name = match.group(1)  # type: ignore[attr-defined]
        found = environ.get(name)
        if not found:
            raise ChannelError(f"the environment variable {name} is not set")
        secrets.append(found)
        return found

    return SECRET.sub(value, url), secrets


def mask(text: str, secrets: Sequence[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text


def send(url: str, title: str, body: str, environ: Mapping[str, str]) -> None:
    """One notification through Apprise; `ChannelError` with Apprise's own words when it
    fails (every secret masked)."""
    import apprise  # lazily: ~0.1 s to import, and only a desk with notifications pays it

    full, secrets = expand(url, environ)
    scheme = url_scheme(url) or "?"
    client = apprise.Apprise()
    if not client.add(full):
        raise ChannelError(f"{scheme}:// URL is not valid for Apprise")
    with _CAPTURE, apprise.LogCapture(level=apprise.logging.WARNING) as captured:
        ok = client.notify(title=title, body=body)
    if not ok:
        # Apprise's lines start with a time stamp and a level; keep the words.
        lines = [
            line.split(" - ", 2)[-1].strip()
            for line in captured.getvalue().splitlines()
            if line.strip()
        ]
        said = "; ".join(lines) or "Apprise reported a failure"
        raise ChannelError(mask(f"{scheme}:// did not take it: {said}", secrets))


__all__ = ["ChannelError", "expand", "find_target", "mask", "send", "target_id"]
