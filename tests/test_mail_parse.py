"""Pure parts of the mail intake: MIME parsing, HTML to text, case tags, relay addresses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ronda.intake.parse import (
    cap_utf8,
    decode_header_value,
    decode_text,
    html_to_text,
    parse_message,
    strip_quoted,
    synthetic_message_id,
)
from ronda.intake.replies import ack_text, format_limit, parse_hostport
from ronda.intake.thread_match import bare_subject, case_in_subject, tagged_subject
from ronda.model import Impact, Priority, Source, Status, Ticket


def raw(headers: str, body: bytes = b"hola\r\n") -> bytes:
    return headers.replace("\n", "\r\n").encode() + b"\r\n" + body


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=?utf-8?q?Caf=C3=A9?= con leche", "Café con leche"),
        ("=?UTF-8?B?w7FhbmTDug==?=", "ñandú"),
        ("=?windows-1252?q?=93hola=94?=", "“hola”"),
        ("=?x-nonsense?q?caf=E9?=", "café"),  # unknown charset: UTF-8, then cp1252
        ("=?utf-8?q?unterminated", "=?utf-8?q?unterminated"),
        ("line one\r\n  folded", "line one folded"),
        ("caf\udce9 crudo", "café crudo"),  # raw 8-bit header bytes (surrogate-escaped)
        (None, ""),
    ],
)
def test_decode_header_value(value: str | None, expected: str) -> None:
    assert decode_header_value(value) == expected


def test_decode_text_fallbacks() -> None:
    assert decode_text("ñ".encode(), "utf-8") == "ñ"
    assert decode_text(b"\x80", "iso-8859-1") == "€"  # labelled latin-1, read as cp1252
    assert decode_text(b"\x81\xe9", None) == "\x81é"  # not UTF-8, not cp1252: latin-1
    assert decode_text("ü".encode("utf-16"), "utf-16") == "ü"


def test_html_to_text() -> None:
    html = (
        "<!DOCTYPE html><html><head><title>Hidden</title><style>.x{}</style>"
        "<script type='text/javascript'>var a = '<p>no</p>';</script></head>"
        "<body><h1>T&iacute;tulo</h1><p>Uno&nbsp;&amp; dos</p><ul><li>a</li><li>b</li></ul>"
        "<!-- comment --><table><tr><td>c1</td><td>c2</td></tr></table>line<br>break"
        "<div>&#8364; &euro; &lt;tag&gt;</div></body></html>"
    )
    assert html_to_text(html) == (
        "Título\n\nUno & dos\n\n- a\n- b\n\nc1 c2\n\nline\nbreak\n€ € <tag>"
    )
    assert html_to_text("<p>sin cerrar <script>alert(1)") == "sin cerrar"


def test_parse_message_fields() -> None:
    mail = parse_message(
        raw(
            "From: =?utf-8?q?Ana_P=C3=A9rez?= <ANA@Example.COM>\n"
            "Reply-To: soporte-ana@example.com\n"
            "To: a@x.example, B <b@x.example>\nCc: c@x.example\n"
            "Subject: Re: [R-1042] hola\n"
            "Date: Tue, 12 May 2026 09:30:00 -0500\n"
            "Message-ID: <abc@example.com>\n"
            "In-Reply-To: <parent@x>\n"
            "References: <root@x> <mid@x>\n <parent@x>\n"
            "Auto-Submitted: Auto-Replied\n"
        )
    )
    assert (mail.from_name, mail.from_addr, mail.reply_to) == (
        "Ana Pérez",
        "ana@example.com",
        "soporte-ana@example.com",
    )
    assert mail.to == ("a@x.example", "b@x.example", "c@x.example")
    assert mail.message_id == "<abc@example.com>" and not mail.message_id_synthetic
    assert mail.references == ("<root@x>", "<mid@x>", "<parent@x>")
    assert mail.thread_ids() == ["<parent@x>", "<mid@x>", "<root@x>"]
    assert mail.date == datetime(2026, 5, 12, 14, 30, tzinfo=UTC)
    assert mail.auto_submitted == "auto-replied"
    assert mail.no_reply_reason() == "auto-submitted: auto-replied"
    assert mail.body == "hola" and mail.size > 0


@pytest.mark.parametrize(
    ("sender", "reason"),
    [
        ("MAILER-DAEMON@mx.example", "robot sender mailer-daemon@mx.example"),
        ("no-reply@shop.example", "robot sender no-reply@shop.example"),
        ("noreply+123@shop.example", "robot sender noreply+123@shop.example"),
        ("postmaster@x.example", "robot sender postmaster@x.example"),
        ("ana@x.example", None),
        ("noreplyana@x.example", None),
    ],
)
def test_robot_senders_get_no_reply(sender: str, reason: str | None) -> None:
    assert parse_message(raw(f"From: {sender}\n")).no_reply_reason() == reason


def test_bad_values_do_not_raise() -> None:
    mail = parse_message(raw("From: <<<>>>\nDate: yesterday\nMessage-ID: bare-id@x\n"))
    assert mail.from_addr is None and mail.date is None
    assert mail.message_id == "<bare-id@x>"
    assert mail.no_reply_reason() == "no sender address"
    assert parse_message(b"").body == ""
    assert parse_message(b"\xff\xfe\x00garbage without headers").message_id_synthetic


def test_synthetic_message_id_ignores_trace_headers_only() -> None:
    message = raw("From: a@x\nSubject: s\n")
    relayed = b"Received: from mx1\r\n\tby mx2; Mon, 1 Jun 2026\r\nReturn-Path: <a@x>\r\n" + message
    assert synthetic_message_id(message) == synthetic_message_id(relayed)
    assert synthetic_message_id(message) != synthetic_message_id(raw("From: a@x\nSubject: t\n"))
    lf_only = message.replace(b"\r\n", b"\n")
    assert synthetic_message_id(message) == synthetic_message_id(lf_only)


def test_cap_utf8_cuts_on_a_character() -> None:
    text, cut = cap_utf8("ñ" * 10, 5)
    assert (text, cut) == ("ññ", True)
    assert cap_utf8("abc", 5) == ("abc", False)


def test_strip_quoted() -> None:
    reply = (
        "Sigue caído\n\nEl mar, 12 may 2026 a las 9:30, Soporte <s@x> escribió:\n"
        "> We will answer by\n> tomorrow\n-- \nAna\nGerente"
    )
    assert strip_quoted(reply) == "Sigue caído"
    assert strip_quoted("ok\n-----Original Message-----\nold") == "ok"


@pytest.mark.parametrize(
    ("subject", "case"),
    [
        ("[R-2481] hola", "R-2481"),
        ("Re: RE: [r2481] hola", "R-2481"),
        ("Fwd: [ R-2481 ] x", "R-2481"),
        ("R-2481 without brackets", None),
        ("[R-12] too short", None),
        ("", None),
    ],
)
def test_case_in_subject(subject: str, case: str | None) -> None:
    assert case_in_subject(subject) == case


def test_tagged_subject_does_not_pile_up_prefixes() -> None:
    assert bare_subject("RE: Fwd: [R-1001] Re: hola") == "hola"
    assert tagged_subject("R-1001", "Re: [R-1001] hola") == "[R-1001] Re: hola"
    assert tagged_subject("R-1001", "") == "[R-1001] Re: (no subject)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:2525", ("127.0.0.1", 2525)),
        ("[::1]:25", ("::1", 25)),
        ("relay.example", ("relay.example", 25)),
    ],
)
def test_parse_hostport(text: str, expected: tuple[str, int]) -> None:
    assert parse_hostport(text, 25) == expected


@pytest.mark.parametrize("text", ["", ":25", "host:port", "host:70000"])
def test_parse_hostport_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_hostport(text, 25)


def test_ack_text_in_both_languages() -> None:
    opened = datetime(2026, 5, 12, 14, 0, tzinfo=UTC)
    ticket = Ticket(
        id=1,
        case_number="R-1001",
        source=Source.EMAIL,
        subject="s",
        priority=Priority.LOW,
        impact=Impact.MEDIUM,
        status=Status.NEW,
        opened_at=opened,
        version=1,
        sla_limit_at=datetime(2026, 5, 15, 16, 0, tzinfo=UTC),
    )
    assert (
        format_limit(ticket.sla_limit_at, "America/Bogota") == "2026-05-15 11:00 (America/Bogota)"
    )
    es = ack_text(ticket, name="Ana", timezone="America/Bogota", lang="es")
    assert "caso R-1001 (prioridad baja)" in es
    assert "a más tardar el 2026-05-15 11:00 (America/Bogota)" in es
    en = ack_text(ticket, name="", timezone="Nowhere/Bogus", lang="en")
    assert en.startswith("Hello,\n") and "We will answer by 2026-05-15 16:00 (UTC)." in en


_HEADER_NAMES = st.sampled_from(
    [
        "From",
        "Subject",
        "Message-ID",
        "Content-Type",
        "Content-Transfer-Encoding",
        "References",
        "Date",
        "X-Junk",
        "Auto-Submitted",
    ]
)
_HEADER_VALUES = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "=?utf-8?b?!!?=",
            "=?bogus?q?=FF?=",
            "multipart/mixed; boundary=b",
            "base64",
            "text/html; charset=x-unknown",
            "quoted-printable",
            "<a@b> <c@d",
            "<>",
        ]
    ),
)


@settings(max_examples=150, deadline=None)
@given(
    headers=st.lists(st.tuples(_HEADER_NAMES, _HEADER_VALUES), max_size=8),
    body=st.binary(max_size=600),
)
def test_parse_message_never_raises(headers: list[tuple[str, str]], body: bytes) -> None:
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    raw = head.encode("utf-8", "surrogatepass") + b"\r\n" + body
    mail = parse_message(raw)
    assert mail.message_id.startswith("<") and mail.message_id.endswith(">")
    assert not any(ch in mail.body for ch in "\x00\x1b\r")
    assert "\n" not in mail.subject
    assert len(mail.body.encode("utf-8")) <= 64 * 1024
