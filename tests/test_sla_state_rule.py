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
from ronda.sla import SlaPolicy, sla_state_sql, stored_state, ticket_state, ticket_time_left
from ronda.store import Store

NOW = 1_790_000_000.0
instant = st.one_of(st.none(), st.floats(NOW - 5 * 86400, NOW + 5 * 86400), st.just(NOW))
row_strategy = st.fixed_dictionaries(
    {
        "sla_outcome": st.sampled_from([None, "met", "missed"]),
        "first_response_at": instant,
        "paused_at": instant,
        "sla_limit_at": instant,
        "sla_target_at": instant,
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
    with store.write() as db:
        db.execute("DELETE FROM tickets")
        for n, row in enumerate(rows, start=1):
            db.execute(
                "INSERT INTO tickets (id, case_number, source, subject, priority, impact, "
                "status, opened_at, updated_at, sla_outcome, first_response_at, paused_at, "
                "sla_limit_at, sla_target_at) VALUES (?, ?, 'manual', 's', 'low', 'low', 'new', "
                "0, 0, ?, ?, ?, ?, ?)",
                (
                    n,
                    f"R-{1000 + n}",
                    row["sla_outcome"],
                    row["first_response_at"],
                    row["paused_at"],
                    row["sla_limit_at"],
                    row["sla_target_at"],
                ),
            )
    in_sql = [
        r["state"]
        for r in store.query(
            f"SELECT {sla_state_sql()} AS state FROM tickets ORDER BY id", {"now": now}
        )
    ]
    assert in_sql == [str(stored_state(row, now)) for row in rows]


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
