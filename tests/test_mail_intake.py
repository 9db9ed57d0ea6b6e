"""The mail intake end to end: a real SMTP client (smtplib) talks to the real aiosmtpd server
on 127.0.0.1; acknowledgements and replies are queued in the outbox and the sender worker
hands them to a second aiosmtpd server acting as the relay; tickets are read back from a
real SQLite file."""

from __future__ import annotations

import smtplib
import socket
import threading
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import EmailMessage, Message
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path

import pytest
from mailsink import sending
from polling import wait_until

from ronda.config import Config, Customer, MailSettings, Site
from ronda.intake.ingest import Intake
from ronda.intake.maildir import import_maildir, run_import
from ronda.intake.parse import decode_header_value
from ronda.intake.replies import MailError, format_limit, send_reply
from ronda.intake.server import MailServer, SmtpThread
from ronda.model import Impact, Priority, Source, Status
from ronda.store import Store
from ronda.store.mail import STALE_CLAIM_SECONDS, MailLog
from ronda.tickets import StaleTicket, TicketError

DESK = "soporte@desk.example"
ANA = "ana@tienda-ana.example"
LIMIT = 256 * 1024  # the tests' max_message_bytes: big enough for attachments, quick to exceed


def wait_for(predicate: Callable[[], object], timeout: float = 5.0) -> None:
    wait_until(predicate, "the mail server", timeout, poll=0.005)


class Sink:
    """The relay: an SMTP server that keeps what it is given."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], Message]] = []
        self._cond = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001
        with self._cond:
            msg = message_from_bytes(envelope.original_content)
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
            self._cond.notify_all()
        return "250 OK"

    def wait(self, count: int, timeout: float = 5.0) -> list[tuple[str, list[str], Message]]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"relay got {len(self.received)} messages, wanted {count}")
            return list(self.received)


def free_port() -> int:
    """A loopback port nobody listens on (for a relay that is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sink() -> Iterator[Sink]:
    sink = Sink()
    with SmtpThread(sink) as relay:
        sink.port = relay.port  # type: ignore[attr-defined]
        yield sink


def make_config(relay: str | None, **mail: object) -> Config:
    return Config(
        customers=(
            Customer("Tienda Ana", emails=(ANA,)),
            Customer("Acme", domains=("acme.example",)),
        ),
        sites=(
            Site(
                "tienda-ana",
                "https://tienda-ana.example",
                customer="Tienda Ana",
                impact=Impact.HIGH,
            ),
            Site("acme-blog", "https://blog.acme.example", customer="Acme", impact=Impact.LOW),
            Site("acme-shop", "https://shop.acme.example", customer="Acme", impact=Impact.HIGH),
        ),
        mail=MailSettings(
            listen="127.0.0.1:0",
            desk_address=DESK,
            relay=relay,
            max_message_bytes=LIMIT,
            **mail,  # type: ignore[arg-type]
        ),
        lang="es",
    )


@pytest.fixture
def config(sink: Sink) -> Config:
    return make_config(f"127.0.0.1:{sink.port}")  # type: ignore[attr-defined]


@pytest.fixture
def intake(config: Config, store: Store) -> Iterator[Intake]:
    intake = Intake.from_config(config, store)
    with sending(intake):  # the sender `ronda mail` runs next to its intake
        yield intake


@pytest.fixture
def server(intake: Intake) -> Iterator[MailServer]:
    with MailServer(intake) as server:
        yield server


def mail(
    subject: str = "Mi sitio está caído",
    body: str = "Hola, la tienda no carga desde esta mañana.",
    *,
    sender: str = f"Ana Pérez <{ANA}>",
    message_id: str | None = "<m1@tienda-ana.example>",
    **headers: str,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = DESK
    msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = message_id
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def send(
    server: MailServer, message: EmailMessage | bytes, mail_from: str = ANA
) -> tuple[int, str]:
    """One SMTP transaction; returns the server's final reply to DATA."""
    raw = message if isinstance(message, bytes) else message.as_bytes(policy=SMTP_POLICY)
    with smtplib.SMTP(*server.address, timeout=10) as client:
        client.ehlo()
        code, _ = client.mail(mail_from)
        assert code == 250
        code, _ = client.rcpt(DESK)
        assert code == 250
        code, reply = client.data(raw)
    return code, reply.decode()


def tickets(store: Store) -> list[dict]:
    return store.query("SELECT * FROM tickets ORDER BY id")


def outgoing(store: Store) -> list[dict]:
    return store.query("SELECT * FROM mail_messages WHERE direction = 'out' ORDER BY id")


def event_kinds(intake: Intake, ref: int | str) -> list[str]:
    return [e.kind for e in intake.desk.events(ref)]


# ---- new cases and acknowledgements ---------------------------------------------------------


def test_new_message_opens_case_and_acknowledges_with_promised_time(
    server: MailServer, intake: Intake, sink: Sink, config: Config
) -> None:
    code, reply = send(server, mail())
    assert code == 250 and "R-1001" in reply
    ticket = intake.desk.get("R-1001")
    assert ticket.source == Source.EMAIL
    assert ticket.requester == ANA and ticket.customer == "Tienda Ana"
    assert ticket.site == "tienda-ana" and ticket.impact == Impact.HIGH  # the site's impact
    assert ticket.priority == Priority.HIGH  # a site down
    assert ticket.evidence["triage"]["priority"] == "high"
    assert "site_down" in ticket.evidence["triage"]["matched_rules"]
    assert ticket.evidence["unmatched_sender"] is False
    assert intake.desk.events(ticket.id)[0].body == "Hola, la tienda no carga desde esta mañana."

    mail_from, rcpt, ack = sink.wait(1)[0]
    assert mail_from == "<>"  # null envelope sender: an auto-reply must not bounce back
    assert rcpt == [ANA]
    assert ack["Subject"].startswith("[R-1001] Re: ")
    assert ack["In-Reply-To"] == "<m1@tienda-ana.example>"
    assert ack["References"] == "<m1@tienda-ana.example>"
    assert ack["Auto-Submitted"] == "auto-replied"
    text = ack.get_payload(decode=True).decode()
    assert "R-1001" in text and "prioridad alta" in text
    assert format_limit(ticket.sla_limit_at, config.calendar.timezone) in text
    assert outgoing(intake.desk.store)[0]["message_id"] == ack["Message-ID"]
    wait_for(lambda: "ack_sent" in event_kinds(intake, 1))


def test_sender_matched_by_domain_and_unknown_sender_still_gets_a_case(
    server: MailServer, intake: Intake
) -> None:
    send(
        server,
        mail("Duda sobre shop.acme.example", "¿Cómo cambio la clave?", sender="luis@acme.example"),
        "luis@acme.example",
    )
    send(server, mail("Hello", "Who are you?", sender="x@stranger.example", message_id="<s@x>"))
    acme, stranger = (intake.desk.get(1), intake.desk.get(2))
    assert acme.customer == "Acme" and acme.evidence["unmatched_sender"] is False
    assert acme.site == "acme-shop" and acme.impact == Impact.HIGH  # the host it names
    assert stranger.customer is None and stranger.requester == "x@stranger.example"
    assert stranger.evidence["unmatched_sender"] is True


def test_agency_rules_from_config_come_first(sink: Sink, store: Store) -> None:
    rules = ({"name": "vip", "match": ["urgente", "re:\\bsla\\b"], "priority": "high"},)
    config = make_config(f"127.0.0.1:{sink.port}", rules=rules)  # type: ignore[attr-defined]
    intake = Intake.from_config(config, store)
    with sending(intake), MailServer(intake) as server:
        send(server, mail("Urgente: factura", "Necesito la factura de mayo"))
    ticket = intake.desk.get(1)
    assert ticket.priority == Priority.HIGH  # the default rules alone say low (invoice)
    assert ticket.evidence["triage"]["matched_rules"][0] == "vip"


def test_billable_request_is_marked(server: MailServer, intake: Intake) -> None:
    send(server, mail("Migración", "Quiero migrar mi sitio desde otro hosting a ustedes"))
    ticket = intake.desk.get(1)
    assert ticket.billable is True
    assert ticket.evidence["triage"]["scope"] == "billable"
    assert ticket.category == "hosting"


# ---- threading ------------------------------------------------------------------------------


def test_subject_case_number_threads_and_reopens_a_resolved_case(
    server: MailServer, intake: Intake
) -> None:
    send(server, mail())
    intake.desk.resolve("R-1001", "laura", reason="restarted PHP")
    code, reply = send(
        server,
        mail("RE: [R-1001] Re: Mi sitio", "Volvió a caerse", message_id="<m2@tienda-ana.example>"),
    )
    assert code == 250 and "followup R-1001" in reply
    assert len(tickets(intake.desk.store)) == 1
    ticket = intake.desk.get("R-1001")
    assert ticket.status == Status.REOPENED
    events = intake.desk.events(ticket.id)
    received = [e for e in events if e.kind == "email_received"]
    assert [e.body for e in received] == ["Volvió a caerse"]
    assert [e.new for e in events if e.kind == "status"] == ["resolved", "reopened"]


def test_customer_answer_resumes_a_pending_case(server: MailServer, intake: Intake) -> None:
    send(server, mail())
    ticket = intake.desk.set_status("R-1001", Status.PENDING_CUSTOMER, "laura")
    assert ticket.paused_at is not None
    send(server, mail("[R-1001] datos", "Aquí están los accesos", message_id="<m2@x>"))
    ticket = intake.desk.get("R-1001")
    assert ticket.status == Status.OPEN and ticket.paused_at is None


def test_a_follow_up_after_the_answer_wants_a_reply(server: MailServer, intake: Intake) -> None:
    send(server, mail())
    assert intake.desk.get("R-1001").reply_due_at is None
    intake.desk.respond("R-1001", "laura", "Lo revisamos")
    ooo = mail("[R-1001] Fuera de la oficina", "Vuelvo el lunes", message_id="<ooo@x>")
    ooo["Auto-Submitted"] = "auto-replied"
    send(server, ooo)
    assert intake.desk.get("R-1001").reply_due_at is None  # an autoreply wants nothing
    send(server, mail("[R-1001] sigue", "Sigue sin cargar", message_id="<m2@x>"))
    ticket = intake.desk.get("R-1001")
    assert ticket.reply_due_at is not None and ticket.reply_limit_at is not None
    assert [c.outcome for c in intake.desk.next_responses("R-1001")] == [None]


def test_reply_to_the_acknowledgement_threads_by_in_reply_to(
    server: MailServer, intake: Intake, sink: Sink
) -> None:
    send(server, mail())
    ack = sink.wait(1)[0][2]
    answer = mail(
        "Otra cosa sin número de caso",
        "Les envío la captura",
        message_id="<m2@tienda-ana.example>",
        In_Reply_To=ack["Message-ID"],
    )
    code, reply = send(server, answer)
    assert "followup R-1001" in reply
    # References only (a client that drops In-Reply-To) to the customer's first message:
    third = mail("Sigue igual", "...", message_id="<m3@x>", References="<m1@tienda-ana.example>")
    assert "followup R-1001" in send(server, third)[1]
    assert len(tickets(intake.desk.store)) == 1
    assert event_kinds(intake, 1).count("email_received") == 2


def test_unknown_case_number_opens_a_new_case(server: MailServer, intake: Intake) -> None:
    code, reply = send(server, mail("[R-9999] hola", "¿sigue abierto?"))
    assert "opened R-1001" in reply
    assert intake.desk.get(1).subject == "[R-9999] hola"


# ---- loops ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto_Submitted": "auto-replied"}, "auto-submitted: auto-replied"),
        ({"Auto_Submitted": "auto-generated; owner-email=x@y"}, "auto-submitted: auto-generated"),
        ({"Precedence": "bulk"}, "precedence: bulk"),
        ({"Precedence": "junk"}, "precedence: junk"),
        ({"Precedence": "list"}, "precedence: list"),
        ({"Precedence": "auto_reply"}, "precedence: auto_reply"),
        ({"List_Id": "<news.acme.example>"}, "mailing list"),
        ({"X_Auto_Response_Suppress": "All"}, "auto-reply suppressed"),
    ],
)
def test_automatic_mail_is_stored_but_not_acknowledged(
    server: MailServer, intake: Intake, headers: dict[str, str], reason: str
) -> None:
    code, _ = send(server, mail(**headers))
    assert code == 250
    ticket = intake.desk.get(1)
    assert ticket.evidence["mail"]["no_ack"] == reason
    assert outgoing(intake.desk.store) == []  # no acknowledgement was composed at all


def test_auto_submitted_no_is_acknowledged(server: MailServer, intake: Intake, sink: Sink) -> None:
    send(server, mail(Auto_Submitted="no"))
    assert sink.wait(1)[0][1] == [ANA]


def test_bounce_with_null_sender_is_not_acknowledged(server: MailServer, intake: Intake) -> None:
    send(server, mail(sender="MAILER-DAEMON <mailer-daemon@mx.example>"), mail_from="")
    assert intake.desk.get(1).evidence["mail"]["no_ack"] == "null envelope sender (a bounce)"
    assert outgoing(intake.desk.store) == []


def test_desk_own_address_is_dropped(server: MailServer, intake: Intake) -> None:
    code, reply = send(server, mail(sender=f"Soporte <{DESK}>"), mail_from=DESK)
    assert code == 250 and "dropped" in reply
    assert tickets(intake.desk.store) == []
    rows = intake.desk.store.query("SELECT kind FROM mail_messages")
    assert rows == [{"kind": "dropped"}]


def test_our_own_ack_coming_back_is_dropped(server: MailServer, intake: Intake, sink: Sink) -> None:
    send(server, mail())
    ack = sink.wait(1)[0][2]
    # A misconfigured forward sends the ack back to the desk, from the customer's domain.
    del ack["From"]
    ack["From"] = ANA
    code, reply = send(server, ack.as_bytes())
    assert "dropped" in reply
    assert len(tickets(intake.desk.store)) == 1
    assert "email_received" not in event_kinds(intake, 1)


def test_out_of_office_answer_does_not_reopen(server: MailServer, intake: Intake) -> None:
    send(server, mail())
    intake.desk.resolve("R-1001", "laura")
    ooo = mail("[R-1001] Fuera de la oficina", "Vuelvo el lunes", message_id="<ooo@x>")
    ooo["Auto-Submitted"] = "auto-replied"
    assert "followup R-1001" in send(server, ooo)[1]
    assert intake.desk.get("R-1001").status == Status.RESOLVED


def test_acknowledgements_per_address_are_capped(server: MailServer, intake: Intake) -> None:
    ACK_LIMIT_PER_HOUR = intake.settings.acks_per_sender  # noqa: N806 - the limit, as before

    for n in range(ACK_LIMIT_PER_HOUR + 2):
        send(server, mail(f"Consulta {n}", "hola", message_id=f"<loop{n}@x>"))
    assert len(outgoing(intake.desk.store)) == ACK_LIMIT_PER_HOUR
    last = intake.desk.get(ACK_LIMIT_PER_HOUR + 2)
    assert "acknowledgements to" in last.evidence["mail"]["no_ack"]


# ---- bad input ------------------------------------------------------------------------------


def test_encoded_headers_and_legacy_charsets(server: MailServer, intake: Intake) -> None:
    raw = (
        b"From: =?ISO-8859-1?Q?Jos=E9_Mu=F1oz?= <jose@acme.example>\r\n"
        b"To: soporte@desk.example\r\n"
        # Adjacent encoded words join without the space between them (RFC 2047).
        b"Subject: =?utf-8?B?wqFVcmdlbnRlIQ==?= Mi =?iso-8859-1?q?contra?=\r\n"
        b" =?x-bogus?q?se=F1a?= perdida\r\n"  # folded; an unknown charset
        b"Message-ID: <latin@acme.example>\r\n"
        b"Content-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        b"Perd\xed la contrase\xf1a \x96 \x80 10\r\n"
    )
    send(server, raw, "jose@acme.example")
    ticket = intake.desk.get(1)
    assert ticket.subject == "¡Urgente! Mi contraseña perdida"
    assert ticket.requester == "jose@acme.example"
    # Labelled latin-1, read as windows-1252 (the en dash and euro sign survive).
    assert intake.desk.events(1)[0].body == "Perdí la contraseña – € 10"
    assert ticket.priority == Priority.LOW  # a lost password


@pytest.mark.parametrize(
    ("charset", "payload", "expected"),
    [
        ("windows-1252", "“Hola” – café".encode("cp1252"), "“Hola” – café"),
        ("x-unknown-charset", "café ñandú".encode(), "café ñandú"),  # unknown: UTF-8 fits
        ("x-unknown-charset", "café".encode("latin-1"), "café"),  # unknown, not UTF-8
        ("utf-8", "caf\xe9".encode("latin-1"), "café"),  # mislabelled
    ],
)
def test_body_charsets(
    server: MailServer, intake: Intake, charset: str, payload: bytes, expected: str
) -> None:
    raw = (
        b"From: ana@tienda-ana.example\r\nTo: soporte@desk.example\r\nSubject: charset\r\n"
        b"Message-ID: <cs@x>\r\n"
        + f"Content-Type: text/plain; charset={charset}\r\n".encode()
        + b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        + payload
        + b"\r\n"
    )
    send(server, raw)
    assert intake.desk.events(1)[0].body == expected


def test_html_only_message_is_shown_as_text(server: MailServer, intake: Intake) -> None:
    html = (
        "<html><head><title>t</title><style>p {color: red}</style></head><body>"
        "<script>alert('x')</script><p>Hola &amp; buenos d&iacute;as,</p>"
        "<p>el <b>carrito</b> no&nbsp;funciona &lt;ayuda&gt;</p>"
        + "<span>relleno</span>" * 400  # one very long line, as webmail sends
        + "</body></html>"
    )
    msg = EmailMessage()
    msg["From"] = ANA
    msg["To"] = DESK
    msg["Subject"] = "Carrito"
    msg["Message-ID"] = "<html@x>"
    msg.set_content(html, subtype="html", cte="8bit")
    send(server, msg.as_bytes(policy=SMTP_POLICY.clone(max_line_length=None)))
    body = intake.desk.events(1)[0].body
    assert body.startswith("Hola & buenos días,\n\nel carrito no funciona <ayuda>")
    assert "alert" not in body and "color" not in body and "<p>" not in body
    ticket = intake.desk.get(1)
    assert ticket.evidence["mail"]["html_only"] is True
    assert ticket.category == "woocommerce"


def test_malformed_mime_still_makes_a_case(server: MailServer, intake: Intake) -> None:
    raw = (
        b"From: ana@tienda-ana.example\r\n"
        b"Subject: roto\r\n"
        b"this line is not a header\r\n"
        b'Content-Type: multipart/mixed; boundary="never-closed"\r\n\r\n'
        b"--never-closed\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        b"SG9sYSBtdW5kbw=!!\r\n"
    )
    code, _ = send(server, raw)
    assert code == 250
    ticket = intake.desk.get(1)
    assert ticket.requester == ANA
    assert ticket.evidence["mail"]["defects"]  # what was wrong is kept for the agent
    assert ticket.evidence["mail"]["message_id_synthetic"] is True


def test_oversized_message_refused_with_552_and_nothing_stored(
    server: MailServer, intake: Intake
) -> None:
    big = mail("Adjunto", "ver adjunto")
    big.add_attachment(
        b"\0" * (LIMIT + 1024), maintype="application", subtype="zip", filename="x.zip"
    )
    raw = big.as_bytes(policy=SMTP_POLICY)
    with smtplib.SMTP(*server.address, timeout=10) as client:
        client.ehlo()
        assert client.has_extn("size")
        # Announced size over the limit: refused at MAIL FROM.
        code, _ = client.mail(ANA, [f"SIZE={len(raw)}"])
        assert code == 552
        client.rset()
        # Not announced: the whole DATA is read, then refused.
        client.mail(ANA)
        client.rcpt(DESK)
        code, reply = client.data(raw)
        assert code == 552, reply
        # The session goes on: a normal message right after is taken.
        client.mail(ANA)
        client.rcpt(DESK)
        code, _ = client.data(mail(message_id="<ok@x>").as_bytes(policy=SMTP_POLICY))
        assert code == 250
    rows = intake.desk.store.query("SELECT message_id FROM mail_messages WHERE direction = 'in'")
    assert rows == [{"message_id": "<ok@x>"}]
    assert len(tickets(intake.desk.store)) == 1


def test_attachments_are_listed_not_stored(server: MailServer, intake: Intake) -> None:
    msg = mail("Captura del error", "Adjunto la captura")
    msg.add_attachment(
        b"\x89PNG" + b"x" * 50_000,
        maintype="image",
        subtype="png",
        filename="captura de pantalla.png",
    )
    send(server, msg)
    ticket = intake.desk.get(1)
    [attachment] = ticket.evidence["mail"]["attachments"]
    assert attachment["name"] == "captura de pantalla.png"
    assert attachment["type"] == "image/png" and attachment["size"] > 50_000
    body = intake.desk.events(1)[0].body
    assert body.startswith("Adjunto la captura") and "captura de pantalla.png" in body
    assert len(body) < 1000


def test_missing_message_id_dedupes_a_duplicated_delivery(
    server: MailServer, intake: Intake
) -> None:
    raw = mail(message_id=None).as_bytes(policy=SMTP_POLICY)
    assert "opened" in send(server, b"Received: from a by b; Mon, 1 Jun 2026\r\n" + raw)[1]
    # The same message through another relay: different trace headers, same message.
    assert "duplicate" in send(server, b"Received: from c by d; Tue, 2 Jun 2026\r\n" + raw)[1]
    assert len(tickets(intake.desk.store)) == 1
    assert intake.desk.get(1).evidence["mail"]["message_id"].endswith("@synthetic.invalid>")


def test_duplicated_delivery_makes_one_case_and_one_ack(
    server: MailServer, intake: Intake, sink: Sink
) -> None:
    results = []

    def deliver() -> None:
        results.append(send(server, mail()))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(code for code, _ in results) == [250] * 4
    assert sum("opened" in reply for _, reply in results) == 1
    assert len(tickets(intake.desk.store)) == 1
    assert len(outgoing(intake.desk.store)) == 1
    sink.wait(1)


def test_long_body_is_capped(server: MailServer, intake: Intake) -> None:
    send(server, mail("Log", "línea de log ñ\n" * 8000))  # ~130 KiB
    body = intake.desk.events(1)[0].body
    assert len(body.encode("utf-8")) <= 64 * 1024
    assert body.startswith("línea de log ñ\n")
    assert intake.desk.get(1).evidence["mail"]["body_truncated"] is True


def test_control_characters_are_removed(server: MailServer, intake: Intake) -> None:
    send(server, mail("Hola\x1b[31m", "texto \x1b[2J con \x00 escapes"))
    assert intake.desk.events(1)[0].body == "texto [2J con  escapes"
    assert "\x1b" not in intake.desk.get(1).subject


def test_storage_failure_answers_451_and_the_retry_is_stored(
    server: MailServer, intake: Intake
) -> None:
    db = intake.desk.store.db
    db.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON tickets BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    code, _ = send(server, mail())
    assert code == 451
    assert intake.desk.store.query("SELECT * FROM mail_messages") == []  # claim given back
    db.execute("DROP TRIGGER refuse")
    code, reply = send(server, mail())
    assert code == 250 and "opened R-1001" in reply


# ---- agents' replies ------------------------------------------------------------------------


def test_agent_reply_is_mailed_threaded_and_is_the_first_response(
    server: MailServer, intake: Intake, sink: Sink, config: Config
) -> None:
    send(server, mail())
    sink.wait(1)
    ticket = send_reply(
        intake.desk,
        "R-1001",
        "laura",
        "Ya reiniciamos PHP; revise por favor.",
        settings=config.mail,
        lang="es",
    )
    assert ticket.first_response_at is not None and ticket.status == Status.OPEN
    assert ticket.touched_by_agent is True
    mail_from, rcpt, reply = sink.wait(2)[1]
    assert mail_from == DESK and rcpt == [ANA]
    assert decode_header_value(reply["Subject"]) == "[R-1001] Re: Mi sitio está caído"
    assert reply["In-Reply-To"] == "<m1@tienda-ana.example>"
    assert "<m1@tienda-ana.example>" in reply["References"]
    assert "laura" in reply["From"] and DESK in reply["From"]
    assert reply.get_payload(decode=True).decode().startswith("Ya reiniciamos PHP")
    # The customer answers the agent's mail with a new subject: it threads by In-Reply-To.
    answer = mail("gracias", "Funciona", message_id="<m9@x>", In_Reply_To=reply["Message-ID"])
    assert "followup R-1001" in send(server, answer)[1]


def test_acknowledgement_and_agent_reply_go_to_the_requester_not_reply_to(
    server: MailServer, intake: Intake, sink: Sink, config: Config
) -> None:
    # Even a Reply-To of the customer's own domain is not followed: the desk writes only to
    # the requester the agent sees on the case.
    send(server, mail(Reply_To="Compras <compras@tienda-ana.example>"))
    assert sink.wait(1)[0][1] == [ANA]
    send_reply(intake.desk, "R-1001", "laura", "Listo", settings=config.mail)
    assert sink.wait(2)[1][1] == [ANA]
    ticket = intake.desk.get("R-1001")
    assert ticket.requester == ANA  # the customer is still who wrote
    assert ticket.evidence["mail"]["reply_to"] == "compras@tienda-ana.example"  # kept, unused


def test_agent_reply_is_recorded_and_waits_while_the_relay_is_down(store: Store) -> None:
    """The reply and its mail are one transaction: recorded, queued, and retried while the
    relay does not answer, with the answer shown on the message."""
    config = make_config(f"127.0.0.1:{free_port()}")
    intake = Intake.from_config(config, store)
    with sending(intake), MailServer(intake) as server:
        send(server, mail())
        ticket = send_reply(intake.desk, "R-1001", "laura", "hola", settings=config.mail)
        assert ticket.first_response_at is not None and "replied" in event_kinds(intake, 1)
        wait_for(lambda: "reply_failed" in event_kinds(intake, 1))
    reply = next(m for m in store.outbox.for_ticket(1) if m.kind == "reply")
    assert reply.state == "queued" and reply.attempts == 1 and reply.recipient == ANA
    assert "did not take the message" in (reply.last_error or "") or "Connection refused" in (
        reply.last_error or ""
    )


def test_agent_reply_without_a_relay_is_refused_and_nothing_is_recorded(
    intake: Intake, store: Store
) -> None:
    intake.desk.open_ticket(
        source=Source.EMAIL,
        subject="s",
        priority=Priority.LOW,
        impact=Impact.LOW,
        actor="mail",
        requester=ANA,
    )
    with pytest.raises(MailError, match="no mail relay configured"):
        send_reply(intake.desk, 1, "laura", "hola", settings=MailSettings(desk_address=DESK))
    assert "replied" not in event_kinds(intake, 1) and store.outbox.for_ticket(1) == []


def test_acknowledgement_failure_is_noted_on_the_case(store: Store) -> None:
    config = make_config(f"127.0.0.1:{free_port()}")
    intake = Intake.from_config(config, store)
    with sending(intake), MailServer(intake) as server:
        assert send(server, mail())[0] == 250
        wait_for(lambda: "ack_failed" in event_kinds(intake, 1))


# ---- mail log and Maildir -------------------------------------------------------------------


def test_claims_dedupe_wait_and_take_over_stale_ones(store: Store) -> None:
    log = MailLog(store)
    args = {"from_addr": ANA, "to_addr": DESK, "subject": "s", "size": 1}
    assert log.claim("<c@x>", now=1000.0, **args) == "claimed"
    assert log.claim("<c@x>", now=1001.0, **args) == "busy"
    assert log.claim("<c@x>", now=1000.0 + STALE_CLAIM_SECONDS + 1, **args) == "reclaimed"
    log.finish("<c@x>", "dropped", None)
    assert log.claim("<c@x>", now=5000.0, **args) == "duplicate"


def write_maildir(root: Path, messages: dict[str, bytes]) -> Path:
    for folder in ("new", "cur", "tmp"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for name, raw in messages.items():
        (root / name).write_bytes(raw)
    return root


def test_maildir_import_is_idempotent_and_silent(intake: Intake, tmp_path: Path) -> None:
    box = write_maildir(
        tmp_path / "Maildir",
        {
            "new/1.eml": mail().as_bytes(),
            "new/2.eml": mail("[R-1001] más datos", "x", message_id="<m2@x>").as_bytes(),
            "cur/3.eml:2,S": mail(
                "Otro", "hola", sender="p@acme.example", message_id="<m3@x>"
            ).as_bytes(),
            "cur/4.eml:2,S": mail(sender=DESK, message_id="<m4@x>").as_bytes(),
            "new/5.eml": b"X" * (LIMIT + 1),
            "tmp/6.eml": mail(message_id="<tmp@x>").as_bytes(),  # still being written
        },
    )
    report = import_maildir(box, intake)
    assert (report.opened, report.followups, report.dropped, report.too_large) == (2, 1, 1, 1)
    assert report.failed == [] and report.acknowledged == 0
    assert outgoing(intake.desk.store) == []  # an old folder sends nobody an ack
    again = import_maildir(box, intake)
    assert (again.opened, again.duplicates) == (0, 3)
    assert len(tickets(intake.desk.store)) == 2


def test_maildir_import_with_acks(intake: Intake, tmp_path: Path, sink: Sink) -> None:
    box = write_maildir(tmp_path / "Maildir", {"new/1.eml": mail().as_bytes()})
    report = import_maildir(box, intake, ack=True)
    assert report.acknowledged == 1
    assert sink.wait(1)[0][1] == [ANA]


def test_maildir_import_refuses_a_non_maildir(intake: Intake, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a Maildir"):
        import_maildir(tmp_path, intake)


def test_listen_address_in_use_is_reported(intake: Intake) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
            MailServer(intake, f"127.0.0.1:{port}").start()


def test_agent_reply_refused_before_sending(
    server: MailServer, intake: Intake, sink: Sink, config: Config
) -> None:
    send(server, mail())
    sink.wait(1)
    stale = intake.desk.get("R-1001").version - 1
    with pytest.raises(StaleTicket):
        send_reply(intake.desk, "R-1001", "laura", "hola", settings=config.mail, version=stale)
    phone = intake.desk.open_ticket(
        source=Source.PHONE,
        subject="llamada",
        priority=Priority.LOW,
        impact=Impact.LOW,
        actor="laura",
    )
    with pytest.raises(TicketError, match="no requester e-mail"):
        send_reply(intake.desk, phone.id, "laura", "hola", settings=config.mail)
    assert len(sink.received) == 1  # only the acknowledgement
    assert [r["kind"] for r in outgoing(intake.desk.store)] == ["ack"]


def test_import_command(config: Config, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    box = write_maildir(tmp_path / "Maildir", {"new/1.eml": mail().as_bytes()})
    assert run_import(config, box, tmp_path / "cli.db") == 0
    assert capsys.readouterr().out.startswith("1 new cases, 0 follow-ups")
    assert Store(tmp_path / "cli.db").query("SELECT case_number FROM tickets") == [
        {"case_number": "R-1001"}
    ]
