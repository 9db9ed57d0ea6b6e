"""The demo's mail server: SMTP, submission, SMTPS, IMAP, POP3, SSH, FTP and cPanel ports of
one server (`MAIL_SERVER`) on 127.0.0.1, served on the fleet's event loop, each showing one
of the service checks' classes:

- smtp: STARTTLS with a valid certificate (healthy);
- submission: STARTTLS with a certificate expiring in `EXPIRING_DAYS` (mail_tls_expiring);
- smtps: implicit TLS with an expired certificate (mail_tls_expired);
- imap: STARTTLS with a certificate for another host (mail_tls_invalid);
- pop3: bound but not listening, so connections are refused (mail_down);
- ssh: an OpenSSH-like banner (healthy);
- ftp: a banner without AUTH TLS (access_tls_invalid);
- cpanel: refused (access_down).

Small line-protocol servers with asyncio, just enough of each protocol for a check.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import trustme

from ronda.demo.serving import bind_loopback

MAIL_SERVER = "mail-demo"
MAIL_HOST = "127.0.0.1"
EXPIRING_DAYS = 20  # within the 30-day warning, outside the 7-day raise: a low case
GREETING_NAME = "mail.demo.example"


@dataclass(frozen=True, slots=True)
class DemoService:
    service: str  # as in [[servers.services]]
    protocol: str  # smtp | imap | pop3 | ssh | ftp | refused
    cert: str | None  # valid | expiring | expired | wrong_host (None: no TLS)
    implicit: bool = False
    expect_class: str = "ok"  # what a check should report


SERVICES: tuple[DemoService, ...] = (
    DemoService("smtp", "smtp", "valid"),
    DemoService("submission", "smtp", "expiring", expect_class="mail_tls_expiring"),
    DemoService("smtps", "smtp", "expired", implicit=True, expect_class="mail_tls_expired"),
    DemoService("imap", "imap", "wrong_host", expect_class="mail_tls_invalid"),
    DemoService("pop3", "refused", None, expect_class="mail_down"),
    DemoService("ssh", "ssh", None),
    DemoService("ftp", "ftp", None, expect_class="access_tls_invalid"),
    DemoService("cpanel", "refused", None, expect_class="access_down"),
)


def _contexts(ca: trustme.CA) -> dict[str, ssl.SSLContext]:
    now = datetime.now(UTC).replace(microsecond=0)
    leaves = {
        "valid": ca.issue_cert(
            MAIL_HOST, not_before=now - timedelta(days=30), not_after=now + timedelta(days=335)
        ),
        "expiring": ca.issue_cert(
            MAIL_HOST,
            not_before=now - timedelta(days=70),
            not_after=now + timedelta(days=EXPIRING_DAYS),
        ),
        "expired": ca.issue_cert(
            MAIL_HOST, not_before=now - timedelta(days=395), not_after=now - timedelta(days=3)
        ),
        "wrong_host": ca.issue_cert(
            "otro-correo.example",
            not_before=now - timedelta(days=30),
            not_after=now + timedelta(days=335),
        ),
    }
    out = {}
    for kind, leaf in leaves.items():
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        leaf.configure_cert(ctx)
        out[kind] = ctx
    return out


class MailFleet:
    """The demo mail server's listeners; `start()` and `stop()` run on the fleet's loop."""

    def __init__(self, ca: trustme.CA, interval: float) -> None:
        self.contexts = _contexts(ca)
        self.interval = interval
        self.ports: dict[str, int] = {}
        self._servers: list[asyncio.Server] = []
        self._placeholders: list[socket.socket] = []

    async def start(self) -> MailFleet:
        for svc in SERVICES:
            sock = bind_loopback()
            self.ports[svc.service] = sock.getsockname()[1]
            if svc.protocol == "refused":
                self._placeholders.append(sock)  # bound, never listening: refused
                continue
            ctx = self.contexts[svc.cert] if svc.implicit and svc.cert else None
            server = await asyncio.start_server(
                lambda r, w, s=svc: self._client(s, r, w), sock=sock, ssl=ctx, limit=4096
            )
            self._servers.append(server)
        return self

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for server in self._servers:
            await server.wait_closed()
        for sock in self._placeholders:
            sock.close()

    async def _client(
        self, svc: DemoService, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            async with asyncio.timeout(10):
                await _PROTOCOLS[svc.protocol](self, svc, reader, writer)
        except (OSError, ssl.SSLError, TimeoutError, asyncio.IncompleteReadError, ValueError):
            pass  # a client that goes away or speaks nonsense is no concern of the demo's
        finally:
            writer.close()

    async def _upgrade(self, svc: DemoService, writer: asyncio.StreamWriter) -> None:
        assert svc.cert is not None
        await writer.start_tls(self.contexts[svc.cert])

    def config_toml(self) -> str:
        """The server and its services as `[[servers]]` entries of the demo config."""
        out = [f'[[servers]]\nname = "{MAIL_SERVER}"\nhost = "{MAIL_HOST}"\n']
        for svc in SERVICES:
            out.append("[[servers.services]]")
            out.append(f'service = "{svc.service}"')
            out.append(f"port = {self.ports[svc.service]}")
            out.append(f"interval = {self.interval}")
        return "\n".join(out) + "\n"


async def _write(writer: asyncio.StreamWriter, *lines: str) -> None:
    writer.write("".join(f"{line}\r\n" for line in lines).encode())
    await writer.drain()


async def _read(reader: asyncio.StreamReader) -> str:
    return (await reader.readline()).decode("ascii", "replace").strip()


async def _smtp(fleet: MailFleet, svc: DemoService, reader, writer) -> None:
    await _write(writer, f"220 {GREETING_NAME} ESMTP Ronda demo")
    tls = svc.implicit
    for _ in range(10):
        line = (await _read(reader)).upper()
        if line.startswith("EHLO"):
            extra = [] if tls else ["250-STARTTLS"]
            await _write(writer, f"250-{GREETING_NAME}", *extra, "250 8BITMIME")
        elif line == "STARTTLS" and not tls:
            await _write(writer, "220 2.0.0 Ready to start TLS")
            await fleet._upgrade(svc, writer)
            tls = True
        else:
            await _write(writer, "221 2.0.0 Bye")
            return


async def _imap(fleet: MailFleet, svc: DemoService, reader, writer) -> None:
    await _write(writer, "* OK [CAPABILITY IMAP4rev1 STARTTLS] Ronda demo IMAP ready")
    for _ in range(10):
        tag, _, command = (await _read(reader)).partition(" ")
        if command.upper() == "STARTTLS":
            await _write(writer, f"{tag} OK Begin TLS negotiation now")
            await fleet._upgrade(svc, writer)
        else:
            await _write(writer, "* BYE logging out", f"{tag or '*'} OK LOGOUT completed")
            return


async def _pop3(fleet: MailFleet, svc: DemoService, reader, writer) -> None:
    await _write(writer, "+OK Ronda demo POP3 ready")
    for _ in range(10):
        if (await _read(reader)).upper() == "STLS":
            await _write(writer, "+OK Begin TLS")
            await fleet._upgrade(svc, writer)
        else:
            await _write(writer, "+OK bye")
            return


async def _ssh(fleet: MailFleet, svc: DemoService, reader, writer) -> None:
    await _write(writer, "SSH-2.0-OpenSSH_9.2p1 Debian-2 (Ronda demo)")
    await reader.read(256)  # until the client hangs up


async def _ftp(fleet: MailFleet, svc: DemoService, reader, writer) -> None:
    await _write(writer, "220 Ronda demo FTP ready")
    for _ in range(10):
        line = (await _read(reader)).upper()
        if line == "QUIT" or not line:
            await _write(writer, "221 Goodbye")
            return
        await _write(writer, "502 Command not implemented")  # AUTH TLS too: plain FTP only


_PROTOCOLS = {"smtp": _smtp, "imap": _imap, "pop3": _pop3, "ssh": _ssh, "ftp": _ftp}

__all__ = ["MAIL_SERVER", "SERVICES", "DemoService", "MailFleet"]
