"""The mail intake tried as an attacker would: real SMTP sessions against the intake server on
127.0.0.1, a second aiosmtpd server as the relay recording what the desk sends, a real SQLite
file, and an injected clock for the rate windows. Each attack is refused, bounded or shown
safely, and the good customer's case stored before it stays as it was."""

from __future__ import annotations

import os
import smtplib
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path

import pytest
from clocks import Clock
from mailsink import DeliveringServer
from test_mail_intake import (
    ANA,
    DESK,
    Sink,
    event_kinds,
    mail,
    make_config,
    outgoing,
    send,
    tickets,
    wait_for,
)

from ronda.intake.ingest import FLOOD_DETAIL, Intake
from ronda.intake.maildir import import_maildir, run_import
from ronda.intake.parse import MAX_MIME_DEPTH, MAX_MIME_PARTS, decode_header_value
from ronda.intake.replies import ACK_SUBJECT_EXCERPT, send_reply
from ronda.intake.server import MailServer, SmtpThread
from ronda.model import Status
from ronda.store import Store

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Bogota
EVIL = "mallory@evil.example"
MX = "mx.desk.example"  # the authserv-id of the desk's own receiving MTA


@pytest.fixture
def sink() -> Iterator[Sink]:
    sink = Sink()
    with SmtpThread(sink) as relay:
        sink.port = relay.port  # type: ignore[attr-defined]
        yield sink


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


def start(store: Store, sink: Sink, clock: Clock, **mail_settings: object) -> MailServer:
    config = make_config(f"127.0.0.1:{sink.port}", **mail_settings)  # type: ignore[attr-defined]
    return DeliveringServer(Intake.from_config(config, store, clock)).start()


@pytest.fixture
def server(store: Store, sink: Sink, clock: Clock) -> Iterator[MailServer]:
    server = start(store, sink, clock)
    yield server
    server.stop()


def intake_of(server: MailServer) -> Intake:
    return server.intake


def send_many(
    server: MailServer, messages: list[tuple[str, EmailMessage | bytes]]
) -> list[tuple[int, str]]:
    """Many SMTP transactions on one connection, as a flooding client does."""
    replies = []
    with smtplib.SMTP(*server.address, timeout=30) as client:
        client.ehlo()
        for envelope_from, message in messages:
            raw = message if isinstance(message, bytes) else message.as_bytes(policy=SMTP_POLICY)
            client.mail(envelope_from)
            client.rcpt(DESK)
            code, reply = client.data(raw)
            replies.append((code, reply.decode()))
    return replies


def good_case(server: MailServer, sink: Sink) -> dict:
    """Ana's case, stored before the attack, as the database holds it."""
    assert "opened R-1001" in send(server, mail())[1]
    sink.wait(1)
    wait_for(lambda: "ack_sent" in event_kinds(intake_of(server), 1))
    return snapshot(intake_of(server).desk.store, 1)


def snapshot(store: Store, ticket_id: int) -> dict:
    ticket = store.query("SELECT * FROM tickets WHERE id = ?", (ticket_id,))[0]
    events = store.query(
        "SELECT kind, body, field, old, new FROM ticket_events WHERE ticket_id = ? ORDER BY id",
        (ticket_id,),
    )
    return {"ticket": ticket, "events": events}


def flood_tickets(store: Store) -> list[dict]:
    return store.query("SELECT * FROM tickets WHERE dedupe_key LIKE 'mail-flood:%' ORDER BY id")


# ---- Reply-To hijack -------------------------------------------------------------------------


def test_reply_to_on_another_domain_gets_neither_the_ack_nor_the_reply(
    server: MailServer, sink: Sink
) -> None:
    intake = intake_of(server)
    forged = mail(
        "Cambio de contraseña",
        "Envíen la nueva clave a esta dirección",
        message_id="<forged@x>",
        Reply_To=f"Ana <{EVIL}>",
    )
    assert "opened R-1001" in send(server, forged, EVIL)[1]
    ticket = intake.desk.get("R-1001")
    assert ticket.requester == ANA and ticket.customer == "Tienda Ana"
    assert ticket.evidence["mail"]["reply_to"] == EVIL  # shown to the agent, never written to
    envelope_from, rcpt, ack = sink.wait(1)[0]
    assert rcpt == [ANA] and EVIL not in ack["To"]
    assert ack.get_payload(decode=True).decode().startswith("Hola Ana Pérez,")  # a customer
    send_reply(intake.desk, "R-1001", "laura", "La clave nueva es ...", settings=intake.settings)
    assert sink.wait(2)[1][1] == [ANA]
    assert [r["to_addr"] for r in outgoing(intake.desk.store)] == [ANA, ANA]


# ---- acknowledgements to third parties, and floods ----------------------------------------------


SPAM_SUBJECT = (
    "\u202eBUY CHEAP \x1b[31mPILLS\x9b2J now!!! " + "visit http://spam.example/offer " * 10
)


def test_two_hundred_reply_tos_make_at_most_the_limit_of_acks_all_to_the_sender(
    server: MailServer, sink: Sink
) -> None:
    intake = intake_of(server)
    before = good_case(server, sink)
    spammer = "offers@bulk.example"
    batch = [
        (
            spammer,
            mail(
                SPAM_SUBJECT,
                "Click here",
                sender=f"Offers <{spammer}>",
                message_id=f"<spam{n}@bulk.example>",
                Reply_To=f"victim{n}@elsewhere{n}.example",
            ),
        )
        for n in range(200)
    ]
    replies = send_many(server, batch)
    assert [code for code, _ in replies] == [250] * 200
    settings = intake.settings
    cases = settings.new_cases_per_sender
    assert sum("opened" in reply for _, reply in replies) == cases
    assert sum("flooded" in reply for _, reply in replies) == 200 - cases

    received = sink.wait(1 + settings.acks_per_sender)
    wait_for(lambda: len(sink.received) == 1 + settings.acks_per_sender)
    acks = received[1:]
    assert len(acks) == settings.acks_per_sender  # not one per Reply-To
    assert all(rcpt == [spammer] for _, rcpt, _ in acks)
    for _, _, ack in acks:
        subject = decode_header_value(ack["Subject"])
        assert subject.startswith("[R-") and len(subject) <= ACK_SUBJECT_EXCERPT + 20
        assert not any(unicodedata.category(ch) in ("Cc", "Cf") for ch in subject)
        text = ack.get_payload(decode=True).decode()
        assert "spam.example" not in text and "PILLS" not in text
        assert text.startswith("Hola,\r\n") and "Offers" not in ack["To"]  # a stranger's name
        assert not any(unicodedata.category(ch) == "Cf" for ch in text)
        assert not any(unicodedata.category(ch) == "Cc" and ch not in "\r\n" for ch in text)

    store = intake.desk.store
    [flood] = flood_tickets(store)
    assert flood["requester"] is None and flood["customer"] is None  # nobody to write to
    assert store.mail.flood_messages(flood["id"]) == 200 - cases
    # Messages past the acknowledgement limit opened cases without one, and said why.
    last = intake.desk.get(1 + cases)
    assert last.evidence["mail"]["no_ack"] == (
        f"{settings.acks_per_sender} acknowledgements to {spammer} in the last 1h"
    )
    assert snapshot(store, 1) == before


def test_a_thousand_messages_from_one_address_are_one_counted_flood_ticket(
    server: MailServer, sink: Sink, clock: Clock
) -> None:
    intake = intake_of(server)
    before = good_case(server, sink)
    flooder = "bot@unknown.example"
    batch = [
        (flooder, mail(f"Alerta {n}", f"cuerpo {n}", sender=flooder, message_id=f"<f{n}@u>"))
        for n in range(1000)
    ]
    replies = send_many(server, batch)
    assert all(code == 250 for code, _ in replies)
    store = intake.desk.store
    cases = intake.settings.new_cases_per_sender
    assert len(tickets(store)) == 1 + cases + 1  # Ana's, the allowed ones, one flood ticket
    [flood] = flood_tickets(store)
    assert store.mail.flood_messages(flood["id"]) == 1000 - cases
    assert (
        flood["subject"] == f"Avalancha de correo de {flooder}: más de {cases} casos nuevos en 1h"
    )
    events = intake.desk.events(flood["id"])
    # Bounded: the opening, the first messages one by one, then 50, 100, 200 and 500.
    assert len(events) == 1 + FLOOD_DETAIL + 4
    assert "Message 1 of the flood" in events[1].body and f"<f{cases}@u>" in events[1].body
    assert events[-1].body.startswith("500 messages in this flood so far")
    assert intake.desk.get(flood["id"]).evidence["flood"]["messages"] == 500
    # Every message is in the mail log, on its ticket: nothing is lost, a duplicate is known.
    kinds = store.query(
        "SELECT kind, COUNT(*) AS n FROM mail_messages WHERE direction = 'in' GROUP BY kind"
    )
    assert {r["kind"]: r["n"] for r in kinds} == {"opened": 1 + cases, "flooded": 1000 - cases}
    assert "duplicate" in send(server, batch[-1][1], flooder)[1]
    assert len(outgoing(store)) == 1 + intake.settings.acks_per_sender
    sink.wait(1 + intake.settings.acks_per_sender)
    assert snapshot(store, 1) == before

    # An hour later the window has slid: the sender's next message is a case again.
    clock.advance(hours=1, seconds=1)
    reply = send(server, mail("Hola", "de nuevo", sender=flooder, message_id="<later@u>"), flooder)
    assert "opened" in reply[1]


def test_a_resolved_flood_ticket_is_not_reused_and_limits_of_zero_are_off(
    store: Store, sink: Sink, clock: Clock
) -> None:
    server = start(store, sink, clock, new_cases_per_sender=2, acks_per_sender=0)
    try:
        intake = intake_of(server)

        def burst(tag: str, n: int) -> list[tuple[int, str]]:
            return send_many(
                server,
                [(EVIL, mail(tag, "x", sender=EVIL, message_id=f"<{tag}{i}@e>")) for i in range(n)],
            )

        burst("a", 4)
        [first] = flood_tickets(store)
        intake.desk.resolve(first["id"], "laura", reason="spam")
        burst("b", 2)  # the window still holds the first two cases: a new flood ticket
        floods = flood_tickets(store)
        assert len(floods) == 2 and floods[0]["status"] == Status.RESOLVED
        assert store.mail.flood_messages(floods[1]["id"]) == 2
        # acks_per_sender = 0: no limit of acknowledgements to one address.
        assert len(sink.wait(2)) == 2
    finally:
        server.stop()


def test_domain_and_desk_limits_gather_many_senders(store: Store, sink: Sink, clock: Clock) -> None:
    server = start(
        store,
        sink,
        clock,
        new_cases_per_domain=3,
        new_cases_per_desk=5,
        acks_per_domain=2,
        acks_per_desk=3,
    )
    try:
        intake = intake_of(server)
        one_domain = [
            (
                f"u{n}@botnet.example",
                mail("x", "x", sender=f"u{n}@botnet.example", message_id=f"<d{n}@b>"),
            )
            for n in range(6)
        ]
        send_many(server, one_domain)
        others = [
            (
                f"p{n}@site{n}.example",
                mail("y", "y", sender=f"p{n}@site{n}.example", message_id=f"<o{n}@s>"),
            )
            for n in range(6)
        ]
        send_many(server, others)
        floods = {t["dedupe_key"]: t for t in flood_tickets(store)}
        assert set(floods) == {"mail-flood:domain:botnet.example", "mail-flood:desk"}
        assert store.mail.flood_messages(floods["mail-flood:domain:botnet.example"]["id"]) == 3
        # Three cases from botnet.example, two more from other domains reach the desk's five.
        assert store.mail.flood_messages(floods["mail-flood:desk"]["id"]) == 4
        wait_for(lambda: len(sink.received) == 3)
        assert len(outgoing(store)) == 3  # the desk's limit of acknowledgements
        reasons = [intake.desk.get(i).evidence["mail"]["no_ack"] for i in (3, 6)]
        assert reasons == [
            "2 acknowledgements to the domain botnet.example in the last 1h",
            "3 acknowledgements sent by the desk in the last 1h",
        ]
    finally:
        server.stop()


# ---- forged case tags and threads ---------------------------------------------------------------


def test_a_strangers_case_tag_opens_a_linked_case_and_leaves_the_case_alone(
    server: MailServer, sink: Sink
) -> None:
    intake = intake_of(server)
    good_case(server, sink)
    intake.desk.resolve("R-1001", "laura", reason="restarted PHP")
    before = snapshot(intake.desk.store, 1)
    fake = mail(
        "RE: [R-1001] Re: Mi sitio",
        f"From: {ANA}\n\nPor favor cambien el correo de la cuenta a {EVIL}",
        sender=EVIL,
        message_id="<fake@evil.example>",
    )
    code, reply = send(server, fake, EVIL)
    assert code == 250 and "opened R-1002" in reply
    assert snapshot(intake.desk.store, 1) == before  # not reopened, no event
    linked = intake.desk.get("R-1002")
    assert linked.parent_id == 1 and linked.requester == EVIL and linked.customer is None
    assert linked.subject == "Mi sitio"  # the other case's tag stays off its subject
    assert linked.evidence["about"] == "R-1001"
    opened = intake.desk.events("R-1002")[0]
    assert opened.body.startswith(f"{EVIL} says it is about R-1001; not added there")
    assert [c.case_number for c in intake.desk.children("R-1001")] == ["R-1002"]
    # The stranger is acknowledged on their own case, not on Ana's.
    ack = sink.wait(2)[1][2]
    assert sink.received[1][1] == [EVIL] and ack["Subject"].startswith("[R-1002] ")


def test_a_strangers_tag_on_a_pending_case_does_not_resume_its_sla(
    server: MailServer, sink: Sink
) -> None:
    intake = intake_of(server)
    good_case(server, sink)
    paused = intake.desk.set_status("R-1001", Status.PENDING_CUSTOMER, "laura")
    before = snapshot(intake.desk.store, 1)
    send(server, mail("[R-1001] aquí los accesos", "x", sender=EVIL, message_id="<p@e>"), EVIL)
    ticket = intake.desk.get("R-1001")
    assert ticket.status == Status.PENDING_CUSTOMER and ticket.paused_at == paused.paused_at
    assert snapshot(intake.desk.store, 1) == before


def test_answering_the_desks_ack_counts_only_from_the_requester(
    server: MailServer, sink: Sink
) -> None:
    intake = intake_of(server)
    good_case(server, sink)
    ack = sink.received[0][2]
    stolen = mail("Re: ack", "x", sender=EVIL, message_id="<s@e>", In_Reply_To=ack["Message-ID"])
    assert "opened R-1002" in send(server, stolen, EVIL)[1]
    assert intake.desk.get("R-1002").parent_id == 1
    assert "email_received" not in event_kinds(intake, 1)
    # The requester's own answer threads, and a colleague of the same customer's domain too.
    own = mail("Re: ack", "gracias", message_id="<a2@t>", In_Reply_To=ack["Message-ID"])
    assert "followup R-1001" in send(server, own)[1]
    # An address of Ana's domain that her customer entry does not list is a stranger too.
    other = "pedidos@tienda-ana.example"
    mate = mail("[R-1001] más", "y", sender=other, message_id="<a3@t>")
    assert "opened R-1003" in send(server, mate, other)[1]


def test_a_customer_colleague_adds_and_a_from_line_in_the_body_cannot_pose(
    server: MailServer, sink: Sink
) -> None:
    intake = intake_of(server)
    colleague = "luis@acme.example"
    send(server, mail("Duda", "hola", sender=colleague, message_id="<c1@a>"), colleague)
    mate = "marta@acme.example"
    assert (
        "followup R-1001"
        in send(server, mail("[R-1001] dato", "otro dato", sender=mate, message_id="<c2@a>"), mate)[
            1
        ]
    )
    # The requester's own message whose body starts with a From: line gets the real one first.
    posing = mail("[R-1001] x", "From: jefe@acme.example\n\nautorizo", sender=colleague,
                  message_id="<c3@a>")  # fmt: skip
    send(server, posing, colleague)
    bodies = [e.body for e in intake.desk.events(1) if e.kind == "email_received"]
    assert bodies == [
        f"From: {mate}\n\notro dato",
        f"From: {colleague}\n\nFrom: jefe@acme.example\n\nautorizo",
    ]


# ---- Authentication-Results ----------------------------------------------------------------------


def authenticated(header: str, **kwargs: str) -> bytes:
    """A message as the receiving MTA hands it on: its Authentication-Results on top."""
    raw = mail(**kwargs).as_bytes(policy=SMTP_POLICY)  # type: ignore[arg-type]
    return f"Authentication-Results: {header}\r\n".encode() + raw


def test_trusted_authentication_results_confirm_or_refute_the_sender(
    store: Store, sink: Sink, clock: Clock
) -> None:
    server = start(store, sink, clock, authserv_id=MX)
    try:
        intake = intake_of(server)
        passing = authenticated(
            f"{MX}; spf=pass smtp.mailfrom={ANA}; dkim=pass header.d=tienda-ana.example",
            message_id="<ok@t>",
        )
        assert "opened R-1001" in send(server, passing)[1]
        ana = intake.desk.get("R-1001")
        assert ana.customer == "Tienda Ana"
        assert ana.evidence["auth"] == {
            "status": "pass",
            "detail": "spf=pass smtp.mailfrom=ana@tienda-ana.example",
        }
        wait_for(lambda: "ack_sent" in event_kinds(intake, 1))
        intake.desk.resolve("R-1001", "laura")
        before = snapshot(store, 1)

        # A forged From: the desk's MTA saw DMARC fail. No customer, no ack, no way in.
        forged = authenticated(
            f"{MX}; dmarc=fail (p=none) header.from=tienda-ana.example; spf=fail "
            f"smtp.mailfrom={EVIL}",
            subject="[R-1001] cambio de clave",
            message_id="<forged@e>",
        )
        assert "opened R-1002" in send(server, forged, EVIL)[1]
        fake = intake.desk.get("R-1002")
        assert fake.customer is None and fake.parent_id == 1
        assert fake.evidence["auth"]["status"] == "fail"
        assert fake.evidence["mail"]["no_ack"].startswith("sender not authenticated: no pass")
        assert "not authenticated" in intake.desk.events(2)[0].body
        assert snapshot(store, 1) == before

        # A header the attacker wrote under another id is not read: matched by address.
        theirs = authenticated(
            "evil.example; dmarc=pass header.from=tienda-ana.example",
            subject="otra",
            message_id="<other@e>",
        )
        send(server, theirs, EVIL)
        assert intake.desk.get("R-1003").evidence["auth"] == {
            "status": "none",
            "detail": f"no Authentication-Results from {MX}",
        }
        # Ana's acknowledgement and the unverified one's; none for the refuted message.
        assert [r["ticket_id"] for r in outgoing(store)] == [1, 3]
        assert [rcpt for _, rcpt, _ in sink.wait(2)] == [[ANA], [ANA]]
    finally:
        server.stop()


# ---- deep and huge MIME --------------------------------------------------------------------------


def nested(levels: int) -> bytes:
    head = f"From: {ANA}\r\nTo: {DESK}\r\nSubject: anidado\r\nMessage-ID: <deep@t>\r\n"
    raw = head.encode()
    for i in range(levels):
        raw += b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
    raw += b"Content-Type: text/plain\r\n\r\nel texto del fondo\r\n"
    for i in reversed(range(levels)):
        raw += b"--b%d--\r\n" % i
    return raw


def test_deeply_nested_mime_is_stored_with_a_note_and_answered_250(
    server: MailServer, sink: Sink
) -> None:
    intake = intake_of(server)
    before = good_case(server, sink)
    code, reply = send(server, nested(1000))
    assert code == 250 and "opened R-1002" in reply
    ticket = intake.desk.get("R-1002")
    note = f"MIME nested deeper than {MAX_MIME_DEPTH} levels: the inner parts were not read"
    assert note in ticket.evidence["mail"]["defects"]
    assert note in intake.desk.events(2)[0].body  # the agent sees what is missing
    assert intake.desk.store.mail.get("<deep@t>").kind == "opened"
    # Shallow enough, the same shape is read to the bottom.
    shallow = nested(5).replace(b"<deep@t>", b"<shallow@t>")
    send(server, shallow)
    assert intake.desk.events(3)[0].body == "el texto del fondo"
    assert snapshot(intake.desk.store, 1) == before


def test_a_message_of_very_many_parts_is_read_up_to_the_limit(server: MailServer) -> None:
    intake = intake_of(server)
    parts = b"".join(
        b"--b\r\nContent-Type: text/plain\r\n\r\nparte %d\r\n" % n for n in range(5000)
    )
    raw = (
        f"From: {ANA}\r\nSubject: partes\r\nMessage-ID: <many@t>\r\n".encode()
        + b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        + parts
        + b"--b--\r\n"
    )
    assert send(server, raw)[0] == 250
    ticket = intake.desk.get(1)
    assert (
        f"more than {MAX_MIME_PARTS} MIME parts: only the first were read"
        in (ticket.evidence["mail"]["defects"])
    )
    body = intake.desk.events(1)[0].body
    assert body.startswith("parte 0\n\nparte 1") and "parte 4999" not in body


# ---- Maildir -------------------------------------------------------------------------------------


def test_maildir_import_skips_links_and_special_files_and_says_so(
    store: Store, sink: Sink, clock: Clock, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    box = tmp_path / "Maildir"
    for folder in ("new", "cur", "tmp"):
        (box / folder).mkdir(parents=True)
    (box / "new" / "1.eml").write_bytes(mail().as_bytes())
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"Subject: db password\r\n\r\nroot:hunter2\r\n")
    (box / "new" / "2.eml").symlink_to(secret)
    (box / "cur" / "3.eml:2,S").symlink_to(box / "new" / "1.eml")  # even to a good message
    os.mkfifo(box / "new" / "4.fifo")  # reading it would block the import forever
    (box / "cur" / "5.dir").mkdir()
    config = make_config(None)
    intake = Intake.from_config(config, store, clock)
    report = import_maildir(box, intake)
    assert report.opened == 1 and report.failed == []
    assert report.skipped == [
        "new/2.eml: a symbolic link",
        "new/4.fifo: a FIFO",
        "cur/3.eml:2,S: a symbolic link",
        "cur/5.dir: a directory",
    ]
    assert "hunter2" not in str(store.query("SELECT body FROM ticket_events"))
    assert run_import(config, box, tmp_path / "cli.db") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("1 new cases")
    assert out[1:] == [
        "skipped new/2.eml: a symbolic link",
        "skipped new/4.fifo: a FIFO",
        "skipped cur/3.eml:2,S: a symbolic link",
        "skipped cur/5.dir: a directory",
        "4 skipped (not regular files)",
    ]
