"""The queue's order: what needs the agent now, read off the columns the SLA state rule reads.

A ticket falls in one of four tiers, in this order:

1. RUNNING: its SLA clock runs (no response yet, not paused, a limit set): by time left,
   that is by the limit, so a breached ticket comes before one in warning.
2. WAITING: it waits on an agent with no clock running (answered, or without deadlines):
   by priority, then the oldest first.
3. ON_CUSTOMER: it waits on the customer (paused): by the time it will have left when the
   customer answers.
4. DONE: resolved or closed: the newest first.

The tier comes from the state rule of `ronda.sla` (`_STATE_RULE`, through `_STATE_TIER`), so
a new state or clause there says where its tickets go. Time never moves a ticket between
tiers (only the time left shrinks), so the whole order is an expression of stored columns:
`queue_order_sql` is what an index of the tickets table holds and the queue walks in order;
`queue_key` is its Python twin (a property test holds them together, and another that the
queue's query is served by the index without sorting).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from enum import IntEnum

from ronda.model import OPEN_STATUSES, Priority, SlaState
from ronda.sla import _STATE_OTHERWISE, _STATE_RULE

__all__ = [
    "QUEUE_COLUMNS",
    "QueueTier",
    "queue_key",
    "queue_order_sql",
    "queue_tier",
    "queue_tier_sql",
]


class QueueTier(IntEnum):
    RUNNING = 0
    WAITING = 1
    ON_CUSTOMER = 2
    DONE = 3


# The tier of an open ticket in each state of the rule.
_STATE_TIER: dict[SlaState, QueueTier] = {
    SlaState.MISSED: QueueTier.WAITING,
    SlaState.MET: QueueTier.WAITING,
    SlaState.PAUSED: QueueTier.ON_CUSTOMER,
    SlaState.BREACHED: QueueTier.RUNNING,
    SlaState.WARNING: QueueTier.RUNNING,
    SlaState.OK: QueueTier.RUNNING,
}
# The instant a running clock counts down to.
_RUNNING_LIMIT = "sla_limit_at"
# Priorities in the order WAITING tickets take them.
_PRIORITY_ORDER = {Priority.HIGH: 0, Priority.MEDIUM: 1, Priority.LOW: 2}
# A paused ticket without a limit has no time left to sort by: after those with one.
_NO_LIMIT = 1e18

# What the order reads of a stored row (instants as epoch seconds).
QUEUE_COLUMNS = (
    "id",
    "status",
    "priority",
    "sla_outcome",
    "first_response_at",
    "paused_at",
    "sla_limit_at",
    "sla_target_at",
    "opened_at",
    "resolved_at",
    "updated_at",
)
_OPEN_SQL = "(" + ",".join(f"'{s}'" for s in sorted(OPEN_STATUSES)) + ")"


def _timeless_rule() -> tuple:
    """The rule's clauses that do not look at the clock, each with its tier.

    Clauses that compare with now may be left out only when they, every clause after them
    and the rule's otherwise all give RUNNING: then time cannot change a tier. A rule where
    that is no longer so (a state after a time test that waits on someone) fails here, at
    import, rather than ordering the queue wrongly.
    """
    kept = []
    timed = False
    for clause, state in _STATE_RULE:
        timed = timed or clause.test == "past"
        if not timed:
            kept.append((clause, _STATE_TIER[state]))
        elif _STATE_TIER[state] is not QueueTier.RUNNING:
            raise AssertionError(f"{state} depends on the clock: the queue's order would move")
    if _STATE_TIER[_STATE_OTHERWISE] is not QueueTier.RUNNING:
        raise AssertionError("the rule's otherwise must be a running clock")
    return tuple(kept)


_TIMELESS = _timeless_rule()


def queue_tier(row: Mapping[str, object]) -> QueueTier:
    """The tier of a stored ticket (see the module's docstring)."""
    if row["status"] not in OPEN_STATUSES:
        return QueueTier.DONE
    for clause, tier in _TIMELESS:
        if clause.holds(row, 0.0):
            return tier
    if row[_RUNNING_LIMIT] is None:
        return QueueTier.WAITING  # no deadlines: nothing counts down
    return QueueTier.RUNNING


def queue_key(row: Mapping[str, object]) -> tuple[int, float, float, int]:
    """The sort key of a stored ticket: smaller comes first."""
    tier = queue_tier(row)
    if tier is QueueTier.RUNNING:
        within = float(row[_RUNNING_LIMIT])  # type: ignore[arg-type]
    elif tier is QueueTier.WAITING:
        within = float(_PRIORITY_ORDER[Priority(row["priority"])])
    elif tier is QueueTier.ON_CUSTOMER:
        limit, paused = row[_RUNNING_LIMIT], row["paused_at"]
        within = (
            float(limit) - float(paused)  # type: ignore[arg-type]
            if limit is not None and paused is not None
            else _NO_LIMIT
        )
    else:
        done = row["resolved_at"] if row["resolved_at"] is not None else row["updated_at"]
        within = -float(done)  # type: ignore[arg-type]
    return int(tier), within, float(row["opened_at"]), int(row["id"])  # type: ignore[arg-type]


@functools.cache
def queue_tier_sql() -> str:
    """`queue_tier` as an SQL CASE over the tickets table's columns (no parameters: an
    index can hold it)."""
    whens = [f"WHEN status NOT IN {_OPEN_SQL} THEN {int(QueueTier.DONE)}"]
    whens += [f"WHEN {clause.sql('')} THEN {int(tier)}" for clause, tier in _TIMELESS]
    whens.append(f"WHEN {_RUNNING_LIMIT} IS NULL THEN {int(QueueTier.WAITING)}")
    return f"CASE {' '.join(whens)} ELSE {int(QueueTier.RUNNING)} END"


@functools.cache
def queue_order_sql() -> tuple[str, str, str]:
    """The three expressions the queue orders by (then `id`), `queue_key` in SQL: the tier,
    the order within it, and the opening."""
    tier = queue_tier_sql()
    priority = " ".join(f"WHEN '{p}' THEN {n}" for p, n in _PRIORITY_ORDER.items())
    within = (
        f"CASE ({tier}) "
        f"WHEN {int(QueueTier.RUNNING)} THEN {_RUNNING_LIMIT} "
        f"WHEN {int(QueueTier.WAITING)} THEN (CASE priority {priority} END) "
        f"WHEN {int(QueueTier.ON_CUSTOMER)} THEN COALESCE({_RUNNING_LIMIT} - paused_at, "
        f"{_NO_LIMIT:.0e}) "
        "ELSE -COALESCE(resolved_at, updated_at) END"
    )
    return tier, within, "opened_at"
