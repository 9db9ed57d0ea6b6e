"""Fill a store fast from plain row tuples: benches, imports, anything that writes volume.

`bulk_write(store)` gives a `BulkWriter` inside one write transaction; its `insert`,
`upsert` and `update` take a table, its columns and an iterable of tuples (one
`executemany` each). Table and column names are checked against the file's schema before
they reach the SQL text; values are always bound. The schema's triggers run as for any
other write, so the totals they keep stay right.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import sqlite_utils

from ronda.store.db import Store

# The tables a bulk write may fill.
TABLES: frozenset[str] = frozenset(
    {
        "customers",
        "sites",
        "tickets",
        "ticket_events",
        "probe_state",
        "probe_failures",
        "probe_rounds",
        "site_history",  # or ronda.store.history.load_history, from intervals
        "time_entries",
    }
)


class BulkError(ValueError):
    """A table or column this loader does not know."""


class BulkWriter:
    """Writes rows into the tables of `TABLES` inside the caller's transaction."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self._db = db
        self._columns: dict[str, frozenset[str]] = {}

    def _names(self, table: str, *groups: Sequence[str]) -> None:
        if table not in TABLES:
            raise BulkError(f"bulk writes do not go to {table!r}; tables: {sorted(TABLES)}")
        known = self._columns.get(table)
        if known is None:
            rows = self._db.execute(f"PRAGMA table_info({table})").fetchall()  # name checked
            known = self._columns[table] = frozenset(row[1] for row in rows)
        for group in groups:
            if not group:
                raise BulkError(f"no columns given for {table}")
            unknown = [c for c in group if c not in known]
            if unknown:
                raise BulkError(f"{table} has no column {', '.join(map(repr, unknown))}")

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
        """Add rows (values in `columns` order); returns how many."""
        self._names(table, columns)
        marks = ",".join("?" * len(columns))
        sql = f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})"
        return self._db.conn.executemany(sql, rows).rowcount

    def upsert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence],
        *,
        key: Sequence[str],
    ) -> int:
        """Add rows, or where a row with the same `key` (a unique index: columns among
        `columns`) exists, set its other columns to the given values."""
        self._names(table, columns, key)
        if not set(key) <= set(columns):
            raise BulkError(f"the key {list(key)} must be among the columns {list(columns)}")
        rest = [c for c in columns if c not in key]
        marks = ",".join("?" * len(columns))
        action = (
            "DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in rest)
            if rest
            else "DO NOTHING"
        )
        sql = (
            f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks}) "
            f"ON CONFLICT ({','.join(key)}) {action}"
        )
        return self._db.conn.executemany(sql, rows).rowcount

    def update(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence],
        *,
        key: Sequence[str],
    ) -> int:
        """Set `columns` of the rows matching `key`: each row holds the new values, then the
        key's values. Returns how many rows changed."""
        self._names(table, columns, key)
        assignments = ", ".join(f"{c} = ?" for c in columns)
        where = " AND ".join(f"{c} = ?" for c in key)
        return self._db.conn.executemany(
            f"UPDATE {table} SET {assignments} WHERE {where}", rows
        ).rowcount


@contextmanager
def bulk_write(store: Store) -> Iterator[BulkWriter]:
    """One write transaction for many rows (all or nothing)."""
    with store.write() as db:
        yield BulkWriter(db)


def load(store: Store, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert rows into one table in a transaction of their own; returns how many."""
    with bulk_write(store) as bulk:
        return bulk.insert(table, columns, rows)


def analyze(store: Store) -> None:
    """Refresh the query planner's statistics (after a load that changed the tables' shape)."""
    store.db.execute("ANALYZE")
