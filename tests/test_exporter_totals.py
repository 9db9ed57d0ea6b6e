"""The all-time totals the exporter's counters read, kept by the store's triggers on every
write (the desk, a bulk load, a hand-made UPDATE or DELETE), and the change numbers its
compliance windows follow. Each total must equal a count over the tickets table."""

from __future__ import annotations

import sqlite3
import tempfile
from bisect import bisect_left
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from clocks import Clock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ronda.exporter.collector import RondaCollector
from ronda.exporter.metrics import BUCKETS
from ronda.model import FailureClass, Impact, Priority, Source, Status
from ronda.store import Store
from ronda.store.bulk import BulkError, bulk_write
from ronda.store.metrics import MetricsReader
from ronda.tickets import Desk, TicketError

WED_10_BOGOTA = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(WED_10_BOGOTA)


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    store = Store(tmp_path / "ronda.db")
    yield store
    store.close()


@pytest.fixture
def desk(store, clock) -> Desk:
    return Desk(store, clock=clock)


@pytest.fixture
def reader(store) -> Iterator[MetricsReader]:
    reader = MetricsReader(store.path)
    yield reader
    reader.close()


def kept(reader: MetricsReader) -> dict[str, dict]:
    """The totals as the store keeps them (rows at zero left out)."""
    with reader.snapshot():
        return {
            "opened": {(s, c): n for s, c, n in reader.opened_totals() if n},
            "responses": {(p, i, o): n for p, i, o, n in reader.outcome_totals() if n},
            "times": {(p, b): (n, us) for p, b, n, us in reader.response_time_totals() if n or us},
        }


def recount(store: Store) -> dict[str, dict]:
    """The same totals counted afresh from the tickets table, in Python."""
    opened: dict = {}
    responses: dict = {}
    times: dict = {}
    rows = store.query(
        "SELECT source, opened_class, failure_class, priority, impact, outcome_priority, "
        "outcome_impact, sla_outcome, first_response_seconds FROM tickets"
    )
    for row in rows:
        key = (row["source"], row["opened_class"] or row["failure_class"] or "")
        opened[key] = opened.get(key, 0) + 1
        if row["sla_outcome"] not in ("met", "missed"):
            continue
        priority = row["outcome_priority"] or row["priority"]
        cell = (priority, row["outcome_impact"] or row["impact"], row["sla_outcome"])
        responses[cell] = responses.get(cell, 0) + 1
        seconds = row["first_response_seconds"]
        if seconds is not None:
            bucket = (priority, bisect_left(BUCKETS, seconds))
            n, us = times.get(bucket, (0, 0))
            times[bucket] = (n + 1, us + round(seconds * 1e6))
    return {"opened": opened, "responses": responses, "times": times}


def open_ticket(desk: Desk, **kwargs) -> object:
    values = dict(
        source=Source.EMAIL,
        subject="La tienda no carga",
        priority=Priority.HIGH,
        impact=Impact.HIGH,
        actor="mail",
        customer="Acme",
    )
    values.update(kwargs)
    return desk.open_ticket(**values)


# ---- each write path of the desk ----------------------------------------------------------


def test_opening_counts_the_ticket_under_its_source_and_class(desk, store, reader) -> None:
    open_ticket(desk)
    open_ticket(desk, source=Source.PROBE, actor="probe", failure_class=FailureClass.DNS)
    totals = kept(reader)
    assert totals["opened"] == {("email", ""): 1, ("probe", "dns"): 1}
    assert totals["responses"] == {} and totals["times"] == {}
    assert totals == recount(store)


def test_an_answer_counts_its_outcome_and_its_time(desk, store, clock, reader) -> None:
    on_time = open_ticket(desk)
    late = open_ticket(desk)
    clock.advance(seconds=240)
    desk.respond(on_time.id, "ana", "Hola")  # high/high: limit 15 min, wall clock
    clock.advance(seconds=960)
    desk.respond(late.id, "ana", "Perdón")
    desk.respond(on_time.id, "ana", "Otra respuesta")  # not a first response: no count
    totals = kept(reader)
    assert totals["responses"] == {("high", "high", "met"): 1, ("high", "high", "missed"): 1}
    assert totals["times"] == {
        ("high", BUCKETS.index(300.0)): (1, 240_000_000),
        ("high", BUCKETS.index(1800.0)): (1, 1_200_000_000),
    }
    assert totals == recount(store)


def test_reprioritizing_after_the_answer_moves_no_count(desk, store, clock, reader) -> None:
    ticket = open_ticket(desk)
    clock.advance(minutes=2)
    desk.respond(ticket.id, "ana", "Hola")
    before = kept(reader)
    desk.reprioritize(ticket.id, "ana", priority=Priority.LOW, impact=Impact.LOW, reason="no")
    after = kept(reader)
    assert after == before  # counted in the cell it was judged in
    assert after["responses"] == {("high", "high", "met"): 1}
    assert after == recount(store)


def test_reprioritizing_before_the_answer_counts_it_in_the_new_cell(
    desk, store, clock, reader
) -> None:
    ticket = open_ticket(desk)
    desk.reprioritize(ticket.id, "ana", priority=Priority.MEDIUM, reason="no tan urgente")
    clock.advance(minutes=20)
    desk.respond(ticket.id, "ana", "Hola")
    totals = kept(reader)
    assert totals["responses"] == {("medium", "high", "met"): 1}
    assert {priority for priority, _ in totals["times"]} == {"medium"}
    assert totals == recount(store)


def test_reopening_and_answering_again_counts_once(desk, store, clock, reader) -> None:
    ticket = open_ticket(desk)
    clock.advance(minutes=3)
    desk.respond(ticket.id, "ana", "Hola")
    desk.resolve(ticket.id, "ana")
    clock.advance(hours=2)
    desk.reopen(ticket.id, "ana", reason="volvió a fallar")
    desk.respond(ticket.id, "ana", "Lo miramos de nuevo")
    totals = kept(reader)
    assert totals["responses"] == {("high", "high", "met"): 1}
    assert sum(n for n, _ in totals["times"].values()) == 1
    assert totals["opened"] == {("email", ""): 1}
    assert totals == recount(store)


def test_a_probe_resolving_past_the_limit_counts_a_miss_without_a_time(
    desk, store, clock, reader
) -> None:
    late = open_ticket(desk, source=Source.PROBE, actor="probe", failure_class=FailureClass.SLOW)
    early = open_ticket(desk, source=Source.PROBE, actor="probe", failure_class=FailureClass.DNS)
    clock.advance(minutes=5)
    desk.resolve(early.id, "probe")  # before the limit: nobody owed an answer, no count
    clock.advance(minutes=30)
    desk.resolve(late.id, "probe")  # past the limit, unanswered: the promise was missed
    totals = kept(reader)
    assert totals["responses"] == {("high", "high", "missed"): 1}
    assert totals["times"] == {}  # no first response, no time to count
    assert totals == recount(store)


def test_reclassifying_keeps_the_opening_class(desk, store, reader) -> None:
    ticket = open_ticket(desk, source=Source.PROBE, actor="probe", failure_class=FailureClass.SLOW)
    desk.record(ticket.id, "probe", "recurrence", "now down", failure_class=FailureClass.HTTP_500)
    assert kept(reader)["opened"] == {("probe", "slow"): 1}
    assert kept(reader) == recount(store)


# ---- other write paths ----------------------------------------------------------------------


def test_hand_made_updates_and_deletes_keep_the_totals(desk, store, clock, reader) -> None:
    tickets = [open_ticket(desk) for _ in range(4)]
    clock.advance(minutes=3)
    for ticket in tickets[:3]:
        desk.respond(ticket.id, "ana", "Hola")
    with store.write() as db:
        db.execute("UPDATE tickets SET sla_outcome = 'missed' WHERE id = ?", (tickets[0].id,))
        db.execute(
            "UPDATE tickets SET first_response_seconds = 90000 WHERE id = ?", (tickets[1].id,)
        )
        db.execute("UPDATE tickets SET failure_class = 'martian' WHERE id = ?", (tickets[3].id,))
    # A raw connection (no foreign keys enforced) deletes an answered ticket.
    conn = sqlite3.connect(store.path)
    with conn:
        conn.execute("DELETE FROM tickets WHERE id = ?", (tickets[2].id,))
    conn.close()
    totals = kept(reader)
    assert totals["responses"] == {("high", "high", "met"): 1, ("high", "high", "missed"): 1}
    assert totals["opened"] == {("email", ""): 2, ("email", "martian"): 1}
    assert totals["times"] == {
        ("high", BUCKETS.index(300.0)): (1, 180_000_000),
        ("high", BUCKETS.index(129600.0)): (1, 90_000_000_000),
    }
    assert totals == recount(store)


def test_a_bulk_load_is_counted_like_any_write(store, reader) -> None:
    columns = (
        "id",
        "case_number",
        "source",
        "subject",
        "priority",
        "impact",
        "status",
        "opened_at",
        "first_response_seconds",
        "sla_outcome",
        "failure_class",
        "updated_at",
    )
    rows = [
        (
            i,
            f"R-{1000 + i}",
            "probe",
            "s",
            "low",
            "medium",
            "closed",
            0.0,
            60.0 * i,
            outcome,
            cls,
            0,
        )
        for i, outcome, cls in [(1, "met", "slow"), (2, "missed", None), (3, None, "dns")]
    ]
    with bulk_write(store) as bulk:
        assert bulk.insert("tickets", columns, rows) == 3
        bulk.update("tickets", ("sla_outcome",), [("met", 2)], key=("id",))
    totals = kept(reader)
    assert totals["responses"] == {("low", "medium", "met"): 2}
    assert totals["opened"] == {("probe", "slow"): 1, ("probe", ""): 1, ("probe", "dns"): 1}
    assert totals == recount(store)


def test_the_bulk_loader_checks_names_before_they_reach_sql(store) -> None:
    with bulk_write(store) as bulk:
        with pytest.raises(BulkError, match="do not go to"):
            bulk.insert("sqlite_master", ("name",), [])
        with pytest.raises(BulkError, match="no column 'nope'"):
            bulk.insert("sites", ("name", "nope"), [])
        with pytest.raises(BulkError, match="among the columns"):
            bulk.upsert("probe_rounds", ("count",), [], key=("site",))
        assert bulk.upsert("probe_rounds", ("site", "count"), [("a", 1)], key=("site",)) == 1
        assert bulk.upsert("probe_rounds", ("site", "count"), [("a", 5)], key=("site",)) == 1
    assert store.query("SELECT site, count FROM probe_rounds") == [{"site": "a", "count": 5}]


# ---- change numbers ---------------------------------------------------------------------------


def test_change_numbers_move_with_what_decides_compliance(desk, store, clock, reader) -> None:
    def mark() -> int:
        with reader.snapshot():
            return reader.ticket_change_mark()

    start = mark()
    ticket = open_ticket(desk)
    opened = mark()
    assert opened > start
    desk.note(ticket.id, "ana", "una nota")  # nothing that decides compliance
    desk.claim(ticket.id, "ana")
    assert mark() == opened
    other = open_ticket(desk)
    clock.advance(minutes=1)
    desk.respond(ticket.id, "ana", "Hola")
    answered = mark()
    with reader.snapshot():
        assert sorted(reader.changed_tickets(opened, answered)) == sorted([other.id, ticket.id])
        assert reader.changed_tickets(answered, answered) == []
    with store.write() as db:  # a hand-made write moves it too
        db.execute("UPDATE tickets SET paused_at = 1 WHERE id = ?", (other.id,))
    with reader.snapshot():
        assert reader.changed_tickets(answered, reader.ticket_change_mark()) == [other.id]


# ---- any sequence of writes ---------------------------------------------------------------------

_OPS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "open",
                "open_probe",
                "respond",
                "resolve",
                "probe_resolve",
                "reopen",
                "pause",
                "resume",
                "reprioritize",
                "reclassify",
                "hand_outcome",
                "hand_priority",
                "hand_delete",
                "wait",
            ]
        ),
        st.integers(0, 7),  # which ticket
        st.sampled_from(list(Priority)),
        st.integers(1, 7200),  # seconds to wait (400 times as many on "wait": days)
    ),
    max_size=40,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=_OPS)
def test_any_sequence_of_writes_keeps_totals_and_windows_right(ops) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "ronda.db")
        clock = Clock(WED_10_BOGOTA - timedelta(days=2))
        desk = Desk(store, clock=clock)
        reader = MetricsReader(store.path)
        kept_collector = RondaCollector(store, clock)
        ids: list[int] = []
        try:
            for op, which, priority, seconds in ops:
                ticket_id = ids[which % len(ids)] if ids else None
                try:
                    _apply(desk, store, clock, ids, op, ticket_id, priority, seconds)
                except TicketError:
                    pass  # a change the desk refuses (a transition it does not allow)
                if which % 3 == 0:
                    kept_collector.render()  # scrapes in between: the windows are kept
            assert kept(reader) == recount(store)
            fresh = RondaCollector(store, clock)
            assert _windows(kept_collector) == _windows(fresh)
            fresh.close()
        finally:
            kept_collector.close()
            reader.close()
            store.close()


def _apply(desk, store, clock, ids, op, ticket_id, priority, seconds) -> None:  # noqa: ANN001
    if op == "open" or ticket_id is None:
        ids.append(open_ticket(desk, priority=priority).id)
    elif op == "open_probe":
        ticket = open_ticket(
            desk, source=Source.PROBE, actor="probe", failure_class=FailureClass.TIMEOUT
        )
        ids.append(ticket.id)
    elif op == "respond":
        desk.respond(ticket_id, "ana", "Respuesta")
    elif op == "resolve":
        desk.resolve(ticket_id, "ana")
    elif op == "probe_resolve":
        desk.resolve(ticket_id, "probe")
    elif op == "reopen":
        desk.reopen(ticket_id, "ana", reason="otra vez")
    elif op == "pause":
        desk.set_status(ticket_id, Status.PENDING_CUSTOMER, "ana")
    elif op == "resume":
        desk.set_status(ticket_id, Status.OPEN, "ana")
    elif op == "reprioritize":
        desk.reprioritize(ticket_id, "ana", priority=priority, reason="cambio")
    elif op == "reclassify":
        desk.record(ticket_id, "probe", "recurrence", failure_class=FailureClass.HTTP_503)
    elif op == "hand_outcome":
        with store.write() as db:
            db.execute(
                "UPDATE tickets SET sla_outcome = CASE sla_outcome WHEN 'met' THEN 'missed' "
                "ELSE 'met' END, first_response_at = COALESCE(first_response_at, ?) WHERE id = ?",
                (clock.now.timestamp(), ticket_id),
            )
    elif op == "hand_priority":
        with store.write() as db:
            db.execute(
                "UPDATE tickets SET priority = ?, outcome_priority = NULL WHERE id = ?",
                (str(priority), ticket_id),
            )
    elif op == "hand_delete":
        conn = sqlite3.connect(store.path)  # no foreign keys enforced
        with conn:
            conn.execute("DELETE FROM tickets WHERE id = ?", (ticket_id,))
        conn.close()
        ids.remove(ticket_id)
    clock.advance(seconds=seconds * 400 if op == "wait" else seconds)


def _windows(collector: RondaCollector) -> dict:
    samples = {}
    for line in collector.render().decode().splitlines():
        if line.startswith("ronda_sla_"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples
