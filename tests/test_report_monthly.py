"""`ronda run` mails last month's reports on the 1st to the customers who opted in, through
the outbox (once per customer and month), delivered by the sender to a real SMTP relay."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path

import pytest
from clocks import Clock
from mailsink import Relay
from polling import wait_until
from report_desk import AFTER, BOGOTA, build

from ronda.app.service import Service, ServiceEvent, ServiceOptions
from ronda.config import MailSettings
from ronda.reports.monthly import MonthlyReportsThread, due_month, report_key, send_monthly
from ronda.reports.period import Month


@pytest.fixture
def desk(tmp_path: Path):
    config, store = build(tmp_path)
    yield config, store
    store.close()


def parts(msg: Message) -> tuple[str, Message]:
    text, attachment = msg.get_payload()  # type: ignore[misc]
    body = text.get_payload(decode=True).decode("utf-8")
    return body, attachment


def test_last_month_is_due_from_the_first_of_the_desks_month(desk) -> None:
    config, _ = desk
    assert due_month(datetime(2026, 12, 1, 5, 30, tzinfo=UTC), config) == Month(2026, 11)
    # 02:00 UTC on Dec 1st is still Nov 30th in Bogota: October's is the one due then.
    assert due_month(datetime(2026, 12, 1, 2, 0, tzinfo=UTC), config) == Month(2026, 10)
    # Still November's after the 1st, until December ends.
    assert due_month(datetime(2026, 12, 3, 12, 0, tzinfo=UTC), config) == Month(2026, 11)
    assert due_month(datetime(2027, 1, 1, 4, 59, tzinfo=UTC), config) == Month(2026, 11)
    assert due_month(datetime(2027, 1, 1, 12, 0, tzinfo=UTC), config) == Month(2026, 12)


def test_opted_in_customers_get_one_report_each_month(desk) -> None:
    config, store = desk
    result = send_monthly(config, store, AFTER)
    assert (result.month, result.queued, result.already) == (Month(2026, 11), 2, 0)
    ana = store.outbox.get(report_key(Month(2026, 11), "Ana Pérez"))
    luis = store.outbox.get(report_key(Month(2026, 11), "Luis Gómez"))
    assert ana is not None and luis is not None
    assert (ana.kind, ana.recipient, ana.ticket_id) == ("report", "ana@tienda-ana.example", None)
    assert luis.recipient == "luis@luis.example"
    assert store.outbox.get(report_key(Month(2026, 11), "Quiet")) is None  # not opted in
    again = send_monthly(config, store, AFTER.replace(hour=23))
    assert (again.queued, again.already) == (0, 2)
    later = send_monthly(config, store, datetime(2026, 12, 2, 15, tzinfo=UTC))
    assert (later.month, later.queued, later.already) == (Month(2026, 11), 0, 2)


def test_a_customer_without_an_address_is_said_so(desk) -> None:
    config, store = desk
    customers = tuple(
        replace(c, reports=True) if c.name == "Quiet" else c for c in config.customers
    )
    result = send_monthly(replace(config, customers=customers), store, AFTER)
    assert result.queued == 2 and result.without_address == ("Quiet",)
    assert "no address for Quiet" in result.describe()


def test_the_service_delivers_them_to_the_relay(desk) -> None:
    config, store = desk
    told: list[ServiceEvent] = []
    with Relay() as relay:
        config = replace(
            config, mail=MailSettings(relay=relay.address, desk_address="soporte@andino.example")
        )
        service = Service(
            config,
            store,
            ServiceOptions(outbox=True, reports=True),
            clock=Clock(AFTER),
            on_event=told.append,
        )
        with service:
            received = relay.wait(2, timeout=30)
            wait_until(lambda: any(e.kind == "reports" for e in told), "the reports' log line")
    by_to = {rcpts[0]: msg for _, rcpts, msg, _ in received}
    ana = by_to["ana@tienda-ana.example"]
    subject = str(make_header(decode_header(str(ana["Subject"]))))
    assert subject == "Informe mensual: noviembre de 2026 - Hosting Andino"
    assert ana["Auto-Submitted"] == "auto-generated"
    body, attachment = parts(ana)
    assert body.startswith("Hola, Ana Pérez:")
    assert attachment.get_content_type() == "text/html"
    assert attachment.get_filename().endswith("-2026-11.html")
    html = attachment.get_payload(decode=True).decode("utf-8")
    assert "Informe mensual: noviembre de 2026" in html and "99,71 %" in html
    luis_body, luis_html = parts(by_to["luis@luis.example"])
    assert luis_body.startswith("Hello Luis Gómez,")
    assert "Monthly report: November 2026" in luis_html.get_payload(decode=True).decode()
    line = next(e for e in told if e.kind == "reports")
    assert str(line) == "reports for 2026-11: 2 queued, 0 sent before"


def test_the_thread_looks_again_and_sends_nothing_twice(desk) -> None:
    config, store = desk
    lines: list[tuple[str, bool]] = []
    woken: list[int] = []
    thread = MonthlyReportsThread(
        store,
        lambda: config,
        lambda text, failed: lines.append((text, failed)),
        queued=lambda: woken.append(1),
        clock=Clock(AFTER),
    )
    first = thread.run_once()
    second = thread.run_once()
    assert first is not None and first.queued == 2
    assert second is not None and second.queued == 0
    assert lines == [("reports for 2026-11: 2 queued, 0 sent before", False)]
    assert woken == [1]


def test_a_desk_down_on_the_first_sends_when_it_comes_back_and_once(desk) -> None:
    """Down all of the 1st and the 2nd, up on the 3rd: November's reports go out then; up
    again on the 4th (a new process, a new thread): nothing more."""
    config, store = desk
    told: list[ServiceEvent] = []
    third = datetime(2026, 12, 3, 8, 0, tzinfo=BOGOTA)
    with Relay() as relay:
        config = replace(
            config, mail=MailSettings(relay=relay.address, desk_address="soporte@andino.example")
        )
        service = Service(
            config,
            store,
            ServiceOptions(outbox=True, reports=True),
            clock=Clock(third),
            on_event=told.append,
        )
        with service:
            received = relay.wait(2, timeout=30)
            wait_until(lambda: any(e.kind == "reports" for e in told), "the reports' log line")
        assert sorted(rcpts[0] for _, rcpts, _, _ in received) == [
            "ana@tienda-ana.example",
            "luis@luis.example",
        ]
        for _, _, msg, _ in received:
            assert msg.get_payload()[1].get_filename().endswith("-2026-11.html")  # type: ignore[index]
        lines: list[tuple[str, bool]] = []
        fourth = MonthlyReportsThread(
            store,
            lambda: config,
            lambda text, failed: lines.append((text, failed)),
            clock=Clock(third + timedelta(days=1)),
        )
        result = fourth.run_once()
        assert result is not None
        assert (result.month, result.queued, result.already) == (Month(2026, 11), 0, 2)
        assert lines == []
        assert len(relay.received) == 2
    sent = [store.outbox.get(report_key(Month(2026, 11), n)) for n in ("Ana Pérez", "Luis Gómez")]
    assert [m.state for m in sent if m is not None] == ["sent", "sent"]
