"""A real SMTP relay for the tests: aiosmtpd on 127.0.0.1 with its own event loop thread,
speaking plain SMTP, STARTTLS or implicit TLS (trustme certificates) and, when asked,
requiring a login; it can answer a first few messages with a refusal, and hold a
conversation at RCPT until told to go on (a relay slow enough to kill a sender mid-send)."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import trustme
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from ronda.intake.ingest import Intake
from ronda.intake.server import MailServer
from ronda.reach.sender import Sender


class Relay:
    """Keeps every message it accepts: (MAIL FROM, RCPT TOs, parsed message, raw bytes)."""

    def __init__(
        self,
        *,
        tls: str | None = None,  # None, "starttls" or "implicit"
        login: tuple[str, str] | None = None,
        refuse: list[str] | None = None,  # answers to the first DATA commands, in order
        ca_dir: Path | None = None,
    ) -> None:
        self.tls = tls
        self.login = login
        self.refuse = list(refuse or [])
        self.received: list[tuple[str, list[str], Message, bytes]] = []
        self.logins: list[tuple[str, str]] = []
        self.connections = 0
        self.hold = threading.Event()  # cleared: RCPT waits until it is set
        self.hold.set()
        self.held = threading.Event()  # set while a conversation waits at RCPT
        self.dropped = 0  # conversations that ended before their message was whole
        self._cond = threading.Condition()
        self.ca: trustme.CA | None = None
        self.ca_file: Path | None = None
        self._server_ctx: ssl.SSLContext | None = None
        if tls is not None:
            self.ca = trustme.CA()
            cert = self.ca.issue_cert("127.0.0.1", "localhost")
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            cert.configure_cert(ctx)
            self._server_ctx = ctx
            if ca_dir is not None:
                self.ca_file = ca_dir / "relay-ca.pem"
                self.ca.cert_pem.write_to_path(str(self.ca_file))
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    # ---- aiosmtpd handler -------------------------------------------------------------

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201
        while not self.hold.is_set():
            self.held.set()
            await asyncio.sleep(0.005)
        self.held.clear()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001
        with self._cond:
            if self.refuse:
                return self.refuse.pop(0)
            raw = envelope.original_content
            self.received.append(
                (envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(raw), raw)
            )
            self._cond.notify_all()
        return "250 OK queued"

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:  # noqa: ANN001
        if isinstance(auth_data, LoginPassword):
            pair = (auth_data.login.decode(), auth_data.password.decode())
            self.logins.append(pair)
            if pair == self.login:
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    # ---- running ----------------------------------------------------------------------

    def _factory(self) -> SMTP:
        self.connections += 1
        kwargs: dict = {}
        if self.tls == "starttls":
            kwargs.update(tls_context=self._server_ctx, require_starttls=True)
        if self.login is not None:
            # Over implicit TLS aiosmtpd does not see the TLS itself: the transport is TLS.
            kwargs.update(
                authenticator=self._authenticate,
                auth_required=True,
                auth_require_tls=self.tls != "implicit",
            )
        return SMTP(self, hostname="relay.test", loop=self._loop, **kwargs)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        ssl_ctx = self._server_ctx if self.tls == "implicit" else None
        server = loop.run_until_complete(
            loop.create_server(self._factory, "127.0.0.1", 0, ssl=ssl_ctx)
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.close()

    def __enter__(self) -> Relay:
        self._thread = threading.Thread(target=self._run, name="test-relay", daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "the test relay did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self.hold.set()
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def wait(
        self, count: int, timeout: float = 10.0
    ) -> list[tuple[str, list[str], Message, bytes]]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"relay got {len(self.received)} messages, wanted {count}")
            return list(self.received)

    def message_ids(self) -> list[str]:
        with self._cond:
            return [str(msg["Message-ID"]) for _, _, msg, _ in self.received]


# ---- the desk's side: a sender delivering what the intake queued -----------------------


@contextmanager
def sending(intake: Intake, *, idle_poll: float = 0.02) -> Iterator[Sender]:
    """The outbox's sender on the intake's store and config, woken by what it queues (as
    `ronda mail` runs them); stopped at the end."""
    sender = Sender(
        intake.desk.store, lambda: intake.config, clock=intake.desk.clock, idle_poll=idle_poll
    ).start()
    intake.on_queued = sender.wake
    try:
        yield sender
    finally:
        sender.stop()


class DeliveringServer(MailServer):
    """The SMTP intake with the outbox's sender running next to it, as `ronda mail` runs."""

    def __init__(self, intake: Intake, listen: str | None = None) -> None:
        super().__init__(intake, listen)
        self.sender = Sender(
            intake.desk.store, lambda: intake.config, clock=intake.desk.clock, idle_poll=0.02
        )
        intake.on_queued = self.sender.wake

    def start(self) -> DeliveringServer:
        self.sender.start()
        super().start()
        return self

    def stop(self) -> None:
        super().stop()
        self.sender.stop()
