"""One conversation with a server's service: connect, bounded lines, TLS (implicit or upgraded
by STARTTLS), what was seen and how long each phase took.

A service is a stranger's server: every line is read with a size bound (`MAX_LINE` bytes),
a reply has at most `MAX_LINES` lines, and the whole conversation runs under the check's
deadline. Text kept from it passes through `ronda.display.visible` and is cut to
`SHOWN_CHARS`. Protocol modules drive a `Session` and raise `Stop` when the far end says
something other than what the protocol promises; `converse` turns every way a conversation
can end into a `Seen`, never an exception.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from time import perf_counter

from ronda.checks.tls import CertFacts, facts_from_der, facts_from_peercert, verify_error_kind
from ronda.config.services import ServiceCheck
from ronda.display import visible


class _QuietTlsEof(logging.Filter):
    """asyncio warns "returning true from eof_received() has no effect when using ssl" when
    a STARTTLS handshake fails and the far end hangs up: the stream protocol has not been
    told it is over TLS yet. A failed handshake is a finding, not a log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "eof_received() has no effect when using ssl" not in record.getMessage()


logging.getLogger("asyncio").addFilter(_QuietTlsEof())

MAX_LINE = 1024  # bytes of one line (SMTP allows 512, IMAP greetings list capabilities)
MAX_LINES = 40  # lines of one multi-line reply (an EHLO answer has about ten)
SHOWN_CHARS = 200  # of a greeting or banner kept as evidence


class Stop(Exception):
    """The conversation ends here: `error` names why (see `Seen.error`)."""

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(detail)
        self.error = error
        self.detail = detail


@dataclass
class Seen:
    """What one conversation saw.

    `error`: None (all as the protocol promises), or where it stopped: dns, refused,
    timeout, closed (hung up), too_long (a line or reply past the bounds), greeting (not the
    expected greeting or banner), no_starttls (TLS not offered or refused), tls (the
    handshake failed), ssl_expired / ssl_untrusted / ssl_hostname (the certificate)."""

    error: str | None = None
    detail: str = ""
    greeting: str = ""  # the first reply or banner, made visible and cut
    tls: str | None = None  # implicit | starttls: TLS was set up this way
    cert: CertFacts | None = None
    phases: dict[str, float] = field(default_factory=dict)  # seconds: connect, greeting, tls
    peer: str | None = None
    elapsed: float = 0.0


def shown(text: str) -> str:
    return visible(text)[:SHOWN_CHARS]


class Session:
    """A line-oriented conversation; the protocol modules drive it."""

    def __init__(self, check: ServiceCheck, context: ssl.SSLContext, seen: Seen) -> None:
        self.check = check
        self.context = context
        self.seen = seen
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self._t = perf_counter()

    def _phase(self, name: str) -> None:
        now = perf_counter()
        self.seen.phases[name] = self.seen.phases.get(name, 0.0) + now - self._t
        self._t = now

    @property
    def tls_name(self) -> str:
        return self.check.tls_name or self.check.host

    async def connect(self) -> None:
        implicit = self.check.tls == "implicit"
        try:
            self.reader, self.writer = await asyncio.open_connection(
                self.check.host,
                self.check.port,
                limit=MAX_LINE,
                ssl=self.context if implicit else None,
                server_hostname=self.tls_name if implicit else None,
            )
        except ssl.SSLCertVerificationError as exc:
            raise Stop(verify_error_kind(exc), _verify_text(exc)) from None
        except ssl.SSLError as exc:
            raise Stop("tls", f"TLS handshake failed ({exc.reason or exc})") from None
        except socket.gaierror as exc:
            raise Stop("dns", f"{self.check.host} not resolved ({exc.strerror})") from None
        except ConnectionRefusedError:
            raise Stop("refused", "connection refused") from None
        except OSError as exc:
            raise Stop("refused", f"cannot connect ({exc.strerror or exc})") from None
        peer = self.writer.get_extra_info("peername")
        self.seen.peer = f"{peer[0]}:{peer[1]}" if peer else None
        self._phase("connect")
        if implicit:
            self.seen.tls = "implicit"
            self._take_cert()

    async def line(self) -> str:
        """One line, without its end; bounded."""
        assert self.reader is not None
        try:
            raw = await self.reader.readuntil(b"\n")
        except asyncio.LimitOverrunError:
            raise Stop("too_long", f"a line longer than {MAX_LINE} bytes") from None
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                raise Stop("closed", f"hung up mid-line: {shown(_text(exc.partial))}") from None
            raise Stop("closed", "the server hung up") from None
        except (ConnectionError, ssl.SSLError) as exc:
            raise Stop("closed", f"connection lost ({type(exc).__name__})") from None
        return _text(raw).rstrip("\r\n")

    async def reply(self, more: Callable[[str], bool]) -> list[str]:
        """A reply of lines while `more(line)` says another follows (SMTP's `250-`)."""
        lines = [await self.line()]
        while more(lines[-1]):
            if len(lines) >= MAX_LINES:
                raise Stop("too_long", f"a reply of more than {MAX_LINES} lines")
            lines.append(await self.line())
        return lines

    async def greeting(self, more: Callable[[str], bool] = lambda _line: False) -> list[str]:
        lines = await self.reply(more)
        self.seen.greeting = shown(" | ".join(lines))
        self._phase("greeting")
        return lines

    async def send(self, text: str) -> None:
        assert self.writer is not None
        try:
            self.writer.write(text.encode("ascii") + b"\r\n")
            await self.writer.drain()
        except (ConnectionError, ssl.SSLError) as exc:
            raise Stop("closed", f"connection lost ({type(exc).__name__})") from None

    async def start_tls(self) -> None:
        """Upgrade after the protocol's STARTTLS was accepted."""
        assert self.writer is not None
        try:
            await self.writer.start_tls(self.context, server_hostname=self.tls_name)
        except ssl.SSLCertVerificationError as exc:
            raise Stop(verify_error_kind(exc), _verify_text(exc)) from None
        except (ssl.SSLError, ConnectionError) as exc:
            why = getattr(exc, "reason", None) or exc
            raise Stop("tls", f"TLS handshake failed ({why})") from None
        self.seen.tls = "starttls"
        self._phase("tls")
        self._take_cert()

    def _take_cert(self) -> None:
        assert self.writer is not None
        obj = self.writer.get_extra_info("ssl_object")
        if obj is None:
            return
        peercert = obj.getpeercert()
        self.seen.cert = (
            facts_from_peercert(peercert)
            if peercert
            else facts_from_der(obj.getpeercert(binary_form=True))
        )

    async def close(self) -> None:
        if self.writer is None:
            return
        self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), 1.0)
        except (OSError, ssl.SSLError, TimeoutError):
            pass  # the far end's manners on closing are no finding


Dialogue = Callable[[Session], Awaitable[None]]


async def converse(check: ServiceCheck, context: ssl.SSLContext, dialogue: Dialogue) -> Seen:
    """Run `dialogue` over a new connection, within the check's deadline; never raises for
    anything the far end does."""
    seen = Seen()
    session = Session(check, context, seen)
    start = perf_counter()
    try:
        async with asyncio.timeout(check.deadline):
            try:
                await session.connect()
                await dialogue(session)
            finally:
                await session.close()
    except Stop as stop:
        seen.error, seen.detail = stop.error, stop.detail
    except TimeoutError:
        seen.error = "timeout"
        seen.detail = f"no complete answer within {check.deadline:g} s"
    seen.elapsed = perf_counter() - start
    return seen


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _verify_text(exc: ssl.SSLCertVerificationError) -> str:
    return f"certificate not valid ({shown(str(exc.verify_message or exc))})"
