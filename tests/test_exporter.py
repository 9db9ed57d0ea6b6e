"""The exporter against real SQLite stores built with the Desk under an injected clock, and its
HTTP endpoint on real loopback sockets."""

from __future__ import annotations

import gc
import json
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import httpx
import pytest
from clocks import Clock
from polling import wait_until
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ronda.app.cli import run_exporter
from ronda.exporter.collector import (
    BUCKETS,
    METRIC_NAMES,
    METRICS,
    PHASES,
    RondaCollector,
    make_registry,
)
from ronda.exporter.server import (
    AddressInUse,
    ExporterError,
    ListenAddressError,
    parse_listen,
    serve,
)
from ronda.model import FailureClass, Impact, Priority, Source, Status
from ronda.sla import compliance
from ronda.store import Store
from ronda.tickets import Desk, QueueFilter

WED_10_BOGOTA = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def clock() -> Clock:
    return Clock(WED_10_BOGOTA)


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    store = Store(tmp_path / "ronda.db")
    with store.write() as db:
        db.execute("INSERT INTO customers (name) VALUES ('Acme'), ('Bodega')")
    yield store
    store.close()


@pytest.fixture
def desk(store, clock) -> Desk:
    return Desk(store, clock=clock)


@pytest.fixture
def collector(store, clock) -> Iterator[RondaCollector]:
    collector = RondaCollector(store, clock)
    yield collector
    collector.close()


def scrape(collector: RondaCollector) -> Samples:
    """One scrape, parsed back by prometheus_client's own text parser."""
    samples: Samples = {}
    for family in text_string_to_metric_families(collector.render().decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def matching(samples: Samples, name: str, **labels: str) -> dict[tuple, float]:
    """Samples of `name` whose labels include `labels`."""
    return {
        key: v
        for key, v in samples.items()
        if key[0] == name and set(labels.items()) <= set(key[1])
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    return sum(matching(samples, name, **labels).values())


def open_ticket(desk: Desk, at: datetime | None = None, **kwargs) -> object:
    values = dict(
        source=Source.EMAIL,
        subject="La tienda no carga",
        priority=Priority.HIGH,
        impact=Impact.HIGH,
        actor="mail",
        customer="Acme",
    )
    values.update(kwargs)
    return desk.open_ticket(opened_at=at, **values)


# ---- the contract -----------------------------------------------------------------------


def test_every_family_of_the_contract_is_exposed_with_help_and_type(collector) -> None:
    text = collector.render().decode()
    for spec in METRICS:
        assert f"# HELP {spec.name} " in text
        assert f"# TYPE {spec.name} {spec.kind}\n" in text
        assert spec.name.startswith("ronda_")
        assert spec.name.endswith("_total") == (spec.kind == "counter")
        # Bounded labels only: no case numbers, e-mail addresses, URLs or subjects.
        assert not {"case", "case_number", "email", "requester", "url", "subject"} & set(
            spec.labels
        )
    assert len(METRIC_NAMES) == len(set(METRIC_NAMES))


# ---- open queue -------------------------------------------------------------------------


def test_open_tickets_by_sla_state_match_the_desk(desk, clock, collector) -> None:
    now = clock.now
    # High/high counts wall-clock time: target 5 min, limit 15 min.
    ok = open_ticket(desk, now - timedelta(minutes=1))
    warning = open_ticket(desk, now - timedelta(minutes=10))
    breached = open_ticket(desk, now - timedelta(minutes=20))
    paused = open_ticket(desk, now - timedelta(minutes=30))
    met = open_ticket(desk, now - timedelta(minutes=25))
    missed = open_ticket(desk, now - timedelta(minutes=50))
    resolved = open_ticket(desk, now - timedelta(minutes=40))
    clock.now = now - timedelta(minutes=28)
    desk.set_status(paused.id, Status.PENDING_CUSTOMER, "ana")
    clock.now = now - timedelta(minutes=20)
    desk.respond(met.id, "ana", "Lo estamos revisando")
    desk.respond(missed.id, "ana", "Perdón la demora")
    desk.resolve(resolved.id, "ana")
    clock.now = now

    samples = scrape(collector)
    expected = {
        ok.id: ("new", "ok"),
        warning.id: ("new", "warning"),
        breached.id: ("new", "breached"),
        paused.id: ("pending_customer", "paused"),
        met.id: ("open", "met"),
        missed.id: ("open", "missed"),
    }
    for ticket_id, (status, state) in expected.items():
        # The SQL decides the state as the SLA policy does.
        assert str(desk.sla_state(desk.get(ticket_id))) == state
        assert (
            value(
                samples,
                "ronda_open_tickets",
                priority="high",
                impact="high",
                status=status,
                sla_state=state,
                customer="Acme",
                clock="first_response",
            )
            == 1
        )
    assert total(samples, "ronda_open_tickets") == 6  # the resolved one is not open


def test_oldest_age_and_most_urgent_time_left(desk, clock, collector) -> None:
    now = clock.now
    open_ticket(desk, now - timedelta(minutes=3))  # limit in 12 min
    open_ticket(desk, now - timedelta(minutes=7))  # limit in 8 min: the most urgent
    answered = open_ticket(desk, now - timedelta(minutes=14))
    desk.respond(answered.id, "ana", "En eso estamos")  # answered: no longer counting down
    open_ticket(desk, now - timedelta(hours=2), priority=Priority.LOW, impact=Impact.LOW)

    samples = scrape(collector)
    assert value(samples, "ronda_oldest_open_ticket_age_seconds", priority="high") == 14 * 60
    assert value(samples, "ronda_oldest_open_ticket_age_seconds", priority="low") == 2 * 3600
    assert value(samples, "ronda_oldest_open_ticket_age_seconds", priority="medium") == 0
    assert value(samples, "ronda_most_urgent_ticket_time_left_seconds", priority="high") == 8 * 60
    assert not matching(samples, "ronda_most_urgent_ticket_time_left_seconds", priority="medium")

    clock.advance(minutes=10)  # the urgent one is now 2 minutes past its limit
    samples = scrape(collector)
    assert value(samples, "ronda_most_urgent_ticket_time_left_seconds", priority="high") == -120


# ---- compliance -------------------------------------------------------------------------


def test_compliance_windows_count_due_and_met(desk, clock, collector) -> None:
    now = clock.now

    def answered(opened: datetime, after: timedelta, **kwargs) -> None:
        ticket = open_ticket(desk, opened, **kwargs)
        clock.now = opened + after
        desk.respond(ticket.id, "ana", "Respuesta")
        clock.now = now

    # High/high (limit 15 min, wall clock), inside the last 7 days: 2 met, 1 missed.
    answered(now - timedelta(days=2), timedelta(minutes=5))
    answered(now - timedelta(days=3), timedelta(minutes=10))
    answered(now - timedelta(days=4), timedelta(minutes=40))
    # Unanswered and past its limit, 1 day ago: due and missed.
    open_ticket(desk, now - timedelta(days=1))
    # Between 7 and 30 days ago: 1 met, 1 missed.
    answered(now - timedelta(days=10), timedelta(minutes=1))
    answered(now - timedelta(days=20), timedelta(hours=2))
    # Older than 30 days: in no window.
    answered(now - timedelta(days=40), timedelta(hours=2))
    # Limit 35 days ago, answered 20 days ago: due (and missed) in 30 days, not in 7.
    answered(now - timedelta(days=35), timedelta(days=15))
    # Answered early with its limit still ahead: due (and met) because the answer came.
    early = open_ticket(desk, now - timedelta(minutes=5))
    clock.now = now - timedelta(minutes=1)
    desk.respond(early.id, "ana", "Ya quedó")
    clock.now = now
    # Not answered and not yet at its limit: not due.
    open_ticket(desk, now - timedelta(minutes=1))

    samples = scrape(collector)
    cell = {"priority": "high", "impact": "high"}
    assert value(samples, "ronda_sla_first_responses_due", window="7d", **cell) == 5
    assert value(samples, "ronda_sla_first_responses_met", window="7d", **cell) == 3
    assert value(samples, "ronda_sla_compliance_ratio", window="7d", **cell) == pytest.approx(0.6)
    assert value(samples, "ronda_sla_first_responses_due", window="30d", **cell) == 8
    assert value(samples, "ronda_sla_first_responses_met", window="30d", **cell) == 4
    assert value(samples, "ronda_sla_compliance_ratio", window="30d", **cell) == pytest.approx(
        4 / 8
    )
    # Per customer, all cells together.
    assert value(
        samples, "ronda_sla_customer_compliance_ratio", customer="Acme", window="7d"
    ) == pytest.approx(0.6)
    assert (
        value(samples, "ronda_sla_customer_first_responses_due", customer="Acme", window="30d") == 8
    )
    # Nothing due is no evidence of failure: every other cell reads 1, with 0 due.
    low = {"priority": "low", "impact": "low", "window": "30d"}
    assert value(samples, "ronda_sla_compliance_ratio", **low) == 1
    assert value(samples, "ronda_sla_first_responses_due", **low) == 0
    assert len(matching(samples, "ronda_sla_compliance_ratio")) == 18  # 9 cells x 2 windows


def test_compliance_agrees_with_the_sla_module(desk, clock, collector) -> None:
    """For answered and unanswered-open tickets the exporter's SQL and Python windowing and
    `ronda.sla.compliance` are two independent computations of the same definition."""
    now = clock.now
    cells = [(p, i) for p in Priority for i in Impact]
    for n in range(36):
        priority, impact = cells[n % len(cells)]
        opened = now - timedelta(hours=7 * n + 5)
        ticket = open_ticket(desk, opened, priority=priority, impact=impact)
        if n % 3:  # two in three answered, at varying delays
            clock.now = min(opened + timedelta(minutes=20 * n + 3), now - timedelta(seconds=1))
            desk.respond(ticket.id, "ana", "Respuesta")
            clock.now = now
    tickets = desk.queue(QueueFilter(view="all", limit=1000))
    assert len(tickets) == 36
    records = [(t.priority, t.impact, t.sla_limit_at, t.first_response_at) for t in tickets]
    samples = scrape(collector)
    for window, days in (("7d", 7), ("30d", 30)):
        expected = compliance(records, now - timedelta(days=days), now)
        for (priority, impact), result in expected.items():
            labels = {"priority": str(priority), "impact": str(impact), "window": window}
            assert value(samples, "ronda_sla_first_responses_due", **labels) == result.due
            assert value(samples, "ronda_sla_first_responses_met", **labels) == result.met
            assert value(samples, "ronda_sla_compliance_ratio", **labels) == pytest.approx(
                result.ratio
            )


def test_paused_and_self_resolved_tickets_are_not_due(desk, clock, collector) -> None:
    now = clock.now
    # Waiting on the customer since before its limit: the clock is stopped, nothing owed.
    paused = open_ticket(desk, now - timedelta(hours=1))
    clock.now = now - timedelta(minutes=55)
    desk.set_status(paused.id, Status.PENDING_CUSTOMER, "ana")
    # A probe ticket the probe resolved itself before its limit: nobody owed an answer.
    recovered = open_ticket(
        desk, now - timedelta(hours=2), source=Source.PROBE, actor="probe", site="a.example"
    )
    clock.now = now - timedelta(hours=2) + timedelta(minutes=10)
    desk.resolve(recovered.id, "probe")
    # One the probe resolved after the limit, unanswered: the promise was missed.
    late = open_ticket(
        desk, now - timedelta(hours=3), source=Source.PROBE, actor="probe", site="b.example"
    )
    clock.now = now - timedelta(hours=2)
    desk.resolve(late.id, "probe")
    clock.now = now

    samples = scrape(collector)
    cell = {"priority": "high", "impact": "high", "window": "7d"}
    assert value(samples, "ronda_sla_first_responses_due", **cell) == 1
    assert value(samples, "ronda_sla_first_responses_met", **cell) == 0
    assert (
        value(
            samples, "ronda_first_responses_total", priority="high", impact="high", outcome="missed"
        )
        == 1
    )


def test_a_kept_window_drops_a_ticket_the_second_it_leaves(desk, clock, collector) -> None:
    """Unanswered past its limit, a ticket is due from the limit on, for 7 and 30 days."""
    ticket = open_ticket(desk)  # high/high: limit in 15 min, wall clock
    limit = desk.get(ticket.id).sla_limit_at
    cell = {"priority": "high", "impact": "high"}
    expected = [  # (seconds after the limit, due in 7 days, due in 30 days)
        (-1, 0, 0),
        (0, 0, 0),  # the window ends at now, open: a limit at now is not yet past
        (1, 1, 1),
        (7 * 86400, 1, 1),
        (7 * 86400 + 0.5, 0, 1),
        (30 * 86400, 0, 1),
        (30 * 86400 + 0.5, 0, 0),
    ]
    for after, due7, due30 in expected:
        clock.now = limit + timedelta(seconds=after)
        samples = scrape(collector)
        due = (
            value(samples, "ronda_sla_first_responses_due", window="7d", **cell),
            value(samples, "ronda_sla_first_responses_due", window="30d", **cell),
        )
        assert due == (due7, due30), after


def test_windows_kept_across_scrapes_match_a_fresh_count(desk, store, clock, collector) -> None:
    """The windows are counts kept from scrape to scrape; as the clock moves across their
    edges, and as tickets are answered, they must read as a collector that counts afresh."""
    now = clock.now
    cells = [(p, i) for p in Priority for i in Impact]
    tickets = []
    for n in range(24):
        priority, impact = cells[n % len(cells)]
        opened = now - timedelta(days=n * 1.5, hours=n)
        tickets.append(open_ticket(desk, opened, priority=priority, impact=impact))
        if n % 3 == 0:  # a third answered, some within their limit and some not
            clock.now = opened + timedelta(minutes=7 + 40 * (n % 4))
            desk.respond(tickets[-1].id, "ana", "Respuesta")
            clock.now = now

    def windows(samples: Samples) -> dict:
        return {k: v for k, v in samples.items() if k[0].startswith("ronda_sla_")}

    seen = set()
    # Forward across the 7- and 30-day edges, an answer on the way, then back a day.
    for step in (timedelta(0), timedelta(hours=5), timedelta(days=3), timedelta(days=6)) + (
        timedelta(days=13),
        timedelta(seconds=1),
        timedelta(days=-1),
    ):
        clock.now += step
        if step == timedelta(days=6):
            desk.respond(tickets[1].id, "ana", "Tarde")
        kept = scrape(collector)
        fresh = RondaCollector(store, clock)
        counted = scrape(fresh)
        fresh.close()
        assert windows(kept) == windows(counted)
        for name in ("ronda_first_response_business_seconds_sum", "ronda_tickets_opened_total"):
            assert matching(kept, name) == matching(counted, name)
        seen.add(
            value(
                kept, "ronda_sla_first_responses_due", priority="high", impact="high", window="30d"
            )
        )
    assert len(seen) > 2  # the windows did move


# ---- all-time counters ------------------------------------------------------------------


def test_first_response_counters_and_histogram(desk, clock, collector) -> None:
    now = clock.now
    plan = [
        # (priority, impact, business seconds to answer): high/high and high/medium count
        # wall-clock time; medium/medium counts Bogota business hours (Wednesday 10:00).
        (Priority.HIGH, Impact.HIGH, 240),  # met, bucket 300
        (Priority.HIGH, Impact.HIGH, 1200),  # missed (limit 900), bucket 1800
        (Priority.HIGH, Impact.MEDIUM, 3000),  # met (limit 3600), bucket 3600
        (Priority.MEDIUM, Impact.MEDIUM, 7200),  # met (limit 8 business hours)
    ]
    for priority, impact, seconds in plan:
        clock.now = now
        ticket = open_ticket(desk, priority=priority, impact=impact)
        clock.advance(seconds=seconds)
        desk.respond(ticket.id, "ana", "Respuesta")
    samples = scrape(collector)

    def outcome(priority: str, impact: str, result: str) -> float:
        return value(
            samples, "ronda_first_responses_total", priority=priority, impact=impact, outcome=result
        )

    assert outcome("high", "high", "met") == 1
    assert outcome("high", "high", "missed") == 1
    assert outcome("high", "medium", "met") == 1
    assert outcome("medium", "medium", "met") == 1
    assert outcome("low", "low", "met") == 0  # every cell and outcome starts at zero
    assert len(matching(samples, "ronda_first_responses_total")) == 18

    def bucket(priority: str, le: float | str) -> float:
        le_text = le if isinstance(le, str) else repr(float(le))
        return value(
            samples, "ronda_first_response_business_seconds_bucket", priority=priority, le=le_text
        )

    assert bucket("high", 300) == 1
    assert bucket("high", 900) == 1
    assert bucket("high", 1800) == 2
    assert bucket("high", 3600) == 3
    assert bucket("high", "+Inf") == 3
    assert value(samples, "ronda_first_response_business_seconds_count", priority="high") == 3
    assert value(
        samples, "ronda_first_response_business_seconds_sum", priority="high"
    ) == pytest.approx(240 + 1200 + 3000)
    assert bucket("medium", 3600) == 0
    assert bucket("medium", 7200 + 3600) == 1  # the 3 h bucket
    # Every bound of the matrix is a bucket: "within the limit" reads off one bucket.
    for limit in (900, 3600, 14400, 21600, 28800, 43200, 86400, 129600, 172800):
        assert float(limit) in BUCKETS


def test_counters_survive_a_restart(desk, store, clock, collector) -> None:
    ticket = open_ticket(desk, source=Source.PROBE, actor="probe", failure_class=FailureClass.DNS)
    clock.advance(minutes=30)
    desk.respond(ticket.id, "ana", "Revisando el DNS")
    before = scrape(collector)
    collector.close()

    restarted = RondaCollector(store, clock)  # a new process: no memory of the old one
    after = scrape(restarted)
    restarted.close()
    for name in ("ronda_first_responses_total", "ronda_tickets_opened_total"):
        assert matching(after, name) == matching(before, name)
    assert (
        value(
            after, "ronda_first_responses_total", priority="high", impact="high", outcome="missed"
        )
        == 1
    )
    assert value(after, "ronda_tickets_opened_total", source="probe", failure_class="dns") == 1


def test_counter_series_never_go_down_within_the_process(desk, store, clock, collector) -> None:
    ticket = open_ticket(desk)
    clock.advance(minutes=2)
    desk.respond(ticket.id, "ana", "Hola")
    met_high = {"priority": "high", "impact": "high", "outcome": "met"}
    assert value(scrape(collector), "ronda_first_responses_total", **met_high) == 1

    # Moved to another cell after its answer: the response stays counted in the cell it
    # was judged in, in this process and in a new one (counters never go down).
    desk.reprioritize(ticket.id, "ana", priority=Priority.LOW, reason="no era urgente")
    samples = scrape(collector)
    assert value(samples, "ronda_first_responses_total", **met_high) == 1
    low_high = {"priority": "low", "impact": "high", "outcome": "met"}
    assert not any(matching(samples, "ronda_first_responses_total", **low_high).values())
    restarted = RondaCollector(store, clock)
    assert value(scrape(restarted), "ronda_first_responses_total", **met_high) == 1
    restarted.close()


def test_tickets_opened_stay_counted_under_their_opening_class(desk, store, clock) -> None:
    ticket = desk.open_ticket(
        source=Source.PROBE,
        subject="tienda-ana: slow",
        priority=Priority.MEDIUM,
        impact=Impact.HIGH,
        actor="probe",
        failure_class=FailureClass.SLOW,
        dedupe_key="tienda-ana:down",
    )
    desk.record(ticket.id, "probe", "recurrence", "now down", failure_class=FailureClass.HTTP_500)
    collector = RondaCollector(store, clock)
    samples = scrape(collector)
    assert value(samples, "ronda_tickets_opened_total", source="probe", failure_class="slow") == 1
    moved = matching(samples, "ronda_tickets_opened_total", failure_class="http_500")
    assert not any(moved.values())
    collector.close()


def test_changes_are_folded_in_without_rereading_the_history(desk, store, clock, collector) -> None:
    # An old history (answered 90 days ago: in no window) and two recent tickets.
    old = 200
    with store.write() as db:
        db.conn.executemany(
            "INSERT INTO tickets (id, case_number, source, subject, priority, impact, status, "
            "opened_at, sla_target_at, sla_limit_at, first_response_at, "
            "first_response_seconds, sla_outcome, updated_at) "
            "VALUES (?, ?, 'email', 's', 'low', 'low', 'closed', ?, ?, ?, ?, 60, 'met', ?)",
            [
                (i, f"R-{1000 + i}", t, t + 60, t + 120, t + 60, t)
                for i in range(1, old + 1)
                for t in [clock.now.timestamp() - 86400 * 90]
            ],
        )
    open_ticket(desk, priority=Priority.LOW, impact=Impact.LOW)
    open_ticket(desk, priority=Priority.LOW, impact=Impact.LOW)
    met_low = {"priority": "low", "impact": "low", "outcome": "met"}
    samples = scrape(collector)
    assert collector.tickets_read == 2  # the first scrape reads the recent tickets, not all
    assert value(samples, "ronda_first_responses_total", **met_low) == old  # kept totals

    ticket = open_ticket(desk, priority=Priority.LOW, impact=Impact.LOW)
    clock.advance(minutes=5)
    desk.respond(ticket.id, "ana", "Listo")
    clock.advance(seconds=1)  # the window ends at now, open: the answer is in it from now on
    samples = scrape(collector)
    assert collector.tickets_read == 1  # only the ticket that changed
    assert value(samples, "ronda_first_responses_total", **met_low) == old + 1
    low_30d = {"priority": "low", "impact": "low", "window": "30d"}
    assert value(samples, "ronda_sla_first_responses_met", **low_30d) == 1
    scrape(collector)
    assert collector.tickets_read == 0  # nothing changed since

    # A write that bypassed the desk (no event) is seen by the next scrape: the counters
    # and the windows follow every write, with no lap over the history.
    with store.write() as db:
        db.execute("UPDATE tickets SET sla_outcome = 'missed' WHERE id = 1")
        db.execute(
            "UPDATE tickets SET first_response_at = ? WHERE id = 2",
            (clock.now.timestamp() - 3600,),
        )
    samples = scrape(collector)
    missed_low = {"priority": "low", "impact": "low", "outcome": "missed"}
    assert value(samples, "ronda_first_responses_total", **missed_low) == 1
    assert value(samples, "ronda_sla_first_responses_met", **low_30d) == 2  # answered 1 h ago
    assert collector.tickets_read == 1  # ticket 1 is no candidate: it was only dropped

    # A clock that goes back makes the next scrape read the recent tickets again.
    clock.advance(days=-60)
    scrape(collector)
    assert collector.tickets_read == 4


def test_tickets_opened_by_source_and_failure_class(desk, store, collector) -> None:
    open_ticket(desk)
    open_ticket(desk)
    open_ticket(
        desk,
        source=Source.PROBE,
        actor="probe",
        site="a.example",
        failure_class=FailureClass.HTTP_502,
    )
    with store.write() as db:  # a class this exporter does not know stays bounded
        db.execute("UPDATE tickets SET failure_class = 'martian' WHERE id = 1")
    samples = scrape(collector)
    assert (
        value(samples, "ronda_tickets_opened_total", source="probe", failure_class="http_502") == 1
    )
    assert value(samples, "ronda_tickets_opened_total", source="email", failure_class="none") == 1
    assert value(samples, "ronda_tickets_opened_total", source="email", failure_class="other") == 1


def test_next_replies_are_counted_apart_from_first_responses(desk, store, clock, collector) -> None:
    now = clock.now
    # Answered in time, then the customer wrote again: a next reply is owed (15 min).
    owed = open_ticket(desk, now - timedelta(hours=2))
    clock.now = now - timedelta(hours=2) + timedelta(minutes=3)
    desk.respond(owed.id, "ana", "Hola")
    clock.now = now - timedelta(minutes=20)
    desk.customer_wrote(owed.id, "mail", "email_received", "¿Y?")  # breached by now
    # Another one answered late on its next reply, and one met.
    late = open_ticket(desk, now - timedelta(hours=3))
    clock.now = now - timedelta(hours=3) + timedelta(minutes=2)
    desk.respond(late.id, "ana", "Hola")
    clock.now = now - timedelta(hours=1)
    desk.customer_wrote(late.id, "mail", "email_received", "Sigue mal")
    clock.now = now - timedelta(minutes=30)
    desk.respond(late.id, "ana", "Perdón la demora")  # 30 min after: missed
    quick = open_ticket(desk, now - timedelta(hours=4))
    clock.now = now - timedelta(hours=4) + timedelta(minutes=1)
    desk.respond(quick.id, "ana", "Hola")
    clock.now = now - timedelta(hours=2)
    desk.customer_wrote(quick.id, "mail", "email_received", "Gracias, otra cosa")
    clock.now = now - timedelta(hours=2) + timedelta(minutes=5)
    desk.respond(quick.id, "ana", "Claro")
    clock.now = now

    samples = scrape(collector)
    cell = {"priority": "high", "impact": "high"}
    assert value(samples, "ronda_next_responses_total", outcome="met", **cell) == 1
    assert value(samples, "ronda_next_responses_total", outcome="missed", **cell) == 1
    # The contract's first responses are all met, whatever the next replies did.
    assert value(samples, "ronda_first_responses_total", outcome="met", **cell) == 3
    assert value(samples, "ronda_first_responses_total", outcome="missed", **cell) == 0
    # Due over 7 days: the met, the missed and the owed one past its limit.
    assert value(samples, "ronda_sla_next_responses_due", window="7d", **cell) == 3
    assert value(samples, "ronda_sla_next_responses_met", window="7d", **cell) == 1
    assert value(
        samples, "ronda_sla_next_response_compliance_ratio", window="7d", **cell
    ) == pytest.approx(1 / 3)
    assert value(samples, "ronda_sla_compliance_ratio", window="7d", **cell) == 1.0
    low = {"priority": "low", "impact": "low", "window": "30d"}
    assert value(samples, "ronda_sla_next_response_compliance_ratio", **low) == 1.0
    # The owed one is breached on its next-reply clock, and says so.
    assert (
        value(
            samples,
            "ronda_open_tickets",
            status="open",
            sla_state="breached",
            customer="Acme",
            clock="next_response",
            **cell,
        )
        == 1
    )
    assert total(samples, "ronda_open_tickets", clock="first_response") == 2

    # Answered now: the windows see the change, the counter moves.
    desk.respond(owed.id, "ana", "Ya está")
    clock.now = now + timedelta(seconds=1)
    samples = scrape(collector)
    assert value(samples, "ronda_next_responses_total", outcome="missed", **cell) == 2
    assert value(samples, "ronda_sla_next_responses_due", window="7d", **cell) == 3
    assert total(samples, "ronda_open_tickets", clock="next_response") == 0


def test_customers_with_sites_have_a_compliance_from_the_start(store, collector) -> None:
    with store.write() as db:
        db.execute(
            "INSERT INTO sites (name, url, customer, impact) VALUES "
            "('shop', 'https://shop.test/', 'Acme', 'high'), "
            "('x', 'https://x.test/', 'stranger', 'low'), ('y', 'https://y.test/', NULL, 'low')"
        )
    samples = scrape(collector)
    ratios = matching(samples, "ronda_sla_customer_compliance_ratio")
    assert {(dict(k[1])["customer"], dict(k[1])["window"]): v for k, v in ratios.items()} == {
        ("Acme", "7d"): 1.0,
        ("Acme", "30d"): 1.0,
    }
    assert (
        value(samples, "ronda_sla_customer_first_responses_due", customer="Acme", window="30d") == 0
    )


def test_customer_labels_are_bounded_by_the_config(desk, collector) -> None:
    open_ticket(desk, customer="Acme")
    open_ticket(desk, customer="someone@gmail.com")  # not a configured customer
    open_ticket(desk, customer=None)
    samples = scrape(collector)
    customers = {dict(k[1])["customer"] for k in matching(samples, "ronda_open_tickets")}
    assert customers == {"Acme", "other", "none"}


# ---- sites ------------------------------------------------------------------------------


def add_site(store: Store, name: str, customer: str | None = "Acme", **state) -> None:
    with store.write() as db:
        db.execute(
            "INSERT INTO sites (name, url, customer, server, impact) VALUES (?, ?, ?, ?, ?)",
            (name, f"https://{name}/", customer, "srv-1", "high"),
        )
        if state:
            columns = ", ".join(["site", *state])
            marks = ", ".join("?" * (len(state) + 1))
            db.execute(
                f"INSERT INTO probe_state ({columns}) VALUES ({marks})", (name, *state.values())
            )


def test_site_metrics(store, clock, collector) -> None:
    now = clock.now.timestamp()
    phases = {"dns": 0.002, "connect": 0.01, "tls": 0.03, "first_byte": 0.2, "transfer": 0.05}
    add_site(
        store,
        "tienda.example",
        checked_at=now - 30,
        up=1,
        status_code=200,
        elapsed_ms=292.0,
        phases=json.dumps({**phases, "queue": 9.0}),  # an unknown phase is not published
        cert_not_after=now + 10 * 86400,
    )
    add_site(
        store,
        "caido.example",
        customer="Bodega",
        checked_at=now - 10,
        up=0,
        failure_class="refused",
        status_code=None,
        phases="{not json",
        in_maintenance=1,
    )
    add_site(store, "nuevo.example", customer=None)  # configured, never probed
    with store.write() as db:
        db.execute(
            "INSERT INTO probe_state (site, checked_at, up) VALUES ('olvidado.example', ?, 0)",
            (now,),
        )  # no longer in the config: not published
        db.execute("INSERT INTO probe_failures VALUES ('caido.example', 'refused', 7)")
        db.execute("INSERT INTO probe_failures VALUES ('caido.example', 'timeout', 2)")
        db.execute("INSERT INTO probe_rounds VALUES ('caido.example', 40)")
        db.execute("INSERT INTO probe_rounds VALUES ('tienda.example', 41)")

    samples = scrape(collector)
    assert (
        value(
            samples,
            "ronda_site_info",
            site="tienda.example",
            customer="Acme",
            server="srv-1",
            impact="high",
        )
        == 1
    )
    assert (
        value(
            samples,
            "ronda_site_info",
            site="nuevo.example",
            customer="none",
            server="srv-1",
            impact="high",
        )
        == 1
    )
    assert value(samples, "ronda_site_up", site="tienda.example") == 1
    assert value(samples, "ronda_site_up", site="caido.example") == 0
    assert value(samples, "ronda_site_http_status_code", site="tienda.example") == 200
    assert value(samples, "ronda_site_http_status_code", site="caido.example") == 0
    assert value(samples, "ronda_probe_duration_seconds", site="tienda.example") == pytest.approx(
        0.292
    )
    for phase in PHASES:
        assert value(
            samples, "ronda_probe_phase_duration_seconds", site="tienda.example", phase=phase
        ) == pytest.approx(phases[phase])
    assert not matching(samples, "ronda_probe_phase_duration_seconds", phase="queue")
    assert not matching(samples, "ronda_probe_phase_duration_seconds", site="caido.example")
    assert value(
        samples, "ronda_site_cert_expiry_timestamp_seconds", site="tienda.example"
    ) == pytest.approx(now + 10 * 86400)
    assert value(samples, "ronda_site_in_maintenance", site="caido.example") == 1
    assert value(samples, "ronda_site_in_maintenance", site="tienda.example") == 0
    assert value(
        samples, "ronda_probe_last_check_timestamp_seconds", site="caido.example"
    ) == pytest.approx(now - 10)
    assert (
        value(samples, "ronda_probe_failures_total", site="caido.example", failure_class="refused")
        == 7
    )
    assert (
        value(samples, "ronda_probe_failures_total", site="caido.example", failure_class="timeout")
        == 2
    )
    assert value(samples, "ronda_probe_rounds_total", site="tienda.example") == 41
    # A site never probed has its info and maintenance flag, nothing measured.
    assert not matching(samples, "ronda_site_up", site="nuevo.example")
    assert value(samples, "ronda_site_in_maintenance", site="nuevo.example") == 0
    # Only configured sites are labels.
    assert not [k for k in samples if ("site", "olvidado.example") in k[1]]

    # The next round re-probes one site: the scrape follows (and the others come from cache).
    with store.write() as db:
        db.execute("UPDATE probe_state SET up = 1, status_code = 200 WHERE site = 'caido.example'")
        db.execute("UPDATE probe_rounds SET count = 41 WHERE site = 'caido.example'")
    samples = scrape(collector)
    assert value(samples, "ronda_site_up", site="caido.example") == 1
    assert value(samples, "ronda_probe_rounds_total", site="caido.example") == 41
    assert value(samples, "ronda_site_up", site="tienda.example") == 1


def test_certificate_expiry_is_kept_after_expiry_and_while_unseen(store, clock, collector) -> None:
    now = clock.now.timestamp()
    add_site(store, "viejo.example", checked_at=now, up=0, cert_not_after=now - 86400)
    samples = scrape(collector)
    # Expired a day ago: still reported, so the panel shows -1 day rather than nothing.
    assert value(
        samples, "ronda_site_cert_expiry_timestamp_seconds", site="viejo.example"
    ) == pytest.approx(now - 86400)

    # The next probe never reached the handshake (refused): the last seen expiry stays.
    with store.write() as db:
        db.execute("UPDATE probe_state SET cert_not_after = NULL WHERE site = 'viejo.example'")
    samples = scrape(collector)
    assert value(
        samples, "ronda_site_cert_expiry_timestamp_seconds", site="viejo.example"
    ) == pytest.approx(now - 86400)


def test_only_sites_whose_row_changed_are_rendered_again(store, clock, collector) -> None:
    now = clock.now.timestamp()
    for name in ("a.example", "b.example", "c.example"):
        add_site(store, name, checked_at=now - 60, up=1, status_code=200)
    with store.write() as db:
        db.execute("INSERT INTO probe_rounds VALUES ('a.example', 5)")
        db.execute("INSERT INTO probe_failures VALUES ('a.example', 'timeout', 2)")
    samples = scrape(collector)
    assert collector.sites_rendered == 3
    scrape(collector)
    assert collector.sites_rendered == 0  # nothing probed since: every line comes from cache

    # A round on one site: its state, rounds and failures change together.
    with store.write() as db:
        db.execute("UPDATE probe_state SET checked_at = ?, up = 0 WHERE site = 'a.example'", (now,))
        db.execute("UPDATE probe_rounds SET count = 6 WHERE site = 'a.example'")
        db.execute("UPDATE probe_failures SET count = 3 WHERE site = 'a.example'")
    samples = scrape(collector)
    assert collector.sites_rendered == 1
    assert value(samples, "ronda_site_up", site="a.example") == 0
    assert value(samples, "ronda_probe_last_check_timestamp_seconds", site="a.example") == now
    assert value(samples, "ronda_probe_rounds_total", site="a.example") == 6
    failed = {"site": "a.example", "failure_class": "timeout"}
    assert value(samples, "ronda_probe_failures_total", **failed) == 3
    assert value(samples, "ronda_site_up", site="b.example") == 1

    # A failure counted without touching the probe state is seen on the next scrape too.
    with store.write() as db:
        db.execute("INSERT INTO probe_failures VALUES ('c.example', 'dns', 1)")
    samples = scrape(collector)
    assert collector.sites_rendered == 0
    assert value(samples, "ronda_probe_failures_total", site="c.example", failure_class="dns") == 1

    # An edit that leaves the table's total as it was is healed within a lap over the sites.
    with store.write() as db:
        db.execute("UPDATE probe_failures SET count = 2 WHERE site = 'a.example'")
        db.execute("UPDATE probe_failures SET count = 2 WHERE site = 'c.example'")
    for _ in range(3):
        samples = scrape(collector)
    assert value(samples, "ronda_probe_failures_total", **failed) == 2
    assert value(samples, "ronda_probe_failures_total", site="c.example", failure_class="dns") == 2

    # A site added to the config: every site is laid out again, in name order.
    add_site(store, "aa.example", checked_at=now, up=1, status_code=200)
    text = collector.render().decode()
    assert collector.sites_rendered == 4
    up_sites = re.findall(r'^ronda_site_up\{site="([^"]+)"\}', text, re.MULTILINE)
    assert up_sites == ["a.example", "aa.example", "b.example", "c.example"]


# ---- prometheus_client integration ------------------------------------------------------


def test_registration_runs_no_query(tmp_path, clock) -> None:
    store = Store(tmp_path / "gone.db")
    store.close()
    (tmp_path / "gone.db").unlink()  # any query would now fail and count an error
    collector = RondaCollector(store, clock)
    registry = CollectorRegistry()
    registry.register(collector)  # calls describe(): static, no query
    text = generate_latest(registry).decode()  # the first scrape: one error, reported
    assert "ronda_exporter_scrape_errors_total 1.0" in text
    assert not (tmp_path / "gone.db").exists()  # the exporter never creates a database


def test_fast_encoder_matches_prometheus_client(desk, store, clock) -> None:
    open_ticket(desk, customer='Acme "quoted" \\ name')
    add_site(store, "tienda.example", checked_at=clock.now.timestamp(), up=1, status_code=200)
    with store.write() as db:
        db.execute("INSERT INTO probe_failures VALUES ('tienda.example', 'slow', 3)")
    registry = make_registry(store, clock)
    ours = RondaCollector(store, clock)

    def parsed(text: str) -> dict:
        out = {}
        for family in text_string_to_metric_families(text):
            assert family.documentation
            for s in family.samples:
                if s.name != "ronda_exporter_scrape_duration_seconds":
                    out[(family.name, family.type, s.name, tuple(sorted(s.labels.items())))] = (
                        s.value
                    )
        return out

    reference = parsed(generate_latest(registry).decode())
    assert reference == parsed(ours.render().decode())
    assert len(reference) > 100
    ours.close()


def test_a_store_error_is_reported_not_raised(store, collector) -> None:
    with store.write() as db:
        db.execute("DROP TABLE probe_rounds")  # a broken database
    samples = scrape(collector)
    assert value(samples, "ronda_exporter_scrape_errors_total") == 1
    assert ("ronda_exporter_scrape_duration_seconds", ()) in samples
    assert not matching(samples, "ronda_open_tickets")


def test_a_corrupted_file_is_an_error_metric_and_the_next_good_scrape_recovers(
    desk, store, clock, collector
) -> None:
    ticket = open_ticket(desk)
    clock.advance(minutes=2)
    desk.respond(ticket.id, "ana", "Hola")
    met = {"priority": "high", "impact": "high", "outcome": "met"}
    assert value(scrape(collector), "ronda_first_responses_total", **met) == 1
    store.close()
    collector.close()
    good = store.path.read_bytes()
    store.path.write_bytes(b"not a database" * 512)  # the header and the pages are gone
    samples = scrape(collector)
    assert value(samples, "ronda_exporter_scrape_errors_total") == 1
    assert not matching(samples, "ronda_first_responses_total")
    store.path.write_bytes(good)  # restored from a backup
    samples = scrape(collector)
    assert value(samples, "ronda_exporter_scrape_errors_total") == 1
    assert value(samples, "ronda_first_responses_total", **met) == 1


# ---- the HTTP endpoint ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:9464", ("127.0.0.1", 9464)),
        ("[::1]:9464", ("::1", 9464)),
        ("localhost:0", ("localhost", 0)),
        ("9464", ("127.0.0.1", 9464)),
        (":9100", ("127.0.0.1", 9100)),
        ("0.0.0.0:80", ("0.0.0.0", 80)),
    ],
)
def test_parse_listen(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize(
    "text", ["", "host", "::1:9464", "[::1]9464", "[nope]:1", "a:99999", "a:x"]
)
def test_parse_listen_rejects_with_a_message(text: str) -> None:
    with pytest.raises(ListenAddressError, match="expected|port|IPv6|brackets|address"):
        parse_listen(text)


def test_serve_answers_metrics_index_and_404(store, clock, desk) -> None:
    open_ticket(desk)
    handle = serve(store, "127.0.0.1:0", clock)
    try:
        assert handle.port > 0 and handle.host == "127.0.0.1"
        response = httpx.get(handle.url, timeout=10)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert "ronda_open_tickets{" in response.text
        assert httpx.get(f"http://{handle.address}/", timeout=10).status_code == 200
        assert httpx.get(f"http://{handle.address}/nope", timeout=10).status_code == 404
        assert httpx.head(handle.url, timeout=10).status_code == 200
    finally:
        handle.stop()
    handle.stop()  # idempotent


def test_a_scrape_leaves_the_garbage_collector_on(store, clock, desk) -> None:
    open_ticket(desk)
    assert gc.isenabled()
    handle = serve(store, "127.0.0.1:0", clock)
    try:
        for _ in range(2):  # paused while the answer is made and sent, then on again
            assert httpx.get(handle.url, timeout=10).status_code == 200
            # The server thread turns it back on just after the client has the last byte.
            wait_until(gc.isenabled, "the garbage collector back on", timeout=5)
    finally:
        handle.stop()


def test_serve_on_ipv6_loopback(store, clock) -> None:
    handle = serve(store, "[::1]:0", clock)
    try:
        assert handle.address == f"[::1]:{handle.port}"
        response = httpx.get(f"http://[::1]:{handle.port}/metrics", timeout=10)
        assert response.status_code == 200 and "ronda_exporter_scrape_errors_total" in response.text
    finally:
        handle.stop()


def test_a_taken_port_is_a_clear_error_naming_the_address(store, clock) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(AddressInUse, match=rf"127\.0\.0\.1:{port}.*already in use"):
            serve(store, f"127.0.0.1:{port}", clock)
        out = StringIO()
        assert run_exporter(store, f"127.0.0.1:{port}", clock, out=out) == 1
        assert f"127.0.0.1:{port}" in out.getvalue()
    assert issubclass(AddressInUse, ExporterError)


def test_stop_frees_the_port(store, clock) -> None:
    handle = serve(store, "127.0.0.1:0", clock)
    port = handle.port
    handle.stop()
    again = serve(store, f"127.0.0.1:{port}", clock)  # would raise AddressInUse if held
    again.stop()


def test_concurrent_scrapes_are_consistent(store, clock, desk) -> None:
    for _ in range(5):
        open_ticket(desk)
    handle = serve(store, "127.0.0.1:0", clock)
    results: list[str] = []

    def fetch() -> None:
        results.append(httpx.get(handle.url, timeout=20).text)

    try:
        threads = [threading.Thread(target=fetch) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
    finally:
        handle.stop()
    assert len(results) == 6
    for text in results:
        assert (
            'ronda_open_tickets{priority="high",impact="high",status="new",sla_state="ok",' in text
        )
        assert text.count("# TYPE ronda_open_tickets gauge") == 1


def test_promtool_accepts_a_real_scrape(desk, store, clock) -> None:
    ticket = open_ticket(desk, source=Source.PROBE, actor="probe", failure_class=FailureClass.SLOW)
    clock.advance(minutes=3)
    desk.respond(ticket.id, "ana", "Hola")
    add_site(
        store,
        "tienda.example",
        checked_at=clock.now.timestamp(),
        up=1,
        status_code=200,
        phases=json.dumps({"dns": 0.01}),
        cert_not_after=clock.now.timestamp() + 86400,
    )
    with store.write() as db:
        db.execute("INSERT INTO probe_failures VALUES ('tienda.example', 'slow', 3)")
        db.execute("INSERT INTO probe_rounds VALUES ('tienda.example', 9)")
    handle = serve(store, "127.0.0.1:0", clock)
    try:
        body = httpx.get(handle.url, timeout=10).content
    finally:
        handle.stop()
    result = subprocess.run(
        ["promtool", "check", "metrics"], input=body, capture_output=True, timeout=60
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert result.stdout.strip() == b"" and result.stderr.strip() == b""  # no lint warnings


def test_run_serves_until_sigterm(tmp_path) -> None:
    """`ronda exporter` end to end: a real process, its announced URL, SIGTERM, exit 0."""
    db = tmp_path / "ronda.db"
    Store(db).close()
    code = (
        "import sys; from ronda.app.cli import run_exporter; from ronda.store import Store; "
        f"sys.exit(run_exporter(Store({str(db)!r}), '127.0.0.1:0', out=sys.stdout))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()  # bounded by the pytest timeout
        url = re.search(r"serving (http://\S+/metrics)", line)
        assert url, line
        assert httpx.get(url.group(1), timeout=10).status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        process.stdout.close()
