"""The SMTP intake server (aiosmtpd): each accepted message becomes a case or an event.

The event loop only speaks SMTP. Storing runs on one worker thread (SQLite writes queue
anyway) and the `250` goes back only once the message is stored, so a crash never answers
"accepted" for a message the desk does not have. Acknowledgements are queued in the outbox
with the case and delivered by the service's sender worker, so a slow relay never holds a
customer's MTA. A message over
`mail.max_message_bytes` is refused with `552` before anything is stored; a storage failure
answers `451`, and the sending MTA retries.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from ronda.intake.ingest import Intake, Outcome
from ronda.intake.replies import parse_hostport

log = logging.getLogger("ronda.mail")

DEFAULT_PORT = 2525
START_TIMEOUT = 10.0  # seconds to bind the socket


class _LenientSMTP(SMTP):
    # RFC 5321 caps lines at 1000 bytes, but webmail HTML often ignores it; refusing such a
    # message would lose a customer's request. The message size cap still bounds memory.
    line_length_limit = 64 * 1024


class SmtpThread:
    """An aiosmtpd server with its own event loop on a background thread. `port=0` binds a
    free port (see `.port` after `start`)."""

    def __init__(
        self,
        handler: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        data_size_limit: int | None = None,
        hostname: str = "localhost",
    ) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.data_size_limit = data_size_limit
        self.hostname = hostname
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def _factory(self) -> SMTP:
        return _LenientSMTP(
            self.handler,
            data_size_limit=self.data_size_limit,
            enable_SMTPUTF8=True,
            hostname=self.hostname,
            ident="Ronda mail intake",
            loop=self._loop,
        )

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            server = loop.run_until_complete(
                loop.create_server(self._factory, self.host, self.port)
            )
        except BaseException as exc:  # noqa: BLE001 - handed to start() in the caller
            self._error = exc
            self._ready.set()
            loop.close()
            return
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
            loop.run_until_complete(server.wait_closed())
            loop.close()

    def start(self) -> SmtpThread:
        self._thread = threading.Thread(target=self._run, name=f"smtp-{self.port}", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise RuntimeError(f"SMTP server on {self.host}:{self.port} did not start")
        if self._error is not None:
            raise OSError(f"cannot listen on {self.host}:{self.port}: {_why(self._error)}")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(START_TIMEOUT)

    def __enter__(self) -> SmtpThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class IntakeHandler:
    """aiosmtpd handler: DATA -> `Intake.ingest` on the storing thread."""

    def __init__(self, intake: Intake) -> None:
        self.intake = intake
        self._store = ThreadPoolExecutor(1, thread_name_prefix="ronda-mail-store")

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content
        if raw is None:
            content = envelope.content or b""
            raw = content if isinstance(content, bytes) else content.encode("utf-8")
        loop = asyncio.get_running_loop()
        try:
            outcome: Outcome = await loop.run_in_executor(
                self._store, self.intake.ingest, bytes(raw), envelope.mail_from
            )
        except Exception:
            log.exception("could not store a message from %s", envelope.mail_from)
            return "451 4.3.0 Temporary failure storing the message, please retry"
        if outcome.action == "busy":
            return "451 4.3.0 This message is being stored right now, please retry"
        case = f" {outcome.ticket.case_number}" if outcome.ticket is not None else ""
        return f"250 2.0.0 Ok: {outcome.action}{case}"

    def close(self) -> None:
        """Finish storing what was accepted."""
        self._store.shutdown(wait=True)


class MailServer:
    """The intake listening on `config.mail.listen` (or `listen`)."""

    def __init__(self, intake: Intake, listen: str | None = None) -> None:
        host, port = parse_hostport(listen or intake.settings.listen, DEFAULT_PORT)
        self.intake = intake
        self.handler = IntakeHandler(intake)
        self.smtp = SmtpThread(
            self.handler,
            host,
            port,
            data_size_limit=intake.settings.max_message_bytes,
            hostname=intake.desk_address.rpartition("@")[2] or "localhost",
        )

    @property
    def address(self) -> tuple[str, int]:
        return self.smtp.host, self.smtp.port

    def start(self) -> MailServer:
        self.smtp.start()
        return self

    def stop(self) -> None:
        self.smtp.stop()
        self.handler.close()

    def __enter__(self) -> MailServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _why(error: BaseException) -> str:
    """The reason a listen failed, in words: the OS's, without asyncio's wrapping."""
    if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
        return (
            "address already in use (is another `ronda mail` running? choose another with --listen)"
        )
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error)


__all__ = ["IntakeHandler", "MailServer", "SmtpThread"]
