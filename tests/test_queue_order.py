"""The queue's order (`ronda.sla_order`): what needs the agent now comes first.

One rule with two writings: `queue_key` in Python and `queue_order_sql` in SQL, which the
urgency index of migration 13 holds. Property tests hold the two together on every ticket
the store can hold, and the tiers to the SLA state rule at any instant; the plans of the
queue's queries show that the index serves them (no sort, whatever the desk's size); and
tickets made through the desk, as agents make them, come out in the order agents need.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from clocks import Clock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ronda.model import Impact, Priority, QueueFilter, SlaState, Source, Status
from ronda.sla import running_limit, stored_state
from ronda.sla_order import QueueTier, queue_key, queue_tier
from ronda.store import Store
from ronda.store.bulk import analyze, bulk_write
from ronda.store.schema_queue import M10_TIER, M10_WITHIN
from ronda.tickets import Desk

NOW = 1_790_000_000.0
instant = st.one_of(st.none(), st.floats(NOW - 5 * 86400, NOW + 5 * 86400), st.just(NOW))
row_strategy = st.fixed_dictionaries(
    {
        "status": st.sampled_from([str(s) for s in Status]),
        "priority": st.sampled_from([str(p) for p in Priority]),
        "sla_outcome": st.sampled_from([None, "met", "missed", "not_due"]),
        "first_response_at": instant,
        "paused_at": instant,
        "sla_limit_at": instant,
        "sla_target_at": instant,
        "reply_due_at": instant,
        "reply_limit_at": instant,
        "reply_target_at": instant,
        # Few distinct values, so that ties happen and the later keys decide.
        "opened_at": st.sampled_from([NOW - 7200, NOW - 3600, NOW]),
        "resolved_at": st.one_of(st.none(), st.sampled_from([NOW - 60, NOW - 30])),
        "updated_at": st.sampled_from([NOW - 90, NOW - 30]),
    }
)


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    """The real tickets table and its migrations: the order is checked on the schema's own
    columns and index."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "ronda.db")
        yield store
        store.close()


def _insert(store: Store, rows: list[dict]) -> None:
    names = list(rows[0])
    with store.write() as db:
        db.execute("DELETE FROM tickets")
        for n, row in enumerate(rows, start=1):
            db.execute(
                "INSERT INTO tickets (id, case_number, source, subject, impact, "
                f"{', '.join(names)}) VALUES (?, ?, 'manual', 's', 'low', "
                f"{', '.join('?' * len(names))})",
                (n, f"R-{1000 + n}", *(row[name] for name in names)),
            )


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(row_strategy, min_size=1, max_size=14))
def test_sql_order_agrees_with_the_python_key(store: Store, rows: list[dict]) -> None:
    _insert(store, rows)
    now = datetime.fromtimestamp(NOW, UTC)
    in_sql = [t.id for t in store.queue.tickets(QueueFilter(view="all", limit=100), now)]
    keyed = [{**row, "id": n} for n, row in enumerate(rows, start=1)]
    assert in_sql == [row["id"] for row in sorted(keyed, key=queue_key)]
    # The open views hold the tickets before the done ones, in the same order.
    open_ids = [t.id for t in store.queue.tickets(QueueFilter(view="open", limit=100), now)]
    assert open_ids == [i for i in in_sql if queue_tier(keyed[i - 1]) < QueueTier.DONE]
    done_ids = [t.id for t in store.queue.tickets(QueueFilter(view="resolved", limit=100), now)]
    assert done_ids == [i for i in in_sql if queue_tier(keyed[i - 1]) is QueueTier.DONE]


def _row(**fields: object) -> dict:
    base = {
        "id": 1,
        "status": "open",
        "priority": "medium",
        "sla_outcome": None,
        "first_response_at": None,
        "paused_at": None,
        "sla_limit_at": NOW + 600,
        "sla_target_at": NOW + 300,
        "opened_at": NOW - 3600,
        "resolved_at": None,
        "updated_at": NOW,
    }
    base.update(fields)
    return base


@pytest.mark.parametrize(
    ("fields", "tier"),
    [
        ({}, QueueTier.RUNNING),
        ({"sla_limit_at": NOW - 600, "sla_target_at": NOW - 900}, QueueTier.RUNNING),
        ({"first_response_at": NOW - 60, "sla_outcome": "met"}, QueueTier.WAITING),
        ({"sla_outcome": "missed"}, QueueTier.WAITING),
        ({"first_response_at": NOW - 60}, QueueTier.WAITING),  # outcome not recorded
        ({"sla_limit_at": None, "sla_target_at": None}, QueueTier.WAITING),  # no clock
        ({"status": "pending_customer", "paused_at": NOW - 60}, QueueTier.ON_CUSTOMER),
        ({"status": "resolved", "resolved_at": NOW}, QueueTier.DONE),
        ({"status": "closed", "sla_limit_at": NOW - 600}, QueueTier.DONE),
    ],
)
def test_tiers(fields: dict, tier: QueueTier) -> None:
    assert queue_tier(_row(**fields)) is tier


def test_keys_within_each_tier() -> None:
    """Running: the nearest limit first. Waiting: high priority first, then the oldest.
    Paused: the least time left when it resumes first. Done: the newest first."""
    soon, later = _row(sla_limit_at=NOW + 60), _row(sla_limit_at=NOW + 600)
    assert queue_key(soon) < queue_key(later)
    old_low = _row(sla_outcome="met", priority="low", opened_at=NOW - 9000)
    new_high = _row(sla_outcome="met", priority="high", opened_at=NOW - 60)
    old_high = _row(sla_outcome="met", priority="high", opened_at=NOW - 900)
    assert sorted([old_low, new_high, old_high], key=queue_key) == [old_high, new_high, old_low]
    paused = {"status": "pending_customer"}
    tight = _row(**paused, paused_at=NOW - 60, sla_limit_at=NOW + 120)  # 3 min left
    loose = _row(**paused, paused_at=NOW - 7200, sla_limit_at=NOW - 3600)  # 1 h left
    no_limit = _row(**paused, paused_at=NOW, sla_limit_at=None)
    assert sorted([no_limit, loose, tight], key=queue_key) == [tight, loose, no_limit]
    first = _row(status="resolved", resolved_at=NOW - 600)
    last = _row(status="resolved", resolved_at=NOW - 60)
    closed = _row(status="closed", resolved_at=None, updated_at=NOW)
    assert sorted([first, last, closed], key=queue_key) == [closed, last, first]


# What an agent sees of a ticket in each tier: a running clock, or none.
_RUNNING_STATES = {SlaState.OK, SlaState.WARNING, SlaState.BREACHED}


@settings(max_examples=2000, deadline=None)
@given(row=row_strategy, now=instant.filter(bool))
def test_the_tier_is_what_the_state_rule_says_at_any_instant(row: dict, now: float) -> None:
    """The order is an index only because time moves no ticket between tiers: at any instant
    a RUNNING ticket is in a running state (ok, warning, breached) and breached exactly when
    the limit it is ordered by is past; a WAITING one shows no countdown; a ticket paused or
    done is never RUNNING. A change of the state rule that breaks this fails here."""
    tier, state = queue_tier(row), stored_state(row, now)
    if tier is QueueTier.RUNNING:
        assert state in _RUNNING_STATES
        assert (state is SlaState.BREACHED) == (now > running_limit(row))
        # Ordered by the deciding clock's limit.
        assert queue_key({**row, "id": 1})[1] == running_limit(row)
    elif tier is QueueTier.DONE:
        assert row["status"] in ("resolved", "closed")
        assert state in {SlaState.MET, SlaState.MISSED, SlaState.NOT_DUE}
    elif tier is QueueTier.ON_CUSTOMER:
        assert row["paused_at"] is not None
    else:
        # Answered (met, missed, not due), or a clock with no limit stored: nothing counts
        # down, whatever the instant.
        assert row["paused_at"] is None and running_limit(row) is None
        assert state is not SlaState.BREACHED


def test_the_index_holds_the_order_as_the_code_writes_it() -> None:
    """Migration 10 froze the order's expressions in `ix_tickets_urgency`: when the order
    changes, a new migration must give the index the new ones."""
    from ronda.sla_order import queue_order_sql

    assert queue_order_sql()[:2] == (M10_TIER, M10_WITHIN)


# ---- the queue's queries walk the index -------------------------------------------------


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A few thousand tickets of every kind, with the planner's statistics."""
    store = Store(tmp_path_factory.mktemp("big") / "ronda.db")
    rows = []
    for i in range(1, 3001):
        status = ("new", "open", "pending_customer", "resolved", "closed", "resolved")[i % 6]
        answered = i % 4 == 0
        rows.append(
            (
                i,
                f"R-{1000 + i}",
                "email",
                f"checkout caso {i}",
                ("low", "medium", "high")[i % 3],
                "medium",
                status,
                NOW - i * 60,
                NOW - i * 60 + 1800,
                NOW - i * 60 + 3600,
                NOW - i * 60 + 600 if answered else None,
                "met" if answered else None,
                NOW - i * 30 if status == "pending_customer" else None,
                NOW - i * 10 if status in ("resolved", "closed") else None,
                NOW,
                f"customer-{i % 40}",
                f"agent-{i % 5}" if i % 2 else None,
            )
        )
    with bulk_write(store) as bulk:
        bulk.insert(
            "tickets",
            (
                "id", "case_number", "source", "subject", "priority", "impact", "status",
                "opened_at", "sla_target_at", "sla_limit_at", "first_response_at",
                "sla_outcome", "paused_at", "resolved_at", "updated_at", "customer",
                "assignee",
            ),
            rows,
        )  # fmt: skip
    analyze(store)
    yield store
    store.close()


@pytest.mark.parametrize(
    "flt",
    [
        QueueFilter(view="open"),
        QueueFilter(view="unassigned"),
        QueueFilter(view="breached"),
        QueueFilter(view="resolved"),
        QueueFilter(view="all"),
        QueueFilter(view="open", search="checkout ca"),
        QueueFilter(view="all", search="caso"),
        QueueFilter(view="open", priority=Priority.HIGH),
    ],
    ids=lambda f: f"{f.view}-{f.search or f.priority or ''}",
)
def test_the_queue_is_read_in_the_order_of_its_index(big: Store, flt: QueueFilter) -> None:
    """No view sorts its matches: each walks `ix_tickets_urgency` and stops at its limit.
    When the rule of `ronda.sla_order` changes, this fails until a migration gives the index
    the new expressions."""
    plan = " | ".join(big.queue.plan(flt, datetime.fromtimestamp(NOW, UTC)))
    assert "ix_tickets_urgency" in plan and "TEMP B-TREE" not in plan, plan


# ---- through the desk, as agents and probes make tickets ------------------------------


T0 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # Wednesday 10:00 in Bogota


def test_answered_tickets_wait_below_running_clocks_and_paused_ones_below_them(
    store: Store,
) -> None:
    """What the agent saw: R-1001, answered in time, kept its old deadline as a sort key and
    sat on the top row while R-1002 breached below it."""
    with store.write() as db:
        db.execute("DELETE FROM tickets")
    clock = Clock(T0 - timedelta(hours=1))
    desk = Desk(store, clock=clock)

    def case(subject: str, priority: Priority, impact: Impact = Impact.HIGH):
        return desk.open_ticket(
            source=Source.EMAIL,
            subject=subject,
            priority=priority,
            impact=impact,
            actor="mail",
            customer="Ferretería López",
        )

    met = case("answered in time", Priority.HIGH)  # high/high: limit 15 min
    desk.respond(met.id, "ana", "on it")
    wrote_again = case("wrote again", Priority.HIGH)
    desk.respond(wrote_again.id, "ana", "looking")
    clock.advance(minutes=10)
    # The customer writes back: a next reply is due within the cell's limit (15 min).
    desk.customer_wrote(wrote_again.id, "mail", "email_received", "still down")
    clock.advance(minutes=10)
    breached = case("past its limit", Priority.HIGH)
    low_waiting = case("answered, low", Priority.LOW, Impact.LOW)
    desk.respond(low_waiting.id, "ana", "we will look")
    paused = case("waiting on the customer", Priority.MEDIUM)
    desk.set_status(paused.id, Status.PENDING_CUSTOMER, "ana")
    clock.advance(minutes=5)
    fresh = case("fresh", Priority.MEDIUM, Impact.LOW)  # medium/low: hours left
    resolved = case("done", Priority.HIGH)
    desk.resolve(resolved.id, "ana")
    clock.now = T0
    order = [t.subject for t in desk.queue(QueueFilter(view="open"))]
    assert order == [
        "wrote again",  # the next reply's clock: its limit passed 35 min ago
        "past its limit",  # the first response's clock: 25 min ago
        "fresh",
        "answered in time",  # waits on an agent, no clock: high first
        "answered, low",
        "waiting on the customer",
    ]
    assert desk.sla_state(desk.get(breached.id), T0) == SlaState.BREACHED
    assert desk.sla_state(desk.get(wrote_again.id), T0) == SlaState.BREACHED
    assert desk.sla_state(desk.get(met.id), T0) == SlaState.MET
    everything = [t.subject for t in desk.queue(QueueFilter(view="all"))]
    assert everything == [*order, "done"]
    assert [t.id for t in desk.queue(QueueFilter(view="resolved"))] == [resolved.id]
    assert [t.id for t in desk.queue(QueueFilter(view="breached"))] == [
        wrote_again.id,
        breached.id,
    ]
    # The reply owed is given: no clock runs, it waits with the answered ones.
    desk.respond(wrote_again.id, "ana", "fixed")
    assert [t.subject for t in desk.queue()][2:4] == ["answered in time", "wrote again"]
    # Back from the customer, its clock runs again: among the running ones, by time left.
    desk.set_status(paused.id, Status.OPEN, "ana")
    assert [t.subject for t in desk.queue()][:3] == [
        "past its limit",
        "waiting on the customer",
        "fresh",
    ]
    assert fresh.id in [t.id for t in desk.queue(QueueFilter(view="open"))]


def test_an_unknown_view_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="resolved"):
        store.queue.tickets(QueueFilter(view="closed"), T0)
