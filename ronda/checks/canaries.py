"""The canaries' I/O: can the desk reach outside its fleet right now?

A `tcp` canary connects, a `dns` one resolves its name through the system resolver (the one
the probes use), an `http` one sends a GET and takes any HTTP answer (a status line) as
reachable. Every canary has its own deadline and they run together; a failure is a result,
never an exception. The blind guard (`ronda.checks.blind`) decides what the results mean.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from ronda.checks.blind import CanaryResult
from ronda.config import Canary

USER_AGENT = "Ronda-canary/1"
_ERRORS = (OSError, TimeoutError, ssl.SSLError, asyncio.IncompleteReadError, EOFError)


async def check_canaries(
    canaries: Sequence[Canary], timeout: float, *, extra_ca: Path | None = None
) -> list[CanaryResult]:
    """Every canary, at once, each within `timeout` seconds; in the order given."""
    if not canaries:
        return []
    https = any(c.url.lower().startswith("https:") for c in canaries)
    context = _context(extra_ca) if https else None
    return list(await asyncio.gather(*(check_canary(c, timeout, context) for c in canaries)))


async def check_canary(
    canary: Canary, timeout: float, context: ssl.SSLContext | None = None
) -> CanaryResult:
    try:
        async with asyncio.timeout(timeout):
            if canary.kind == "dns":
                await _resolve(canary.host)
            elif canary.kind == "tcp":
                await _connect(canary.host, canary.port)
            else:
                await _get(canary, context)
    except TimeoutError:
        return CanaryResult(canary.url, False, f"no answer within {timeout:g} s")
    except _ERRORS as exc:
        return CanaryResult(canary.url, False, _why(exc))
    return CanaryResult(canary.url, True)


async def _resolve(host: str) -> None:
    loop = asyncio.get_running_loop()
    if not await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM):
        raise OSError(f"{host} resolves to no address")


async def _connect(host: str, port: int) -> None:
    _, writer = await asyncio.open_connection(host, port)
    writer.close()
    await _closed(writer)


async def _get(canary: Canary, context: ssl.SSLContext | None) -> None:
    parts = urlsplit(canary.url)
    https = parts.scheme.lower() == "https"
    reader, writer = await asyncio.open_connection(
        canary.host,
        canary.port,
        ssl=(context or _context(None)) if https else None,
        server_hostname=canary.host if https else None,
    )
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = f"[{canary.host}]" if ":" in canary.host else canary.host
        if canary.port != (443 if https else 80):
            host = f"{host}:{canary.port}"
        writer.write(
            f"GET {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {USER_AGENT}\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n".encode("ascii", "replace")
        )
        await writer.drain()
        line = await reader.readline()
        if not line.startswith(b"HTTP/"):
            raise OSError("no HTTP answer" if not line else "not an HTTP answer")
    finally:
        writer.close()
        await _closed(writer)


async def _closed(writer: asyncio.StreamWriter) -> None:
    try:
        await writer.wait_closed()
    except _ERRORS:
        pass  # the canary answered; how the connection ended says nothing more


def _context(extra_ca: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if extra_ca is not None:
        where = {"capath": str(extra_ca)} if extra_ca.is_dir() else {"cafile": str(extra_ca)}
        context.load_verify_locations(**where)
    return context


def _why(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        return f"name not resolved ({exc.strerror or exc})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or exc})"
    if isinstance(exc, asyncio.IncompleteReadError | EOFError | ConnectionResetError):
        return "connection closed without an answer"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text[:120]


__all__ = ["USER_AGENT", "check_canaries", "check_canary"]
