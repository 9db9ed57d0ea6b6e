"""The probe's hot path: a small HTTP/1.1 client on asyncio transports, one request per connection.

Why not httpx here: a probe is one GET on a fresh connection, and httpx's general path
(pool, anyio, h11 events, trace hooks) costs 1.7-2.7x the CPU of blackbox_exporter per probe
(docs/probe-costs.md), while the goal is <= 1x. This module drives the socket with
an `asyncio.Protocol` and parses the response by hand, so that every phase is timed where
it happens: DNS (`getaddrinfo`, skipped for IP literals), TCP connect (`sock_connect`), TLS
handshake (`create_connection(sock=..., ssl=...)` with the prober's one shared context),
first byte after the request was written, and transfer. httpx stays a dependency of the
project for everything that is not a probe.

The parser is strict about size and lenient about style (bare LF, folded header lines):
header section <= 64 KiB and <= 256 header lines, chunk-size lines <= 4 KiB, and the body
is capped at `max_body` *decoded* bytes, decompressing gzip/deflate incrementally with
`decompressobj(max_length)` so a gzip bomb never inflates past the cap. Any violation is a
`ProbeError("protocol", ...)`, never another exception. Framing that could be read two
ways is refused: two different Content-Length values, a length that is not ASCII digits.

Why not httptools (llhttp, Node's parser) for the parsing: a reader on it with the same
limits parsed an nginx response in 6.0 us against 7.9 us here, but a whole probe did not
move. Interleaved runs of `python bench/probe_rounds.py`, four per parser, gave 0.110-0.119
CPU ms per HTTP probe with either (ratio to blackbox_exporter 0.21-0.22 hand, 0.22-0.23
llhttp) and 0.69-0.75 over HTTPS (0.72-0.74 hand, 0.73-0.76 llhttp); every run is in
docs/probe-costs.md. At a tie this parser stays: no compiled dependency, and it reads what
browsers read where llhttp refuses (a header line without a colon, bare-LF chunk lines,
folded header lines unless its `lenient_headers` is on).

Where a probe may connect: the caller passes `allowed`, the address categories a hop may
reach (`ronda.checks.targets`), and every address a name resolves to is screened before any
connection, so a site cannot send a probe into the agency's own network by a redirect or
by a name that resolves there (`ProbeError("redirect_refused")`). Port 0 is never dialled.
Names resolve through `resolver` and sockets come from `connector` when given (tests stand
in for public hosts with them); by default `getaddrinfo` and `sock_connect`.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from time import perf_counter
from typing import Any

from ronda.checks.targets import (
    Address,
    Connector,
    ProbeError,
    Resolver,
    Target,
    parse_url,
    screen,
)
from ronda.checks.tls import verify_error_kind

MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 256
MAX_CHUNK_LINE = 4096
USER_AGENT = "Ronda-probe/0.1 (+uptime check)"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

# Reader states.
_HEAD, _LENGTH, _CHUNKED, _UNTIL_EOF, _DONE = range(5)
# Chunked sub-states.
_C_SIZE, _C_DATA, _C_DATA_END, _C_TRAILER = range(4)


@lru_cache(maxsize=8192)
def request_bytes(target: str, host_header: str, authorization: str | None = None) -> bytes:
    """The GET request; `Connection: close` because a probe never reuses a connection."""
    auth = f"Authorization: {authorization}\r\n" if authorization else ""
    return (
        f"GET {target} HTTP/1.1\r\n"
        f"Host: {host_header}\r\n"
        f"User-Agent: {USER_AGENT}\r\n"
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
        "Accept-Encoding: gzip, deflate\r\n"
        f"{auth}"
        "Connection: close\r\n\r\n"
    ).encode("ascii")


@dataclass(slots=True)
class Response:
    """One hop's answer and its timings (seconds)."""

    status: int
    headers: dict[str, str]
    body: bytes
    truncated: bool
    peercert: dict | None = None
    phases: dict[str, float] = field(default_factory=dict)
    peer: tuple[Any, ...] | None = None  # the sockaddr the answer came from


def _content_length(value: str) -> int:
    """The body length a Content-Length header gives; a list must repeat one number.

    Two different lengths (in one header or two, joined by the reader) leave the framing
    ambiguous, so they are a protocol error; `isascii` because `"²".isdigit()` is true, and
    at most 19 digits because `int()` refuses strings of over 4,300 digits.
    """
    values = {v.strip() for v in value.split(",")}
    if len(values) != 1:
        raise ProbeError("protocol", f"conflicting Content-Length values {value[:40]!r}")
    (text,) = values
    if not text or len(text) > 19 or not text.isascii() or not text.isdigit():
        raise ProbeError("protocol", f"invalid Content-Length {value[:40]!r}")
    return int(text)


class _Reader(asyncio.Protocol):
    """Collects one HTTP/1.1 response from a transport, enforcing every limit."""

    def __init__(self, waiter: asyncio.Future, max_body: int, stop_at_redirect: bool) -> None:
        self.waiter = waiter
        self.max_body = max_body
        self.stop_at_redirect = stop_at_redirect
        self.state = _HEAD
        self.buf = bytearray()
        self.body = bytearray()
        self.truncated = False
        self.status = 0
        self.headers: dict[str, str] = {}
        self.remaining = 0
        self.cstate = _C_SIZE
        self.decomp: zlib._Decompress | None = None
        self.t_first = 0.0
        self.t_done = 0.0

    # -- asyncio callbacks ---------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if not self.t_first:
            self.t_first = perf_counter()
        if self.state == _DONE:
            return
        try:
            if self.state == _HEAD:
                self._head(data)
            elif self.state == _LENGTH:
                self._length(data)
            elif self.state == _UNTIL_EOF:
                self._emit(data)
            else:
                self.buf += data
                self._chunked()
        except ProbeError as exc:
            self._fail(exc)

    def eof_received(self) -> bool:
        self._at_eof(None)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._at_eof(exc)

    # -- parsing ---------------------------------------------------------------------------

    def _at_eof(self, exc: Exception | None) -> None:
        if self.state == _DONE:
            return
        if self.state == _UNTIL_EOF:
            self._finish()  # a close-delimited body ends here (TLS close_notify or not)
        elif self.state == _HEAD and not self.buf and not self.t_first:
            why = f": {exc}" if exc else ""
            # A reset (RST), not a close: what a firewall dropping the prober does.
            kind = "reset_by_peer" if isinstance(exc, ConnectionResetError) else "reset"
            self._fail(ProbeError(kind, f"connection closed before any response{why}"))
        else:
            self._fail(ProbeError("protocol", "connection closed in the middle of the response"))

    def _head(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        while True:
            end = buf.find(b"\r\n\r\n")
            sep = 4
            if end < 0:
                end = buf.find(b"\n\n")
                sep = 2
            if end < 0:
                if len(buf) > MAX_HEAD_BYTES:
                    raise ProbeError("protocol", "response header section larger than 64 KiB")
                return
            if end > MAX_HEAD_BYTES:
                raise ProbeError("protocol", "response header section larger than 64 KiB")
            head = bytes(buf[:end])
            del buf[: end + sep]
            self._parse_head(head)
            if 100 <= self.status < 200:
                self.headers = {}
                continue  # an interim response (100 Continue, 103 Early Hints): skip it
            break
        rest = bytes(buf)
        buf.clear()
        self._start_body(rest)

    def _parse_head(self, head: bytes) -> None:
        lines = head.splitlines()
        status_line = lines[0] if lines else b""
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise ProbeError("protocol", f"not an HTTP/1.x status line: {status_line[:80]!r}")
        code = parts[1]
        if len(code) != 3 or not code.isdigit() or not b"100" <= code <= b"599":
            raise ProbeError("protocol", f"invalid status code {code[:20]!r}")
        self.status = int(code)
        if len(lines) > MAX_HEADERS + 1:
            raise ProbeError("protocol", f"more than {MAX_HEADERS} response header lines")
        headers = self.headers
        last = ""
        for line in lines[1:]:
            if line[:1] in (b" ", b"\t") and last:
                headers[last] += " " + line.strip().decode("latin-1")  # obsolete line folding
                continue
            name, colon, value = line.partition(b":")
            if not colon:
                continue  # a stray line; browsers skip it too
            key = name.strip().lower().decode("latin-1")
            text = value.strip().decode("latin-1")
            if key in headers:
                if key == "location":
                    # Two different Locations cannot be followed (browsers refuse them); a
                    # newline, which no header value holds, keeps them apart for the caller.
                    if text not in headers[key].split("\n"):
                        headers[key] += "\n" + text
                else:
                    headers[key] += ", " + text
            else:
                headers[key] = text
            last = key

    def _start_body(self, rest: bytes) -> None:
        status = self.status
        headers = self.headers
        if status in (204, 304) or (
            self.stop_at_redirect and status in REDIRECT_STATUSES and "location" in headers
        ):
            self._finish()  # no body, or one a redirect hop never needs
            return
        encoding = headers.get("content-encoding")
        if encoding:
            encoding = encoding.lower().strip()
            if encoding in ("gzip", "x-gzip"):
                self.decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
            elif encoding == "deflate":
                self.decomp = zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib or gzip header
        te = headers.get("transfer-encoding")
        if te is not None and "chunked" in te.lower():
            self.state = _CHUNKED
            self.buf += rest
            self._chunked()
            return
        length = headers.get("content-length")
        if length is not None:
            self.remaining = _content_length(length)
            if self.remaining == 0:
                self._finish()
                return
            self.state = _LENGTH
            if rest:
                self._length(rest)
            return
        self.state = _UNTIL_EOF
        if rest:
            self._emit(rest)

    def _length(self, data: bytes) -> None:
        if len(data) >= self.remaining:
            data = data[: self.remaining]
            self.remaining = 0
            self._emit(data)
            if self.state != _DONE:
                self._complete()
        else:
            self.remaining -= len(data)
            self._emit(data)

    def _chunked(self) -> None:
        buf = self.buf
        pos = 0
        size = len(buf)
        while self.state == _CHUNKED:
            cstate = self.cstate
            if cstate == _C_SIZE:
                i = buf.find(b"\n", pos)
                if i < 0:
                    if size - pos > MAX_CHUNK_LINE:
                        raise ProbeError("protocol", "chunk size line too long")
                    break
                text = bytes(buf[pos:i]).split(b";", 1)[0].strip()
                pos = i + 1
                if not text or len(text) > 16 or text.strip(b"0123456789abcdefABCDEF"):
                    raise ProbeError("protocol", f"invalid chunk size {text[:20]!r}")
                self.remaining = int(text, 16)
                self.cstate = _C_DATA if self.remaining else _C_TRAILER
            elif cstate == _C_DATA:
                n = min(size - pos, self.remaining)
                if n <= 0:
                    break
                self._emit(bytes(buf[pos : pos + n]))
                pos += n
                self.remaining -= n
                if not self.remaining:
                    self.cstate = _C_DATA_END
            elif cstate == _C_DATA_END:
                i = buf.find(b"\n", pos)
                if i < 0:
                    if size - pos > 2:
                        raise ProbeError("protocol", "chunk not followed by CRLF")
                    break
                if buf[pos:i].strip():
                    raise ProbeError("protocol", "chunk longer than its declared size")
                pos = i + 1
                self.cstate = _C_SIZE
            else:  # trailers: lines until an empty one
                i = buf.find(b"\n", pos)
                if i < 0:
                    if size - pos > MAX_HEAD_BYTES:
                        raise ProbeError("protocol", "chunked trailer too large")
                    break
                line = buf[pos:i].strip()
                pos = i + 1
                if not line:
                    self._complete()
        del buf[:pos]

    def _emit(self, raw: bytes) -> None:
        """Append decoded body bytes, stopping at the cap."""
        room = self.max_body - len(self.body)
        if room <= 0:
            self.truncated = True
            self._finish()
            return
        decomp = self.decomp
        if decomp is None:
            if len(raw) > room:
                self.body += raw[:room]
                self.truncated = True
                self._finish()
            else:
                self.body += raw
            return
        try:
            out = decomp.decompress(raw, room)
        except zlib.error as exc:
            if not self.body and self.headers.get("content-encoding", "").strip() == "deflate":
                # Some servers send raw deflate without the zlib header, as browsers accept.
                self.decomp = zlib.decompressobj(-zlib.MAX_WBITS)
                self.headers["content-encoding"] = "deflate (raw)"
                self._emit(raw)
                return
            raise ProbeError("protocol", f"body does not decompress: {exc}") from None
        self.body += out
        if decomp.unconsumed_tail and len(self.body) >= self.max_body:
            self.truncated = True  # more compressed input than the cap lets out
            self._finish()

    def _complete(self) -> None:
        """The framing says the body is over."""
        decomp = self.decomp
        if decomp is not None and len(self.body) >= self.max_body:
            try:
                if decomp.unconsumed_tail or decomp.decompress(b"", 1):
                    self.truncated = True
            except zlib.error:
                pass
        self._finish()

    def _finish(self) -> None:
        self.state = _DONE
        self.t_done = perf_counter()
        if not self.waiter.done():
            self.waiter.set_result(None)

    def _fail(self, exc: ProbeError) -> None:
        self.state = _DONE
        self.t_done = perf_counter()
        if not self.waiter.done():
            self.waiter.set_exception(exc)


class Progress:
    """Where an exchange is, so a timeout can say what it was waiting for, and the address
    it connected to (kept when the exchange fails half way)."""

    __slots__ = ("phase", "peer")

    def __init__(self) -> None:
        self.phase = "resolving the name"
        self.peer: tuple[Any, ...] | None = None


async def _resolve(
    loop: asyncio.AbstractEventLoop,
    t: Target,
    phases: dict[str, float],
    resolver: Resolver | None = None,
) -> Sequence[Address]:
    if t.ip:
        family = socket.AF_INET6 if ":" in t.host else socket.AF_INET
        return [(family, (t.host, t.port))]
    start = perf_counter()
    try:
        if resolver is None:
            infos = await loop.getaddrinfo(t.host, t.port, type=socket.SOCK_STREAM)
            addrs: Sequence[Address] = [(info[0], info[4]) for info in infos]
        else:
            addrs = await resolver(t.host, t.port)
    except socket.gaierror as exc:
        raise ProbeError("dns", f"{t.host}: {exc.strerror or exc}") from None
    except (UnicodeError, ValueError) as exc:
        raise ProbeError("dns", f"{t.host}: {exc}") from None
    finally:
        phases["dns"] = phases.get("dns", 0.0) + perf_counter() - start
    if not addrs:
        raise ProbeError("dns", f"{t.host}: no address")
    return addrs


async def _connect(
    loop: asyncio.AbstractEventLoop,
    t: Target,
    addrs: Sequence[Address],
    phases: dict[str, float],
    connector: Connector | None = None,
) -> tuple[socket.socket, tuple[Any, ...]]:
    start = perf_counter()
    errors: list[OSError] = []
    try:
        for family, addr in addrs:
            if connector is not None:
                try:
                    return await connector(family, addr), addr
                except OSError as exc:
                    errors.append(exc)
                    continue
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setblocking(False)
            try:
                await loop.sock_connect(sock, addr)
            except OSError as exc:
                sock.close()
                errors.append(exc)
                continue
            except BaseException:
                sock.close()
                raise
            return sock, addr
    finally:
        phases["connect"] = phases.get("connect", 0.0) + perf_counter() - start
    if any(isinstance(e, ConnectionRefusedError) for e in errors):
        raise ProbeError("refused", f"{t.host}:{t.port} refused the connection")
    if any(isinstance(e, TimeoutError) for e in errors):
        raise ProbeError("timeout", f"connect to {t.host}:{t.port} timed out")
    last = errors[-1] if errors else None
    raise ProbeError("refused", f"cannot connect to {t.host}:{t.port}: {last}")


def _close_sock(sock: socket.socket) -> None:
    # The transport owns the socket once created; only close one nobody took.
    if sock.fileno() != -1:
        try:
            sock.close()
        except OSError:
            pass


async def exchange(
    url: str,
    ssl_context: ssl.SSLContext | None,
    max_body: int,
    stop_at_redirect: bool = True,
    progress: Progress | None = None,
    phases: dict[str, float] | None = None,
    *,
    allowed: frozenset[str] | None = None,
    authorization: str | None = None,
    resolver: Resolver | None = None,
    connector: Connector | None = None,
) -> Response:
    """One GET on a fresh connection. Raises ProbeError; the caller bounds it with a deadline.

    `ssl_context` is used for https URLs only. Phase durations are added to `phases` (the
    caller's, summed over redirect hops and kept when the exchange fails half way).
    `allowed`: the address categories this hop may connect to (None: any, the site's own
    URL); `authorization`: an `Authorization` header value to send.
    """
    t = parse_url(url)
    loop = asyncio.get_running_loop()
    if phases is None:
        phases = {}
    progress = progress or Progress()
    progress.phase = "resolving the name"
    progress.peer = None
    if t.port == 0 and allowed is None:
        raise ProbeError("refused", f"{t.host}:0 is no port a server listens on")
    addrs = await _resolve(loop, t, phases, resolver)
    if allowed is not None:
        addrs = screen(t, addrs, allowed)  # nothing is dialled unscreened
    progress.phase = "connecting"
    sock, peer = await _connect(loop, t, addrs, phases, connector)
    progress.peer = peer
    waiter = loop.create_future()
    reader = _Reader(waiter, max_body, stop_at_redirect)
    transport: asyncio.BaseTransport | None = None
    tls = t.scheme == "https"
    try:
        progress.phase = "in the TLS handshake" if tls else "connecting"
        start = perf_counter()
        try:
            if tls:
                transport, _ = await loop.create_connection(
                    lambda: reader, sock=sock, ssl=ssl_context, server_hostname=t.host
                )
            else:
                transport, _ = await loop.create_connection(lambda: reader, sock=sock)
        except ssl.SSLCertVerificationError as exc:
            kind = verify_error_kind(exc)
            raise ProbeError(kind, str(getattr(exc, "verify_message", "") or exc)) from None
        except ssl.SSLError as exc:
            raise ProbeError("ssl_error", exc.reason or str(exc)) from None
        except (ConnectionError, EOFError) as exc:
            what = "TLS handshake" if tls else "connection"
            kind = "reset_by_peer" if isinstance(exc, ConnectionResetError) else "reset"
            raise ProbeError(kind, f"{what} interrupted: {exc}") from None
        finally:
            if tls:
                phases["tls"] = phases.get("tls", 0.0) + perf_counter() - start
        peercert = transport.get_extra_info("peercert") if tls else None
        progress.phase = "waiting for the first byte"
        sent = perf_counter()
        request = request_bytes(t.target, t.host_header, authorization)
        transport.write(request)  # type: ignore[attr-defined]
        try:
            await waiter
        finally:
            if reader.t_first:
                phases["first_byte"] = phases.get("first_byte", 0.0) + reader.t_first - sent
                if reader.t_done:
                    transfer = reader.t_done - reader.t_first
                    phases["transfer"] = phases.get("transfer", 0.0) + transfer
            if reader.t_first:
                progress.phase = "reading the body"
        return Response(
            reader.status,
            reader.headers,
            bytes(reader.body),
            reader.truncated,
            peercert,
            phases,
            peer,
        )
    finally:
        if transport is not None:
            transport.abort()
        else:
            _close_sock(sock)


async def peer_certificate_der(
    url: str,
    insecure_context: ssl.SSLContext,
    timeout: float,
    *,
    allowed: frozenset[str] | None = None,
    resolver: Resolver | None = None,
    connector: Connector | None = None,
) -> bytes | None:
    """The certificate a server presents, read without verification (for a failed verify).

    `allowed` screens the addresses again: the name is resolved anew and may now point
    somewhere else.
    """
    t = parse_url(url)
    loop = asyncio.get_running_loop()
    phases: dict[str, float] = {}
    try:
        async with asyncio.timeout(timeout):
            if t.port == 0:
                return None
            addrs = await _resolve(loop, t, phases, resolver)
            if allowed is not None:
                addrs = screen(t, addrs, allowed)
            sock, _peer = await _connect(loop, t, addrs, phases, connector)
            try:
                transport, _ = await loop.create_connection(
                    asyncio.Protocol, sock=sock, ssl=insecure_context, server_hostname=t.host
                )
            except BaseException:
                _close_sock(sock)
                raise
            try:
                sslobj = transport.get_extra_info("ssl_object")
                return sslobj.getpeercert(binary_form=True) if sslobj is not None else None
            finally:
                transport.abort()
    except (ProbeError, OSError, ssl.SSLError, TimeoutError, EOFError, ValueError):
        return None
