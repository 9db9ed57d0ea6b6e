"""The queue as the store answers it: open tickets by urgency, how many a view holds, the
header's counts by SLA state, and the change stamp every agent's TUI polls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ronda.model import QueueFilter, SlaState, Ticket
from ronda.sla import sla_state_sql
from ronda.store.schema import OPEN_STATUSES_SQL
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


def queue_where(flt: QueueFilter, now: datetime) -> tuple[str, list[object]]:
    """The WHERE clause (with its leading space, or empty) and parameters of a queue view;
    shared by the queue and by the count of what its limit leaves out."""
    where: list[str] = []
    params: list[object] = []
    if flt.view == "resolved":
        where.append("status IN ('resolved', 'closed')")
    elif flt.view != "all":
        where.append(f"status IN {OPEN_STATUSES_SQL}")
    if flt.view == "mine":
        where.append("assignee = ?")
        params.append(flt.agent or "")
    elif flt.view == "unassigned":
        where.append("assignee IS NULL")
    elif flt.view == "breached":
        where.append(f"({sla_state_sql('?')}) = '{SlaState.BREACHED}'")
        params.extend([now.timestamp()] * sla_state_sql("?").count("?"))
    for column, value in (
        ("priority", flt.priority),
        ("status", flt.status),
        ("customer", flt.customer),
    ):
        if value:
            where.append(f"{column} = ?")
            params.append(str(value))
    if flt.search:
        like = "%" + flt.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like += "%"
        where.append(
            "(case_number LIKE ? ESCAPE '\\' OR subject LIKE ? ESCAPE '\\' "
            "OR site LIKE ? ESCAPE '\\' OR customer LIKE ? ESCAPE '\\')"
        )
        params.extend([like] * 4)
    return (" WHERE " + " AND ".join(where)) if where else "", params


class Queue:
    """Reads of the open queue; nothing here writes."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def tickets(self, flt: QueueFilter, now: datetime) -> list[Ticket]:
        """Tickets of a view by SLA urgency: the nearest limit first (the queue index serves
        it), at most `flt.limit`."""
        where, params = queue_where(flt, now)
        rows = self.store.query(
            f"SELECT * FROM tickets{where} ORDER BY sla_limit_at LIMIT ?",
            (*params, int(flt.limit)),
        )
        return [ticket_from_row(r) for r in rows]

    def count(self, flt: QueueFilter, now: datetime) -> int:
        """How many tickets a view holds, ignoring its limit."""
        where, params = queue_where(flt, now)
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


__all__ = ["ChangeStamp", "Queue", "queue_where"]
