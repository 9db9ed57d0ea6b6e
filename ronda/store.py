"""The SQLite store: one file in WAL mode shared by the rounds, every agent's TUI, the CLI and
the exporter.

Everything that touches SQL for tickets goes through `ronda.tickets`; this module owns the
file, its connections, the schema and its forward migrations. Instants are stored as UTC
epoch seconds (REAL) so that SLA arithmetic and ordering stay cheap in SQL.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils
from platformdirs import user_data_path

BUSY_TIMEOUT_MS = 10_000
OPEN_STATUSES_SQL = "('new','open','pending_customer','reopened')"


class StoreError(Exception):
    """The database cannot be used as asked (wrong file, newer schema, unwritable)."""


def default_db_path() -> Path:
    """Where the desk keeps its database unless `--db` says otherwise."""
    return user_data_path("ronda", appauthor=False) / "ronda.db"


def to_epoch(at: datetime | None) -> float | None:
    if at is None:
        return None
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at.isoformat()} given to the store; use aware times")
    return at.timestamp()


def from_epoch(value: float | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(value, UTC)


# Forward migrations, applied in order; the store's version is the count applied.
# Never edit a shipped migration: append a new one.
def run_script(db: sqlite_utils.Database, script: str) -> None:
    """Run SQL statements one by one inside the caller's transaction (executescript would
    commit it first)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            db.execute(pending)
            pending = ""
    if pending.strip():
        raise StoreError(f"incomplete SQL statement in migration: {pending.strip()[:60]}")


def _m1_initial(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        f"""
        CREATE TABLE customers (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            emails TEXT NOT NULL DEFAULT '[]',
            domains TEXT NOT NULL DEFAULT '[]'
        );
        CREATE TABLE sites (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            url TEXT NOT NULL,
            customer TEXT,
            server TEXT,
            impact TEXT NOT NULL DEFAULT 'medium',
            wordpress INTEGER
        );
        CREATE TABLE tickets (
            id INTEGER PRIMARY KEY,
            case_number TEXT NOT NULL UNIQUE,
            source TEXT NOT NULL,
            subject TEXT NOT NULL,
            category TEXT,
            failure_class TEXT,
            site TEXT,
            customer TEXT,
            requester TEXT,
            priority TEXT NOT NULL,
            impact TEXT NOT NULL,
            status TEXT NOT NULL,
            assignee TEXT,
            opened_at REAL NOT NULL,
            sla_target_at REAL,
            sla_limit_at REAL,
            first_response_at REAL,
            first_response_seconds REAL,
            sla_outcome TEXT,
            paused_at REAL,
            paused_seconds REAL NOT NULL DEFAULT 0,
            resolved_at REAL,
            billable INTEGER NOT NULL DEFAULT 0,
            dedupe_key TEXT,
            parent_id INTEGER REFERENCES tickets(id),
            evidence TEXT NOT NULL DEFAULT '{{}}',
            touched_by_agent INTEGER NOT NULL DEFAULT 0,
            version INTEGER NOT NULL DEFAULT 1,
            updated_at REAL NOT NULL
        );
        -- The queue: open tickets by urgency (time left to the SLA limit).
        CREATE INDEX ix_tickets_queue ON tickets(sla_limit_at)
            WHERE status IN {OPEN_STATUSES_SQL};
        CREATE INDEX ix_tickets_status ON tickets(status, priority, impact);
        CREATE INDEX ix_tickets_assignee ON tickets(assignee, status);
        CREATE INDEX ix_tickets_outcome ON tickets(sla_outcome, first_response_at);
        CREATE INDEX ix_tickets_limit_all ON tickets(sla_limit_at, priority, impact);
        CREATE INDEX ix_tickets_parent ON tickets(parent_id);
        -- At most one open ticket per dedupe key (site + failure family): the database
        -- itself refuses a duplicate, even from a racing or restarted prober.
        CREATE UNIQUE INDEX ux_tickets_dedupe_open ON tickets(dedupe_key)
            WHERE dedupe_key IS NOT NULL AND status IN {OPEN_STATUSES_SQL};
        CREATE TABLE ticket_events (
            id INTEGER PRIMARY KEY,
            ticket_id INTEGER NOT NULL REFERENCES tickets(id),
            at REAL NOT NULL,
            actor TEXT NOT NULL,
            kind TEXT NOT NULL,
            field TEXT,
            old TEXT,
            new TEXT,
            body TEXT
        );
        CREATE INDEX ix_events_ticket ON ticket_events(ticket_id, id);
        -- The history is append-only: the database refuses to rewrite it.
        CREATE TRIGGER ticket_events_no_update BEFORE UPDATE ON ticket_events
            BEGIN SELECT RAISE(ABORT, 'ticket_events is append-only'); END;
        CREATE TRIGGER ticket_events_no_delete BEFORE DELETE ON ticket_events
            BEGIN SELECT RAISE(ABORT, 'ticket_events is append-only'); END;
        CREATE TABLE time_entries (
            id INTEGER PRIMARY KEY,
            ticket_id INTEGER NOT NULL REFERENCES tickets(id),
            agent TEXT NOT NULL,
            at REAL NOT NULL,
            seconds REAL NOT NULL,
            note TEXT,
            billable INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX ix_time_ticket ON time_entries(ticket_id);
        -- Latest probe state per site, and the incident rules' memory between rounds.
        CREATE TABLE probe_state (
            site TEXT PRIMARY KEY,
            checked_at REAL,
            up INTEGER,
            failure_class TEXT,
            status_code INTEGER,
            elapsed_ms REAL,
            phases TEXT NOT NULL DEFAULT '{{}}',
            cert_not_after REAL,
            detail TEXT,
            in_maintenance INTEGER NOT NULL DEFAULT 0,
            rules TEXT NOT NULL DEFAULT '{{}}'
        );
        -- Monotonic probe failure counts by site and class (the exporter's counter).
        CREATE TABLE probe_failures (
            site TEXT NOT NULL,
            failure_class TEXT NOT NULL,
            count INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (site, failure_class)
        );
        CREATE TABLE probe_rounds (
            site TEXT PRIMARY KEY,
            count INTEGER NOT NULL DEFAULT 0
        );
        """,
    )


def _m2_mail_messages(db: sqlite_utils.Database) -> None:
    """Every message the desk received or sent, by Message-ID: dedupe of duplicated
    deliveries, threading of replies, and loop protection (see `intake`)."""
    run_script(
        db,
        """
        CREATE TABLE mail_messages (
            id INTEGER PRIMARY KEY,
            message_id TEXT NOT NULL UNIQUE,
            direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
            -- in: pending (being stored), opened, followup, dropped; out: ack, reply
            kind TEXT NOT NULL,
            ticket_id INTEGER REFERENCES tickets(id),
            from_addr TEXT,
            to_addr TEXT,
            subject TEXT,
            received_at REAL NOT NULL,
            size INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX ix_mail_ticket ON mail_messages(ticket_id, id);
        -- Loop protection counts acknowledgements per recipient and hour.
        CREATE INDEX ix_mail_out_to ON mail_messages(to_addr, received_at)
            WHERE direction = 'out';
        """,
    )


def _m3_counter_cells(db: sqlite_utils.Database) -> None:
    """Freeze the labels a ticket is counted under: the class it was opened with, and the
    priority x impact cell its first response was judged in. A later reclassification or
    reprioritization then never moves a count between label sets (exported counters stay
    monotonic)."""
    run_script(
        db,
        """
        ALTER TABLE tickets ADD COLUMN opened_class TEXT;
        ALTER TABLE tickets ADD COLUMN outcome_priority TEXT;
        ALTER TABLE tickets ADD COLUMN outcome_impact TEXT;
        UPDATE tickets SET opened_class = failure_class;
        UPDATE tickets SET outcome_priority = priority, outcome_impact = impact
            WHERE sla_outcome IS NOT NULL;
        """,
    )


def _m4_change_stamp(db: sqlite_utils.Database) -> None:
    """Every agent's TUI asks once a second whether anything changed (MAX(updated_at)):
    an index answers it without scanning the tickets."""
    db.execute("CREATE INDEX ix_tickets_updated ON tickets(updated_at)")


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _m1_initial,
    _m2_mail_messages,
    _m3_counter_cells,
    _m4_change_stamp,
]


class Store:
    """One SQLite file; a connection per thread, each with WAL and a busy timeout."""

    def __init__(self, path: str | Path | None = None, *, migrate: bool = True) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self._local = threading.local()
        self._create_file()
        if migrate:
            self.migrate()

    def _create_file(self) -> None:
        if str(self.path) == ":memory:":
            raise StoreError("an in-memory database cannot be shared; give a file path")
        parent = self.path.parent
        if not parent.exists():
            parent.mkdir(parents=True, mode=0o700)
        if not self.path.exists():
            # Owner-only from the first byte: tickets hold customers' names and e-mails.
            # SQLite gives the -wal and -shm files the same permissions.
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)

    @property
    def db(self) -> sqlite_utils.Database:
        """This thread's connection, opened on first use."""
        db = getattr(self._local, "db", None)
        if db is None:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(f"{self.path}: could not switch to WAL mode (got {mode})")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            db = sqlite_utils.Database(conn)
            self._local.db = db
        return db

    @contextmanager
    def write(self) -> Iterator[sqlite_utils.Database]:
        """A short write transaction that takes the write lock up front (BEGIN IMMEDIATE),
        so two writers queue on the busy timeout instead of failing on a lock upgrade."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        else:
            db.execute("COMMIT")

    def query(self, sql: str, params: tuple | dict = ()) -> list[dict]:
        return list(self.db.query(sql, params))

    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> int:
        """Apply the forward migrations this file lacks; refuse a newer schema."""
        current = self.schema_version()
        if current > len(MIGRATIONS):
            raise StoreError(
                f"{self.path}: schema version {current} is newer than this Ronda knows "
                f"({len(MIGRATIONS)}); upgrade Ronda"
            )
        if current == len(MIGRATIONS):
            return current
        with self.write() as db:
            # Re-read under the lock: another process may have migrated meanwhile.
            current = db.execute("PRAGMA user_version").fetchone()[0]
            for number, step in enumerate(MIGRATIONS[current:], start=current + 1):
                step(db)
                db.execute(f"PRAGMA user_version = {int(number)}")
        return self.schema_version()

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.conn.close()
            self._local.db = None
