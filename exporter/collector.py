"""SLA compliance and site health as Prometheus metrics, computed from the store at scrape time.

The metric names below are the contract with `grafana/dashboards/*.json` and
`grafana/rules.yml`.

How a scrape stays cheap at agency scale (100k tickets, 1M events, 5,000 sites):

- The open queue is one aggregate over the open tickets (open-status indexes).
- All-time counters (first-response outcomes, the first-response histogram, tickets opened)
  are totals stored in the database, so they survive restarts. They are aggregated per
  chunk of 256 ticket ids and cached; a scrape re-reads only the chunks whose tickets
  changed since the last one (found through the new rows of the append-only
  `ticket_events`, a rowid range) plus a few in turn, so that a write which bypassed the
  event log is healed within HEAL_LAP scrapes. Nothing scans every ticket or event per
  scrape; the first scrape of a process reads the history once.
- Each site's lines are cached by the row they came from: a site not probed since the last
  scrape costs a lookup, not a dozen formatted floats.
- The garbage collector waits for the end of a scrape (see `_gc_paused`).
- The 7/30-day compliance windows are counted from the same chunks' cached candidates
  (tickets whose limit or answer is at most 30 days old, or ahead).
- Sites are one join over the configured sites, their latest probe state and rounds.

Within one process a counter series is also guarded against going down (a ticket moved to
another priority after its first response moves one count between series; Prometheus would
read a decrease as a reset).

Two ways out: `RondaCollector.collect()` is a `prometheus_client` custom collector (put it
in a private `CollectorRegistry`; `describe()` is static, so registering runs no query), and
`RondaCollector.render()` writes the same families straight in the text format, which the
HTTP endpoint serves (prometheus_client's encoder takes ~3 microseconds a sample, too slow
for 5,000 sites x ~14 series in a 100 ms scrape).
"""

from __future__ import annotations

import gc
import json
import logging
import math
import re
import sqlite3
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client.core import Metric
from prometheus_client.registry import Collector, CollectorRegistry

from ronda.model import FailureClass, Impact, Priority, SlaState, Status
from ronda.store import BUSY_TIMEOUT_MS, OPEN_STATUSES_SQL, Store
from ronda.tickets import utcnow

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Compliance windows: label value -> seconds.
WINDOWS: dict[str, float] = {"7d": 7 * 86400.0, "30d": 30 * 86400.0}
LONGEST_WINDOW = max(WINDOWS.values())

# First-response histogram buckets (seconds): every target and limit of the default matrix
# is a bound, so "answered within the limit" reads exactly off one bucket.
BUCKETS: tuple[float, ...] = (
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

# Probe phases the exporter publishes (checks/http1.py measures these, in seconds). A fixed
# set keeps the label bounded whatever lands in probe_state.phases.
PHASES: tuple[str, ...] = ("dns", "connect", "tls", "first_byte", "transfer")

# Tickets per cached chunk of the history (ids [k * CHUNK, (k + 1) * CHUNK)).
CHUNK = 256
# Chunks re-read in turn per scrape, at least: a lap over the history takes at most this
# many scrapes.
HEAL_LAP = 100

NO_CUSTOMER = "none"  # a ticket or site without a customer
OTHER_CUSTOMER = "other"  # a customer name that is not in the config (keeps labels bounded)
NO_CLASS = "none"  # a ticket without a failure class (e-mail, phone, manual)
OTHER_CLASS = "other"

_FAILURE_CLASSES = frozenset(str(c) for c in FailureClass)
_OUTCOMES = ("met", "missed")


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One metric family of the contract: its exposed name, type, help and labels."""

    name: str  # as exposed (counters end in _total)
    kind: str  # gauge | counter | histogram
    help: str
    labels: tuple[str, ...] = ()

    @property
    def family(self) -> str:
        """The family name prometheus_client uses (counters without `_total`)."""
        return self.name.removesuffix("_total") if self.kind == "counter" else self.name


def _spec(name: str, kind: str, help: str, *labels: str) -> MetricSpec:
    return MetricSpec(name, kind, help, labels)


# The contract, in exposition order.
METRICS: tuple[MetricSpec, ...] = (
    _spec(
        "ronda_open_tickets",
        "gauge",
        "Open tickets (new, open, pending_customer, reopened) by priority, impact, status, "
        "SLA state of the first response (ok, warning, breached, paused, met, missed) and "
        "customer (none: no customer; other: not in the config).",
        "priority",
        "impact",
        "status",
        "sla_state",
        "customer",
    ),
    _spec(
        "ronda_first_responses_total",
        "counter",
        "First responses by SLA outcome (met: within the limit; missed: after it, or "
        "resolved by a probe past the limit unanswered), from tickets.sla_outcome.",
        "priority",
        "impact",
        "outcome",
    ),
    _spec(
        "ronda_sla_compliance_ratio",
        "gauge",
        "First responses met / due over the window ending now (due: limit fell in the "
        "window, or answered in it; unanswered and past the limit counts as missed; paused "
        "tickets are not due until they resume). 1 when nothing was due.",
        "priority",
        "impact",
        "window",
    ),
    _spec(
        "ronda_sla_first_responses_due",
        "gauge",
        "First responses due over the window ending now (the ratio's denominator).",
        "priority",
        "impact",
        "window",
    ),
    _spec(
        "ronda_sla_first_responses_met",
        "gauge",
        "First responses due over the window ending now and met (the ratio's numerator).",
        "priority",
        "impact",
        "window",
    ),
    _spec(
        "ronda_sla_customer_compliance_ratio",
        "gauge",
        "First responses met / due over the window for one customer (customers with "
        "anything due in 30 days; 1 when nothing was due in the window).",
        "customer",
        "window",
    ),
    _spec(
        "ronda_sla_customer_first_responses_due",
        "gauge",
        "First responses due over the window for one customer.",
        "customer",
        "window",
    ),
    _spec(
        "ronda_sla_customer_first_responses_met",
        "gauge",
        "First responses due over the window for one customer and met.",
        "customer",
        "window",
    ),
    _spec(
        "ronda_first_response_business_seconds",
        "histogram",
        "Time to first response in the SLA cell's calendar (business seconds; wall-clock "
        "for 24x7 cells), pauses excluded.",
        "priority",
    ),
    _spec(
        "ronda_oldest_open_ticket_age_seconds",
        "gauge",
        "Wall-clock age of the oldest open ticket (0 when none is open).",
        "priority",
    ),
    _spec(
        "ronda_most_urgent_ticket_time_left_seconds",
        "gauge",
        "Seconds to the SLA limit of the most urgent unanswered, unpaused open ticket "
        "(negative once breached; absent when there is none).",
        "priority",
    ),
    _spec(
        "ronda_tickets_opened_total",
        "counter",
        "Tickets opened, by source and failure class (none: not from a probe).",
        "source",
        "failure_class",
    ),
    _spec(
        "ronda_site_info",
        "gauge",
        "A configured site, its customer, server and impact (always 1; join on site).",
        "site",
        "customer",
        "server",
        "impact",
    ),
    _spec("ronda_site_up", "gauge", "1 if the last probe of the site succeeded, else 0.", "site"),
    _spec(
        "ronda_site_http_status_code",
        "gauge",
        "HTTP status of the last probe (0 when no response came).",
        "site",
    ),
    _spec(
        "ronda_probe_duration_seconds",
        "gauge",
        "Total duration of the last probe of the site.",
        "site",
    ),
    _spec(
        "ronda_probe_phase_duration_seconds",
        "gauge",
        "Duration of each phase of the last probe (dns, connect, tls, first_byte, transfer).",
        "site",
        "phase",
    ),
    _spec(
        "ronda_site_cert_expiry_timestamp_seconds",
        "gauge",
        "Expiry (notAfter, Unix time) of the last TLS certificate seen on the site, kept "
        "after it expires.",
        "site",
    ),
    _spec(
        "ronda_site_in_maintenance",
        "gauge",
        "1 while the site is in a planned maintenance window, else 0.",
        "site",
    ),
    _spec(
        "ronda_probe_last_check_timestamp_seconds",
        "gauge",
        "When the site was last probed (Unix time).",
        "site",
    ),
    _spec(
        "ronda_probe_failures_total",
        "counter",
        "Failed probe rounds by failure class.",
        "site",
        "failure_class",
    ),
    _spec("ronda_probe_rounds_total", "counter", "Probe rounds made of the site.", "site"),
    _spec(
        "ronda_exporter_scrape_duration_seconds",
        "gauge",
        "Time this scrape spent reading the store and building the metrics.",
    ),
    _spec(
        "ronda_exporter_scrape_errors_total",
        "counter",
        "Scrapes of this exporter process that could not read the store.",
    ),
)
SPECS: dict[str, MetricSpec] = {s.name: s for s in METRICS}
METRIC_NAMES: tuple[str, ...] = tuple(s.name for s in METRICS)

# Per-site families in the order `_site_lines` returns their lines.
_SITE_FAMILIES = (
    "ronda_site_info",
    "ronda_site_up",
    "ronda_site_http_status_code",
    "ronda_probe_duration_seconds",
    "ronda_probe_phase_duration_seconds",
    "ronda_site_cert_expiry_timestamp_seconds",
    "ronda_site_in_maintenance",
    "ronda_probe_last_check_timestamp_seconds",
    "ronda_probe_failures_total",
    "ronda_probe_rounds_total",
)
(
    _INFO_NAME,
    _UP_NAME,
    _STATUS_NAME,
    _DURATION_NAME,
    _PHASE_NAME,
    _CERT_NAME,
    _MAINTENANCE_NAME,
    _CHECKED_NAME,
    _FAILURES_NAME,
    _ROUNDS_NAME,
) = _SITE_FAMILIES

_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
_LINE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")


def _escape_label(value: str) -> str:
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return value


def _unescape_label(value: str) -> str:
    if "\\" not in value:
        return value
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def label_text(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    """`a="x",b="y"`: the labels of one sample as the text format writes them."""
    return ",".join(f'{k}="{_escape_label(v)}"' for k, v in zip(names, values, strict=True))


@dataclass(slots=True)
class Family:
    """A metric family and its samples as finished text-format lines.

    One representation for both encoders: `render_text` joins the lines, `to_metric`
    parses them back into a prometheus_client `Metric`. An entry may hold several lines
    (a site's five phases are cached as one string).
    """

    spec: MetricSpec
    lines: list[str] = field(default_factory=list)

    def add(self, values: tuple[str, ...], value: float, suffix: str = "") -> None:
        names = (*self.spec.labels, "le") if suffix == "_bucket" else self.spec.labels
        self.lines.append(sample_line(self.spec.family + suffix, label_text(names, values), value))

    def to_metric(self) -> Metric:
        """The same family as a prometheus_client `Metric`."""
        metric = Metric(self.spec.family, self.spec.help, self.spec.kind)
        for line in "".join(self.lines).splitlines():
            match = _LINE_RE.match(line)
            if match is None:
                raise ValueError(f"not a sample line: {line!r}")
            name, text, value = match.groups()
            labels = {k: _unescape_label(v) for k, v in _LABEL_RE.findall(text or "")}
            metric.add_sample(name, labels, float(value))
        return metric


def sample_line(name: str, labels: str, value: float) -> str:
    """One sample in the text format. Values are Python float reprs (`1.0`, `0.25`,
    `1e+22`, `inf`, `nan`), which Prometheus's parser (Go's ParseFloat) reads as they are."""
    value = float(value)
    return f"{name}{{{labels}}} {value!r}\n" if labels else f"{name} {value!r}\n"


class _Monotonic:
    """Keeps each counter series from going down within this process: a decrease (a ticket
    moved to another label set) is carried as an offset instead of read as a reset."""

    __slots__ = ("_last", "_offset")

    def __init__(self) -> None:
        self._last: dict[tuple, float] = {}
        self._offset: dict[tuple, float] = {}

    def __call__(self, key: tuple, raw: float) -> float:
        last = self._last.get(key)
        offset = self._offset.get(key, 0.0)
        if last is not None and raw < last:
            offset += last - raw
            self._offset[key] = offset
        self._last[key] = raw
        return raw + offset


# SLA state of an open ticket, as `SlaPolicy.state` decides it, from the stored deadlines.
_STATE_SQL = f"""CASE
    WHEN first_response_at IS NOT NULL
        THEN CASE WHEN sla_outcome = 'missed' THEN '{SlaState.MISSED}' ELSE '{SlaState.MET}' END
    WHEN paused_at IS NOT NULL THEN '{SlaState.PAUSED}'
    WHEN sla_limit_at IS NOT NULL AND :now > sla_limit_at THEN '{SlaState.BREACHED}'
    WHEN sla_target_at IS NOT NULL AND :now > sla_target_at THEN '{SlaState.WARNING}'
    ELSE '{SlaState.OK}' END"""

OPEN_QUEUE_SQL = f"""
SELECT priority, impact, status, {_STATE_SQL} AS sla_state, customer,
    COUNT(*) AS n, MIN(opened_at) AS oldest,
    MIN(CASE WHEN first_response_at IS NULL AND paused_at IS NULL THEN sla_limit_at END)
        AS next_limit
FROM tickets WHERE status IN {OPEN_STATUSES_SQL}
GROUP BY 1, 2, 3, 4, 5
"""


# One chunk of the history: one rowid-range read of at most CHUNK tickets, folded in Python
# (cheaper than a GROUP BY over so few rows, and it feeds both the totals and the windows).
# Counters use the labels frozen when counted (class at opening, the cell a first response
# was judged in), so reclassifying or reprioritizing never moves a count.
CHUNK_SQL = """
SELECT source, COALESCE(opened_class, failure_class), COALESCE(outcome_priority, priority),
    COALESCE(outcome_impact, impact), sla_outcome, first_response_seconds,
    customer, sla_limit_at, first_response_at, status, paused_at
FROM tickets WHERE id >= :lo AND id < :hi
"""

_OPEN_STATUSES = frozenset(str(s) for s in Status if s.is_open)


# One row per configured site: its latest probe state and its rounds.
SITES_SQL = """
SELECT s.name, s.customer, s.server, s.impact, p.checked_at, p.up, p.status_code,
    p.elapsed_ms, p.cert_not_after, p.in_maintenance, p.phases, r.count
FROM sites s
LEFT JOIN probe_state p ON p.site = s.name
LEFT JOIN probe_rounds r ON r.site = s.name
ORDER BY s.name
"""

# Failure counts per site as "class count,class count" (primary-key order).
FAILURES_SQL = """
SELECT site, group_concat(failure_class || ' ' || count, ',') FROM probe_failures
GROUP BY site
"""


def _le(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(float(bound))


_LE = tuple(_le(b) for b in (*BUCKETS, math.inf))


def _class_label(failure_class: str | None) -> str:
    if not failure_class:
        return NO_CLASS
    return failure_class if failure_class in _FAILURE_CLASSES else OTHER_CLASS


@dataclass(slots=True)
class _Chunk:
    """The aggregates of one chunk of ticket ids."""

    responses: dict[tuple[str, str, str], int] = field(default_factory=dict)
    buckets: dict[str, list[int]] = field(default_factory=dict)  # per bucket, not cumulative
    seconds: dict[str, float] = field(default_factory=dict)
    opened: dict[tuple[str, str], int] = field(default_factory=dict)
    # (priority, impact, customer, limit_at, first_response_at, outcome)
    candidates: list[tuple] = field(default_factory=list)

    def fold(self, other: _Chunk, sign: int) -> None:
        """Add (`sign` 1) or take away (-1) another chunk's totals (not its candidates)."""
        for key, n in other.responses.items():
            self.responses[key] = self.responses.get(key, 0) + sign * n
        for key, n in other.opened.items():
            self.opened[key] = self.opened.get(key, 0) + sign * n
        for priority, buckets in other.buckets.items():
            mine = self.buckets.setdefault(priority, [0] * len(buckets))
            for i, n in enumerate(buckets):
                mine[i] += sign * n
        for priority, seconds in other.seconds.items():
            # Rounded to the microsecond so adding and taking away cannot drift.
            total = self.seconds.get(priority, 0.0) + sign * seconds
            self.seconds[priority] = round(total, 6)


class _History:
    """Per-chunk aggregates of the tickets table and their running totals, refreshed from
    the event log."""

    def __init__(self) -> None:
        self.chunks: dict[int, _Chunk] = {}
        self.totals = _Chunk()
        self.event_mark = -1  # max ticket_events.id folded in; -1: nothing loaded yet
        self.ticket_mark = 0  # max tickets.id seen
        # The latest cut a chunk was read with: every chunk holds all candidates not older
        # than its own cut, so windows ending at any `now` >= cut + 30 d are complete.
        self.cut = -math.inf
        self._heal_next = 0

    def refresh(self, conn: sqlite3.Connection, now: float) -> int:
        """Bring the chunks up to date inside the caller's read transaction; returns how
        many chunks were read."""
        max_event = conn.execute("SELECT COALESCE(MAX(id), 0) FROM ticket_events").fetchone()[0]
        max_ticket = conn.execute("SELECT COALESCE(MAX(id), 0) FROM tickets").fetchone()[0]
        last_chunk = max_ticket // CHUNK
        cut = now - LONGEST_WINDOW
        if self.event_mark < 0 or cut < self.cut:
            # First scrape, or the clock went back past the cached candidates: read it all.
            self.chunks, self.totals, self.cut = {}, _Chunk(), -math.inf
            dirty = set(range(last_chunk + 1))
        else:
            dirty = {
                ticket_id // CHUNK
                for (ticket_id,) in conn.execute(
                    "SELECT DISTINCT ticket_id FROM ticket_events WHERE id > ? AND id <= ?",
                    (self.event_mark, max_event),
                )
            }
            dirty.update(range(self.ticket_mark // CHUNK, last_chunk + 1))
            # Chunks in turn, so a write that left no event is healed within a lap.
            known = sorted(set(self.chunks) | {last_chunk})
            for _ in range(-(-len(known) // HEAL_LAP)):
                self._heal_next %= len(known)
                dirty.add(known[self._heal_next])
                self._heal_next += 1
        for number in dirty:
            old = self.chunks.pop(number, None)
            if old is not None:
                self.totals.fold(old, -1)
            chunk = self._read_chunk(conn, number, cut)
            if chunk is not None:
                self.chunks[number] = chunk
                self.totals.fold(chunk, 1)
        self.event_mark, self.ticket_mark = max_event, max_ticket
        self.cut = max(self.cut, cut)
        return len(dirty)

    def _read_chunk(self, conn: sqlite3.Connection, number: int, cut: float) -> _Chunk | None:
        rows = conn.execute(CHUNK_SQL, {"lo": number * CHUNK, "hi": (number + 1) * CHUNK})
        chunk = _Chunk()
        opened, responses, buckets, seconds = (
            chunk.opened,
            chunk.responses,
            chunk.buckets,
            chunk.seconds,
        )
        candidates = chunk.candidates
        n_buckets = len(BUCKETS) + 1
        for (
            source,
            failure_class,
            priority,
            impact,
            outcome,
            response_seconds,
            customer,
            limit_at,
            answered_at,
            status,
            paused_at,
        ) in rows:
            key = (source, _class_label(failure_class))
            opened[key] = opened.get(key, 0) + 1
            answered = outcome == "met" or outcome == "missed"
            if answered:
                cell = (priority, impact, outcome)
                responses[cell] = responses.get(cell, 0) + 1
                if response_seconds is not None:
                    per_bucket = buckets.get(priority)
                    if per_bucket is None:
                        per_bucket = buckets[priority] = [0] * n_buckets
                    # Bucket i holds seconds <= BUCKETS[i]; past the last bound, +Inf.
                    per_bucket[bisect_left(BUCKETS, response_seconds)] += 1
                    seconds[priority] = seconds.get(priority, 0.0) + response_seconds
            # Compliance candidates: due now or later in some window (limit or answer not
            # older than the longest window, or still ahead). An unanswered ticket counts
            # only while someone owes the answer: open and not paused (a probe that resolved
            # its own ticket owed none).
            if (
                (limit_at is not None and limit_at >= cut)
                or (answered_at is not None and answered_at >= cut)
            ) and (answered or (status in _OPEN_STATUSES and paused_at is None)):
                candidates.append((priority, impact, customer, limit_at, answered_at, outcome))
        if not opened:
            return None
        return chunk


class RondaCollector(Collector):
    """Reads the store on each scrape through its own read-only connection.

    `clock` is injected (tests travel in time); `store` gives the database file. Thread-safe:
    concurrent scrapes queue on a lock, and all queries of one scrape see one snapshot.
    """

    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.clock = clock
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._history = _History()
        self._guard = _Monotonic()
        self._errors = 0
        # Last certificate expiry seen per site: a probe that fails before the handshake
        # stores none, and the panel must keep counting down (or past zero).
        self._last_cert: dict[str, float] = {}
        # Each site's lines by the row they were made from (see `_site_families`).
        self._site_cache: dict[str, tuple[tuple, str | None, float | None, tuple[str, ...]]] = {}
        self.chunks_read = 0  # by the last scrape (the bench and tests look)

    # ---- prometheus_client interface ----------------------------------------------

    def describe(self) -> Iterable[Metric]:
        """The families without samples: registering the collector runs no query."""
        return [Family(spec).to_metric() for spec in METRICS]

    def collect(self) -> Iterator[Metric]:
        for family in self.families():
            yield family.to_metric()

    # ---- the fast path ------------------------------------------------------------

    def render(self) -> bytes:
        """One scrape in the Prometheus text format (version 0.0.4)."""
        with _gc_paused():
            return render_text(self.families())

    def families(self) -> list[Family]:
        """Run the scrape's queries and build every family (thread-safe)."""
        with self._lock:
            started = time.perf_counter()
            try:
                with _gc_paused():
                    families = self._read()
            except sqlite3.Error as exc:
                # A locked or missing database must not take the endpoint down: report the
                # error as a metric and let the store's series go stale.
                log.warning("exporter could not read %s: %s", self.store.path, exc)
                self._errors += 1
                self._reset_connection()
                self._history = _History()
                families = []
            duration = Family(SPECS["ronda_exporter_scrape_duration_seconds"])
            duration.add((), time.perf_counter() - started)
            errors = Family(SPECS["ronda_exporter_scrape_errors_total"])
            errors.add((), float(self._errors), "_total")
            return [*families, duration, errors]

    def close(self) -> None:
        with self._lock:
            self._reset_connection()

    # ---- reading ------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            # Our own connection, used under the lock from whichever server thread scrapes:
            # the store's per-thread connections would open one per HTTP request thread.
            conn = sqlite3.connect(
                f"file:{self.store.path}?mode=rw",  # never create a file that is not there
                uri=True,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA query_only = ON")  # the exporter never writes
            self._conn = conn
        return self._conn

    def _reset_connection(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def _read(self) -> list[Family]:
        conn = self._connection()
        now = self.clock().timestamp()
        conn.execute("BEGIN")  # one snapshot for every query of the scrape
        try:
            customers = frozenset(r[0] for r in conn.execute("SELECT name FROM customers"))
            open_rows = conn.execute(OPEN_QUEUE_SQL, {"now": now}).fetchall()
            self.chunks_read = self._history.refresh(conn, now)
            site_rows = conn.execute(SITES_SQL).fetchall()
            failures = dict(conn.execute(FAILURES_SQL).fetchall())
        finally:
            conn.execute("COMMIT")
        return [
            *self._queue_families(open_rows, now, customers),
            *self._compliance_families(now, customers),
            *self._outcome_families(),
            self._opened_family(),
            *self._site_families(site_rows, failures),
        ]

    # ---- building families --------------------------------------------------------

    def _queue_families(
        self, rows: list[tuple], now: float, customers: frozenset[str]
    ) -> list[Family]:
        counts: dict[tuple[str, str, str, str, str], int] = {}
        oldest: dict[str, float] = {}
        next_limit: dict[str, float] = {}
        for priority, impact, status, state, customer, n, first_opened, limit in rows:
            key = (priority, impact, status, state, _customer_label(customer, customers))
            counts[key] = counts.get(key, 0) + n
            if first_opened is not None:
                oldest[priority] = min(oldest.get(priority, first_opened), first_opened)
            if limit is not None:
                next_limit[priority] = min(next_limit.get(priority, limit), limit)
        open_tickets = Family(SPECS["ronda_open_tickets"])
        for key in sorted(counts):
            open_tickets.add(key, counts[key])
        age = Family(SPECS["ronda_oldest_open_ticket_age_seconds"])
        left = Family(SPECS["ronda_most_urgent_ticket_time_left_seconds"])
        for priority in (str(p) for p in Priority):
            age.add((priority,), max(0.0, now - oldest[priority]) if priority in oldest else 0.0)
            if priority in next_limit:
                left.add((priority,), next_limit[priority] - now)
        return [open_tickets, age, left]

    def _compliance_families(self, now: float, customers: frozenset[str]) -> list[Family]:
        ws7, ws30 = now - WINDOWS["7d"], now - WINDOWS["30d"]
        # [met 7d, due 7d, met 30d, due 30d] per (priority, impact, stored customer).
        acc: dict[tuple[str, str, str | None], list[int]] = {}
        for chunk in self._history.chunks.values():
            for priority, impact, customer, limit_at, answered_at, outcome in chunk.candidates:
                # Due in a window [start, now): its limit fell in it, or its answer did.
                if limit_at is not None and ws30 <= limit_at < now:
                    in7 = limit_at >= ws7 or (answered_at is not None and ws7 <= answered_at < now)
                elif answered_at is not None and ws30 <= answered_at < now:
                    in7 = answered_at >= ws7
                else:
                    continue
                key = (priority, impact, customer)
                counts = acc.get(key)
                if counts is None:
                    counts = acc[key] = [0, 0, 0, 0]
                counts[3] += 1
                if in7:
                    counts[1] += 1
                if outcome == "met":
                    counts[2] += 1
                    if in7:
                        counts[0] += 1
        per_cell: dict[tuple[str, ...], list[int]] = {
            (str(p), str(i)): [0, 0, 0, 0] for p in Priority for i in Impact
        }
        per_customer: dict[tuple[str, ...], list[int]] = {}
        for (priority, impact, customer), counts in acc.items():
            label = _customer_label(customer, customers)
            for table, key in (((per_cell, (priority, impact))), (per_customer, (label,))):
                total = table.get(key)
                if total is None:
                    total = table[key] = [0, 0, 0, 0]
                for i in range(4):
                    total[i] += counts[i]
        names = (
            "ronda_sla_compliance_ratio",
            "ronda_sla_first_responses_due",
            "ronda_sla_first_responses_met",
            "ronda_sla_customer_compliance_ratio",
            "ronda_sla_customer_first_responses_due",
            "ronda_sla_customer_first_responses_met",
        )
        families = [Family(SPECS[name]) for name in names]
        ratio, due_f, met_f = families[:3]
        for key, (met7, due7, met30, due30) in per_cell.items():
            for window, met, due in (("7d", met7, due7), ("30d", met30, due30)):
                # Nothing due is no evidence of failure: the ratio reads 1.
                ratio.add((*key, window), met / due if due else 1.0)
                due_f.add((*key, window), due)
                met_f.add((*key, window), met)
        # Hundreds of customers: their lines are written directly, without `add`.
        add_ratio, add_due, add_met = (f.lines.append for f in families[3:])
        r_name, d_name, m_name = names[3:]
        for (customer,), (met7, due7, met30, due30) in sorted(per_customer.items()):
            label = f'customer="{_escape_label(customer)}",window='
            for window, met, due in (('"7d"', met7, due7), ('"30d"', met30, due30)):
                add_ratio(f"{r_name}{{{label}{window}}} {met / due if due else 1.0!r}\n")
                add_due(f"{d_name}{{{label}{window}}} {float(due)!r}\n")
                add_met(f"{m_name}{{{label}{window}}} {float(met)!r}\n")
        return families

    def _outcome_families(self) -> list[Family]:
        totals = self._history.totals
        responses = Family(SPECS["ronda_first_responses_total"])
        for priority in Priority:
            for impact in Impact:
                for outcome in _OUTCOMES:
                    key = (str(priority), str(impact), outcome)
                    n = float(totals.responses.get(key, 0))
                    responses.add(key, self._guard(("responses", *key), n), "_total")
        histogram = Family(SPECS["ronda_first_response_business_seconds"])
        for priority in (str(p) for p in Priority):
            buckets = totals.buckets.get(priority, [0] * (len(BUCKETS) + 1))
            cumulative = 0
            for le, n in zip(_LE, buckets, strict=True):
                cumulative += n
                value = self._guard(("frt", priority, le), float(cumulative))
                histogram.add((priority, le), value, "_bucket")
            count = self._guard(("frt", priority, "count"), float(cumulative))
            histogram.add((priority,), count, "_count")
            seconds = self._guard(("frt", priority, "sum"), totals.seconds.get(priority, 0.0))
            histogram.add((priority,), seconds, "_sum")
        return [responses, histogram]

    def _opened_family(self) -> Family:
        opened = Family(SPECS["ronda_tickets_opened_total"])
        for key, n in sorted(self._history.totals.opened.items()):
            if n > 0:
                opened.add(key, self._guard(("opened", *key), float(n)), "_total")
        return opened

    def _phase_lines(self, label: str, text: str | None) -> str:
        if not text or text == "{}":
            return ""
        try:
            measured = json.loads(text)
        except ValueError:
            return ""  # a damaged row loses its phases, not the scrape
        if not isinstance(measured, dict):
            return ""
        lines = []
        for phase in PHASES:
            seconds = measured.get(phase)
            if isinstance(seconds, int | float) and not isinstance(seconds, bool):
                lines.append(f'{_PHASE_NAME}{{{label},phase="{phase}"}} {float(seconds)!r}\n')
        return "".join(lines)

    def _site_lines(
        self, row: tuple, failures: str | None, cert_seen: float | None
    ) -> tuple[str, ...]:
        """One site's lines, one entry per family of `_SITE_FAMILIES` ("" for none)."""
        name, customer, server, impact, checked_at, is_up, code, elapsed_ms = row[:8]
        in_maintenance, phases_json, rounds = row[9:12]
        label = f'site="{_escape_label(name)}"'
        info = (
            f'{_INFO_NAME}{{{label},customer="{_escape_label(customer or NO_CUSTOMER)}",'
            f'server="{_escape_label(server or "none")}",'
            f'impact="{_escape_label(impact or "medium")}"}} 1.0\n'
        )
        maintenance = f"{_MAINTENANCE_NAME}{{{label}}} {1.0 if in_maintenance else 0.0!r}\n"
        cert = "" if cert_seen is None else f"{_CERT_NAME}{{{label}}} {float(cert_seen)!r}\n"
        # probe_failures and probe_rounds only ever grow: no guard needed.
        made = "" if rounds is None else f"{_ROUNDS_NAME}{{{label}}} {float(rounds)!r}\n"
        failed = []
        for item in (failures or "").split(","):
            failure_class, _, count = item.rpartition(" ")
            if failure_class:
                cls = failure_class if failure_class in _FAILURE_CLASSES else OTHER_CLASS
                failed.append(
                    f'{_FAILURES_NAME}{{{label},failure_class="{cls}"}} {float(count)!r}\n'
                )
        if checked_at is None:  # never probed: no probe state to publish
            return (info, "", "", "", "", cert, maintenance, "", "".join(failed), made)
        return (
            info,
            "" if is_up is None else f"{_UP_NAME}{{{label}}} {1.0 if is_up else 0.0!r}\n",
            f"{_STATUS_NAME}{{{label}}} {float(code or 0)!r}\n",
            "" if elapsed_ms is None else f"{_DURATION_NAME}{{{label}}} {elapsed_ms / 1000.0!r}\n",
            self._phase_lines(label, phases_json),
            cert,
            maintenance,
            f"{_CHECKED_NAME}{{{label}}} {float(checked_at)!r}\n",
            "".join(failed),
            made,
        )

    def _site_families(self, sites: list[tuple], failures: dict[str, str]) -> list[Family]:
        # The hot loop of a scrape (5,000 sites x ~14 series). A site's lines are cached by
        # the row they were made from: a site not probed since the last scrape costs a
        # lookup and ten appends, not a dozen formatted floats.
        last_cert = self._last_cert
        previous = self._site_cache
        cache: dict[str, tuple[tuple, str | None, float | None, tuple[str, ...]]] = {}
        per_site: list[tuple[str, ...]] = []
        append = per_site.append
        for row in sites:
            name, not_after = row[0], row[8]
            if not_after is not None:
                last_cert[name] = not_after
            cert_seen = last_cert.get(name)
            failed = failures.get(name)
            hit = previous.get(name)
            if hit is None or hit[0] != row or hit[1] != failed or hit[2] != cert_seen:
                hit = (row, failed, cert_seen, self._site_lines(row, failed, cert_seen))
            cache[name] = hit
            append(hit[3])
        self._site_cache = cache
        # One column per family; "" (no sample) costs nothing when the lines are joined.
        columns = zip(*per_site, strict=True) if per_site else ([] for _ in _SITE_FAMILIES)
        return [
            Family(SPECS[name], list(column))
            for name, column in zip(_SITE_FAMILIES, columns, strict=True)
        ]


@contextmanager
def _gc_paused() -> Iterator[None]:
    """A scrape allocates some 100k short-lived objects: with the garbage collector on, that
    costs a full collection (~20 ms) most scrapes. Nothing here makes reference cycles, so
    collection waits for the end of the scrape (nested pauses are fine)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _customer_label(customer: str | None, customers: frozenset[str]) -> str:
    """Bounded: only names from the customers table (synced from the config) are labels."""
    if not customer:
        return NO_CUSTOMER
    return customer if customer in customers else OTHER_CUSTOMER


# ---- the text format ----------------------------------------------------------------


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def render_text(families: Iterable[Family]) -> bytes:
    """Families in the Prometheus text exposition format 0.0.4 (what promtool checks)."""
    out: list[str] = []
    for family in families:
        spec = family.spec
        out.append(
            f"# HELP {spec.name} {_escape_help(spec.help)}\n# TYPE {spec.name} {spec.kind}\n"
        )
        out.extend(family.lines)
    return "".join(out).encode()


def make_registry(store: Store, clock: Callable[[], datetime] = utcnow) -> CollectorRegistry:
    """A private registry holding only Ronda's collector (no process or GC metrics)."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(RondaCollector(store, clock))
    return registry


__all__ = [
    "BUCKETS",
    "CONTENT_TYPE",
    "METRICS",
    "METRIC_NAMES",
    "PHASES",
    "WINDOWS",
    "Family",
    "MetricSpec",
    "RondaCollector",
    "label_text",
    "make_registry",
    "render_text",
    "sample_line",
]
