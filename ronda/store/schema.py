"""The schema: forward migrations, applied in order; the store's version is the count applied.

Never edit a shipped migration: append a new one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import sqlite_utils

from ronda.model import OPEN_STATUSES


class SchemaError(Exception):
    """A migration that cannot run as written (a bug of Ronda's, not of the file)."""


# The open statuses as an SQL list, from the enum: every "is it still open" test uses this
# one text. SQLite uses a partial index only for a query whose WHERE repeats the index's, so
# it must stay the text the first migration froze in its indexes (a test holds them equal).
OPEN_STATUSES_SQL = "(" + ",".join(f"'{s}'" for s in sorted(OPEN_STATUSES)) + ")"
_M1_OPEN_STATUSES = "('new','open','pending_customer','reopened')"


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
        raise SchemaError(f"incomplete SQL statement in migration: {pending.strip()[:60]}")


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
            WHERE status IN {_M1_OPEN_STATUSES};
        CREATE INDEX ix_tickets_status ON tickets(status, priority, impact);
        CREATE INDEX ix_tickets_assignee ON tickets(assignee, status);
        CREATE INDEX ix_tickets_outcome ON tickets(sla_outcome, first_response_at);
        CREATE INDEX ix_tickets_limit_all ON tickets(sla_limit_at, priority, impact);
        CREATE INDEX ix_tickets_parent ON tickets(parent_id);
        -- At most one open ticket per dedupe key (site + failure family): the database
        -- itself refuses a duplicate, even from a racing or restarted prober.
        CREATE UNIQUE INDEX ux_tickets_dedupe_open ON tickets(dedupe_key)
            WHERE dedupe_key IS NOT NULL AND status IN {_M1_OPEN_STATUSES};
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


def _m5_mail_limits(db: sqlite_utils.Database) -> None:
    """Rate limits of the mail intake count new cases and acknowledgements per sender, per
    sender domain and for the whole desk in a sliding window: the peer's domain is kept with
    each message, and partial indexes hold only the rows counted, so every count reads only
    what it counts. `mail_floods` counts the messages gathered on a flood's one ticket."""
    run_script(
        db,
        """
        -- The other side's domain: the sender's of an incoming message, the recipient's of
        -- an outgoing one.
        ALTER TABLE mail_messages ADD COLUMN peer_domain TEXT;
        UPDATE mail_messages
            SET peer_domain = lower(substr(from_addr, instr(from_addr, '@') + 1))
            WHERE direction = 'in' AND instr(from_addr, '@') > 0;
        UPDATE mail_messages
            SET peer_domain = lower(substr(to_addr, instr(to_addr, '@') + 1))
            WHERE direction = 'out' AND instr(to_addr, '@') > 0;
        -- Partial: only the rows a limit counts are indexed, so storing a message or a
        -- follow-up costs no more than before. (Acks to one address: ix_mail_out_to.)
        CREATE INDEX ix_mail_opened_sender ON mail_messages(from_addr, received_at)
            WHERE kind = 'opened';
        CREATE INDEX ix_mail_opened_domain ON mail_messages(peer_domain, received_at)
            WHERE kind = 'opened';
        CREATE INDEX ix_mail_opened ON mail_messages(received_at) WHERE kind = 'opened';
        CREATE INDEX ix_mail_acks_domain ON mail_messages(peer_domain, received_at)
            WHERE kind = 'ack';
        CREATE INDEX ix_mail_acks ON mail_messages(received_at) WHERE kind = 'ack';
        CREATE TABLE mail_floods (
            ticket_id INTEGER PRIMARY KEY REFERENCES tickets(id),
            flood_key TEXT NOT NULL,
            messages INTEGER NOT NULL,
            first_at REAL NOT NULL,
            last_at REAL NOT NULL
        );
        """,
    )


Migration = Callable[[sqlite_utils.Database], None]
MIGRATIONS: tuple[Migration, ...] = (
    _m1_initial,
    _m2_mail_messages,
    _m3_counter_cells,
    _m4_change_stamp,
    _m5_mail_limits,
)
