"""Site history: each site's state changes (up, down with its class, maintenance) as
intervals, one row per change, not per probe.

A row holds one state from `started_at` (the first probe that saw it) to `seen_at` (the
latest probe that still saw it): a probe that finds the same state moves `seen_at` on; a
probe that finds another one ends the row there and starts the next. When a probe comes
longer than the site's measured gap (`ronda.uptime.measured_gap`) after the row's
`seen_at` (Ronda was stopped, the site was not probed) the row is left where it was and
a new one starts: the time between reads as not measured, never as up or down.

Rows are written in the round batch's own transaction (`ProbeRecords.write_round`), so a
crash keeps the history exactly as far as the rounds it stored. A result older than the
site's latest row (another prober that was slower) changes nothing: that time is covered.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlite_utils

from ronda.uptime import DOWN, MAINTENANCE, UNMEASURED, UP, Interval, clip

if TYPE_CHECKING:
    from ronda.store.db import Store

STORED_STATES = (UP, DOWN, MAINTENANCE)
BATCH_ROWS = 5000  # rows retention deletes per transaction
_SITES_PER_QUERY = 500


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One probe's verdict on a site, as the history takes it: at `at` the site was in
    `state` (`cls`: the failure class when down); `gap`: the longest silence after the
    site's previous probe that still counts as measured."""

    site: str
    at: float
    state: str
    cls: str | None
    gap: float


@dataclass(frozen=True, slots=True)
class Head:
    """A site's latest history row."""

    id: int
    state: str
    cls: str | None
    started_at: float
    seen_at: float


def record(db: sqlite_utils.Database, rows: Sequence[HistoryRow]) -> int:
    """Carry probe verdicts (in order) into the history inside the caller's transaction;
    returns how many rows were added (changes and restarts after a gap)."""
    if not rows:
        return 0
    heads = _heads(db, sorted({r.site for r in rows}))
    added = 0
    for row in rows:
        if row.state not in STORED_STATES:
            raise ValueError(f"history stores {STORED_STATES}, not {row.state!r}")
        cls = row.cls if row.state == DOWN else None
        head = heads.get(row.site)
        if head is not None and row.at <= head.seen_at:
            continue  # covered already (an older result stored late)
        contiguous = head is not None and row.at - head.seen_at <= row.gap
        if contiguous and head is not None:
            db.execute("UPDATE site_history SET seen_at = ? WHERE id = ?", (row.at, head.id))
            if head.state == row.state and head.cls == cls:
                heads[row.site] = Head(head.id, head.state, head.cls, head.started_at, row.at)
                continue
        cursor = db.execute(
            "INSERT INTO site_history (site, state, class, started_at, seen_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (row.site, row.state, cls, row.at, row.at),
        )
        heads[row.site] = Head(int(cursor.lastrowid), row.state, cls, row.at, row.at)
        added += 1
    return added


def _heads(db: sqlite_utils.Database, sites: Sequence[str]) -> dict[str, Head]:
    out: dict[str, Head] = {}
    for start in range(0, len(sites), _SITES_PER_QUERY):
        chunk = json.dumps(list(sites[start : start + _SITES_PER_QUERY]))
        for site, *rest in db.execute(
            "SELECT h.site, h.id, h.state, h.class, h.started_at, h.seen_at "
            "FROM json_each(?) AS j CROSS JOIN site_history AS h ON h.id = ("
            "SELECT id FROM site_history WHERE site = j.value "
            "ORDER BY seen_at DESC, id DESC LIMIT 1)",
            (chunk,),
        ).fetchall():
            out[site] = Head(*rest)
    return out


class HistoryRecords:
    """The `site_history` table: reads for uptime, status pages and reports; retention."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def site_intervals(self, site: str, start: float, end: float) -> list[Interval]:
        """The site's history over [start, end) as a partition of the period: the stored
        states, clipped, and `unmeasured` wherever no row covers the time (before the
        first probe, while Ronda was not running, after the latest probe)."""
        return self.sites_intervals([site], start, end)[site]

    def sites_intervals(
        self, sites: Iterable[str], start: float, end: float
    ) -> dict[str, list[Interval]]:
        """`site_intervals` of many sites at once (every site asked for has an entry)."""
        names = list(dict.fromkeys(sites))
        found: dict[str, list[Interval]] = {name: [] for name in names}
        for first in range(0, len(names), _SITES_PER_QUERY):
            chunk = json.dumps(names[first : first + _SITES_PER_QUERY])
            for site, state, cls, started_at, seen_at in self.store.db.execute(
                "SELECT h.site, h.state, h.class, h.started_at, h.seen_at "
                "FROM json_each(?) AS j CROSS JOIN site_history AS h "
                "ON h.site = j.value AND h.seen_at > ? AND h.started_at < ? "
                "ORDER BY h.site, h.started_at, h.id",
                (chunk, start, end),
            ).fetchall():
                found[site].append(Interval(started_at, seen_at, state, cls))
        return {name: clip(rows, start, end) for name, rows in found.items()}

    def heads(self, sites: Iterable[str]) -> dict[str, Head]:
        """Each site's latest row (sites never probed have none)."""
        return _heads(self.store.db, list(dict.fromkeys(sites)))

    def count(self) -> int:
        return self.store.db.execute("SELECT COUNT(*) FROM site_history").fetchone()[0]

    def prune(self, seen_before: float, *, limit: int = BATCH_ROWS) -> int:
        """Delete up to `limit` rows whose state was last seen before `seen_before`, in
        one short transaction; returns how many went (0: nothing left)."""
        old = self.store.db.execute(
            "SELECT 1 FROM site_history WHERE seen_at < ? LIMIT 1", (seen_before,)
        ).fetchone()
        if old is None:
            return 0  # the usual day: no write lock taken for nothing
        with self.store.write() as db:
            return db.execute(
                "DELETE FROM site_history WHERE id IN (SELECT id FROM site_history "
                "WHERE seen_at < ? ORDER BY seen_at LIMIT ?)",
                (seen_before, limit),
            ).rowcount


def load_history(store: Store, rows: Iterable[tuple[str, Interval]]) -> int:
    """Insert (site, interval) pairs as history rows in one transaction (benches, tests,
    imports); `unmeasured` intervals are left out, as the history never stores them.
    Returns how many rows went in."""
    values = (
        (site, i.state, i.cls if i.state == DOWN else None, i.start, i.end)
        for site, i in rows
        if i.state != UNMEASURED
    )
    with store.write() as db:
        return db.conn.executemany(
            "INSERT INTO site_history (site, state, class, started_at, seen_at) "
            "VALUES (?, ?, ?, ?, ?)",
            values,
        ).rowcount


__all__ = ["BATCH_ROWS", "Head", "HistoryRecords", "HistoryRow", "load_history", "record"]
