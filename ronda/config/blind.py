"""The [blind] section: the canaries the desk must reach to trust its own eyes, and the share
of sites failing at once that means the desk cannot see rather than the sites are down."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

from ronda.config.errors import KeyPath, describe
from ronda.config.model import BlindSettings, Canary
from ronda.config.reader import BAD, Reader

BLIND_KINDS: dict[str, str] = {
    "share": "fraction",
    "min_servers": "count",
    "sample": "count0",
    "window": "seconds",
    "canary_timeout": "seconds",
}
BLIND_KEYS = ("canaries", *BLIND_KINDS)
CANARY_SCHEMES = ("tcp", "dns", "http", "https")
_EXPECTED = 'expected e.g. "tcp://192.168.1.1:80", "dns://wordpress.org" or "https://example.com/"'


def read_blind(r: Reader, raw: object) -> BlindSettings:
    """[blind]: the scalar settings over the defaults, then the canaries."""
    table = r.table(raw, ("blind",), BLIND_KEYS)
    if not table:
        return BlindSettings()
    values = r.settings(table, ("blind",), BLIND_KINDS)
    canaries = _canaries(r, table["canaries"]) if "canaries" in table else ()
    return replace(BlindSettings(), **values, canaries=canaries)


def _canaries(r: Reader, raw: object) -> tuple[Canary, ...]:
    path: KeyPath = ("blind", "canaries")
    if not isinstance(raw, list):
        r.add(path, f"{describe(raw)} is not a list of canary URLs ({_EXPECTED})")
        return ()
    out: list[Canary] = []
    seen: dict[str, int] = {}
    for i, value in enumerate(raw):
        canary = parse_canary(r, value, path + (i,))
        if canary is BAD:
            continue
        if canary.url in seen:
            r.add(path + (i,), f"{canary.url!r} is already canaries[{seen[canary.url]}]")
            continue
        seen[canary.url] = i
        out.append(canary)
    return tuple(out)


def parse_canary(r: Reader, value: object, path: KeyPath) -> Canary:
    """One canary URL checked into a `Canary`, or BAD after saying why."""
    text = r.string(value, path)
    if text is BAD:
        return BAD
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        r.add(path, f"{describe(value)} is not a usable URL ({_EXPECTED})")
        return BAD
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in CANARY_SCHEMES:
        r.add(path, f"{describe(value)} has no scheme of {', '.join(CANARY_SCHEMES)} ({_EXPECTED})")
        return BAD
    if not host:
        r.add(path, f"{describe(value)} names no host ({_EXPECTED})")
        return BAD
    if parts.username is not None or parts.password is not None:
        r.add(path, "a canary takes no user or password (expected a public target)")
        return BAD
    if scheme == "tcp":
        if port is None or port == 0 or parts.path not in ("", "/"):
            r.add(
                path, f"{describe(value)} is not tcp://host:port (expected e.g. tcp://10.0.0.1:80)"
            )
            return BAD
        return Canary(text, "tcp", host, port)
    if scheme == "dns":
        if port is not None or parts.path not in ("", "/"):
            r.add(path, f"{describe(value)} is not dns://name (expected e.g. dns://wordpress.org)")
            return BAD
        return Canary(text, "dns", host, 0)
    if port == 0:
        r.add(path, f"{describe(value)} has port 0 (expected a port from 1 to 65535)")
        return BAD
    return Canary(text, "http", host, port or (443 if scheme == "https" else 80))


__all__ = ["BLIND_KEYS", "BLIND_KINDS", "CANARY_SCHEMES", "parse_canary", "read_blind"]
