"""SLA compliance and site health as Prometheus metrics, computed from the store at scrape time.

The metric names below are the contract with `grafana/dashboards/*.json` and
`grafana/rules.yml`.

How a scrape stays cheap at agency scale (100k tickets, 1M events, 5,000 sites): every part
keeps what it made last time and redoes only what changed since.

- The open queue is one aggregate over the open tickets (open-status indexes).
- All-time counters (first-response outcomes, the first-response histogram, tickets opened)
  are totals stored in the database, so they survive restarts. They are aggregated per
  chunk of CHUNK ticket ids and cached; a scrape re-reads only the chunks whose tickets
  changed since the last one (found through the new rows of the append-only
  `ticket_events`, a rowid range) plus a few in turn, so that a write which bypassed the
  event log is healed within HEAL_LAP scrapes. Nothing scans every ticket or event per
  scrape; the first scrape of a process reads the history once.
- The 7/30-day compliance windows are counts kept up to date (`_Windows`): a re-read chunk
  adds and takes away only the candidates that changed, and as time passes only the few
  candidates whose limit or answer crossed a window's edge are looked at again.
- Sites are one join over the configured sites, their latest probe state and rounds. A site
  whose row did not change keeps its rendered lines (`_Sites`); failure counts, which only
  grow, are re-read only when the table's total moved, and then first for the sites probed
  since the last scrape.
- Lines are kept as bytes: a scrape joins cached bytes and formats only new values.
- The garbage collector waits for the end of a scrape (see `gc_paused`).

Within one process a counter series is also guarded against going down (a ticket moved to
another priority after its first response moves one count between series; Prometheus would
read a decrease as a reset).

Two ways out: `RondaCollector.collect()` is a `prometheus_client` custom collector (put it
in a private `CollectorRegistry`; `describe()` is static, so registering runs no query), and
`RondaCollector.render()` writes the same families straight in the text format, which the
HTTP endpoint serves (prometheus_client's encoder takes ~3 microseconds a sample, too slow
for 5,000 sites x ~15 series in a 100 ms scrape).
"""

from __future__ import annotations

import functools
import gc
import heapq
import itertools
import json
import logging
import math
import re
import sqlite3
import threading
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
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

# Tickets per cached chunk of the history (ids [k * CHUNK, (k + 1) * CHUNK)). Small, because
# a scrape re-reads a whole chunk for each ticket that changed in it.
CHUNK = 64
# Chunks (and sites' failure counts) re-read in turn per scrape, at least: a lap over the
# history, or over the sites, takes at most this many scrapes.
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


# ---- the text format ----------------------------------------------------------------

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


def sample_line(name: str, labels: str, value: float) -> str:
    """One sample in the text format. Values are Python float reprs (`1.0`, `0.25`,
    `1e+22`, `inf`, `nan`), which Prometheus's parser (Go's ParseFloat) reads as they are."""
    value = float(value)
    return f"{name}{{{labels}}} {value!r}\n" if labels else f"{name} {value!r}\n"


@dataclass(slots=True)
class Family:
    """A metric family and its samples as finished text-format lines (UTF-8 bytes).

    One representation for both encoders: `render_text` joins the bytes, `to_metric`
    parses them back into a prometheus_client `Metric`. An entry may hold many lines (a
    per-site family is one entry for all its sites).
    """

    spec: MetricSpec
    lines: list[bytes] = field(default_factory=list)

    def add(self, values: tuple[str, ...], value: float, suffix: str = "") -> None:
        names = (*self.spec.labels, "le") if suffix == "_bucket" else self.spec.labels
        line = sample_line(self.spec.family + suffix, label_text(names, values), value)
        self.lines.append(line.encode())

    def to_metric(self) -> Metric:
        """The same family as a prometheus_client `Metric`."""
        metric = Metric(self.spec.family, self.spec.help, self.spec.kind)
        for line in b"".join(self.lines).decode().splitlines():
            match = _LINE_RE.match(line)
            if match is None:
                raise ValueError(f"not a sample line: {line!r}")
            name, text, value = match.groups()
            labels = {k: _unescape_label(v) for k, v in _LABEL_RE.findall(text or "")}
            metric.add_sample(name, labels, float(value))
        return metric


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


@functools.cache
def _header(spec: MetricSpec) -> bytes:
    return (
        f"# HELP {spec.name} {_escape_help(spec.help)}\n# TYPE {spec.name} {spec.kind}\n".encode()
    )


def render_text(families: Iterable[Family]) -> bytes:
    """Families in the Prometheus text exposition format 0.0.4 (what promtool checks)."""
    out: list[bytes] = []
    for family in families:
        out.append(_header(family.spec))
        out.extend(family.lines)
    return b"".join(out)


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


# ---- queries ------------------------------------------------------------------------

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
# (one pass serves every counter and the windows' candidates). Counts keep the labels a
# ticket was counted under (the class it was opened with, the cell its first response
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

# probe_failures in a word: its rows and the sum of its counts. Counts only grow and rows are
# never deleted, so any change moves this mark.
FAILURES_MARK_SQL = "SELECT COUNT(*), COALESCE(SUM(count), 0) FROM probe_failures"
# Failure counts in primary-key order (site, failure_class); of some sites, or of all.
FAILURES_SQL = "SELECT site, failure_class, count FROM probe_failures ORDER BY site, failure_class"
FAILURES_OF_SQL = (
    "SELECT site, failure_class, count FROM probe_failures WHERE site IN ({marks}) "
    "ORDER BY site, failure_class"
)
# Sites per FAILURES_OF_SQL query (well under SQLite's limit on bound parameters).
_SITES_PER_QUERY = 500


def _le(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(float(bound))


_LE = tuple(_le(b) for b in (*BUCKETS, math.inf))


def _class_label(failure_class: str | None) -> str:
    if not failure_class:
        return NO_CLASS
    return failure_class if failure_class in _FAILURE_CLASSES else OTHER_CLASS


def _customer_label(customer: str | None, customers: frozenset[str]) -> str:
    """Bounded: only names from the customers table (synced from the config) are labels."""
    if not customer:
        return NO_CUSTOMER
    return customer if customer in customers else OTHER_CUSTOMER


# ---- the history: all-time counters --------------------------------------------------


# A compliance candidate: (priority, impact, customer, limit_at, first_response_at, outcome).
Candidate = tuple[str, str, str | None, float | None, float | None, str | None]


@dataclass(slots=True)
class _Chunk:
    """The aggregates of one chunk of ticket ids."""

    responses: dict[tuple[str, str, str], int] = field(default_factory=dict)
    buckets: dict[str, list[int]] = field(default_factory=dict)  # per bucket, not cumulative
    # Summed in whole microseconds: exact, so the total does not depend on which chunks
    # were added or taken away in which order.
    microseconds: dict[str, int] = field(default_factory=dict)
    opened: dict[tuple[str, str], int] = field(default_factory=dict)
    # Tickets due now or later in some window, in id order (see `_Windows`).
    candidates: list[Candidate] = field(default_factory=list)

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
        for priority, micros in other.microseconds.items():
            self.microseconds[priority] = self.microseconds.get(priority, 0) + sign * micros


class _History:
    """Per-chunk aggregates of the tickets table, their running totals and the compliance
    windows, refreshed from the event log."""

    def __init__(self) -> None:
        self.chunks: dict[int, _Chunk] = {}
        self.totals = _Chunk()
        self.windows = _Windows()
        self.event_mark = -1  # max ticket_events.id folded in; -1: nothing loaded yet
        self.ticket_mark = 0  # max tickets.id seen
        # The latest cut a chunk was read with: every chunk holds all candidates not older
        # than its own cut, so windows ending at any `now` >= cut + 30 d are complete.
        self.cut = -math.inf
        self._heal_next = 0
        self._keys: dict = {}  # label keys shared by the chunks (see `_shared`)

    def refresh(self, conn: sqlite3.Connection, now: float) -> int:
        """Bring the chunks and windows up to date inside the caller's read transaction;
        returns how many chunks were read."""
        max_event = conn.execute("SELECT COALESCE(MAX(id), 0) FROM ticket_events").fetchone()[0]
        max_ticket = conn.execute("SELECT COALESCE(MAX(id), 0) FROM tickets").fetchone()[0]
        last_chunk = max_ticket // CHUNK
        cut = now - LONGEST_WINDOW
        if self.event_mark < 0 or cut < self.cut:
            # First scrape, or the clock went back past the cached candidates: read it all.
            self.chunks, self.totals, self.cut = {}, _Chunk(), -math.inf
            self.windows = _Windows()
            dirty = set(range(last_chunk + 1))
        else:
            dirty = self._dirty_chunks(conn, max_event, last_chunk)
        self.windows.advance(now)
        for number in dirty:
            old = self.chunks.pop(number, None)
            if old is not None:
                self.totals.fold(old, -1)
            chunk = self._read_chunk(conn, number, cut)
            if chunk is not None:
                self.chunks[number] = chunk
                self.totals.fold(chunk, 1)
            self.windows.replace(
                old.candidates if old is not None else [],
                chunk.candidates if chunk is not None else [],
            )
        self.event_mark, self.ticket_mark = max_event, max_ticket
        self.cut = max(self.cut, cut)
        return len(dirty)

    def _dirty_chunks(self, conn: sqlite3.Connection, max_event: int, last_chunk: int) -> set[int]:
        """Chunks with an event since the last scrape, new tickets, and a few in turn."""
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
        return dirty

    def _read_chunk(self, conn: sqlite3.Connection, number: int, cut: float) -> _Chunk | None:
        rows = conn.execute(CHUNK_SQL, {"lo": number * CHUNK, "hi": (number + 1) * CHUNK})
        chunk = _Chunk()
        opened, responses, buckets, micros = (
            chunk.opened,
            chunk.responses,
            chunk.buckets,
            chunk.microseconds,
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
                    micros[priority] = micros.get(priority, 0) + round(response_seconds * 1e6)
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
        return self._shared(chunk)

    def _shared(self, chunk: _Chunk) -> _Chunk:
        """The chunk with one copy of each label key for all chunks: every row brings its
        own copies of "medium" or ("email", "none"), and some 1,500 chunks would keep them."""
        keys = self._keys
        chunk.opened = {keys.setdefault(k, k): n for k, n in chunk.opened.items()}
        chunk.responses = {keys.setdefault(k, k): n for k, n in chunk.responses.items()}
        chunk.buckets = {keys.setdefault(k, k): n for k, n in chunk.buckets.items()}
        chunk.microseconds = {keys.setdefault(k, k): n for k, n in chunk.microseconds.items()}
        return chunk


# ---- compliance windows ---------------------------------------------------------------

_W7, _W30 = WINDOWS["7d"], WINDOWS["30d"]
# A time leaves a window when `now - window > time`; the rounding of that subtraction moves
# the moment by far less than this, so a candidate is looked at again this much early.
_EDGE_SLACK = 1.0


def _in_windows(limit_at: float | None, answered_at: float | None, now: float) -> tuple[bool, bool]:
    """(due in the 7-day window, in the 30-day window) ending at `now`: a candidate is due
    in a window [now - w, now) when its limit fell in it, or its answer did."""
    ws7, ws30 = now - _W7, now - _W30
    in30 = (limit_at is not None and ws30 <= limit_at < now) or (
        answered_at is not None and ws30 <= answered_at < now
    )
    in7 = in30 and (
        (limit_at is not None and ws7 <= limit_at < now)
        or (answered_at is not None and ws7 <= answered_at < now)
    )
    return in7, in30


def _next_check(limit_at: float | None, answered_at: float | None, now: float) -> float | None:
    """The instant after which `_in_windows` may answer otherwise than at `now` (None: never
    again while time goes forward). A time enters both windows once `now` passes it and
    leaves each about one window later."""
    soonest = math.inf
    for instant in (limit_at, answered_at):
        if instant is None:
            continue
        if now <= instant:
            soonest = min(soonest, instant)
            continue
        for width in (_W7, _W30):  # the 7-day edge comes first
            if now - width <= instant:
                # At least `now`: near the edge the candidate is looked at every scrape.
                soonest = min(soonest, max(instant + width - _EDGE_SLACK, now))
                break
    return None if soonest == math.inf else soonest


class _Windows:
    """Compliance counts over the windows ending `now`, kept up to date instead of recounted.

    A candidate's standing in the windows changes only when `now` passes its limit or its
    answer, or a window's length after them; a heap holds each candidate's next such
    instant, so a scrape looks again only at those whose instant has passed. Equal
    candidates share one entry with a count of copies. Counts are [met 7d, due 7d, met 30d,
    due 30d], per (priority, impact) and per stored customer.
    """

    def __init__(self) -> None:
        self.now = -math.inf
        self.cells: dict[tuple[str, str], list[int]] = {}
        self.customers: dict[str | None, list[int]] = {}
        # candidate -> [copies, in 7d, in 30d, next check or None]
        self._live: dict[Candidate, list] = {}
        self._heap: list[tuple[float, int, Candidate]] = []
        self._order = itertools.count()  # ties in the heap never compare candidates

    def advance(self, now: float) -> None:
        """Move the windows' end to `now` (a clock that went back recounts everything)."""
        if now < self.now:
            self._recount(now)
            return
        self.now = now
        heap, live = self._heap, self._live
        while heap and heap[0][0] < now:
            at, _, candidate = heapq.heappop(heap)
            entry = live.get(candidate)
            if entry is None or entry[3] != at:
                continue  # taken away, or rescheduled since: a stale heap entry
            self._count(candidate, entry[1], entry[2], -entry[0])
            self._judge(candidate, entry)
            self._count(candidate, entry[1], entry[2], entry[0])

    def replace(self, old: Sequence[Candidate], new: Sequence[Candidate]) -> None:
        """A chunk was re-read: count its candidates that changed (usually none or one)."""
        if old == new:
            return
        change = Counter(new)
        change.subtract(old)
        for candidate, n in change.items():
            for _ in range(abs(n)):
                if n > 0:
                    self._add(candidate)
                else:
                    self._remove(candidate)
        if len(self._heap) > 2 * len(self._live) + 1024:
            self._compact()

    def _add(self, candidate: Candidate) -> None:
        entry = self._live.get(candidate)
        if entry is None:
            entry = self._live[candidate] = [0, False, False, None]
            self._judge(candidate, entry)
        entry[0] += 1
        self._count(candidate, entry[1], entry[2], 1)

    def _remove(self, candidate: Candidate) -> None:
        entry = self._live[candidate]
        self._count(candidate, entry[1], entry[2], -1)
        entry[0] -= 1
        if entry[0] == 0:
            del self._live[candidate]

    def _judge(self, candidate: Candidate, entry: list) -> None:
        """Place the candidate in the windows ending now and schedule its next look."""
        limit_at, answered_at = candidate[3], candidate[4]
        entry[1], entry[2] = _in_windows(limit_at, answered_at, self.now)
        entry[3] = _next_check(limit_at, answered_at, self.now)
        if entry[3] is not None:
            heapq.heappush(self._heap, (entry[3], next(self._order), candidate))

    def _count(self, candidate: Candidate, in7: bool, in30: bool, copies: int) -> None:
        if not in30:  # in7 implies in30
            return
        met = copies if candidate[5] == "met" else 0
        for table, key in ((self.cells, candidate[:2]), (self.customers, candidate[2])):
            counts = table.get(key)
            if counts is None:
                counts = table[key] = [0, 0, 0, 0]
            if in7:
                counts[0] += met
                counts[1] += copies
            counts[2] += met
            counts[3] += copies
            if counts[3] == 0:
                del table[key]  # nothing due any more: keep the tables small

    def _recount(self, now: float) -> None:
        self.now = now
        self.cells, self.customers, self._heap = {}, {}, []
        for candidate, entry in self._live.items():
            self._judge(candidate, entry)
            self._count(candidate, entry[1], entry[2], entry[0])

    def _compact(self) -> None:
        """Drop the heap's stale entries (candidates taken away or rescheduled)."""
        self._heap = [
            (entry[3], next(self._order), candidate)
            for candidate, entry in self._live.items()
            if entry[3] is not None
        ]
        heapq.heapify(self._heap)


# ---- sites ----------------------------------------------------------------------------

# Per-site families, in exposition order: `_Sites.columns` holds one column per family.
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
# Failure counts come from their own table; `_site_lines` makes the other columns' lines.
_FAILURES_COLUMN = _SITE_FAMILIES.index(_FAILURES_NAME)
_ROW_COLUMNS = tuple(i for i in range(len(_SITE_FAMILIES)) if i != _FAILURES_COLUMN)

# A site's failure counts: ((failure_class, count), ...) in class order.
Failures = tuple[tuple[str, int], ...]


def _phase_lines(label: str, text: str | None) -> str:
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
        if type(seconds) is float or type(seconds) is int:  # JSON numbers; not true/false
            lines.append(f'{_PHASE_NAME}{{{label},phase="{phase}"}} {float(seconds)!r}\n')
    return "".join(lines)


def _site_lines(row: tuple, cert_seen: float | None) -> tuple[bytes, ...]:
    """One site's lines for each column of `_ROW_COLUMNS` (b"" for none)."""
    name, customer, server, impact, checked_at, is_up, code, elapsed_ms = row[:8]
    in_maintenance, phases_json, rounds = row[9:12]
    label = f'site="{_escape_label(name)}"'
    info = (
        f'{_INFO_NAME}{{{label},customer="{_escape_label(customer or NO_CUSTOMER)}",'
        f'server="{_escape_label(server or "none")}",'
        f'impact="{_escape_label(impact or "medium")}"}} 1.0\n'
    ).encode()
    maintenance = f"{_MAINTENANCE_NAME}{{{label}}} {1.0 if in_maintenance else 0.0!r}\n".encode()
    cert = b"" if cert_seen is None else f"{_CERT_NAME}{{{label}}} {float(cert_seen)!r}\n".encode()
    # probe_rounds only ever grows: no guard needed.
    made = b"" if rounds is None else f"{_ROUNDS_NAME}{{{label}}} {float(rounds)!r}\n".encode()
    if checked_at is None:  # never probed: no probe state to publish
        return (info, b"", b"", b"", b"", cert, maintenance, b"", made)
    return (
        info,
        b"" if is_up is None else f"{_UP_NAME}{{{label}}} {1.0 if is_up else 0.0!r}\n".encode(),
        f"{_STATUS_NAME}{{{label}}} {float(code or 0)!r}\n".encode(),
        b""
        if elapsed_ms is None
        else f"{_DURATION_NAME}{{{label}}} {elapsed_ms / 1000.0!r}\n".encode(),
        _phase_lines(label, phases_json).encode(),
        cert,
        maintenance,
        f"{_CHECKED_NAME}{{{label}}} {float(checked_at)!r}\n".encode(),
        made,
    )


def _failure_lines(name: str, failures: Failures) -> bytes:
    """One site's ronda_probe_failures_total lines. probe_failures only ever grows: no guard
    needed."""
    label = f'site="{_escape_label(name)}"'
    lines = []
    for failure_class, count in failures:
        cls = failure_class if failure_class in _FAILURE_CLASSES else OTHER_CLASS
        lines.append(f'{_FAILURES_NAME}{{{label},failure_class="{cls}"}} {float(count)!r}\n')
    return "".join(lines).encode()


class _Sites:
    """The per-site families, each a column of one entry per configured site (in name order),
    re-rendered only where the site's row or failure counts changed.

    The row (sites + probe_state + probe_rounds) is read for every site on every scrape and
    compared with the one the lines were made from. Failure counts are kept for the whole
    probe_failures table; they only grow, so while the table's (rows, total) mark is what
    the kept counts add up to, none changed. When the mark moved, the sites whose row
    changed (a round writes state, rounds and failures together) are re-read first, and the
    whole table only if that does not account for the move. A few sites are re-read in turn
    as well, so an edit that did not move the mark is healed within HEAL_LAP scrapes.
    """

    def __init__(self, last_cert: dict[str, float]) -> None:
        self.rows: list[tuple] = []
        self.index: dict[str, int] = {}  # site -> its place in `rows` and the columns
        self.columns: list[list[bytes]] = [[] for _ in _SITE_FAMILIES]
        # Last certificate expiry seen per site (shared with the collector; see there).
        self.last_cert = last_cert
        self.failures: dict[str, Failures] = {}  # every site of probe_failures
        self._mark = (0, 0)  # (rows, total) that `failures` adds up to
        self._heal_next = 0
        self.rendered = 0  # sites whose row was rendered by the last scrape (bench, tests)

    def refresh(self, conn: sqlite3.Connection) -> list[Family]:
        """Read the sites inside the caller's read transaction; returns their families."""
        rows = conn.execute(SITES_SQL).fetchall()
        old = self.rows
        changed: Sequence[int] = []
        if len(rows) == len(old):
            changed = [i for i, (new, was) in enumerate(zip(rows, old, strict=True)) if new != was]
        rebuilt = len(rows) != len(old) or any(rows[i][0] != old[i][0] for i in changed)
        if rebuilt:  # sites added, removed or renamed: start the columns afresh
            changed = range(len(rows))
            self.columns = [[b""] * len(rows) for _ in _SITE_FAMILIES]
            self.index = {row[0]: i for i, row in enumerate(rows)}
        self.rows = rows
        for i in changed:
            self._render_row(i)
        refailed = self._refresh_failures(conn, [rows[i][0] for i in changed])
        for name in self.index if rebuilt else refailed:
            i = self.index.get(name)
            if i is not None:  # not a configured site: not published
                self.columns[_FAILURES_COLUMN][i] = _failure_lines(
                    name, self.failures.get(name, ())
                )
        self.rendered = len(changed)
        # Copies of the columns (the next scrape changes them in place); the text encoder
        # joins their entries once, with everything else.
        return [
            Family(SPECS[name], column.copy())
            for name, column in zip(_SITE_FAMILIES, self.columns, strict=True)
        ]

    def _render_row(self, i: int) -> None:
        row = self.rows[i]
        name, not_after = row[0], row[8]
        if not_after is not None:
            self.last_cert[name] = not_after
        lines = _site_lines(row, self.last_cert.get(name))
        for column, line in zip(_ROW_COLUMNS, lines, strict=True):
            self.columns[column][i] = line

    # ---- failure counts ---------------------------------------------------------------

    def _refresh_failures(self, conn: sqlite3.Connection, probed: list[str]) -> set[str]:
        """Bring `failures` up to date; returns the sites whose counts changed."""
        changed = self._reread(conn, self._in_turn())
        mark = tuple(conn.execute(FAILURES_MARK_SQL).fetchone())
        if mark != self._mark and len(probed) < len(self.rows) // 2:
            # Most likely in the sites probed since the last scrape: a round writes their
            # state, rounds and failures in one transaction.
            changed |= self._reread(conn, probed)
        if mark != self._mark:
            # A change elsewhere, or most sites changed (the first scrape): read them all.
            changed |= self._reread_all(conn)
        return changed

    def _in_turn(self) -> list[str]:
        if not self.rows:
            return []
        names = []
        for _ in range(-(-len(self.rows) // HEAL_LAP)):
            self._heal_next %= len(self.rows)
            names.append(self.rows[self._heal_next][0])
            self._heal_next += 1
        return names

    def _reread(self, conn: sqlite3.Connection, names: list[str]) -> set[str]:
        fresh: dict[str, list[tuple[str, int]]] = {}
        for start in range(0, len(names), _SITES_PER_QUERY):
            batch = names[start : start + _SITES_PER_QUERY]
            sql = FAILURES_OF_SQL.format(marks=",".join("?" * len(batch)))
            for site, failure_class, count in conn.execute(sql, batch):
                fresh.setdefault(site, []).append((failure_class, count))
        return {name for name in names if self._keep(name, tuple(fresh.get(name, ())))}

    def _reread_all(self, conn: sqlite3.Connection) -> set[str]:
        fresh: dict[str, list[tuple[str, int]]] = {}
        for site, failure_class, count in conn.execute(FAILURES_SQL):
            fresh.setdefault(site, []).append((failure_class, count))
        names = set(fresh) | set(self.failures)
        return {name for name in names if self._keep(name, tuple(fresh.get(name, ())))}

    def _keep(self, name: str, failures: Failures) -> bool:
        """Store one site's counts and move the mark; returns whether they changed."""
        old = self.failures.get(name, ())
        if failures == old:
            return False
        rows, total = self._mark
        rows += len(failures) - len(old)
        total += sum(n for _, n in failures) - sum(n for _, n in old)
        self._mark = (rows, total)
        if failures:
            self.failures[name] = failures
        else:
            del self.failures[name]
        return True


# ---- the collector --------------------------------------------------------------------


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
        self._sites = _Sites(self._last_cert)
        # `name{labels} ` of each open-queue label set seen (bounded by the labels' values).
        self._queue_prefixes: dict[tuple[str, ...], str] = {}
        # Each customer's compliance lines by the counts they were made from.
        self._customer_lines: dict[str, tuple[tuple[int, ...], tuple[bytes, bytes, bytes]]] = {}
        self.chunks_read = 0  # by the last scrape (the bench and tests look)
        self.sites_rendered = 0  # sites whose lines the last scrape made anew (same)

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
        with gc_paused():
            return render_text(self.families())

    def families(self) -> list[Family]:
        """Run the scrape's queries and build every family (thread-safe)."""
        with self._lock:
            started = time.perf_counter()
            try:
                with gc_paused():
                    families = self._read()
            except sqlite3.Error as exc:
                # A locked or missing database must not take the endpoint down: report the
                # error as a metric and let the store's series go stale.
                log.warning("exporter could not read %s: %s", self.store.path, exc)
                self._errors += 1
                self._reset_connection()
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
            site_families = self._sites.refresh(conn)
            self.sites_rendered = self._sites.rendered
        except BaseException:
            # The caches may be half updated: the next scrape starts them afresh.
            self._history = _History()
            self._sites = _Sites(self._last_cert)
            raise
        finally:
            conn.execute("COMMIT")
        return [
            *self._queue_families(open_rows, now, customers),
            *self._compliance_families(customers),
            *self._outcome_families(),
            self._opened_family(),
            *site_families,
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
        # Some thousand label sets at agency scale: their text is made once per process.
        prefixes, lines = self._queue_prefixes, open_tickets.lines
        for key in sorted(counts):
            prefix = prefixes.get(key)
            if prefix is None:
                labels = label_text(open_tickets.spec.labels, key)
                prefix = prefixes[key] = f"{open_tickets.spec.name}{{{labels}}} "
            lines.append(f"{prefix}{float(counts[key])!r}\n".encode())
        age = Family(SPECS["ronda_oldest_open_ticket_age_seconds"])
        left = Family(SPECS["ronda_most_urgent_ticket_time_left_seconds"])
        for priority in (str(p) for p in Priority):
            age.add((priority,), max(0.0, now - oldest[priority]) if priority in oldest else 0.0)
            if priority in next_limit:
                left.add((priority,), next_limit[priority] - now)
        return [open_tickets, age, left]

    def _compliance_families(self, customers: frozenset[str]) -> list[Family]:
        windows = self._history.windows
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
        for key in ((str(p), str(i)) for p in Priority for i in Impact):
            met7, due7, met30, due30 = windows.cells.get(key, (0, 0, 0, 0))
            for window, met, due in (("7d", met7, due7), ("30d", met30, due30)):
                # Nothing due is no evidence of failure: the ratio reads 1.
                ratio.add((*key, window), met / due if due else 1.0)
                due_f.add((*key, window), due)
                met_f.add((*key, window), met)
        # Customers with anything due in 30 days, by label (several stored names can share
        # "other").
        per_customer: dict[str, list[int]] = {}
        for customer, counts in windows.customers.items():
            total = per_customer.setdefault(_customer_label(customer, customers), [0, 0, 0, 0])
            for i in range(4):
                total[i] += counts[i]
        # Hundreds of customers whose counts rarely change: their lines are kept.
        previous, kept = self._customer_lines, {}
        add_ratio, add_due, add_met = (f.lines.append for f in families[3:])
        for label in sorted(per_customer):
            counts = tuple(per_customer[label])
            hit = previous.get(label)
            if hit is None or hit[0] != counts:
                hit = (counts, _customer_compliance_lines(label, *counts))
            kept[label] = hit
            ratio_lines, due_lines, met_lines = hit[1]
            add_ratio(ratio_lines)
            add_due(due_lines)
            add_met(met_lines)
        self._customer_lines = kept
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
            raw = totals.microseconds.get(priority, 0) / 1e6
            seconds = self._guard(("frt", priority, "sum"), raw)
            histogram.add((priority,), seconds, "_sum")
        return [responses, histogram]

    def _opened_family(self) -> Family:
        opened = Family(SPECS["ronda_tickets_opened_total"])
        for key, n in sorted(self._history.totals.opened.items()):
            if n > 0:
                opened.add(key, self._guard(("opened", *key), float(n)), "_total")
        return opened


def _customer_compliance_lines(
    customer: str, met7: int, due7: int, met30: int, due30: int
) -> tuple[bytes, bytes, bytes]:
    """One customer's ratio, due and met lines (both windows each)."""
    ratio, due, met = (
        SPECS[name].name
        for name in (
            "ronda_sla_customer_compliance_ratio",
            "ronda_sla_customer_first_responses_due",
            "ronda_sla_customer_first_responses_met",
        )
    )
    label = f'customer="{_escape_label(customer)}",window='
    out: tuple[list[str], list[str], list[str]] = ([], [], [])
    for window, m, d in (('"7d"', met7, due7), ('"30d"', met30, due30)):
        out[0].append(f"{ratio}{{{label}{window}}} {m / d if d else 1.0!r}\n")
        out[1].append(f"{due}{{{label}{window}}} {float(d)!r}\n")
        out[2].append(f"{met}{{{label}{window}}} {float(m)!r}\n")
    return tuple("".join(lines).encode() for lines in out)  # type: ignore[return-value]


@contextmanager
def gc_paused() -> Iterator[None]:
    """A scrape allocates many short-lived objects: with the garbage collector on, that
    costs a full collection (~20 ms) some scrapes. Nothing here makes reference cycles, so
    collection waits for the end of the scrape (nested pauses are fine; the HTTP endpoint
    holds one until the answer is sent)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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
    "gc_paused",
    "label_text",
    "make_registry",
    "render_text",
    "sample_line",
]
