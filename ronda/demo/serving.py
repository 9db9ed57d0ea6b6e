"""How the demo fleet serves a site: its runtime state and its connections.

Plain `asyncio.Protocol` connections with no task per request, so a benchmark fleet of a
thousand sites costs a thousand idle sockets and little else. A `Connection` reads one
request head, hands it to its fleet's answer callback and closes after the answer.

HTTPS sites upgrade each accepted connection with `loop.start_tls()`, choosing the
certificate when the connection arrives: switching a site to an expired certificate is one
assignment, and every accepted socket is owned by a tracked connection from its first
moment, so the fleet can close them all (the "accepts and never answers" site included).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable, Mapping
from email.utils import formatdate
from typing import cast

from ronda.demo.pages import REASONS, Page
from ronda.demo.routing import respond
from ronda.demo.specs import CERT_OF_BEHAVIOUR, SiteSpec

_MAX_HEAD = 16 * 1024
_SERVER_HEADER = {"nginx": "nginx", "apache": "Apache"}


class SiteRuntime:
    """A site's mutable runtime state; touched only on the fleet's loop (reads elsewhere
    are single attribute loads)."""

    def __init__(self, spec: SiteSpec, port: int) -> None:
        self.spec = spec
        self.profile = spec.profile()
        self.port = port
        scheme = "https" if spec.https else "http"
        host = f"{spec.name}.invalid" if spec.behaviour == "dns" else f"127.0.0.1:{port}"
        self.base = f"{scheme}://{host}/"
        self.behaviour = spec.behaviour
        self.cert = CERT_OF_BEHAVIOUR.get(spec.behaviour, "valid")
        self.placeholder: socket.socket | None = None  # bound, not listening: refuses
        self.server: asyncio.AbstractServer | None = None
        self.conns: set[Connection] = set()
        self.hits = 0
        self.lock = asyncio.Lock()
        self.cache: dict[tuple[str, str], Page] = {}
        self.server_header = _SERVER_HEADER.get(spec.software, "nginx")

    def page(self, behaviour: str, path: str) -> Page:
        key = (behaviour, path)
        page = self.cache.get(key)
        if page is None:
            page = respond(self.profile, behaviour, path, self.base)
            if len(self.cache) < 64:  # unknown paths must not grow it without bound
                self.cache[key] = page
        return page


def bind_loopback(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if port:
            # Rebinding a port whose old connections linger in TIME_WAIT.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        # Set after an ephemeral bind so the kernel first picks a port nobody holds.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class Connection(asyncio.Protocol):
    """One accepted connection: read one request head, answer it (or not), close."""

    __slots__ = (
        "site",
        "loop",
        "contexts",
        "on_request",
        "raw",
        "transport",
        "buf",
        "answered",
        "timer",
        "tls",
        "unsent",
    )

    def __init__(
        self,
        site: SiteRuntime,
        loop: asyncio.AbstractEventLoop,
        contexts: Mapping[str, ssl.SSLContext],
        on_request: Callable[[Connection], None],
    ) -> None:
        self.site = site
        self.loop = loop
        self.contexts = contexts  # server SSL context by certificate kind
        self.on_request = on_request  # answers (or holds) once the request head is in
        self.raw: asyncio.Transport | None = None
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.answered = False
        self.timer: asyncio.TimerHandle | None = None
        self.tls: asyncio.Task | None = None
        self.unsent: bytes | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.raw = cast(asyncio.Transport, transport)
        self.site.conns.add(self)
        if self.site.spec.https:
            # Not one byte may reach the plain protocol: the ClientHello belongs to TLS.
            self.raw.pause_reading()
            self.tls = self.loop.create_task(self._start_tls(self.raw))
        else:
            self.transport = self.raw

    async def _start_tls(self, raw: asyncio.Transport) -> None:
        ctx = self.contexts[self.site.cert]
        try:
            self.transport = await self.loop.start_tls(
                raw, self, ctx, server_side=True, ssl_handshake_timeout=15.0
            )
        except (OSError, ssl.SSLError, TimeoutError, EOFError):
            # The client refused our certificate (a verifying probe does) or went away.
            raw.abort()
            self.forget()
            return
        if self.unsent is not None:
            # The request can arrive in the loop turn that finishes the handshake, before
            # start_tls() hands us the transport: its answer waited here.
            self.send(self.unsent)

    def data_received(self, data: bytes) -> None:
        if self.answered:
            return
        self.buf += data
        if b"\r\n\r\n" not in self.buf:
            if len(self.buf) > _MAX_HEAD:
                self.answered = True
                self.send(
                    encode_response(Page(400, b"Bad Request\n", "text/plain"), "GET", "nginx")
                )
            return
        self.answered = True
        self.on_request(self)

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.forget()

    def send(self, data: bytes) -> None:
        self.timer = None
        transport = self.transport
        if transport is None:
            self.unsent = data
            return
        self.unsent = None
        if not transport.is_closing():
            transport.write(data)
            transport.close()

    def forget(self) -> None:
        self.site.conns.discard(self)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def abort(self) -> None:
        if self.tls is not None and not self.tls.done():
            self.tls.cancel()
        if self.raw is not None:
            self.raw.abort()
        self.forget()


def encode_response(page: Page, method: str, server: str) -> bytes:
    head = [
        f"HTTP/1.1 {page.status} {REASONS.get(page.status, 'Unknown')}",
        f"Server: {server}",
        f"Date: {formatdate(usegmt=True)}",
        f"Content-Type: {page.content_type}",
        f"Content-Length: {len(page.body)}",
        *(f"{k}: {v}" for k, v in page.headers),
        "Connection: close",
        "",
        "",
    ]
    data = "\r\n".join(head).encode("latin-1", "replace")
    return data if method == "HEAD" else data + page.body


def request_target(head: bytes) -> tuple[str, str] | None:
    """(method, path) of a request head, or None if it is not HTTP/1.x."""
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return None
    method, target = parts[0], parts[1]
    if target.startswith(("http://", "https://")):  # absolute form
        target = "/" + target.split("/", 3)[3] if target.count("/") >= 3 else "/"
    return method, target.split("?", 1)[0].split("#", 1)[0] or "/"
