"""The schema: forward migrations, applied in order; the store's version is the count applied.

Never edit a shipped migration: append a new one.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

from ronda.model import OPEN_STATUSES
from ronda.store.schema_queue import m13_queue_order_and_search
from ronda.store.schema_script import run_script
from ronda.store.schema_sites import (
    m10_wordpress_health,
    m11_site_history,
    m16_check_subjects,
    m17_domain_state,
)

# The open statuses as an SQL list, from the enum: every "is it still open" test uses this
# one text. SQLite uses a partial index only for a query whose WHERE repeats the index's, so
# it must stay the text the first migration froze in its indexes (a test holds them equal).
OPEN_STATUSES_SQL = "(" + ",".join(f"'{s}'" for s in sorted(OPEN_STATUSES)) + ")"
_M1_OPEN_STATUSES = "('new','open','pending_customer','reopened')"


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


def _m5_totals(db: sqlite_utils.Database) -> None:
    """All-time totals kept by the writes that change them, so reading them costs the same
    whatever the size of the history (the exporter's counters), and a log of which tickets
    changed (the exporter's compliance windows re-read only those).

    Each total is what a count over `tickets` gives, under the labels a ticket is counted
    under (see migration 3): `totals_opened` by source and opening class ('' for none),
    `totals_first_responses` by the judged cell and outcome, `totals_response_times` by the
    judged priority and bucket (index i holds seconds <= RESPONSE_TIME_BOUNDS[i]; the last
    index, past every bound), with the time summed in whole microseconds so that adding and
    taking away stay exact. Triggers run in the writer's transaction: any write path (the
    desk, a bulk load, a hand-made UPDATE or DELETE) keeps them right. `ticket_changes` holds
    each ticket's latest change number (`seq`), bumped by any write to a column that decides
    its first-response compliance."""
    answered = "{r}.sla_outcome IN ('met', 'missed')"
    whens = " ".join(
        f"WHEN {{r}}.first_response_seconds <= {b!r} THEN {i}"
        for i, b in enumerate(RESPONSE_TIME_BOUNDS)
    )
    bucket = f"CASE {whens} ELSE {len(RESPONSE_TIME_BOUNDS)} END"
    micros = "CAST(ROUND({r}.first_response_seconds * 1000000) AS INTEGER)"

    def opened(r: str, sign: int) -> str:
        return (
            "INSERT INTO totals_opened (source, failure_class, count) "
            f"VALUES ({r}.source, COALESCE({r}.opened_class, {r}.failure_class, ''), {sign}) "
            "ON CONFLICT (source, failure_class) DO UPDATE SET count = count + excluded.count;"
        )

    def responses(r: str, sign: int) -> str:
        return (
            "INSERT INTO totals_first_responses (priority, impact, outcome, count) "
            f"SELECT COALESCE({r}.outcome_priority, {r}.priority), "
            f"COALESCE({r}.outcome_impact, {r}.impact), {r}.sla_outcome, {sign} "
            f"WHERE {answered.format(r=r)} "
            "ON CONFLICT (priority, impact, outcome) DO UPDATE SET count = count + excluded.count;"
        )

    def times(r: str, sign: int) -> str:
        return (
            "INSERT INTO totals_response_times (priority, bucket, count, microseconds) "
            f"SELECT COALESCE({r}.outcome_priority, {r}.priority), {bucket.format(r=r)}, "
            f"{sign}, {sign} * {micros.format(r=r)} "
            f"WHERE {answered.format(r=r)} AND {r}.first_response_seconds IS NOT NULL "
            "ON CONFLICT (priority, bucket) DO UPDATE SET count = count + excluded.count, "
            "microseconds = microseconds + excluded.microseconds;"
        )

    def changed(r: str) -> str:
        return (
            "INSERT INTO ticket_changes (ticket_id, seq) "
            f"SELECT {r}.id, COALESCE(MAX(seq), 0) + 1 FROM ticket_changes WHERE true "
            "ON CONFLICT (ticket_id) DO UPDATE SET seq = excluded.seq;"
        )

    # The key each total counts a row under, to skip updates that move nothing.
    opened_key = "({r}.source, COALESCE({r}.opened_class, {r}.failure_class, ''))"
    responses_key = (
        "({r}.sla_outcome, COALESCE({r}.outcome_priority, {r}.priority), "
        "COALESCE({r}.outcome_impact, {r}.impact))"
    )
    times_key = (
        "({r}.sla_outcome, COALESCE({r}.outcome_priority, {r}.priority), "
        "{r}.first_response_seconds)"
    )

    def moved(key: str) -> str:
        return f"{key.format(r='OLD')} IS NOT {key.format(r='NEW')}"

    run_script(
        db,
        f"""
        CREATE TABLE totals_opened (
            source TEXT NOT NULL,
            failure_class TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (source, failure_class)
        ) WITHOUT ROWID;
        CREATE TABLE totals_first_responses (
            priority TEXT NOT NULL,
            impact TEXT NOT NULL,
            outcome TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (priority, impact, outcome)
        ) WITHOUT ROWID;
        CREATE TABLE totals_response_times (
            priority TEXT NOT NULL,
            bucket INTEGER NOT NULL,
            count INTEGER NOT NULL,
            microseconds INTEGER NOT NULL,
            PRIMARY KEY (priority, bucket)
        ) WITHOUT ROWID;
        CREATE TABLE ticket_changes (
            ticket_id INTEGER PRIMARY KEY,
            seq INTEGER NOT NULL
        );
        CREATE INDEX ix_ticket_changes_seq ON ticket_changes(seq);
        -- Compliance windows read the tickets answered in the last 30 days through this (and
        -- those whose limit is that recent through ix_tickets_limit_all).
        CREATE INDEX ix_tickets_first_response ON tickets(first_response_at);
        -- The open queue counted by cell, status, SLA state and customer from the index
        -- alone: a few pages, instead of a page of the table per open ticket.
        CREATE INDEX ix_tickets_open_queue ON tickets(status, priority, impact, customer,
            sla_outcome, first_response_at, paused_at, sla_limit_at, sla_target_at, opened_at)
            WHERE status IN {_M1_OPEN_STATUSES};

        INSERT INTO totals_opened (source, failure_class, count)
            SELECT source, COALESCE(opened_class, failure_class, ''), COUNT(*)
            FROM tickets GROUP BY 1, 2;
        INSERT INTO totals_first_responses (priority, impact, outcome, count)
            SELECT COALESCE(outcome_priority, priority), COALESCE(outcome_impact, impact),
                sla_outcome, COUNT(*)
            FROM tickets WHERE {answered.format(r="tickets")} GROUP BY 1, 2, 3;
        INSERT INTO totals_response_times (priority, bucket, count, microseconds)
            SELECT COALESCE(outcome_priority, priority), {bucket.format(r="tickets")},
                COUNT(*), SUM({micros.format(r="tickets")})
            FROM tickets
            WHERE {answered.format(r="tickets")} AND first_response_seconds IS NOT NULL
            GROUP BY 1, 2;

        CREATE TRIGGER totals_ticket_insert AFTER INSERT ON tickets BEGIN
            {opened("NEW", 1)}
            {responses("NEW", 1)}
            {times("NEW", 1)}
            {changed("NEW")}
        END;
        CREATE TRIGGER totals_ticket_delete AFTER DELETE ON tickets BEGIN
            {opened("OLD", -1)}
            {responses("OLD", -1)}
            {times("OLD", -1)}
            {changed("OLD")}
        END;
        CREATE TRIGGER totals_opened_update
            AFTER UPDATE OF source, opened_class, failure_class ON tickets
            WHEN {moved(opened_key)} BEGIN
            {opened("OLD", -1)}
            {opened("NEW", 1)}
        END;
        CREATE TRIGGER totals_first_responses_update
            AFTER UPDATE OF sla_outcome, priority, impact, outcome_priority, outcome_impact
            ON tickets WHEN {moved(responses_key)} BEGIN
            {responses("OLD", -1)}
            {responses("NEW", 1)}
        END;
        CREATE TRIGGER totals_response_times_update
            AFTER UPDATE OF sla_outcome, priority, outcome_priority, first_response_seconds
            ON tickets WHEN {moved(times_key)} BEGIN
            {times("OLD", -1)}
            {times("NEW", 1)}
        END;
        CREATE TRIGGER ticket_changes_update
            AFTER UPDATE OF priority, impact, outcome_priority, outcome_impact, customer,
                sla_limit_at, first_response_at, sla_outcome, status, paused_at
            ON tickets BEGIN
            {changed("NEW")}
        END;
        """,
    )


def _m6_mail_limits(db: sqlite_utils.Database) -> None:
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


# What retention writes in place of a customer's mail body (migration 7 lets the database
# accept exactly this text, nothing else, over an event's body).
PRUNED_MAIL_BODY = "(mail body removed by [retention]: the case was resolved long ago)"


def _m7_retention(db: sqlite_utils.Database) -> None:
    """The history stays append-only, with the two exceptions retention needs on a case
    that is resolved or closed: a customer's mail body (the intake's `opened`,
    `email_received` and `email_flood` events) may be replaced by `PRUNED_MAIL_BODY`, every
    other column unchanged; and the probe's `recurrence` notes may be deleted. Anything
    else is refused as before, also from a hand-made statement."""
    closed = "(SELECT status FROM tickets WHERE id = OLD.ticket_id) IN ('resolved', 'closed')"
    same = " AND ".join(
        f"NEW.{c} IS OLD.{c}"
        for c in ("id", "ticket_id", "at", "actor", "kind", "field", "old", "new")
    )
    run_script(
        db,
        f"""
        DROP TRIGGER ticket_events_no_update;
        DROP TRIGGER ticket_events_no_delete;
        CREATE TRIGGER ticket_events_no_update BEFORE UPDATE ON ticket_events
            WHEN NOT (OLD.actor = 'mail' AND OLD.kind IN ('opened', 'email_received', 'email_flood')
                AND NEW.body IS '{PRUNED_MAIL_BODY}' AND {same} AND {closed})
            BEGIN SELECT RAISE(ABORT, 'ticket_events is append-only'); END;
        CREATE TRIGGER ticket_events_no_delete BEFORE DELETE ON ticket_events
            WHEN NOT (OLD.actor = 'probe' AND OLD.kind = 'recurrence' AND {closed})
            BEGIN SELECT RAISE(ABORT, 'ticket_events is append-only'); END;
        """,
    )


def _m8_outbox(db: sqlite_utils.Database) -> None:
    """Every message the desk sends waits in `outbox` until a sender delivers it: written in
    the transaction of the ticket change that caused it, so a change is never stored without
    its message nor a message without its change. `key` names the message once (an
    acknowledgement per case, a notice per case and step, ...): a second enqueue of the same
    message is ignored. `state` is queued (`due_at`: the next attempt), sending (`due_at`: when
    the sender's lease on it ends, `owner`: which process holds it), sent or failed
    (`last_error`: the relay's or channel's answer). `totals_outbox` counts messages by kind
    and state, kept by triggers as migration 5's totals are (never decremented for sent or
    failed, so they serve as counters). `reach_steps` remembers which notice or notification
    step each ticket has had, so none is repeated after a restart."""
    run_script(
        db,
        """
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            ticket_id INTEGER REFERENCES tickets(id),
            -- ack, reply, notice (to a customer), notification (to an agent)
            kind TEXT NOT NULL,
            channel TEXT NOT NULL CHECK (channel IN ('mail', 'apprise')),
            -- mail: the address; apprise: the agent's name
            recipient TEXT NOT NULL,
            -- apprise: which of the agent's URLs (scheme and a digest; never the URL)
            target TEXT,
            envelope_from TEXT,
            subject TEXT NOT NULL DEFAULT '',
            -- mail: the whole message as it is sent; apprise: the text
            body BLOB NOT NULL,
            message_id TEXT,
            state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            due_at REAL NOT NULL,
            owner TEXT,
            sent_at REAL,
            last_error TEXT
        );
        CREATE INDEX ix_outbox_due ON outbox(channel, due_at)
            WHERE state IN ('queued', 'sending');
        CREATE INDEX ix_outbox_ticket ON outbox(ticket_id, id);
        -- Rate limits count an agent's notifications per channel in a window.
        CREATE INDEX ix_outbox_route ON outbox(recipient, target, created_at)
            WHERE kind = 'notification';
        CREATE TABLE totals_outbox (
            kind TEXT NOT NULL,
            state TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (kind, state)
        ) WITHOUT ROWID;
        CREATE TRIGGER totals_outbox_insert AFTER INSERT ON outbox BEGIN
            INSERT INTO totals_outbox (kind, state, count) VALUES (NEW.kind, NEW.state, 1)
                ON CONFLICT (kind, state) DO UPDATE SET count = count + 1;
        END;
        CREATE TRIGGER totals_outbox_update AFTER UPDATE OF state ON outbox
            WHEN OLD.state IS NOT NEW.state BEGIN
            UPDATE totals_outbox SET count = count - 1
                WHERE kind = OLD.kind AND state = OLD.state
                AND OLD.state IN ('queued', 'sending');
            INSERT INTO totals_outbox (kind, state, count) VALUES (NEW.kind, NEW.state, 1)
                ON CONFLICT (kind, state) DO UPDATE SET count = count + 1;
        END;
        CREATE TABLE reach_steps (
            ticket_id INTEGER NOT NULL REFERENCES tickets(id),
            step TEXT NOT NULL,
            at REAL NOT NULL,
            PRIMARY KEY (ticket_id, step)
        ) WITHOUT ROWID;
        -- Recovery notices look for probe cases resolved a while ago.
        CREATE INDEX ix_tickets_resolved_probe ON tickets(resolved_at) WHERE source = 'probe';
        """,
    )


def _m9_next_responses(db: sqlite_utils.Database) -> None:
    """The next-reply clock: when the customer writes again after the first response, a
    reply is due within the cell's times. The ticket's row keeps the clock that runs (when
    the customer wrote, and the deadlines) so the queue sorts and counts it in SQL;
    `next_responses` keeps every such clock, owed or judged, for the metrics, with at most
    one owed per ticket. `totals_next_responses` counts the judged ones by cell and outcome
    (kept by triggers, like migration 5's totals), and `seq` numbers each row's latest
    change to a column that decides its compliance (the exporter re-reads only those).

    The open queue's covering index gains the reply columns the SLA state reads."""
    judged = "{r}.outcome IN ('met', 'missed')"

    def count(r: str, sign: int) -> str:
        return (
            "INSERT INTO totals_next_responses (priority, impact, outcome, count) "
            f"SELECT {r}.priority, {r}.impact, {r}.outcome, {sign} WHERE {judged.format(r=r)} "
            "ON CONFLICT (priority, impact, outcome) DO UPDATE SET count = count + excluded.count;"
        )

    bump = (
        "UPDATE next_responses SET seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM next_responses) "
        "WHERE id = NEW.id;"
    )
    key = "({r}.outcome, {r}.priority, {r}.impact)"
    run_script(
        db,
        f"""
        ALTER TABLE tickets ADD COLUMN reply_due_at REAL;
        ALTER TABLE tickets ADD COLUMN reply_target_at REAL;
        ALTER TABLE tickets ADD COLUMN reply_limit_at REAL;
        DROP INDEX ix_tickets_open_queue;
        CREATE INDEX ix_tickets_open_queue ON tickets(status, priority, impact, customer,
            sla_outcome, first_response_at, paused_at, sla_limit_at, sla_target_at, opened_at,
            reply_due_at, reply_limit_at, reply_target_at)
            WHERE status IN {_M1_OPEN_STATUSES};

        CREATE TABLE next_responses (
            id INTEGER PRIMARY KEY,
            ticket_id INTEGER NOT NULL REFERENCES tickets(id),
            -- The cell it is judged in (the ticket's, until it is judged) and the customer.
            priority TEXT NOT NULL,
            impact TEXT NOT NULL,
            customer TEXT,
            due_at REAL NOT NULL,  -- the customer's message that started the clock
            target_at REAL NOT NULL,
            limit_at REAL NOT NULL,
            paused_at REAL,  -- waiting on the customer: the clock is stopped, nothing owed
            answered_at REAL,
            outcome TEXT CHECK (outcome IN ('met', 'missed', 'not_due')),
            business_seconds REAL,
            seq INTEGER NOT NULL DEFAULT 0
        );
        CREATE UNIQUE INDEX ux_next_responses_owed ON next_responses(ticket_id)
            WHERE outcome IS NULL;
        CREATE INDEX ix_next_responses_ticket ON next_responses(ticket_id, id);
        CREATE INDEX ix_next_responses_limit ON next_responses(limit_at);
        CREATE INDEX ix_next_responses_answered ON next_responses(answered_at);
        CREATE INDEX ix_next_responses_seq ON next_responses(seq);
        CREATE TABLE totals_next_responses (
            priority TEXT NOT NULL,
            impact TEXT NOT NULL,
            outcome TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (priority, impact, outcome)
        ) WITHOUT ROWID;

        CREATE TRIGGER next_responses_insert AFTER INSERT ON next_responses BEGIN
            {count("NEW", 1)}
            {bump}
        END;
        CREATE TRIGGER next_responses_delete AFTER DELETE ON next_responses BEGIN
            {count("OLD", -1)}
        END;
        CREATE TRIGGER next_responses_totals_update
            AFTER UPDATE OF outcome, priority, impact ON next_responses
            WHEN {key.format(r="OLD")} IS NOT {key.format(r="NEW")} BEGIN
            {count("OLD", -1)}
            {count("NEW", 1)}
        END;
        CREATE TRIGGER next_responses_seq_update
            AFTER UPDATE OF priority, impact, customer, limit_at, paused_at, answered_at, outcome
            ON next_responses BEGIN
            {bump}
        END;
        """,
    )


def _m14_related_tickets(db: sqlite_utils.Database) -> None:
    """The ticket screen lists the customer's other tickets and the site's history, newest
    first: indexes so that stays a short walk at a million tickets."""
    run_script(
        db,
        """
        CREATE INDEX ix_tickets_customer_opened ON tickets(customer, opened_at)
            WHERE customer IS NOT NULL;
        CREATE INDEX ix_tickets_site_opened ON tickets(site, opened_at) WHERE site IS NOT NULL;
        """,
    )


def _m12_time_entries_by_instant(db: sqlite_utils.Database) -> None:
    """Time entries by when they were logged: invoicing and the monthly reports read one
    month of them (`ronda report hours`)."""
    run_script(db, "CREATE INDEX ix_time_at ON time_entries(at);")


def _m15_drafts(db: sqlite_utils.Database) -> None:
    """Agents' unsent replies and notes, per case and agent (`ronda.store.drafts`)."""
    run_script(
        db,
        """
        CREATE TABLE drafts (
            ticket_id INTEGER NOT NULL REFERENCES tickets(id),
            agent TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('reply', 'note')),
            body TEXT NOT NULL,
            why TEXT,  -- why the desk refused it, when it did
            updated_at REAL NOT NULL,
            PRIMARY KEY (ticket_id, agent, kind)
        ) WITHOUT ROWID;
        CREATE INDEX ix_drafts_agent ON drafts(agent, updated_at);
        """,
    )


# First-response time buckets of migration 5 (upper bounds, seconds): every target and limit
# of the default matrix is a bound, so "answered within the limit" reads off one bucket.
# Frozen with the migration: other bounds would need a new one that recounts.
RESPONSE_TIME_BOUNDS: tuple[float, ...] = (
    300.0,  # 5 min: high/high target
    900.0,  # 15 min: high/high limit
    1800.0,  # 30 min: high/medium target
    3600.0,  # 1 h: high/medium limit
    10800.0,  # 3 h: high/low target
    14400.0,  # 4 h: high/low limit, medium/high target
    21600.0,  # 6 h
    28800.0,  # 8 h
    43200.0,  # 12 h
    86400.0,  # 24 h
    129600.0,  # 36 h
    172800.0,  # 48 h: low/low limit
    259200.0,  # 72 h
    604800.0,  # one week
)


Migration = Callable[[sqlite_utils.Database], None]
MIGRATIONS: tuple[Migration, ...] = (
    _m1_initial,
    _m2_mail_messages,
    _m3_counter_cells,
    _m4_change_stamp,
    _m5_totals,
    _m6_mail_limits,
    _m7_retention,
    _m8_outbox,
    _m9_next_responses,
    m10_wordpress_health,
    m11_site_history,
    _m12_time_entries_by_instant,
    m13_queue_order_and_search,
    _m14_related_tickets,
    _m15_drafts,
    m16_check_subjects,
    m17_domain_state,
)
