"""What the exporter reads: the open queue, the all-time totals, the tickets its compliance
windows need, and the sites' probe state, through a read-only connection of its own.

`MetricsReader` owns that connection (opened on first use, never creating a file) and names
each read in the desk's words. Reads meant to agree with each other run inside one
`snapshot()`. Errors are `sqlite3.Error` (a locked, missing or damaged file): the caller
decides what a failed read means.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from ronda.model import PROBER_BLIND_KEY
from ronda.sla import clock_sql, sla_state_sql
from ronda.store.db import BUSY_TIMEOUT_MS
from ronda.store.schema import OPEN_STATUSES_SQL, RESPONSE_TIME_BOUNDS

__all__ = [
    "RESPONSE_TIME_BOUNDS",
    "Candidate",
    "MetricsReader",
    "QueueCount",
    "QueueEnds",
    "SiteRow",
    "WordPressRow",
]

# Bound parameters per `IN (...)` list: well under SQLite's limit.
_PER_QUERY = 500


class QueueCount(NamedTuple):
    """Open tickets of one (priority, impact, status, SLA state, stored customer, clock that
    decides the state)."""

    priority: str
    impact: str
    status: str
    sla_state: str
    customer: str | None
    clock: str
    count: int


class QueueEnds(NamedTuple):
    """The open tickets of one priority: when the oldest was opened, and the nearest limit
    among those still counting down (unanswered, not paused)."""

    priority: str
    oldest_opened_at: float | None
    next_limit_at: float | None


class Candidate(NamedTuple):
    """A ticket that is or will be due in a compliance window, in the cell its first response
    was judged in (or is judged in, while unanswered)."""

    ticket_id: int
    priority: str
    impact: str
    customer: str | None
    limit_at: float | None
    answered_at: float | None
    outcome: str | None  # met | missed | None (unanswered)


class SiteRow(NamedTuple):
    """A configured site with its latest probe state and rounds (None: never probed)."""

    name: str
    customer: str | None
    server: str | None
    impact: str | None
    checked_at: float | None
    up: int | None
    status_code: int | None
    elapsed_ms: float | None
    cert_not_after: float | None
    in_maintenance: int | None
    phases: str | None  # JSON object: phase -> seconds
    rounds: int | None


# The SLA state of each open ticket (counted in Python: a GROUP BY over thousands of open
# tickets sorts them, which costs twice the query), read from a covering index.
_OPEN_STATES_SQL = f"""
SELECT priority, impact, status, {sla_state_sql(":now")}, customer, {clock_sql()}
FROM tickets WHERE status IN {OPEN_STATUSES_SQL}
"""
_OPEN_ENDS_SQL = f"""
SELECT priority, MIN(opened_at),
    MIN(CASE WHEN first_response_at IS NULL AND paused_at IS NULL THEN sla_limit_at END)
FROM tickets WHERE status IN {OPEN_STATUSES_SQL}
GROUP BY priority
"""

# Due now or later in a window reaching back to :cut: the limit or the answer is not older
# than :cut (or still ahead), and someone owes (or gave) the answer: judged met or missed,
# or not judged, open and not paused (a probe that resolved its own ticket in time owed none,
# and stays not due when the customer reopens it). Two index ranges (the limit,
# the answer), the second without the rows of the first; a unary + keeps the planner off the
# indexes of the other columns, which would read most of the history.
_CANDIDATE_COLUMNS = """id, COALESCE(outcome_priority, priority), COALESCE(outcome_impact, impact),
    customer, sla_limit_at, first_response_at, sla_outcome"""
_OWED = f"""(+sla_outcome IN ('met', 'missed')
    OR (+sla_outcome IS NULL AND +status IN {OPEN_STATUSES_SQL} AND +paused_at IS NULL))"""
_CANDIDATES_SQL = f"""
SELECT {_CANDIDATE_COLUMNS} FROM tickets WHERE sla_limit_at >= :cut AND {_OWED}
UNION ALL
SELECT {_CANDIDATE_COLUMNS} FROM tickets
WHERE first_response_at >= :cut AND (+sla_limit_at IS NULL OR +sla_limit_at < :cut) AND {_OWED}
"""
_CANDIDATES_OF_SQL = f"""
SELECT {_CANDIDATE_COLUMNS} FROM tickets
WHERE id IN ({{marks}}) AND (+sla_limit_at >= ? OR +first_response_at >= ?) AND {_OWED}
"""

# The same for next replies: each clock is a row of next_responses (owed ones are not due
# while paused; a ticket is never resolved with one owed: resolving judges it).
_NEXT_COLUMNS = "id, priority, impact, customer, limit_at, answered_at, outcome"
_NEXT_OWED = "(+outcome IN ('met', 'missed') OR (+outcome IS NULL AND +paused_at IS NULL))"
_NEXT_CANDIDATES_SQL = f"""
SELECT {_NEXT_COLUMNS} FROM next_responses WHERE limit_at >= :cut AND {_NEXT_OWED}
UNION ALL
SELECT {_NEXT_COLUMNS} FROM next_responses
WHERE answered_at >= :cut AND +limit_at < :cut AND {_NEXT_OWED}
"""
_NEXT_CANDIDATES_OF_SQL = f"""
SELECT {_NEXT_COLUMNS} FROM next_responses
WHERE id IN ({{marks}}) AND (+limit_at >= ? OR +answered_at >= ?) AND {_NEXT_OWED}
"""

_SITES_SQL = """
SELECT s.name, s.customer, s.server, s.impact, p.checked_at, p.up, p.status_code,
    p.elapsed_ms, p.cert_not_after, p.in_maintenance, p.phases, r.count
FROM sites s
LEFT JOIN probe_state p ON p.site = s.name
LEFT JOIN probe_rounds r ON r.site = s.name
ORDER BY s.name
"""
_SERVICES_SQL = """
SELECT c.server, c.label, p.up, p.cert_not_after, p.in_maintenance
FROM check_subjects c JOIN probe_state p ON p.site = c.name
WHERE c.kind = 'service' AND p.checked_at IS NOT NULL
ORDER BY c.server, c.label
"""
_FAILURES_SQL = "SELECT site, failure_class, count FROM probe_failures ORDER BY site, failure_class"
_FAILURES_OF_SQL = (
    "SELECT site, failure_class, count FROM probe_failures WHERE site IN ({marks}) "
    "ORDER BY site, failure_class"
)


class WordPressRow(NamedTuple):
    """A configured site's last WordPress-health round (checks and failing: JSON lists)."""

    site: str
    checked_at: float
    core_version: str | None
    core_latest: str | None
    core_outdated: int | None
    php_version: str | None
    php_eol_at: float | None
    checks: str
    failing: str


_WORDPRESS_SQL = """
SELECT w.site, w.checked_at, w.core_version, w.core_latest, w.core_outdated, w.php_version,
    w.php_eol_at, w.checks, w.failing
FROM wordpress_health w JOIN sites s ON s.name = w.site
ORDER BY w.site
"""


_BLOCKED_SQL = """
SELECT p.site FROM probe_state p JOIN sites s ON s.name = p.site
WHERE p.failure_class = 'blocked' ORDER BY p.site
"""


class MetricsReader:
    """The exporter's read-only view of one database file.

    Not thread-safe by itself: the caller serializes its reads (the connection may be used
    from whichever thread holds the caller's lock).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(
                f"file:{self.path}?mode=rw",  # never create a file that is not there
                uri=True,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            try:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                conn.execute("PRAGMA query_only = ON")  # a reader never writes
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    @contextmanager
    def snapshot(self) -> Iterator[MetricsReader]:
        """Every read inside sees the same committed state of the file."""
        conn = self._connection()
        conn.execute("BEGIN")
        try:
            yield self
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def close(self) -> None:
        """Drop the connection (the next read opens a new one)."""
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def _rows(self, sql: str, params: Sequence | dict = ()) -> list[tuple]:
        return self._connection().execute(sql, params).fetchall()

    # ---- the open queue -------------------------------------------------------------

    def customer_names(self) -> frozenset[str]:
        """The configured customers' names (synced from the config)."""
        return frozenset(name for (name,) in self._rows("SELECT name FROM customers"))

    def customers_with_sites(self) -> frozenset[str]:
        """The stored customer names the configured sites belong to."""
        rows = self._rows("SELECT DISTINCT customer FROM sites WHERE customer IS NOT NULL")
        return frozenset(name for (name,) in rows)

    def open_queue_counts(self, now: float) -> list[QueueCount]:
        """Open tickets counted by cell, status, SLA state at `now` (`ronda.sla`'s rule)
        and stored customer."""
        counts = Counter(self._connection().execute(_OPEN_STATES_SQL, {"now": now}))
        return [QueueCount(*key, n) for key, n in counts.items()]

    def open_queue_ends(self) -> list[QueueEnds]:
        """Per priority with open tickets: the oldest opening and the nearest running limit."""
        return [QueueEnds(*row) for row in self._rows(_OPEN_ENDS_SQL)]

    # ---- all-time totals (kept by triggers; see migration 5) ---------------------------

    def outcome_totals(self) -> list[tuple[str, str, str, int]]:
        """(priority, impact, outcome, count): first responses by the cell they were judged
        in and their outcome (met, missed)."""
        return self._rows("SELECT priority, impact, outcome, count FROM totals_first_responses")

    def response_time_totals(self) -> list[tuple[str, int, int, int]]:
        """(priority, bucket, count, microseconds): timed first responses by judged priority
        and bucket (bucket i: seconds <= RESPONSE_TIME_BOUNDS[i]; the last: past them all),
        with their summed time."""
        return self._rows("SELECT priority, bucket, count, microseconds FROM totals_response_times")

    def next_response_totals(self) -> list[tuple[str, str, str, int]]:
        """(priority, impact, outcome, count): judged next replies by the cell they were
        judged in and their outcome (met, missed)."""
        return self._rows("SELECT priority, impact, outcome, count FROM totals_next_responses")

    def opened_totals(self) -> list[tuple[str, str, int]]:
        """(source, failure class or '', count): tickets by source and opening class."""
        return self._rows("SELECT source, failure_class, count FROM totals_opened")

    def outbox_totals(self) -> list[tuple[str, str, int]]:
        """(kind, state, count): messages of the outbox by kind and state (kept by the
        triggers of migration 8; sent and failed only ever grow)."""
        return self._rows("SELECT kind, state, count FROM totals_outbox")

    # ---- compliance candidates ---------------------------------------------------------

    def ticket_change_mark(self) -> int:
        """The latest ticket change number: it moves with every write to a column that
        decides a ticket's compliance (and with every ticket added or deleted)."""
        return self._rows("SELECT COALESCE(MAX(seq), 0) FROM ticket_changes")[0][0]

    def changed_tickets(self, after: int, upto: int) -> list[int]:
        """Ids of the tickets whose latest change number is in (after, upto]."""
        rows = self._rows(
            "SELECT ticket_id FROM ticket_changes WHERE seq > ? AND seq <= ?", (after, upto)
        )
        return [ticket_id for (ticket_id,) in rows]

    def compliance_candidates(self, cut: float) -> list[Candidate]:
        """Every ticket due in some window reaching back to `cut`, now or later."""
        return [Candidate(*row) for row in self._rows(_CANDIDATES_SQL, {"cut": cut})]

    def compliance_candidates_of(self, ticket_ids: Sequence[int], cut: float) -> list[Candidate]:
        """The same, among these tickets only (those not returned are no candidates)."""
        out: list[Candidate] = []
        for start in range(0, len(ticket_ids), _PER_QUERY):
            batch = list(ticket_ids[start : start + _PER_QUERY])
            sql = _CANDIDATES_OF_SQL.format(marks=",".join("?" * len(batch)))
            out.extend(Candidate(*row) for row in self._rows(sql, (*batch, cut, cut)))
        return out

    # ---- the desk's own eyes -----------------------------------------------------------

    def prober_blind(self) -> bool:
        """The latest desk incident (`prober_blind`) says the desk cannot see right now."""
        rows = self._rows(
            "SELECT json_extract(evidence, '$.blind') FROM tickets WHERE dedupe_key = ? "
            "ORDER BY id DESC LIMIT 1",
            (PROBER_BLIND_KEY,),
        )
        return bool(rows and rows[0][0] == 1)

    # ---- next-reply candidates (the same, over next_responses) ------------------------

    def next_response_change_mark(self) -> int:
        """The latest change number of the next-reply clocks (see migration 9)."""
        return self._rows("SELECT COALESCE(MAX(seq), 0) FROM next_responses")[0][0]

    def changed_next_responses(self, after: int, upto: int) -> list[int]:
        """Ids of the next-reply clocks whose latest change number is in (after, upto]."""
        rows = self._rows("SELECT id FROM next_responses WHERE seq > ? AND seq <= ?", (after, upto))
        return [row_id for (row_id,) in rows]

    def next_response_candidates(self, cut: float) -> list[Candidate]:
        """Every next-reply clock due in some window reaching back to `cut`, now or later
        (`Candidate.ticket_id` holds the clock's id)."""
        return [Candidate(*row) for row in self._rows(_NEXT_CANDIDATES_SQL, {"cut": cut})]

    def next_response_candidates_of(self, ids: Sequence[int], cut: float) -> list[Candidate]:
        """The same, among these clocks only."""
        out: list[Candidate] = []
        for start in range(0, len(ids), _PER_QUERY):
            batch = list(ids[start : start + _PER_QUERY])
            sql = _NEXT_CANDIDATES_OF_SQL.format(marks=",".join("?" * len(batch)))
            out.extend(Candidate(*row) for row in self._rows(sql, (*batch, cut, cut)))
        return out

    # ---- sites ------------------------------------------------------------------------

    def domain_rows(self) -> list[tuple[str, str | None, float | None, str]]:
        """(domain, customer, registration expiry or None, DNS checks as JSON) by domain."""
        return self._rows(
            "SELECT domain, customer, expires_at, dns_checks FROM domain_state ORDER BY domain"
        )

    def site_rows(self) -> list[SiteRow]:
        """Every configured site in name order, with its probe state and rounds."""
        return [SiteRow(*row) for row in self._rows(_SITES_SQL)]

    def blocked_sites(self) -> list[str]:
        """Configured sites whose last probe a firewall blocked (failure class `blocked`)."""
        return [site for (site,) in self._rows(_BLOCKED_SQL)]

    def wordpress_rows(self) -> list[WordPressRow]:
        """Every configured site's last WordPress-health round, in name order (none on a
        database the desk has not migrated yet: this reader never writes)."""
        try:
            return [WordPressRow(*row) for row in self._rows(_WORDPRESS_SQL)]
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise

    def service_rows(self) -> list[tuple[str, str, bool, float | None, bool]]:
        """(server, service label, up, certificate expiry, in maintenance) of each checked
        service."""
        return [
            (server or "none", label, bool(up), cert, bool(maintenance))
            for server, label, up, cert, maintenance in self._rows(_SERVICES_SQL)
        ]

    def failure_mark(self) -> tuple[int, int]:
        """(rows, summed count) of the probe failure counts: counts only grow and rows are
        never deleted, so any change moves it."""
        row = self._rows("SELECT COUNT(*), COALESCE(SUM(count), 0) FROM probe_failures")[0]
        return row[0], row[1]

    def failure_counts(self, sites: Sequence[str] | None = None) -> list[tuple[str, str, int]]:
        """(site, failure class, count) in site and class order; of these sites, or all."""
        if sites is None:
            return self._rows(_FAILURES_SQL)
        out: list[tuple[str, str, int]] = []
        for start in range(0, len(sites), _PER_QUERY):
            batch = list(sites[start : start + _PER_QUERY])
            out.extend(self._rows(_FAILURES_OF_SQL.format(marks=",".join("?" * len(batch))), batch))
        return out
