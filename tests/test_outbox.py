"""The outbox and its sender against real parts: a real SQLite file, aiosmtpd relays on
127.0.0.1 speaking plain SMTP, STARTTLS and implicit TLS with trustme certificates and a
login, a real HTTP server behind Apprise's `json://`, and `ronda mail` killed with SIGKILL
in the middle of a delivery. Time travels with an injected clock."""

from __future__ import annotations

import base64
import json
import logging
import os
import signal
import smtplib
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from clocks import Clock
from mailsink import Relay
from polling import wait_until

from ronda.config import Agent, Config, MailSettings, OutboxSettings
from ronda.model import Impact, Priority, Source
from ronda.outbox import compose_mail, queue_mail, queue_notification
from ronda.reach.channels import target_id
from ronda.reach.sender import Sender, owner_dead, process_token
from ronda.store import Store
from ronda.store.outbox import NewMessage
from ronda.tickets import Desk

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
DESK = "soporte@desk.example"
ANA = "ana@tienda-ana.example"
PASSWORD = "s3cret-Pa55"


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def desk(store: Store, clock: Clock) -> Desk:
    return Desk(store, clock=clock)


def open_case(desk: Desk) -> int:
    return desk.open_ticket(
        source=Source.EMAIL,
        subject="No carga",
        priority=Priority.HIGH,
        impact=Impact.HIGH,
        actor="mail",
        requester=ANA,
    ).id


def queue(store: Store, ticket_id: int | None, key: str = "ack:1", kind: str = "ack") -> str:
    msg = compose_mail(
        sender=("", DESK), to=("Ana", ANA), subject=f"[R-1001] {key}", body="hola ñ\n", now=NOW
    )
    assert queue_mail(
        store, msg, key=key, kind=kind, to=ANA, ticket_id=ticket_id, envelope_from="", now=NOW
    )
    return str(msg["Message-ID"])


def config_for(relay: Relay | None, **mail: object) -> Config:
    settings = MailSettings(
        desk_address=DESK,
        relay=relay.address if relay is not None else None,
        **mail,  # type: ignore[arg-type]
    )
    return Config(mail=settings, outbox=OutboxSettings(retry_first=30, retry_max=120))


def kinds(desk: Desk, ticket_id: int) -> list[str]:
    return [e.kind for e in desk.events(ticket_id)]


# ---- the store ----------------------------------------------------------------------------


def test_a_message_key_is_queued_once_and_totals_follow_its_state(store: Store) -> None:
    message = NewMessage("notice:x", "notice", "mail", ANA, b"text")
    assert store.outbox.enqueue(message, now=1.0)
    assert not store.outbox.enqueue(message, now=2.0)  # the same message: ignored
    [claimed] = store.outbox.claim("mail", now=3.0, owner="me", lease=60)
    assert claimed.state == "sending" and claimed.due_at == 63.0 and claimed.body == b"text"
    assert store.outbox.totals() == {("notice", "queued"): 0, ("notice", "sending"): 1}
    assert not store.outbox.mark_sent(claimed.id, "someone else", now=4.0)
    assert store.outbox.mark_sent(claimed.id, "me", now=4.0)
    assert store.outbox.totals()[("notice", "sent")] == 1
    assert store.outbox.get("notice:x").state == "sent"  # type: ignore[union-attr]


def test_a_change_and_the_message_it_causes_commit_together_or_not_at_all(
    store: Store, desk: Desk
) -> None:
    ticket_id = open_case(desk)
    with pytest.raises(RuntimeError), desk.transaction():
        desk.respond(ticket_id, "laura", "hola")
        queue(store, ticket_id, key="reply:1", kind="reply")
        raise RuntimeError("the disk is full")
    assert desk.get(ticket_id).first_response_at is None
    assert store.outbox.for_ticket(ticket_id) == [] and store.mail.thread(ticket_id) == []
    with desk.transaction():
        desk.respond(ticket_id, "laura", "hola")
        queue(store, ticket_id, key="reply:1", kind="reply")
    assert desk.get(ticket_id).first_response_at is not None
    assert [m.kind for m in store.outbox.for_ticket(ticket_id)] == ["reply"]
    # The Message-ID is in the mail log at once: the customer's answer threads.
    assert [m.kind for m in store.mail.thread(ticket_id)] == ["reply"]


# ---- the relay ----------------------------------------------------------------------------


def test_starttls_with_a_login_delivers_and_the_password_stays_secret(
    store: Store, desk: Desk, clock: Clock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ticket_id = open_case(desk)
    message_id = queue(store, ticket_id)
    with Relay(tls="starttls", login=("ronda", PASSWORD), ca_dir=tmp_path) as relay:
        config = config_for(
            relay,
            smtp_tls="starttls",
            smtp_user="ronda",
            smtp_password_env="RONDA_TEST_SMTP",
            smtp_ca=relay.ca_file,
        )
        lines: list[str] = []
        sender = Sender(
            store,
            lambda: config,
            clock=clock,
            environ={"RONDA_TEST_SMTP": PASSWORD},
            report=lambda text, failed: lines.append(text),
        )
        assert sender.drain() == 1
        [(mail_from, rcpt, msg, raw)] = relay.received
    assert relay.logins[-1] == ("ronda", PASSWORD)
    assert (mail_from, rcpt) == ("<>", [ANA]) and msg["Message-ID"] == message_id
    assert b"\r\n" in raw  # stored as it is sent: SMTP's line ends
    sent = store.outbox.get("ack:1")
    assert sent is not None and sent.state == "sent" and sent.sent_at == NOW.timestamp()
    event = desk.events(ticket_id)[-1]
    assert event.kind == "ack_sent" and event.body.startswith(f"To: {ANA}\nSubject: [R-1001]")
    assert "hola ñ" in event.body
    # Nowhere the desk writes: the file, the log, the service's lines.
    assert PASSWORD.encode() not in (tmp_path / "ronda.db").read_bytes()
    assert PASSWORD not in caplog.text and not any(PASSWORD in line for line in lines)


def test_implicit_tls_with_the_password_in_a_file(
    store: Store, clock: Clock, tmp_path: Path
) -> None:
    queue(store, None, key="notice:1", kind="notice")
    secret = tmp_path / "relay.password"
    secret.write_text(PASSWORD + "\n")
    with Relay(tls="implicit", login=("ronda", PASSWORD), ca_dir=tmp_path) as relay:
        config = config_for(
            relay,
            smtp_tls="tls",
            smtp_user="ronda",
            smtp_password_file=secret,
            smtp_ca=relay.ca_file,
        )
        assert Sender(store, lambda: config, clock=clock).drain() == 1
        assert len(relay.received) == 1
    assert store.outbox.get("notice:1").state == "sent"  # type: ignore[union-attr]


def test_a_wrong_password_is_retried_and_never_written(
    store: Store, desk: Desk, clock: Clock, tmp_path: Path
) -> None:
    ticket_id = open_case(desk)
    queue(store, ticket_id)
    wrong = "wrong-" + PASSWORD
    with Relay(tls="starttls", login=("ronda", PASSWORD), ca_dir=tmp_path) as relay:
        config = config_for(
            relay,
            smtp_tls="starttls",
            smtp_user="ronda",
            smtp_password_env="P",
            smtp_ca=relay.ca_file,
        )
        Sender(store, lambda: config, clock=clock, environ={"P": wrong}).drain()
        assert relay.received == []
    waiting = store.outbox.get("ack:1")
    assert waiting is not None and waiting.state == "queued" and waiting.attempts == 1
    assert "refused the login of ronda: 535" in (waiting.last_error or "")
    assert kinds(desk, ticket_id)[-1] == "ack_failed"
    assert wrong.encode() not in (tmp_path / "ronda.db").read_bytes()


def test_credentials_never_go_in_clear_to_a_relay_without_starttls(
    store: Store, clock: Clock
) -> None:
    queue(store, None)
    with Relay() as relay:
        config = config_for(relay, smtp_user="ronda", smtp_password_env="P")
        Sender(store, lambda: config, clock=clock, environ={"P": PASSWORD}).drain()
        assert relay.received == [] and relay.logins == []
    waiting = store.outbox.get("ack:1")
    assert waiting is not None and "offers no STARTTLS" in (waiting.last_error or "")


def test_a_relay_that_refuses_then_accepts_gets_the_message_on_the_retry(
    store: Store, desk: Desk, clock: Clock
) -> None:
    ticket_id = open_case(desk)
    queue(store, ticket_id)
    with Relay(refuse=["451 4.3.0 Try again later"]) as relay:
        config = config_for(relay)
        sender = Sender(store, lambda: config, clock=clock)
        assert sender.drain() == 1
        waiting = store.outbox.get("ack:1")
        assert waiting is not None and waiting.state == "queued" and waiting.attempts == 1
        assert waiting.last_error is not None and "451 4.3.0 Try again later" in waiting.last_error
        assert waiting.due_at == NOW.timestamp() + 30  # [outbox] retry_first
        assert sender.drain() == 0  # not due yet
        clock.advance(seconds=30)
        assert sender.drain() == 1
        assert len(relay.received) == 1
    assert store.outbox.get("ack:1").state == "sent"  # type: ignore[union-attr]
    history = kinds(desk, ticket_id)
    assert history.count("ack_failed") == 1 and history[-1] == "ack_sent"


def test_back_off_doubles_up_to_its_cap_and_the_desk_gives_up_in_the_end(
    store: Store, desk: Desk, clock: Clock
) -> None:
    ticket_id = open_case(desk)
    queue(store, ticket_id)
    down = socket.socket()
    down.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    config = Config(
        mail=MailSettings(desk_address=DESK, relay=f"127.0.0.1:{down.getsockname()[1]}"),
        outbox=OutboxSettings(retry_first=30, retry_max=100, give_up_after=300),
    )
    sender = Sender(store, lambda: config, clock=clock)
    delays = []
    try:
        for _ in range(4):
            sender.drain()
            waiting = store.outbox.get("ack:1")
            assert waiting is not None
            if waiting.state != "queued":
                break
            delays.append(waiting.due_at - clock.now.timestamp())
            clock.now = datetime.fromtimestamp(waiting.due_at, UTC)
    finally:
        down.close()
    assert delays == [30, 60, 100, 100]
    clock.advance(seconds=100)  # 390 s after it was queued
    sender.drain()
    failed = store.outbox.get("ack:1")
    assert failed is not None and failed.state == "failed" and failed.attempts == 5
    assert failed.last_error is not None and failed.last_error.startswith(
        "not delivered after 5 attempts"
    )
    assert kinds(desk, ticket_id).count("ack_failed") == 2  # the first failure, and the last


def test_a_permanent_refusal_fails_at_once_with_the_relays_answer(
    store: Store, desk: Desk, clock: Clock
) -> None:
    ticket_id = open_case(desk)
    queue(store, ticket_id)
    with Relay(refuse=["550 5.1.1 No such user"]) as relay:
        Sender(store, lambda: config_for(relay), clock=clock).drain()
    failed = store.outbox.get("ack:1")
    assert failed is not None and failed.state == "failed"
    assert failed.last_error is not None and "550 5.1.1 No such user" in failed.last_error
    assert desk.events(ticket_id)[-1].body.endswith("550 5.1.1 No such user")


def test_a_dead_senders_claim_is_taken_over_at_once_a_live_ones_after_its_lease(
    store: Store, clock: Clock
) -> None:
    queue(store, None, key="a")
    queue(store, None, key="b")
    host = socket.gethostname()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # a pid that ran on this host and is gone
    dead = f"{host}:{child.pid}:1"
    live = "another-host:1234:1"  # another machine: only its lease can tell
    assert owner_dead(dead) and not owner_dead(live) and not owner_dead(process_token())
    now = NOW.timestamp()
    [first] = store.outbox.claim("mail", now=now, owner=dead, lease=300, limit=1)
    [second] = store.outbox.claim("mail", now=now, owner=live, lease=300, limit=1)
    with Relay() as relay:
        sender = Sender(store, lambda: config_for(relay), clock=clock)
        assert sender.drain() == 1  # the dead one's
        assert [m["Subject"] for _, _, m, _ in relay.received] == [f"[R-1001] {first.key}"]
        clock.advance(seconds=301)
        assert sender.drain() == 1  # the lease of the live one ran out
        assert len(relay.received) == 2
    assert {store.outbox.get(k).state for k in ("a", "b")} == {"sent"}  # type: ignore[union-attr]
    assert second.key == "b"


# ---- killed mid-send ----------------------------------------------------------------------


def _mail_config(path: Path, relay: Relay, listen_port: int) -> Path:
    path.write_text(
        f'[mail]\nlisten = "127.0.0.1:{listen_port}"\ndesk_address = "{DESK}"\n'
        f'relay = "{relay.address}"\n[[customers]]\nname = "Ana"\nemails = ["{ANA}"]\n',
        encoding="utf-8",
    )
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Ana <{ANA}>"
    msg["To"] = DESK
    msg["Subject"] = f"pedido {n}"
    msg["Message-ID"] = f"<req{n}@tienda-ana.example>"
    msg.set_content("La tienda no carga")
    return msg.as_bytes()


class MailDaemon:
    """One `ronda mail` process (intake and sender), killed by its pid at the end."""

    def __init__(self, config: Path, db: Path, log: Path) -> None:
        self.log_path = log
        self._log = open(log, "wb")  # noqa: SIM115 - closed in kill()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ronda", "mail", "--config", str(config), "--db", str(db)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parent.parent,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> str | None:
        return None if self.proc.poll() is None else f"ronda mail exited:\n{self.log()}"

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self._log.close()


@pytest.fixture
def daemons() -> Iterator[list[MailDaemon]]:
    started: list[MailDaemon] = []
    yield started
    for daemon in started:
        daemon.kill()


@pytest.mark.timeout(60)
def test_killed_mid_delivery_and_restarted_every_ack_is_sent_once(
    tmp_path: Path, daemons: list[MailDaemon]
) -> None:
    """Four acknowledgements; the relay holds the second conversation at RCPT and the
    sender is killed there (SIGKILL). After a restart the one in flight is sent again, the
    first is not: each customer has exactly one acknowledgement."""
    db = tmp_path / "ronda.db"
    with Relay() as relay:
        port = _free_port()
        config = _mail_config(tmp_path / "ronda.toml", relay, port)
        first = MailDaemon(config, db, tmp_path / "mail-1.log")
        daemons.append(first)
        wait_until(lambda: "listening on" in first.log(), "ronda mail", 20, alive=first.alive)
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail(ANA, [DESK], _request(1))
        relay.wait(1)
        relay.hold.clear()  # the next conversation stops at RCPT
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            for n in (2, 3, 4):
                client.sendmail(ANA, [DESK], _request(n))
        wait_until(relay.held.is_set, "a delivery held at RCPT", 20, alive=first.alive)
        first.kill()  # SIGKILL in the middle of a delivery
        relay.hold.set()
        store = Store(db)
        try:
            states = {m.key: m.state for m in store.outbox.for_ticket(1)} | {
                m.key: m.state for t in (2, 3, 4) for m in store.outbox.for_ticket(t)
            }
            assert states["ack:1"] == "sent" and "sending" in states.values()
            second = MailDaemon(config, db, tmp_path / "mail-2.log")
            daemons.append(second)
            relay.wait(4, timeout=20)
            wait_until(
                lambda: store.outbox.pending() == 0, "the outbox empty", 20, alive=second.alive
            )
        finally:
            store.close()
        ids = relay.message_ids()
        recipients = sorted(str(m["In-Reply-To"]) for _, _, m, _ in relay.received)
    assert len(ids) == len(set(ids)) == 4  # nothing lost, nothing twice
    assert recipients == [f"<req{n}@tienda-ana.example>" for n in (1, 2, 3, 4)]


# ---- Apprise ------------------------------------------------------------------------------


class Hooks:
    """A real HTTP server for Apprise's json:// (a generic webhook): keeps every POST; the
    paths in `failing` answer 500."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict]] = []
        self.authorization: list[str | None] = []
        self.failing: set[str] = set()
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                size = int(self.headers["Content-Length"])
                body = json.loads(self.rfile.read(size))
                path = self.path.partition("?")[0]
                hooks.received.append((self.path, body))
                hooks.authorization.append(self.headers.get("Authorization"))
                self.send_response(500 if path in hooks.failing else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> Hooks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str, login: str = "") -> str:
        return f"json://{login + '@' if login else ''}127.0.0.1:{self.port}{path}"


def test_a_notification_goes_through_apprise_with_its_secret_from_the_environment(
    store: Store, desk: Desk, clock: Clock, tmp_path: Path
) -> None:
    ticket_id = open_case(desk)
    with Hooks() as hooks:
        url = hooks.url("/laura", login="ronda:${HOOK_TOKEN}")
        config = Config(agents=(Agent("laura", notify=(url,)),))
        queue_notification(
            store,
            key="notify:1",
            agent="laura",
            target=target_id(url),
            title="R-1001 new",
            body="Open it: ronda tui, then :R-1001",
            ticket_id=ticket_id,
            now=NOW,
        )
        environ = {"HOOK_TOKEN": "tok-981"}
        assert Sender(store, lambda: config, clock=clock, environ=environ).drain() == 1
        [(path, body)] = hooks.received
    assert path == "/laura"
    assert hooks.authorization == ["Basic " + base64.b64encode(b"ronda:tok-981").decode()]
    assert body["title"] == "R-1001 new" and body["message"].endswith(":R-1001")
    sent = store.outbox.get("notify:1")
    assert sent is not None and sent.state == "sent" and sent.target == target_id(url)
    assert desk.events(ticket_id)[-1].kind == "notified"
    assert b"tok-981" not in (tmp_path / "ronda.db").read_bytes()


def test_a_failing_channel_is_retried_with_apprises_words_and_secrets_masked(
    store: Store, clock: Clock
) -> None:
    with Hooks() as hooks:
        hooks.failing.add("/down")
        url = hooks.url("/down", login="ronda:${TOKEN}")
        config = Config(agents=(Agent("laura", notify=(url,)),))
        queue_notification(
            store,
            key="n",
            agent="laura",
            target=target_id(url),
            title="t",
            body="b",
            ticket_id=None,
            now=NOW,
        )
        Sender(store, lambda: config, clock=clock, environ={"TOKEN": "tok-981"}).drain()
        assert len(hooks.received) == 1
    waiting = store.outbox.get("n")
    assert waiting is not None and waiting.state == "queued"
    assert waiting.last_error is not None and "json:// did not take it" in waiting.last_error
    assert "500" in waiting.last_error and "tok-981" not in waiting.last_error


def test_a_notification_for_a_target_removed_from_the_config_fails(
    store: Store, clock: Clock
) -> None:
    queue_notification(
        store,
        key="n",
        agent="laura",
        target="ntfy:0000000000",
        title="t",
        body="b",
        ticket_id=None,
        now=NOW,
    )
    Sender(store, lambda: Config(agents=(Agent("laura"),)), clock=clock).drain()
    failed = store.outbox.get("n")
    assert failed is not None and failed.state == "failed"
    assert "no notification target ntfy:0000000000" in (failed.last_error or "")


def test_a_slow_channel_never_holds_the_mail(store: Store, clock: Clock) -> None:
    """One thread per channel: a webhook that does not answer leaves mail going out."""
    stall = socket.socket()
    stall.bind(("127.0.0.1", 0))
    stall.listen()  # accepts, never answers
    url = f"json://127.0.0.1:{stall.getsockname()[1]}/?cto=5&rto=5"
    try:
        with Relay() as relay:
            config = Config(
                mail=MailSettings(desk_address=DESK, relay=relay.address),
                agents=(Agent("laura", notify=(url,)),),
            )
            queue_notification(
                store,
                key="n",
                agent="laura",
                target=target_id(url),
                title="t",
                body="b",
                ticket_id=None,
                now=NOW,
            )
            sender = Sender(store, lambda: config, clock=clock, idle_poll=0.05).start()
            try:
                wait_until(
                    lambda: store.outbox.get("n").state == "sending",  # type: ignore[union-attr]
                    "the webhook's claim",
                )
                queue(store, None)
                sender.wake()
                relay.wait(1, timeout=4)  # while the webhook still holds its thread
                assert store.outbox.get("n").state == "sending"  # type: ignore[union-attr]
            finally:
                stall.close()
                sender.stop()
    finally:
        stall.close()
