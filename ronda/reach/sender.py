"""The sender worker: delivers the outbox, with threads of its own per channel (mail to the
relay, Apprise notifications), so a slow or failing channel never holds the other, and
neither holds the rounds (they write the outbox and go on).

Each pass claims a few due messages for a lease, delivers them outside any transaction and
marks each one: sent (an event on its case says so, with what was sent), due again later
with the answer kept (a temporary failure; back-off doubles from `[outbox] retry_first` to
`retry_max`), or failed (a 5xx answer, or still not delivered `give_up_after` after it was
queued). Its first failure and its last are events on the case too.

Killed and restarted: a message is at least once, and in the normal path once. A claim is
marked sent in the same instant the relay's "250" is read; a process killed before that
leaves the claim, which the next sender takes over at once when its owner is known dead (the
same host, that pid gone) or when the lease runs out, and sends again. A relay that never
got the message's final "." dropped it with the connection, so that resend is the only
copy. The one window for a duplicate is between the relay's "250" and the commit of "sent",
a few milliseconds: the customer then gets the same bytes twice, the same Message-ID and
Date, which most mail clients show as one message (an Apprise channel shows the same text
twice).
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from email import message_from_bytes
from email.header import decode_header, make_header

from ronda.config import Config
from ronda.reach import channels
from ronda.reach.relay import RelayAccess, RelayError, RelaySession
from ronda.store import Store
from ronda.store.outbox import Channel, OutboxMessage
from ronda.tickets import Desk, TicketNotFound, utcnow

log = logging.getLogger("ronda.outbox")

LEASE = 300.0  # seconds a claim holds: well over a batch's conversation with its timeouts
BATCH = 20  # messages claimed at once
# Threads per channel: each holds its own connection and claims its own batch, so one slow
# conversation (a greylisting relay, a webhook timing out) does not hold the channel.
WORKERS = 2
IDLE_POLL = 5.0  # seconds between two looks at an idle outbox (a wake-up comes sooner)
CHANNELS: tuple[Channel, ...] = ("mail", "apprise")
# What the case's history says of a message of each kind: (sent, failed).
EVENT_KINDS = {
    "ack": ("ack_sent", "ack_failed"),
    "reply": ("reply_sent", "reply_failed"),
    "notice": ("notice_sent", "notice_failed"),
    "notification": ("notified", "notify_failed"),
}
_ACTOR = {"mail": "mail", "apprise": "system"}

Report = Callable[[str, bool], object]  # (line, failed): a log line for the service


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        return None


def process_token() -> str:
    """Who holds a claim: this host, this pid and when this process started."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid) or '?'}"


def owner_dead(owner: str) -> bool:
    """True when the claim's owner ran on this host and is gone (its pid ended, or is now
    another process). An owner on another host is never called dead: its lease decides."""
    host, _, rest = owner.partition(":")
    pid_text, _, ticks = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return owner != process_token()  # an earlier process that had our pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, someone else's
    return ticks != "?" and _start_ticks(pid) not in (None, ticks)


def _header_text(value: object) -> str:
    try:
        return str(make_header(decode_header(str(value or ""))))
    except (ValueError, LookupError):
        return str(value or "")


def mail_summary(message: OutboxMessage) -> str:
    """What the case's history keeps of a mail: recipient, subject and text."""
    parsed = message_from_bytes(message.body)
    payload = parsed.get_payload(decode=True)
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    subject = _header_text(parsed["Subject"]) or message.subject
    return f"To: {message.recipient}\nSubject: {subject}\n\n{text.strip()}"


def _summary(message: OutboxMessage) -> str:
    if message.channel == "mail":
        return mail_summary(message)
    scheme = (message.target or "").partition(":")[0]
    text = message.body.decode("utf-8", "replace")
    return f"To: {message.recipient} ({scheme})\n{message.subject}\n\n{text}"


class Sender:
    """Delivers the outbox of `store` until `stop()`. `config()` is read at each pass (a
    reload applies to the next message); `clock` stamps and times everything it writes."""

    def __init__(
        self,
        store: Store,
        config: Callable[[], Config],
        *,
        clock: Callable[[], datetime] = utcnow,
        environ: Mapping[str, str] | None = None,
        report: Report | None = None,
        lease: float = LEASE,
        owner: str | None = None,
        idle_poll: float = IDLE_POLL,
        channels_: Iterable[Channel] = CHANNELS,
        workers: int = WORKERS,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.environ = os.environ if environ is None else environ
        self.report = report
        self.lease = lease
        self.owner = owner or process_token()
        self.idle_poll = idle_poll
        self.channels = tuple(channels_)
        self.workers = max(1, workers)
        self.desk = Desk(store, clock=clock)
        self._stopping = threading.Event()
        self._wake = {channel: threading.Event() for channel in self.channels}
        self._threads: list[threading.Thread] = []

    # ---- life cycle -------------------------------------------------------------------

    def start(self) -> Sender:
        for channel in self.channels:
            for n in range(self.workers):
                thread = threading.Thread(
                    target=self._loop,
                    args=(channel,),
                    name=f"ronda-send-{channel}-{n}",
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)
        return self

    def wake(self) -> None:
        """Something was queued: look now instead of at the next poll."""
        for event in self._wake.values():
            event.set()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop after the message in flight; claims not tried yet go back to the queue."""
        self._stopping.set()
        self.wake()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []
        try:
            self.store.outbox.release(self.owner, now=self.clock().timestamp())
        except sqlite3.Error:
            log.exception("claims of %s not given back (they expire with their lease)", self.owner)

    @property
    def alive(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def _loop(self, channel: Channel) -> None:
        wake = self._wake[channel]
        while not self._stopping.is_set():
            try:
                if self.deliver_due(channel):
                    continue
                due = self.store.outbox.next_due(channel)
            except Exception:  # the sender must outlive a bad pass (a locked or full disk)
                log.exception("outbox pass on %s failed", channel)
                due = None
            wait = self.idle_poll
            if due is not None:
                wait = min(wait, max(0.01, due - self.clock().timestamp()))
            wake.wait(wait)
            wake.clear()
        # Threads of the store's connections end with the thread; close ours explicitly.
        self.store.close()

    # ---- passes -----------------------------------------------------------------------

    def drain(self, channels_: Iterable[Channel] | None = None, max_passes: int = 10_000) -> int:
        """Deliver, on the caller's thread, everything due now (the CLI after an import,
        tests, benches); returns how many messages were handled."""
        total = 0
        for channel in tuple(channels_ or self.channels):
            for _ in range(max_passes):
                handled = self.deliver_due(channel)
                total += handled
                if not handled:
                    break
        return total

    def deliver_due(self, channel: Channel) -> int:
        """One pass: claim due messages of `channel`, deliver and mark each."""
        outbox = self.store.outbox
        now = self.clock().timestamp()
        dead = [o for o in outbox.sending_owners(channel) if o != self.owner and owner_dead(o)]
        claimed = outbox.claim(
            channel, now=now, owner=self.owner, lease=self.lease, limit=BATCH, dead=dead
        )
        if not claimed:
            return 0
        config = self.config()
        if channel == "mail":
            self._send_mail(claimed, config)
        else:
            self._send_apprise(claimed, config)
        return len(claimed)

    def _send_mail(self, claimed: list[OutboxMessage], config: Config) -> None:
        try:
            session: RelaySession | None = RelaySession(
                RelayAccess.from_settings(config.mail), environ=self.environ
            )
        except RelayError as exc:
            session, down = None, exc
        else:
            down = None
        try:
            for message in claimed:
                if self._stopping.is_set():
                    break  # the rest goes back to the queue in stop()
                if down is None and session is not None:
                    try:
                        session.send(message.envelope_from or "", message.recipient, message.body)
                    except RelayError as exc:
                        self._failed(message, config, str(exc), exc.permanent)
                        if exc.connection:
                            down = exc  # the others would meet the same: not tried now
                        continue
                    self._sent(message)
                else:
                    assert down is not None
                    self._failed(message, config, str(down), down.permanent)
        finally:
            if session is not None:
                session.close()

    def _send_apprise(self, claimed: list[OutboxMessage], config: Config) -> None:
        for message in claimed:
            if self._stopping.is_set():
                break
            agent = config.agent(message.recipient)
            url = channels.find_target(agent.notify, message.target or "") if agent else None
            if url is None:
                self._failed(
                    message,
                    config,
                    f"{message.recipient} has no notification target {message.target} any "
                    "more (the config changed since it was queued)",
                    permanent=True,
                )
                continue
            try:
                channels.send(url, message.subject, message.body.decode("utf-8"), self.environ)
            except channels.ChannelError as exc:
                self._failed(message, config, str(exc), permanent=False)
                continue
            except Exception as exc:  # noqa: BLE001 - a plugin's bug is this message's failure
                self._failed(message, config, f"{type(exc).__name__}: {exc}", permanent=False)
                continue
            self._sent(message)

    # ---- marking ----------------------------------------------------------------------

    def _event(self, message: OutboxMessage, kind: str, body: str) -> None:
        if message.ticket_id is None:
            return
        try:
            self.desk.record(message.ticket_id, _ACTOR[message.channel], kind, body)
        except TicketNotFound:
            pass

    def _sent(self, message: OutboxMessage) -> None:
        now = self.clock().timestamp()
        sent_kind = EVENT_KINDS.get(message.kind, ("sent", "send_failed"))[0]
        with self.store.write():
            if self.store.outbox.mark_sent(message.id, self.owner, now=now):
                self._event(message, sent_kind, _summary(message))
        self._say(f"{message.kind} to {message.recipient} sent ({message.key})", False)

    def _failed(self, message: OutboxMessage, config: Config, error: str, permanent: bool) -> None:
        settings = config.outbox
        now = self.clock().timestamp()
        attempts = message.attempts + 1
        failed_kind = EVENT_KINDS.get(message.kind, ("sent", "send_failed"))[1]
        too_old = now - message.created_at >= settings.give_up_after
        if permanent or too_old:
            why = error
            if too_old and not permanent:
                why = f"not delivered after {attempts} attempts: {error}"
            with self.store.write():
                if self.store.outbox.mark_failed(message.id, self.owner, error=why):
                    self._event(message, failed_kind, f"To: {message.recipient}: failed: {why}")
            self._say(f"{message.kind} to {message.recipient} failed: {why}", True)
            return
        delay = min(settings.retry_max, settings.retry_first * 2**message.attempts)
        with self.store.write():
            retried = self.store.outbox.mark_retry(
                message.id, self.owner, due_at=now + delay, error=error
            )
            if retried and message.attempts == 0:
                self._event(
                    message,
                    failed_kind,
                    f"To: {message.recipient}: not sent yet ({error}); trying again in "
                    f"{delay:g} s, for up to {settings.give_up_after / 3600:g} h",
                )
        self._say(f"{message.kind} to {message.recipient}: {error}; again in {delay:g} s", True)

    def _say(self, text: str, failed: bool) -> None:
        """One line for the service's log (or this module's logger without a service)."""
        if self.report is None:
            log.log(logging.WARNING if failed else logging.INFO, "%s", text)
            return
        try:
            self.report(text, failed)
        except Exception:  # a logging hook must never stop the sender
            log.exception("sender report hook failed")


__all__ = [
    "BATCH",
    "CHANNELS",
    "EVENT_KINDS",
    "LEASE",
    "Sender",
    "mail_summary",
    "owner_dead",
    "process_token",
]
