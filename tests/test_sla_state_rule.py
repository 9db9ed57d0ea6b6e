"""The SLA state of a stored ticket is one rule (`ronda.sla`), with an SQL twin for the queries
that count by state: the two must agree on every ticket the store can hold."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ronda.model import Impact, Priority, SlaState, Source, Status, Ticket
from ronda.sla import (
    STATE_COLUMNS,
    SlaPolicy,
    clock_sql,
    queue_rank,
    queue_rank_sql,
    running_limit,
    running_limit_sql,
    sla_state_sql,
    stored_clock,
    stored_state,
    ticket_state,
    ticket_time_left,
)
from ronda.store import Store

NOW = 1_790_000_000.0
instant = st.one_of(st.none(), st.floats(NOW - 5 * 86400, NOW + 5 * 86400), st.just(NOW))
row_strategy = st.fixed_dictionaries(
    {
        "status": st.sampled_from([str(s) for s in Status]),
        "sla_outcome": st.sampled_from([None, "met", "missed", "not_due"]),
        "first_response_at": instant,
        "paused_at": instant,
        "sla_limit_at": instant,
        "sla_target_at": instant,
        "reply_due_at": instant,
        "reply_limit_at": instant,
        "reply_target_at": instant,
    }
)


@pytest.fixture(scope="module")
def store() -> Store:
    """The real tickets table, so the SQL is checked against the schema's own columns."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "ronda.db")
        yield store
        store.close()


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(row_strategy, min_size=1, max_size=12), now=instant.filter(bool))
def test_sql_twin_agrees_with_the_python_rule(store: Store, rows: list[dict], now: float) -> None:
    _fill(store, rows)
    in_sql = [
        r["state"]
        for r in store.query(
            f"SELECT {sla_state_sql()} AS state FROM tickets ORDER BY id", {"now": now}
        )
    ]
    assert in_sql == [str(stored_state(row, now)) for row in rows]


def _fill(store: Store, rows: list[dict]) -> None:
    columns = ", ".join(STATE_COLUMNS)
    marks = ", ".join("?" * len(STATE_COLUMNS))
    with store.write() as db:
        db.execute("DELETE FROM tickets")
        for n, row in enumerate(rows, start=1):
            db.execute(
                "INSERT INTO tickets (id, case_number, source, subject, priority, impact, "
                f"opened_at, updated_at, {columns}) VALUES (?, ?, 'manual', 's', 'low', 'low', "
                f"0, 0, {marks})",
                (n, f"R-{1000 + n}", *(row[c] for c in STATE_COLUMNS)),
            )


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(row_strategy, min_size=1, max_size=12))
def test_queue_order_twins_agree(store: Store, rows: list[dict]) -> None:
    """The queue's rank and running limit: the SQL the queue orders by says what the Python
    rule says of every row."""
    _fill(store, rows)
    got = [
        (r["rank"], r["limit_at"], r["clock"])
        for r in store.query(
            f"SELECT {queue_rank_sql()} AS rank, {running_limit_sql()} AS limit_at, "
            f"{clock_sql()} AS clock FROM tickets ORDER BY id"
        )
    ]
    assert got == [(queue_rank(row), running_limit(row), stored_clock(row)) for row in rows]


def _ticket(**fields: object) -> Ticket:
    base = dict(
        id=1,
        case_number="R-1001",
        source=Source.MANUAL,
        subject="s",
        priority=Priority.MEDIUM,
        impact=Impact.MEDIUM,
        status=Status.OPEN,
        opened_at=datetime(2026, 11, 25, 13, 0, tzinfo=UTC),
        version=1,
    )
    base.update(fields)
    return Ticket(**base)  # type: ignore[arg-type]


AT = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "state", "left"),
    [
        ({}, SlaState.OK, None),  # no deadlines stored: no clock
        (
            {"sla_target_at": AT + timedelta(minutes=1), "sla_limit_at": AT + timedelta(hours=1)},
            SlaState.OK,
            3600.0,
        ),
        (
            {"sla_target_at": AT - timedelta(seconds=1), "sla_limit_at": AT + timedelta(hours=1)},
            SlaState.WARNING,
            3600.0,
        ),
        ({"sla_target_at": AT, "sla_limit_at": AT}, SlaState.OK, 0.0),  # the boundary is in
        (
            {"sla_target_at": AT - timedelta(hours=2), "sla_limit_at": AT - timedelta(seconds=1)},
            SlaState.BREACHED,
            -1.0,
        ),
        # Paused: the clock stops at the pause, whatever the deadlines say now.
        (
            {"sla_limit_at": AT - timedelta(hours=1), "paused_at": AT - timedelta(hours=2)},
            SlaState.PAUSED,
            3600.0,
        ),
        # The outcome judged at the first response wins, even past the limit: a reply while
        # paused was within the SLA.
        (
            {
                "sla_limit_at": AT - timedelta(hours=1),
                "first_response_at": AT,
                "sla_outcome": "met",
            },
            SlaState.MET,
            None,
        ),
        (
            {"sla_limit_at": AT, "first_response_at": AT, "sla_outcome": "missed"},
            SlaState.MISSED,
            None,
        ),
        # Resolved by a probe past the limit, never answered: missed, no clock.
        ({"sla_limit_at": AT - timedelta(hours=1), "sla_outcome": "missed"}, SlaState.MISSED, None),
        # Resolved: never a running countdown, whatever the deadlines say.
        (
            {
                "status": Status.RESOLVED,
                "sla_target_at": AT - timedelta(minutes=3),
                "sla_limit_at": AT + timedelta(minutes=7),
            },
            SlaState.NOT_DUE,
            None,
        ),
        (
            {"status": Status.CLOSED, "sla_limit_at": AT, "first_response_at": AT},
            SlaState.MET,
            None,
        ),
        (
            {
                "status": Status.RESOLVED,
                "sla_outcome": "missed",
                "reply_due_at": AT,
                "reply_limit_at": AT + timedelta(hours=1),
            },
            SlaState.MISSED,
            None,
        ),
        # Answered, then the customer wrote again: the next reply's clock runs.
        (
            {
                "sla_outcome": "met",
                "first_response_at": AT - timedelta(hours=3),
                "reply_due_at": AT - timedelta(hours=1),
                "reply_target_at": AT - timedelta(minutes=1),
                "reply_limit_at": AT + timedelta(minutes=30),
            },
            SlaState.WARNING,
            1800.0,
        ),
        (
            {
                "sla_outcome": "met",
                "reply_due_at": AT - timedelta(hours=2),
                "reply_target_at": AT - timedelta(hours=1),
                "reply_limit_at": AT - timedelta(seconds=5),
            },
            SlaState.BREACHED,
            -5.0,
        ),
        (
            {
                "sla_outcome": "met",
                "reply_due_at": AT - timedelta(hours=2),
                "reply_limit_at": AT - timedelta(hours=1),
                "paused_at": AT - timedelta(hours=1, minutes=10),
            },
            SlaState.PAUSED,
            600.0,
        ),
        # Reopened with nothing owed (a probe had resolved it in time): no clock.
        (
            {"status": Status.REOPENED, "sla_outcome": "not_due", "sla_limit_at": AT},
            SlaState.NOT_DUE,
            None,
        ),
    ],
)
def test_state_and_time_left_of_a_stored_ticket(
    fields: dict, state: SlaState, left: float | None
) -> None:
    ticket = _ticket(**fields)
    assert ticket_state(ticket, AT) == state
    assert ticket_time_left(ticket, AT) == left


def test_policy_state_of_a_fresh_ticket_follows_the_same_rule() -> None:
    policy = SlaPolicy.default()
    opened = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)  # a Wednesday, within business hours
    d = policy.deadlines(Priority.HIGH, Impact.HIGH, opened)
    assert policy.state(Priority.HIGH, Impact.HIGH, opened, d.target_at) == SlaState.OK
    after_target = d.target_at + timedelta(seconds=1)
    assert policy.state(Priority.HIGH, Impact.HIGH, opened, after_target) == SlaState.WARNING
    after_limit = d.limit_at + timedelta(seconds=1)
    assert policy.state(Priority.HIGH, Impact.HIGH, opened, after_limit) == SlaState.BREACHED
    late = policy.state(
        Priority.HIGH, Impact.HIGH, opened, after_limit, first_response_at=after_limit
    )
    assert late == SlaState.MISSED
    # Answered after the limit, but while paused since before it: the clock was stopped.
    paused_reply = policy.state(
        Priority.HIGH,
        Impact.HIGH,
        opened,
        after_limit,
        first_response_at=after_limit,
        paused_at=d.target_at,
    )
    assert paused_reply == SlaState.MET
