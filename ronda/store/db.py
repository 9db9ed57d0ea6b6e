"""The database file: one SQLite file in WAL mode shared by the rounds, every agent's TUI, the
CLI and the exporter; a connection per thread, short write transactions, forward migrations.

Instants are stored as UTC epoch seconds (REAL) so that SLA arithmetic and ordering stay
cheap in SQL.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils
from platformdirs import user_data_path

from ronda.store.domains import DomainRecords
from ronda.store.drafts import DraftRecords
from ronda.store.history import HistoryRecords
from ronda.store.mail import MailLog
from ronda.store.outbox import Outbox
from ronda.store.probes import ProbeRecords
from ronda.store.queue import Queue
from ronda.store.reach import ReachRecords
from ronda.store.reports import ReportRecords
from ronda.store.schema import MIGRATIONS, Migration
from ronda.store.sites import SiteRecords
from ronda.store.subjects import SubjectRecords
from ronda.store.tickets import TicketRecords

BUSY_TIMEOUT_MS = 10_000


class StoreError(sqlite3.DatabaseError):
    """The database cannot be used as asked (wrong file, newer schema, unwritable, disk
    full). The message is one line naming the file and what to do. It is an
    `sqlite3.DatabaseError`, so every part that already survives a failing database (the
    rounds, the exporter, the TUI's poller) survives this one too."""


# SQLite's own words for a file that cannot serve as the desk, and what the user can do.
_WHAT_TO_DO = (
    ("file is not a database", "is not a Ronda database; give --db the desk's database file"),
    ("malformed", "is damaged (SQLite: database disk image is malformed); restore a backup"),
    (
        "readonly",
        "is read-only; Ronda must write it: check the file's and its folder's permissions",
    ),
    ("disk is full", "cannot grow: the disk is full; free space (the change was not stored)"),
    ("unable to open", "cannot be opened; check the path and its permissions"),
    ("disk i/o error", "could not be read or written (disk I/O error); check the disk"),
)


def _store_error(path: Path, error: sqlite3.Error) -> StoreError | None:
    """The one-line StoreError for an SQLite error that means the file is unusable; None
    for the others (a constraint, a busy lock), which callers handle as they are."""
    text = str(error).lower()
    for words, advice in _WHAT_TO_DO:
        if words in text:
            return StoreError(f"{path}: {advice}")
    return None


@contextmanager
def _translated(path: Path) -> Iterator[None]:
    try:
        yield
    except StoreError:
        raise
    except sqlite3.DatabaseError as exc:
        translated = _store_error(path, exc)
        if translated is None:
            raise
        raise translated from exc


def default_db_path() -> Path:
    """Where the desk keeps its database unless `--db` says otherwise."""
    return user_data_path("ronda", appauthor=False) / "ronda.db"


class Store:
    """One SQLite file; a connection per thread, each with WAL and a busy timeout."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        migrate: bool = True,
        migrations: Sequence[Migration] = MIGRATIONS,
    ) -> None:
        """`migrations` is the schema this process knows: all of them, except in tests that
        make a database of an earlier version."""
        self.path = Path(path) if path is not None else default_db_path()
        self._migrations = tuple(migrations)
        self._local = threading.local()
        self._create_file()
        if migrate:
            self.migrate()
        # The tables in the desk's words; each runs its statements on this store.
        self.tickets = TicketRecords(self)
        self.queue = Queue(self)
        self.sites = SiteRecords(self)
        self.probes = ProbeRecords(self)
        self.subjects = SubjectRecords(self)
        self.mail = MailLog(self)
        self.outbox = Outbox(self)
        self.reach = ReachRecords(self)
        self.history = HistoryRecords(self)
        self.reports = ReportRecords(self)
        self.drafts = DraftRecords(self)
        self.domains = DomainRecords(self)

    def _create_file(self) -> None:
        if str(self.path) == ":memory:":
            raise StoreError("an in-memory database cannot be shared; give a file path")
        parent = self.path.parent
        if not parent.exists():
            parent.mkdir(parents=True, mode=0o700)
        if self.path.exists() and not self.path.is_file():
            raise StoreError(f"{self.path}: is not a file; give --db the desk's database file")
        if not self.path.exists():
            # Owner-only from the first byte: tickets hold customers' names and e-mails.
            # SQLite gives the -wal and -shm files the same permissions.
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        self._owner_only()

    def _owner_only(self) -> None:
        """Make the file and its -wal and -shm companions 0600, also when they existed
        before with wider permissions (a file copied in, an older Ronda)."""
        for path in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")):
            try:
                if path.exists() and path.stat().st_mode & 0o077:
                    path.chmod(0o600)
            except PermissionError as exc:  # not ours to change: say so, do not go on
                raise StoreError(
                    f"{path}: readable by others and not ours to tighten ({exc.strerror}); "
                    "make it owner-only (chmod 600)"
                ) from exc

    @property
    def db(self) -> sqlite_utils.Database:
        """This thread's connection, opened on first use."""
        db = getattr(self._local, "db", None)
        if db is None:
            with _translated(self.path):
                conn = sqlite3.connect(
                    self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
                )
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if mode.lower() != "wal":
                    raise StoreError(f"{self.path}: could not switch to WAL mode (got {mode})")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA foreign_keys = ON")
            db = sqlite_utils.Database(conn)
            self._local.db = db
            self._owner_only()  # the -wal and -shm files exist from here on
        return db

    @contextmanager
    def write(self) -> Iterator[sqlite_utils.Database]:
        """A short write transaction that takes the write lock up front (BEGIN IMMEDIATE),
        so two writers queue on the busy timeout instead of failing on a lock upgrade.

        Inside another `write()` of the same thread it joins that transaction as a
        savepoint: what a caller writes around a desk change (the outbox rows the change
        causes) then commits with it, or not at all. An error rolls back the inner part
        only, and the outer one decides."""
        db = self.db
        if db.conn.in_transaction:
            yield from self._savepoint(db)
            return
        with _translated(self.path):
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if db.conn.in_transaction:  # SQLite may have rolled back already (disk full)
                    db.execute("ROLLBACK")
                raise
            else:
                db.execute("COMMIT")

    def _savepoint(self, db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
        depth = getattr(self._local, "depth", 0) + 1
        self._local.depth = depth
        name = f"ronda_{depth}"
        try:
            with _translated(self.path):
                db.execute(f"SAVEPOINT {name}")
                try:
                    yield db
                except BaseException:
                    if db.conn.in_transaction:
                        db.execute(f"ROLLBACK TO {name}")
                        db.execute(f"RELEASE {name}")
                    raise
                else:
                    db.execute(f"RELEASE {name}")
        finally:
            self._local.depth = depth - 1

    def query(self, sql: str, params: Sequence | dict = ()) -> list[dict]:
        """The rows of a SELECT as dicts (column -> value)."""
        cursor = self.db.conn.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def row_counts(self) -> dict[str, int]:
        """How many tickets, ticket events, mail messages and probe rounds the desk holds."""
        db = self.db
        return {
            "tickets": db.execute("SELECT COUNT(*) FROM tickets").fetchone()[0],
            "ticket_events": db.execute("SELECT COUNT(*) FROM ticket_events").fetchone()[0],
            "mail_messages": db.execute("SELECT COUNT(*) FROM mail_messages").fetchone()[0],
            "probe_rounds": db.execute(
                "SELECT COALESCE(SUM(count), 0) FROM probe_rounds"
            ).fetchone()[0],
        }

    def checkpoint(self) -> None:
        """Fold the write-ahead log back into the main file and empty it (its size then
        tells the database's size)."""
        with _translated(self.path):
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def schema_version(self) -> int:
        with _translated(self.path):
            return self.db.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> int:
        """Apply the forward migrations this file lacks; refuse a newer schema."""
        current = self.schema_version()
        if current > len(self._migrations):
            raise StoreError(
                f"{self.path}: schema version {current} is newer than this Ronda knows "
                f"({len(self._migrations)}); upgrade Ronda"
            )
        if current == len(self._migrations):
            return current
        with self.write() as db:
            # Re-read under the lock: another process may have migrated meanwhile.
            current = db.execute("PRAGMA user_version").fetchone()[0]
            for number, step in enumerate(self._migrations[current:], start=current + 1):
                step(db)
                db.execute(f"PRAGMA user_version = {int(number)}")
        return self.schema_version()

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.conn.close()
            self._local.db = None
