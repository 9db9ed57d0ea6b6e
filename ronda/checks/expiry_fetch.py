"""Asking registries when a domain expires: RDAP over HTTPS (httpx), else WHOIS on port 43.

IANA's RDAP bootstrap (`dns.json`) is fetched once and kept in the data directory; it is
fetched again when older than `bootstrap_max_age` (a stale copy still serves when IANA
cannot be reached). Every read is bounded: the bootstrap to 2 MiB, an RDAP answer to 256
KiB, a WHOIS answer to 64 KiB, each within `timeout` seconds; RDAP follows at most three
redirects and only to HTTPS (plain HTTP only on loopback, for test servers).
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import time
from pathlib import Path
from urllib.parse import quote

import httpx

from ronda.checks.expiry import (
    Expiry,
    rdap_base_urls,
    rdap_expiry,
    whois_expiry,
    whois_server_for,
)
from ronda.config.domains import IANA_BOOTSTRAP, ExpirySettings, allowed_url
from ronda.display import visible

MAX_BOOTSTRAP_BYTES = 2 * 1024 * 1024
MAX_RDAP_BYTES = 256 * 1024
MAX_WHOIS_BYTES = 64 * 1024


class TooLarge(Exception):
    pass


async def _get_bounded(
    client: httpx.AsyncClient, url: str, limit: int, accept: str
) -> tuple[int, bytes]:
    """GET `url` following at most 3 redirects that stay allowed; the body capped at
    `limit` bytes (TooLarge past it)."""
    for _ in range(4):
        if not allowed_url(url):
            raise httpx.UnsupportedProtocol(f"refusing {visible(url[:100])}")
        async with client.stream("GET", url, headers={"Accept": accept}) as response:
            if response.is_redirect and "location" in response.headers:
                url = str(response.url.join(response.headers["location"]))
                continue
            body = bytearray()
            async for chunk in response.aiter_raw():
                body += chunk
                if len(body) > limit:
                    raise TooLarge(f"answer over {limit} bytes")
            return response.status_code, bytes(body)
    raise httpx.TooManyRedirects("more than 3 redirects")


class BootstrapCache:
    """IANA's RDAP bootstrap, kept in `path` and refreshed past `max_age` seconds."""

    def __init__(self, path: Path, url: str = IANA_BOOTSTRAP, max_age: float = 7 * 86400.0):
        self.path = path
        self.url = url
        self.max_age = max_age
        self._doc: dict | None = None
        self._loaded_at = 0.0

    def _fresh(self, now: float) -> bool:
        try:
            return now - self.path.stat().st_mtime < self.max_age
        except OSError:
            return False

    async def get(self, client: httpx.AsyncClient, now: float | None = None) -> dict:
        """The bootstrap document ({} when none could ever be had)."""
        now = time.time() if now is None else now
        if self._doc is not None and now - self._loaded_at < self.max_age:
            return self._doc
        if not self._fresh(now):
            try:
                status, body = await _get_bounded(
                    client, self.url, MAX_BOOTSTRAP_BYTES, "application/json"
                )
                doc = json.loads(body) if status == 200 else None
                if isinstance(doc, dict) and isinstance(doc.get("services"), list):
                    self._write(body)
            except (
                httpx.HTTPError,
                httpx.InvalidURL,
                TooLarge,
                ValueError,
                RecursionError,
                OSError,
            ):
                pass  # a stale copy (or none) serves until IANA answers again
        try:
            doc = json.loads(self.path.read_bytes()[:MAX_BOOTSTRAP_BYTES])
        except (OSError, ValueError, RecursionError):
            doc = {}
        self._doc = doc if isinstance(doc, dict) else {}
        self._loaded_at = now
        return self._doc

    def _write(self, body: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_bytes(body)
        os.replace(tmp, self.path)


async def rdap_lookup(client: httpx.AsyncClient, base: str, domain: str) -> Expiry:
    url = f"{base}domain/{quote(domain.rstrip('.').lower())}"
    try:
        status, body = await _get_bounded(
            client, url, MAX_RDAP_BYTES, "application/rdap+json, application/json"
        )
    except (httpx.HTTPError, httpx.InvalidURL, TooLarge, ValueError) as exc:
        # InvalidURL, ValueError: a Location header no URL parser accepts.
        return Expiry(domain, None, "", f"RDAP: {visible(str(exc)[:200])}", base)
    if status == 404:
        return Expiry(domain, None, "rdap", "RDAP: the registry knows no such domain", base)
    if status != 200:
        return Expiry(domain, None, "", f"RDAP: HTTP {status}", base)
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nesting built to exhaust the stack
        return Expiry(domain, None, "", "RDAP: the answer is not JSON", base)
    when = rdap_expiry(doc)
    detail = "" if when else "RDAP: no expiration event in the answer"
    return Expiry(domain, when, "rdap" if when else "", detail, base)


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if sep and port.isdigit() and host:
        return host.strip("[]"), int(port)
    return text, 43


async def whois_lookup(server: str, domain: str, timeout: float) -> Expiry:
    """One WHOIS query (RFC 3912): the name and CRLF, then read until the server closes."""
    host, port = _host_port(server)
    writer = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(domain.rstrip(".").lower().encode("idna") + b"\r\n")
            await writer.drain()
            data = bytearray()
            while len(data) <= MAX_WHOIS_BYTES:
                chunk = await reader.read(8192)
                if not chunk:
                    break
                data += chunk
    except (OSError, TimeoutError, UnicodeError) as exc:
        what = "no answer in time" if isinstance(exc, TimeoutError) else str(exc)[:200]
        return Expiry(domain, None, "", f"WHOIS {host}: {visible(what)}", server)
    finally:
        if writer is not None:
            writer.close()
    text = bytes(data[:MAX_WHOIS_BYTES]).decode("utf-8", "replace")
    when, why = whois_expiry(text)
    return Expiry(domain, when, "whois" if when else "", why and f"WHOIS: {why}", server)


async def lookup_expiry(
    domain: str,
    settings: ExpirySettings,
    bootstrap: BootstrapCache,
    client: httpx.AsyncClient,
) -> Expiry:
    """RDAP when the bootstrap lists the domain's registry, else the configured WHOIS."""
    doc = await bootstrap.get(client)
    bases = [u for u in rdap_base_urls(doc, domain) if allowed_url(u)]
    last: Expiry | None = None
    for base in bases[:2]:
        last = await rdap_lookup(client, base, domain)
        if last.expires_at is not None or last.source == "rdap":
            return last
    server = whois_server_for(domain, dict(settings.whois_servers))
    if server:
        return await whois_lookup(server, domain, settings.timeout)
    if last is not None:
        return last
    return Expiry(domain, None, "", "no RDAP service nor WHOIS server for this domain")


_TLS: ssl.SSLContext | None = None


def _tls() -> ssl.SSLContext:
    """One verifying context (the system's CAs) for every lookup: building one loads the
    CA store, most of a lookup's CPU otherwise."""
    global _TLS
    if _TLS is None:
        _TLS = ssl.create_default_context()
    return _TLS


def make_client(settings: ExpirySettings) -> httpx.AsyncClient:
    """No redirects followed by httpx itself (`_get_bounded` checks each hop)."""
    return httpx.AsyncClient(
        timeout=settings.timeout,
        follow_redirects=False,
        headers={"User-Agent": "ronda"},
        verify=_tls(),
    )
