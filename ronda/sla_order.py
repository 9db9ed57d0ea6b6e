"""The queue's order: what needs the agent now, read off the columns the SLA state rule reads.

A ticket falls in one of four tiers, in this order (the ranks of `ronda.sla.queue_rank`,
its rest split in two):

1. RUNNING: a clock runs, the first response's or the next reply's, whichever decides the
   ticket's state (`ronda.sla.running_limit`): by time left, that is by that clock's limit,
   so a breached ticket comes before one in warning.
2. WAITING: it waits on an agent with no clock running (answered, or without deadlines):
   by priority, then the oldest first.
3. ON_CUSTOMER: it waits on the customer (paused): by the time it will have left when the
   customer answers.
4. DONE: resolved or closed: the newest first.

Time never moves a ticket between tiers (only the time left shrinks), so the whole order is
an expression of stored columns: `queue_order_sql` is what an index of the tickets table
holds and the queue walks in order; `queue_key` is its Python twin. Property tests hold them
together, the tier to the SLA state rule at any instant (a running tier is a running state,
breached exactly when its limit is past), and the queue's query to the index.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from enum import IntEnum

from ronda.model import Priority
from ronda.sla import (
    CLOSED_STATUSES,
    REST,
    RUNNING,
    queue_rank,
    queue_rank_sql,
    running_limit,
    running_limit_sql,
)

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
    "reply_due_at",
    "reply_limit_at",
    "reply_target_at",
    "opened_at",
    "resolved_at",
    "updated_at",
)
_CLOSED_SQL = "(" + ", ".join(f"'{s}'" for s in CLOSED_STATUSES) + ")"


def queue_tier(row: Mapping[str, object]) -> QueueTier:
    """The tier of a stored ticket (see the module's docstring)."""
    rank = queue_rank(row)
    if rank == RUNNING:
        return QueueTier.RUNNING
    if rank != REST:
        return QueueTier.WAITING
    return QueueTier.DONE if row["status"] in CLOSED_STATUSES else QueueTier.ON_CUSTOMER


def queue_key(row: Mapping[str, object]) -> tuple[int, float, float, int]:
    """The sort key of a stored ticket: smaller comes first."""
    tier = queue_tier(row)
    if tier is QueueTier.RUNNING:
        within = float(running_limit(row))  # type: ignore[arg-type]
    elif tier is QueueTier.WAITING:
        within = float(_PRIORITY_ORDER[Priority(row["priority"])])
    elif tier is QueueTier.ON_CUSTOMER:
        limit, paused = running_limit(row), row["paused_at"]
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
    return (
        f"CASE ({queue_rank_sql()}) WHEN {RUNNING} THEN {int(QueueTier.RUNNING)} "
        f"WHEN {REST} THEN (CASE WHEN status IN {_CLOSED_SQL} THEN {int(QueueTier.DONE)} "
        f"ELSE {int(QueueTier.ON_CUSTOMER)} END) ELSE {int(QueueTier.WAITING)} END"
    )


@functools.cache
def queue_order_sql() -> tuple[str, str, str]:
    """The three expressions the queue orders by (then `id`), `queue_key` in SQL: the tier,
    the order within it, and the opening."""
    tier = queue_tier_sql()
    limit = running_limit_sql()
    priority = " ".join(f"WHEN '{p}' THEN {n}" for p, n in _PRIORITY_ORDER.items())
    within = (
        f"CASE ({tier}) "
        f"WHEN {int(QueueTier.RUNNING)} THEN ({limit}) "
        f"WHEN {int(QueueTier.WAITING)} THEN (CASE priority {priority} END) "
        f"WHEN {int(QueueTier.ON_CUSTOMER)} THEN COALESCE(({limit}) - paused_at, "
        f"{_NO_LIMIT:.0e}) "
        "ELSE -COALESCE(resolved_at, updated_at) END"
    )
    return tier, within, "opened_at"
