"""The queue header's counts by SLA state, loaded apart from the rows.

At a million tickets the counts scan every open ticket (the SLA state of each, by the SQL
twin of `ronda.sla`): the poller paints the rows first and this second worker, on its own
connection (the store keeps one per thread), counts after; the header says `…` meanwhile.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from textual import work

from ronda.store.queue import ChangeStamp
from ronda.tui.data import QueueFilter, QueueSnapshot, SlaCounts, sla_counts, with_total
from ronda.tui.messages import CountsLoaded

if TYPE_CHECKING:
    from ronda.store import Store
    from ronda.tickets import Desk

# SQLite VM steps between checks that a COUNT is still wanted (about a millisecond).
COUNT_CHECK_OPS = 20_000


class HeaderCounts:
    """Mixed into `ronda.tui.app.RondaApp`: the total of a list cut short (`count_total`),
    the header counts after a changed store (`load_counts`), and the newest counts put on
    every snapshot of the same store state."""

    store: Store
    desk: Desk
    snapshot: QueueSnapshot | None
    _request: tuple[int, QueueFilter]
    _count_lock: threading.Lock
    _counting: sqlite3.Connection | None
    # (stamp, counts): the latest counts and the store state they were counted on.
    header_counts: tuple[ChangeStamp | None, SlaCounts] | None = None

    def count_total(self, snapshot: QueueSnapshot) -> QueueSnapshot | None:
        """`with_total`, interruptible by a newer filter (None when interrupted)."""
        conn = self.store.db.conn
        generation = snapshot.generation
        with self._count_lock:
            self._counting = conn
        # SQLite clears a pending interrupt when a statement starts on an idle connection,
        # so an `interrupt()` landing before the COUNT's first step is lost and the next
        # keystroke waits for the whole scan. The progress handler closes that gap.
        conn.set_progress_handler(lambda: self._request[0] != generation, COUNT_CHECK_OPS)
        try:
            return with_total(self.desk, snapshot)
        except sqlite3.OperationalError as exc:
            if "interrupt" not in str(exc):
                raise
            return None
        finally:
            conn.set_progress_handler(None, 0)
            with self._count_lock:
                self._counting = None

    @work(thread=True, exclusive=True, group="counts", name="header counts")
    def load_counts(self, stamp: ChangeStamp | None, now: datetime) -> None:
        try:
            counts = sla_counts(self.store, now)
        except Exception:  # noqa: BLE001 - the poller says when the store fails, and retries
            return
        finally:
            self.store.close()  # this worker's own connection (a thread of its own)
        self.post_message(CountsLoaded(stamp, counts))  # type: ignore[attr-defined]

    def counts_for(self, stamp: ChangeStamp | None) -> SlaCounts | None:
        """The counts of that store state, when they are in (any thread may ask)."""
        known = self.header_counts
        return known[1] if known is not None and known[0] == stamp else None

    def with_counts(self, snapshot: QueueSnapshot) -> QueueSnapshot:
        """`snapshot` with the counts of its store state, when it has none yet and they
        are in."""
        if snapshot.counts is not None:
            return snapshot
        counts = self.counts_for(snapshot.stamp)
        return replace(snapshot, counts=counts) if counts is not None else snapshot


__all__ = ["COUNT_CHECK_OPS", "HeaderCounts"]
