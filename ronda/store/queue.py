"""The queue as the store answers it: a view's tickets in the order of what needs the agent
now, found word by word, how many a view holds, the header's counts by SLA state, and the
change stamp every agent's TUI polls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ronda.model import QueueFilter, SlaState, Ticket
from ronda.sla import sla_state_sql
from ronda.sla_order import QueueTier, queue_order_sql
from ronda.store.schema import OPEN_STATUSES_SQL
from ronda.store.search import match_expression
from ronda.store.tickets import ticket_from_row

if TYPE_CHECKING:
    from ronda.store.db import Store


@dataclass(frozen=True, slots=True)
class ChangeStamp:
    """Cheap fingerprint of the store: when it differs, something changed."""

    tickets_updated: float | None
    tickets: int
    last_event: int | None
    last_probe: float | None


# The views of the queue: which tickets each holds (`QueueFilter.view`).
VIEWS = ("open", "mine", "unassigned", "breached", "resolved", "all")
_TIER, _WITHIN, _OPENED = queue_order_sql()
_ORDER_BY = f"ORDER BY ({_TIER}), ({_WITHIN}), {_OPENED}, id"
# Where a view pins the tier, the order starts with the next key (SQLite does not see that
# an expression held equal is constant, and would sort).
_ORDER_IN_TIER = f"ORDER BY ({_WITHIN}), {_OPENED}, id"


def _order_by(flt: QueueFilter) -> str:
    return _ORDER_IN_TIER if flt.view == "breached" else _ORDER_BY


def queue_where(
    flt: QueueFilter, now: datetime, *, counting: bool = False
) -> tuple[str, list[object]]:
    """The WHERE clause (with its leading space, or empty) and parameters of a queue view;
    shared by the queue and by the count of what its limit leaves out.

    Rows are read in the order of `ix_tickets_urgency`, so a view's conditions are written
    on that index's expressions (a tier, a limit) where they can be; a count reads the open
    tickets' own index instead, with the same meaning.
    """
    if flt.view not in VIEWS:
        raise ValueError(f"unknown queue view {flt.view!r}; views: {', '.join(VIEWS)}")
    where: list[str] = []
    params: list[object] = []
    if flt.view == "resolved":
        where.append(f"status NOT IN {OPEN_STATUSES_SQL}" if counting else f"({_TIER}) >= ?")
        params.extend([] if counting else [int(QueueTier.DONE)])
    elif flt.view != "all":
        where.append(f"status IN {OPEN_STATUSES_SQL}" if counting else f"({_TIER}) < ?")
        params.extend([] if counting else [int(QueueTier.DONE)])
    if flt.view == "mine":
        where.append("assignee = ?")
        params.append(flt.agent or "")
    elif flt.view == "unassigned":
        where.append("assignee IS NULL")
    elif flt.view == "breached":
        # A running clock past its limit (what the index finds), in the words of the one
        # state rule (what decides).
        where.append(f"({_TIER}) = ? AND ({_WITHIN}) < ?")
        params.extend([int(QueueTier.RUNNING), now.timestamp()])
        where.append(f"({sla_state_sql('?')}) = '{SlaState.BREACHED}'")
        params.extend([now.timestamp()] * sla_state_sql("?").count("?"))
    for column, value in (
        ("priority", flt.priority),
        ("status", flt.status),
        ("customer", flt.customer),
        ("site", flt.site),
    ):
        if value:
            where.append(f"{column} = ?")
            params.append(str(value))
    match = match_expression(flt.search) if flt.search else None
    if flt.search and match is None:
        where.append("0")  # a search of no words (only punctuation) finds nothing
    elif match is not None:
        # `+id`: walk the view in order and keep the matching tickets, rather than fetch
        # every match and sort them (a word being typed matches thousands).
        where.append("+id IN (SELECT rowid FROM ticket_search WHERE ticket_search MATCH ?)")
        params.append(match)
    return (" WHERE " + " AND ".join(where)) if where else "", params


class Queue:
    """Reads of the queue; nothing here writes."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def tickets(self, flt: QueueFilter, now: datetime) -> list[Ticket]:
        """Tickets of a view in the queue's order (`ronda.sla_order`: running clocks by
        time left, then those waiting on an agent, then on the customer, then the done
        ones), at most `flt.limit`; the urgency index serves it."""
        where, params = queue_where(flt, now)
        rows = self.store.query(
            f"SELECT * FROM tickets{where} {_order_by(flt)} LIMIT ?", (*params, int(flt.limit))
        )
        return [ticket_from_row(r) for r in rows]

    def plan(self, flt: QueueFilter, now: datetime) -> list[str]:
        """How SQLite reads a view (EXPLAIN QUERY PLAN's details): tests hold the queue to
        its index."""
        where, params = queue_where(flt, now)
        rows = self.store.db.execute(
            f"EXPLAIN QUERY PLAN SELECT * FROM tickets{where} {_order_by(flt)} LIMIT ?",
            (*params, int(flt.limit)),
        ).fetchall()
        return [row[3] for row in rows]

    def count(self, flt: QueueFilter, now: datetime) -> int:
        """How many tickets a view holds, ignoring its limit."""
        where, params = queue_where(flt, now, counting=True)
        # fetchall: step the statement to its end, so none stays pending on the connection.
        return self.store.db.execute(f"SELECT COUNT(*) FROM tickets{where}", params).fetchall()[0][
            0
        ]

    def sla_counts(self, now: datetime) -> dict[SlaState, int]:
        """Open tickets by SLA state (the one rule of `ronda.sla`); every state present."""
        counts = {state: 0 for state in SlaState}
        for state, n in self.store.db.execute(
            f"SELECT {sla_state_sql()} AS state, COUNT(*) FROM tickets "
            f"WHERE status IN {OPEN_STATUSES_SQL} GROUP BY state",
            {"now": now.timestamp()},
        ):
            counts[SlaState(state)] = n
        return counts

    def change_stamp(self) -> ChangeStamp:
        """Three aggregate reads; `MAX(id)` of events is a b-tree end, the rest is small."""
        db = self.store.db
        updated, count = db.execute("SELECT MAX(updated_at), COUNT(*) FROM tickets").fetchone()
        (last_event,) = db.execute("SELECT MAX(id) FROM ticket_events").fetchone()
        (last_probe,) = db.execute("SELECT MAX(checked_at) FROM probe_state").fetchone()
        return ChangeStamp(updated, count, last_event, last_probe)


__all__ = ["VIEWS", "ChangeStamp", "Queue", "queue_where"]
