"""What the notifier reads and remembers: which cases are due a customer notice or an agent
notification, and which steps each case has had (`reach_steps`).

Every "due" read is bounded by a window of the instant the step hangs on (the opening, the
SLA target, the limit, the resolution), so a sweep reads only recent cases whatever the size
of the history, and a step already recorded is left out in SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Literal

from ronda.model import Ticket
from ronda.store.schema import OPEN_STATUSES_SQL
from ronda.store.tickets import ticket_from_row

if TYPE_CHECKING:
    from ronda.store.db import Store

# The instant each kind of step hangs on, as a column of `tickets`.
Moment = Literal["opened", "target", "limit", "resolved"]
_COLUMN = {
    "opened": "opened_at",
    "target": "sla_target_at",
    "limit": "sla_limit_at",
    "resolved": "resolved_at",
}
_CLOSED_SQL = "('resolved','closed')"
_IDS_PER_QUERY = 500


class ReachRecords:
    """The `reach_steps` table, and the reads of cases due a step."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def record_step(self, ticket_id: int, step: str, *, now: float) -> bool:
        """Remember that `ticket_id` had `step`; False when it had it already (the caller's
        transaction then has nothing to send)."""
        with self.store.write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO reach_steps (ticket_id, step, at) VALUES (?, ?, ?)",
                (ticket_id, step, now),
            )
            return cursor.rowcount == 1

    def steps_of(self, ticket_ids: Iterable[int]) -> dict[int, set[str]]:
        """Ticket id -> the steps it had (ids without any are left out)."""
        ids = sorted(set(ticket_ids))
        out: dict[int, set[str]] = {}
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            marks = ",".join("?" * len(chunk))
            for row in self.store.query(
                f"SELECT ticket_id, step FROM reach_steps WHERE ticket_id IN ({marks})", chunk
            ):
                out.setdefault(row["ticket_id"], set()).add(row["step"])
        return out

    @staticmethod
    def _where(
        step: str,
        moment: Moment,
        *,
        priorities: Sequence[str] | None,
        probe_only: bool,
        unanswered: bool,
        after_step: str | None,
    ) -> tuple[list[str], list[object]]:
        """The conditions every read of cases due `step` shares (not the window)."""
        statuses = _CLOSED_SQL if moment == "resolved" else OPEN_STATUSES_SQL
        where = [f"t.status IN {statuses}"]
        params: list[object] = []
        if probe_only:
            where.append("t.source = 'probe'")
        if priorities is not None:
            where.append(f"t.priority IN ({','.join('?' * len(priorities)) or 'NULL'})")
            params.extend(priorities)
        if unanswered:
            where.append("t.first_response_at IS NULL AND t.paused_at IS NULL")
        where.append(
            "NOT EXISTS (SELECT 1 FROM reach_steps s WHERE s.ticket_id = t.id AND s.step = ?)"
        )
        params.append(step)
        if after_step is not None:
            where.append(
                "EXISTS (SELECT 1 FROM reach_steps s WHERE s.ticket_id = t.id AND s.step = ?)"
            )
            params.append(after_step)
        return where, params

    def next_moment(
        self,
        step: str,
        moment: Moment,
        after: float,
        *,
        priorities: Sequence[str] | None = None,
        probe_only: bool = False,
        unanswered: bool = False,
        after_step: str | None = None,
    ) -> float | None:
        """The earliest `moment` after `after` of a case that will be due `step` then (the
        notifier's next wake-up), or None."""
        column = _COLUMN[moment]
        where, params = self._where(
            step,
            moment,
            priorities=priorities,
            probe_only=probe_only,
            unanswered=unanswered,
            after_step=after_step,
        )
        rows = self.store.query(
            f"SELECT MIN(t.{column}) AS next FROM tickets t WHERE t.{column} > ? AND "
            + " AND ".join(where),
            (after, *params),
        )
        return rows[0]["next"] if rows else None

    def due(
        self,
        step: str,
        moment: Moment,
        since: float,
        until: float,
        *,
        priorities: Sequence[str] | None = None,
        probe_only: bool = False,
        unanswered: bool = False,
        after_step: str | None = None,
        limit: int = 5000,
    ) -> list[Ticket]:
        """Cases whose `moment` fell in [since, until] and that have not had `step`: open
        ones, or (moment "resolved") resolved or closed ones. `unanswered`: no first
        response and not paused. `after_step`: only cases that had that step (a recovery
        notice follows an opening notice). Oldest moment first."""
        column = _COLUMN[moment]
        where, params = self._where(
            step,
            moment,
            priorities=priorities,
            probe_only=probe_only,
            unanswered=unanswered,
            after_step=after_step,
        )
        where = [f"t.{column} >= ?", f"t.{column} <= ?", *where]
        params = [since, until, *params]
        rows = self.store.query(
            f"SELECT t.* FROM tickets t WHERE {' AND '.join(where)} "
            f"ORDER BY t.{column}, t.id LIMIT ?",
            (*params, limit),
        )
        return [ticket_from_row(row) for row in rows]

    def sites_up(self, names: Iterable[str]) -> dict[str, bool | None]:
        """Site -> whether its last stored round passed (None: never probed)."""
        wanted = sorted(set(names))
        out: dict[str, bool | None] = dict.fromkeys(wanted)
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            chunk = wanted[start : start + _IDS_PER_QUERY]
            marks = ",".join("?" * len(chunk))
            for row in self.store.query(
                f"SELECT site, up FROM probe_state WHERE site IN ({marks})", chunk
            ):
                out[row["site"]] = None if row["up"] is None else bool(row["up"])
        return out

    def without_requester(self, since: float, limit: int = 5000) -> list[Ticket]:
        """Open probe cases opened since `since` that name a site but no requester."""
        rows = self.store.query(
            "SELECT * FROM tickets WHERE opened_at >= ? AND source = 'probe' "
            f"AND requester IS NULL AND site IS NOT NULL AND status IN {OPEN_STATUSES_SQL} "
            "ORDER BY id LIMIT ?",
            (since, limit),
        )
        return [ticket_from_row(row) for row in rows]


__all__ = ["Moment", "ReachRecords"]
