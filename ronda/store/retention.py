"""Retention's reads and writes: what piles up on cases resolved long ago, pruned in batches.

Two kinds of history grow without bound and are no use once a case is long resolved: the
probe's `recurrence` notes ("still failing (for 3 h) ...", one every few rounds of an
outage) and the bodies of customers' mail (personal data the desk no longer needs). Each
call here handles one batch of cases in ONE short write transaction, so the rounds and the
agents wait at most that long; the caller loops until a batch comes back empty.

Never touched: open cases, a resolved case linked to an open one (its parent or a child),
the tickets' own rows, and every event a report or the SLA clock reads (opened, status,
first response, priority, impact, class, recovery, notes and replies). Migration 7 lets the
database accept exactly these two changes, and refuses any other rewrite of the history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ronda.store.schema import OPEN_STATUSES_SQL, PRUNED_MAIL_BODY

if TYPE_CHECKING:
    from ronda.store.db import Store

BATCH_TICKETS = 100  # cases per transaction: a few milliseconds of the write lock
RETENTION_ACTOR = "retention"
MAIL_KINDS_SQL = "('opened', 'email_received', 'email_flood')"  # the intake's, with bodies

# A case retention may prune: resolved before the cut, and no open case linked to it. (Its
# children by their parent index: with few children, the statistics would have SQLite read
# every open case for each candidate instead.)
_PRUNABLE = f"""
    t.status IN ('resolved', 'closed') AND t.resolved_at < :cut
    AND NOT EXISTS (SELECT 1 FROM tickets c INDEXED BY ix_tickets_parent WHERE c.parent_id = t.id
        AND c.status IN {OPEN_STATUSES_SQL})
    AND (t.parent_id IS NULL OR NOT EXISTS (SELECT 1 FROM tickets p WHERE p.id = t.parent_id
        AND p.status IN {OPEN_STATUSES_SQL}))
"""
_PROBE_NOTES = "e.actor = 'probe' AND e.kind = 'recurrence'"
_MAIL_BODIES = f"e.actor = 'mail' AND e.kind IN {MAIL_KINDS_SQL} AND e.body IS NOT :marker"


@dataclass(frozen=True, slots=True)
class PruneBatch:
    """What one batch did: the cases it changed and the events removed or blanked."""

    tickets: int
    events: int
    last_id: int | None  # the highest case id looked at; None when nothing was left


def _day(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).date().isoformat()


class RetentionRecords:
    """Batches of pruning over `ticket_events`, oldest case ids first."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _candidates(self, which: str, cut: float, after_id: int, limit: int) -> list[int]:
        # NOT INDEXED: walk the cases by id from the cursor. Left to itself SQLite takes the
        # status index, and every batch would read and sort all the resolved cases again.
        rows = self.store.db.execute(
            f"SELECT t.id FROM tickets t NOT INDEXED WHERE t.id > :after AND {_PRUNABLE} "
            f"AND EXISTS (SELECT 1 FROM ticket_events e WHERE e.ticket_id = t.id AND {which}) "
            "ORDER BY t.id LIMIT :limit",
            {"after": after_id, "cut": cut, "limit": limit, "marker": PRUNED_MAIL_BODY},
        ).fetchall()
        return [row[0] for row in rows]

    def prune_probe_notes(
        self,
        resolved_before: float,
        now: float,
        *,
        after_id: int = 0,
        limit: int = BATCH_TICKETS,
    ) -> PruneBatch:
        """Delete the probe's `recurrence` notes of up to `limit` cases (ids above
        `after_id`) resolved before `resolved_before`, and note on each case how many went
        and over which days."""
        ids = self._candidates(_PROBE_NOTES, resolved_before, after_id, limit)
        if not ids:
            return PruneBatch(0, 0, None)
        removed = changed = 0
        with self.store.write() as db:
            for ticket_id in ids:
                # Checked again under the write lock: the case may have reopened meanwhile.
                params = {"id": ticket_id, "cut": resolved_before}
                count, first, last = db.execute(
                    "SELECT COUNT(*), MIN(e.at), MAX(e.at) FROM ticket_events e "
                    f"JOIN tickets t ON t.id = e.ticket_id WHERE t.id = :id AND {_PRUNABLE} "
                    f"AND {_PROBE_NOTES}",
                    params,
                ).fetchone()
                if not count:
                    continue
                db.execute(
                    "DELETE FROM ticket_events WHERE ticket_id = ? AND actor = 'probe' "
                    "AND kind = 'recurrence'",
                    (ticket_id,),
                )
                days = sorted({_day(first), _day(last)})
                note = "note" if count == 1 else "notes"
                db.execute(
                    "INSERT INTO ticket_events (ticket_id, at, actor, kind, body) "
                    "VALUES (?, ?, ?, 'pruned', ?)",
                    (
                        ticket_id,
                        now,
                        RETENTION_ACTOR,
                        f"{count} probe recurrence {note} from {' to '.join(days)} removed "
                        "([retention] probe_history_days)",
                    ),
                )
                removed += count
                changed += 1
        return PruneBatch(changed, removed, ids[-1])

    def prune_mail_bodies(
        self,
        resolved_before: float,
        *,
        after_id: int = 0,
        limit: int = BATCH_TICKETS,
    ) -> PruneBatch:
        """Replace the customers' mail bodies of up to `limit` cases (ids above `after_id`)
        resolved before `resolved_before` with `PRUNED_MAIL_BODY`."""
        ids = self._candidates(_MAIL_BODIES, resolved_before, after_id, limit)
        if not ids:
            return PruneBatch(0, 0, None)
        with self.store.write() as db:
            # The case's state checked again in the statement: it may have reopened meanwhile.
            changed = db.execute(
                f"UPDATE ticket_events AS e SET body = :marker WHERE {_MAIL_BODIES} "
                # CROSS JOIN keeps this batch's ids outermost: each one case looked up by id.
                "AND e.ticket_id IN (SELECT t.id FROM json_each(:ids) AS j "
                f"CROSS JOIN tickets AS t ON t.id = j.value WHERE {_PRUNABLE}) "
                "RETURNING ticket_id",
                {"marker": PRUNED_MAIL_BODY, "cut": resolved_before, "ids": json.dumps(ids)},
            ).fetchall()
        return PruneBatch(len({row[0] for row in changed}), len(changed), ids[-1])


__all__ = ["BATCH_TICKETS", "PruneBatch", "RetentionRecords"]
