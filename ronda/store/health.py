"""What `/healthz` asks the database: when the last probe result was stored, and whether the
file takes a write right now.

`HealthReader` keeps one connection of its own, used under a lock from whichever thread of
the exporter answers, so a load balancer asking every few seconds opens nothing new.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

WRITE_CHECK_TIMEOUT = 1.0  # seconds a health check waits for the write lock


class HealthReader:
    """The two facts of the desk's health, read from one file."""

    def __init__(self, path: str | Path, write_timeout: float = WRITE_CHECK_TIMEOUT) -> None:
        self.path = Path(path)
        self.write_timeout = write_timeout
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = sqlite3.connect(
                f"file:{self.path}?mode=rw",  # never create a file that is not there
                uri=True,
                timeout=self.write_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            self._conn.execute(f"PRAGMA busy_timeout = {int(self.write_timeout * 1000)}")
        return self._conn

    def last_round_at(self) -> float | None:
        """Epoch seconds of the newest stored probe result, None before the first."""
        with self._lock:
            (at,) = self._connection().execute("SELECT MAX(checked_at) FROM probe_state").fetchone()
        return at

    def write_problem(self) -> str | None:
        """None when a writer could take the write lock now (it is taken and given back at
        once, writing nothing); else why not, in a few words."""
        with self._lock:
            try:
                conn = self._connection()
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
            except sqlite3.Error as error:
                self._drop()
                text = str(error).lower()
                if "locked" in text or "busy" in text:
                    return f"another writer has held the store for over {self.write_timeout:g} s"
                if "readonly" in text or "read-only" in text:
                    return "the store is read-only"
                return f"the store cannot be written ({error})"
        return None

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def close(self) -> None:
        with self._lock:
            self._drop()


__all__ = ["WRITE_CHECK_TIMEOUT", "HealthReader"]
