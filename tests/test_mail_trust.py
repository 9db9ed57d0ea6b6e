"""The intake's pure rules of trust and limits, its settings, and the mail log's schema for
them: Authentication-Results verdicts, who may add to a case, rate-limit scopes, the
acknowledgement's excerpts, the [mail] keys check-config reads, and migration 5."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ronda.config import ConfigError, Customer, MailSettings, parse_config
from ronda.intake.limits import Scope, first_over, flood_subject, is_milestone, scopes
from ronda.intake.parse import parse_message
from ronda.intake.replies import excerpt
from ronda.intake.trust import AuthVerdict, authenticate, may_add_to
from ronda.model import Impact, Priority, Source, Status, Ticket
from ronda.store import Store
from ronda.store.schema import MIGRATIONS

MX = "mx.desk.example"


def parsed(*auth: str, sender: str = "ana@tienda.example") -> object:
    head = "".join(f"Authentication-Results: {value}\r\n" for value in auth)
    return parse_message(f"{head}From: {sender}\r\nSubject: s\r\n\r\nbody\r\n".encode())


@pytest.mark.parametrize(
    ("headers", "status", "detail"),
    [
        ((f"{MX}; dmarc=pass header.from=tienda.example",), "pass",
         "dmarc=pass header.from=tienda.example"),
        ((f"{MX}; dkim=pass header.d=tienda.example header.s=sel",), "pass",
         "dkim=pass header.d=tienda.example"),
        ((f"{MX}; spf=pass smtp.mailfrom=bounce@tienda.example",), "pass",
         "spf=pass smtp.mailfrom=bounce@tienda.example"),
        ((f"{MX.upper()}; spf=pass smtp.mailfrom=tienda.example",), "pass",
         "spf=pass smtp.mailfrom=tienda.example"),
        # A pass for another domain, or for a bare top-level domain, is no pass for this one.
        ((f"{MX}; dkim=pass header.d=evil.example; spf=fail smtp.mailfrom=x@evil.example",),
         "fail", f"no pass for tienda.example: dkim=pass spf=fail ({MX})"),
        ((f"{MX}; dkim=pass header.d=example",), "fail",
         f"no pass for tienda.example: dkim=pass ({MX})"),
        ((f"{MX}; dmarc=fail header.from=tienda.example",), "fail",
         f"no pass for tienda.example: dmarc=fail ({MX})"),
        ((f"{MX}; none",), "fail", f"no pass for tienda.example: no results ({MX})"),
        # Only the topmost header of the trusted id counts: the MTA's own, added last.
        ((f"{MX}; dmarc=fail header.from=tienda.example",
          f"{MX}; dmarc=pass header.from=tienda.example"), "fail",
         f"no pass for tienda.example: dmarc=fail ({MX})"),
        # Another id's header, or junk, is not read.
        (("evil.example; dmarc=pass header.from=tienda.example", "garbage ;;; ==="), "none",
         f"no Authentication-Results from {MX}"),
        ((), "none", f"no Authentication-Results from {MX}"),
    ],
)  # fmt: skip
def test_authentication_results_verdicts(headers: tuple[str, ...], status: str, detail: str):
    assert authenticate(parsed(*headers), MX) == AuthVerdict(status, detail)  # type: ignore[arg-type]


def test_a_parent_domain_signature_is_aligned_and_no_id_trusts_nothing() -> None:
    mail = parsed(f"{MX}; dkim=pass header.d=tienda.example", sender="x@mail.tienda.example")
    assert authenticate(mail, MX).status == "pass"  # type: ignore[arg-type]
    mail = parsed(f"{MX}; dmarc=pass header.from=tienda.example")
    assert authenticate(mail, None) == AuthVerdict("none", "no trusted authserv-id configured")  # type: ignore[arg-type]


def ticket(requester: str | None, customer: str | None) -> Ticket:
    return Ticket(
        id=2,
        case_number="R-1002",
        source=Source.EMAIL,
        subject="s",
        priority=Priority.LOW,
        impact=Impact.LOW,
        status=Status.OPEN,
        opened_at=datetime(2026, 1, 1, tzinfo=UTC),
        version=1,
        requester=requester,
        customer=customer,
    )


CUSTOMERS = (
    Customer("Ana", emails=("ana@tienda.example",)),
    Customer("Acme", domains=("acme.example",)),
)
NONE = AuthVerdict("none", "")
FAIL = AuthVerdict("fail", "dmarc=fail")


@pytest.mark.parametrize(
    ("requester", "customer", "sender", "verdict", "allowed"),
    [
        ("ana@tienda.example", "Ana", "ANA@tienda.example", NONE, True),
        ("ana@tienda.example", "Ana", "ana@tienda.example", FAIL, False),  # refuted
        ("ana@tienda.example", "Ana", "mallory@evil.example", NONE, False),
        ("ana@tienda.example", "Ana", "pedidos@tienda.example", NONE, False),  # not listed
        ("luis@acme.example", "Acme", "marta@acme.example", NONE, True),  # by domain
        ("luis@acme.example", "Acme", "x@shop.acme.example", NONE, True),  # a subdomain
        ("luis@acme.example", "Acme", "ana@tienda.example", NONE, False),  # another customer
        (None, None, "ana@tienda.example", NONE, False),  # a probe's case: nobody's by mail
        ("ana@tienda.example", None, None, NONE, False),
    ],
)
def test_who_may_add_to_a_case(
    requester: str | None, customer: str | None, sender: str | None, verdict: AuthVerdict,
    allowed: bool,
) -> None:  # fmt: skip
    assert may_add_to(ticket(requester, customer), sender, CUSTOMERS, verdict) is allowed


def test_scopes_limits_and_milestones() -> None:
    assert scopes("Ana@Tienda.Example") == (
        Scope("sender", "ana@tienda.example"),
        Scope("domain", "tienda.example"),
        Scope("desk"),
    )
    assert scopes(None) == (Scope("desk"),)
    assert [s.key for s in scopes("a@b.example")] == [
        "sender:a@b.example",
        "domain:b.example",
        "desk",
    ]
    counted: list[str] = []

    def count(scope: Scope) -> int:
        counted.append(scope.kind)
        return 5

    limits = {"sender": 0, "domain": 5, "desk": 1}
    assert first_over(scopes("a@b.example"), lambda s: limits[s.kind], count) == (
        Scope("domain", "b.example"),
        5,
    )
    assert counted == ["domain"]  # an unlimited scope is not counted; the first over wins
    assert [n for n in range(1, 6000) if is_milestone(n)] == [50, 100, 200, 500, 1000, 2000, 5000]
    assert flood_subject(Scope("desk"), 200, 3600, "en") == "Mail flood: over 200 new cases in 1h"
    assert flood_subject(Scope("domain", "x.example"), 50, 1800, "es") == (
        "Avalancha de correo de el dominio x.example: más de 50 casos nuevos en 30m"
    )


def test_excerpt_is_one_bounded_line_without_controls_or_bidi() -> None:
    text = "Hola\u202e \x1b[2J\x9b31m mundo\r\nsegunda\u2028línea\u200b\ufeff"
    assert excerpt(text, 100) == "Hola [2J31m mundo segunda línea"
    assert excerpt("x" * 100, 10) == "xxxxxxxxx…"
    assert excerpt("", 10) == ""


def test_an_address_with_bidi_or_invisible_characters_is_not_an_address() -> None:
    assert parsed(sender="ana\u202e@tienda.example").from_addr is None  # type: ignore[attr-defined]
    assert parsed(sender="ana\u200b@tienda.example").from_addr is None  # type: ignore[attr-defined]
    assert parsed(sender="josé@tienda.example").from_addr == "josé@tienda.example"  # type: ignore[attr-defined]


# ---- settings -------------------------------------------------------------------------------


def test_mail_limits_and_authserv_id_are_read() -> None:
    config = parse_config(
        "[mail]\n"
        'limit_window = "30m"\n'
        "new_cases_per_sender = 3\n"
        "new_cases_per_domain = 0\n"
        "acks_per_desk = 7\n"
        'authserv_id = "MX.Agencia.example"\n'
    )
    mail = config.mail
    assert (mail.limit_window, mail.new_cases_per_sender, mail.new_cases_per_domain) == (
        1800.0,
        3,
        0,
    )
    assert mail.acks_per_desk == 7 and mail.acks_per_sender == MailSettings().acks_per_sender
    assert mail.authserv_id == "mx.agencia.example"
    assert parse_config('[mail]\nauthserv_id = ""\n').mail.authserv_id is None


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("acks_per_sender = -1", "mail.acks_per_sender: -1 is not an integer >= 0"),
        ('new_cases_per_desk = "many"', "mail.new_cases_per_desk: 'many' is not an integer >= 0"),
        ("limit_window = 0", "mail.limit_window: 0 is not a positive duration"),
        ('authserv_id = "mx; spf=pass"',
         "mail.authserv_id: 'mx; spf=pass' is not an authserv-id (expected e.g. "
         "mx.agencia.example)"),
        ("authserv_id = 3", "mail.authserv_id: 3 is not a string"),
        ("acks_per_hour = 3", "mail.acks_per_hour: unknown key (did you mean"),
    ],
)  # fmt: skip
def test_bad_mail_settings_are_reported_with_file_line_and_key(line: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(f"[mail]\n{line}\n", Path("ronda.toml"))
    [found] = caught.value.problems
    assert found.startswith(f"ronda.toml:2: {problem}"), found


# ---- the mail log's schema -----------------------------------------------------------------------


def test_migration_keeps_each_messages_domain_and_counts_read_indexes(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = Store(path, migrations=MIGRATIONS[:4])
    with old.write() as db:
        db.execute(
            "INSERT INTO mail_messages (message_id, direction, kind, from_addr, to_addr, "
            "received_at) VALUES ('<a@x>', 'in', 'opened', 'ana@Tienda.example', 'd@desk', 10), "
            "('<b@x>', 'out', 'ack', 'd@desk', 'ana@tienda.example', 11), "
            "('<c@x>', 'in', 'dropped', NULL, NULL, 12)"
        )
    old.close()
    store = Store(path)
    rows = store.query("SELECT message_id, peer_domain FROM mail_messages ORDER BY id")
    assert [r["peer_domain"] for r in rows] == ["tienda.example", "tienda.example", None]
    assert store.mail.new_cases_since(0, domain="tienda.example") == 1
    assert store.mail.acks_since(0, domain="tienda.example") == 1
    assert store.mail.acks_since(0, to_addr="ana@tienda.example") == 1
    assert store.mail.new_cases_since(0) == 1 and store.mail.new_cases_since(11) == 0

    # Each count the intake makes reads an index, never the whole log: a flood of messages
    # cannot slow the next one down. (The statements as the store runs them, values bound.)
    ran: list[str] = []
    store.db.conn.set_trace_callback(ran.append)
    counts = {
        "ix_mail_opened_sender": lambda: store.mail.new_cases_since(0, sender="a@x.example"),
        "ix_mail_opened_domain": lambda: store.mail.new_cases_since(0, domain="x.example"),
        "ix_mail_opened": lambda: store.mail.new_cases_since(0),
        "ix_mail_acks_domain": lambda: store.mail.acks_since(0, domain="x.example"),
        "ix_mail_acks": lambda: store.mail.acks_since(0),
        "ix_mail_out_to": lambda: store.mail.acks_since(0, to_addr="a@x.example"),
    }
    for index, count in counts.items():
        ran.clear()
        count()
        [sql] = [q for q in ran if q.lstrip().upper().startswith("SELECT")]
        detail = " ".join(r["detail"] for r in store.query(f"EXPLAIN QUERY PLAN {sql}"))
        assert f"INDEX {index}" in detail, (sql, detail)
    store.db.conn.set_trace_callback(None)
    store.close()
