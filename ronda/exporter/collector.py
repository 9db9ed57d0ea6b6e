"""SLA compliance and site health as Prometheus metrics, read from the store at scrape time.

One scrape, in one snapshot of the database: the open queue (one aggregate over the open
tickets), the all-time counters (totals the store keeps; `counters`), the compliance windows
(kept counts; `windows`) and the per-site families (kept lines; `sites`). The metric names
(`metrics`) are the contract with `grafana/`.

How a scrape stays cheap whatever the size of the history: nothing here counts the history.
The counters are rows of small tables that every write keeps up to date; the windows read
only the tickets changed since the last scrape; a site's lines are made again only when its
row changed. Lines are kept as bytes, and the garbage collector waits for the end of a
scrape (see `gc_paused`).

Two ways out: `RondaCollector.collect()` is a `prometheus_client` custom collector (put it
in a private `CollectorRegistry`; `describe()` is static, so registering runs no query), and
`RondaCollector.render()` writes the same families straight in the text format, which the
HTTP endpoint serves.
"""

from __future__ import annotations

import gc
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

from prometheus_client.core import Metric
from prometheus_client.registry import Collector, CollectorRegistry

from ronda.exporter.counters import Counters
from ronda.exporter.domains import domain_families
from ronda.exporter.metrics import (
    BUCKETS,
    METRIC_NAMES,
    METRICS,
    PHASES,
    SPECS,
    WINDOWS,
    MetricSpec,
    customer_label,
)
from ronda.exporter.sites import Sites
from ronda.exporter.textformat import (
    CONTENT_TYPE,
    Family,
    label_text,
    render_text,
    sample_line,
)
from ronda.exporter.windows import NEXT_RESPONSES, Compliance
from ronda.exporter.wordpress import wordpress_families
from ronda.model import Priority
from ronda.store import Store
from ronda.store.metrics import MetricsReader, QueueCount, QueueEnds
from ronda.tickets import utcnow

log = logging.getLogger(__name__)

_PRIORITIES = tuple(str(p) for p in Priority)


class RondaCollector(Collector):
    """Reads the store on each scrape through its own read-only connection.

    `clock` is injected (tests travel in time); `store` gives the database file. Thread-safe:
    concurrent scrapes queue on a lock, and all reads of one scrape see one snapshot.
    """

    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.clock = clock
        self._lock = threading.Lock()
        # Our own connection, used under the lock from whichever server thread scrapes: the
        # store's per-thread connections would open one per HTTP request thread.
        self._reader = MetricsReader(store.path)
        self._counters = Counters()
        self._compliance = Compliance()
        self._next_compliance = Compliance(NEXT_RESPONSES)
        self._errors = 0
        # Last certificate expiry seen per site: a probe that fails before the handshake
        # stores none, and the panel must keep counting down (or past zero).
        self._last_cert: dict[str, float] = {}
        self._sites = Sites(self._last_cert)
        # The open queue's label sets in exposition order, and each one's last line (bounded
        # by the labels' values).
        self._queue_keys: set[tuple[str, ...]] = set()
        self._queue_order: list[tuple[str, ...]] = []
        self._queue_lines: dict[tuple[str, ...], tuple[int, bytes]] = {}
        self.tickets_read = 0  # compliance candidates the last scrape read (bench, tests)
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
        """Read the store and build every family (thread-safe)."""
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
                self._reader.close()
                families = []
            duration = Family(SPECS["ronda_exporter_scrape_duration_seconds"])
            duration.add((), time.perf_counter() - started)
            errors = Family(SPECS["ronda_exporter_scrape_errors_total"])
            errors.add((), float(self._errors), "_total")
            return [*families, duration, errors]

    def close(self) -> None:
        with self._lock:
            self._reader.close()

    # ---- reading ------------------------------------------------------------------

    def _read(self) -> list[Family]:
        now = self.clock().timestamp()
        reader = self._reader
        try:
            with reader.snapshot():
                customers = reader.customer_names()
                with_sites = reader.customers_with_sites()
                queue = reader.open_queue_counts(now)
                ends = reader.open_queue_ends()
                counters = self._counters.families(reader)
                self._compliance.refresh(reader, now)
                self.tickets_read = self._compliance.tickets_read
                self._next_compliance.refresh(reader, now)
                site_families = self._sites.refresh(reader)
                self.sites_rendered = self._sites.rendered
                wordpress = wordpress_families(reader)
                blind = Family(SPECS["ronda_prober_blind"])
                blind.add((), 1.0 if reader.prober_blind() else 0.0)
                domains = domain_families(reader, customers)
                services = service_families(reader.service_rows())
        except BaseException:
            # The caches may be half updated: the next scrape starts them afresh.
            self._compliance = Compliance()
            self._next_compliance = Compliance(NEXT_RESPONSES)
            self._sites = Sites(self._last_cert)
            raise
        return [
            *self._queue_families(queue, ends, now, customers),
            *self._compliance.families(customers, with_sites),
            *self._next_compliance.families(customers),
            *counters,
            *site_families,
            *wordpress,
            blind,
            *domains,
            *services,
        ]

    def _queue_families(
        self,
        rows: list[QueueCount],
        ends: list[QueueEnds],
        now: float,
        customers: frozenset[str],
    ) -> list[Family]:
        counts: dict[tuple[str, str, str, str, str, str], int] = {}
        for priority, impact, status, state, customer, clock, n in rows:
            key = (priority, impact, status, state, customer_label(customer, customers), clock)
            counts[key] = counts.get(key, 0) + n
        open_tickets = Family(SPECS["ronda_open_tickets"])
        if counts.keys() != self._queue_keys:  # label sets came or went: sort them again
            self._queue_keys = set(counts)
            self._queue_order = sorted(counts)
        # Some thousand label sets at agency scale, whose counts rarely change: each one's
        # line is kept with the count it was made from.
        kept, append = self._queue_lines, open_tickets.lines.append
        for key in self._queue_order:
            n = counts[key]
            hit = kept.get(key)
            if hit is None or hit[0] != n:
                labels = label_text(open_tickets.spec.labels, key)
                line = f"{open_tickets.spec.name}{{{labels}}} {float(n)!r}\n".encode()
                hit = kept[key] = (n, line)
            append(hit[1])
        oldest = {e.priority: e.oldest_opened_at for e in ends if e.oldest_opened_at is not None}
        next_limit = {e.priority: e.next_limit_at for e in ends if e.next_limit_at is not None}
        age = Family(SPECS["ronda_oldest_open_ticket_age_seconds"])
        left = Family(SPECS["ronda_most_urgent_ticket_time_left_seconds"])
        for priority in _PRIORITIES:
            age.add((priority,), max(0.0, now - oldest[priority]) if priority in oldest else 0.0)
            if priority in next_limit:
                left.add((priority,), next_limit[priority] - now)
        return [open_tickets, age, left]


def service_families(rows: list[tuple[str, str, bool, float | None, bool]]) -> list[Family]:
    """`ronda_service_up`, its maintenance and certificate expiry of each checked service."""
    up = Family(SPECS["ronda_service_up"])
    maintenance = Family(SPECS["ronda_service_in_maintenance"])
    cert = Family(SPECS["ronda_service_cert_expiry_timestamp_seconds"])
    for server, label, is_up, not_after, in_maintenance in rows:
        up.add((server, label), 1.0 if is_up else 0.0)
        maintenance.add((server, label), 1.0 if in_maintenance else 0.0)
        if not_after is not None:
            cert.add((server, label), float(not_after))
    return [up, maintenance, cert]


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
