"""Prometheus exporter: SLA compliance and site health from the store, at scrape time.

`serve(store, listen, clock)` runs the endpoint in a thread; `RondaCollector` is the
prometheus_client collector behind it; `METRIC_NAMES` is the contract with grafana/.

Modules: `metrics` (the metric table), `textformat` (the text exposition format),
`counters` (all-time counters), `windows` (compliance windows), `sites` (per-site lines),
`collector` (one scrape), `server` (the HTTP endpoint).
"""

from ronda.exporter.collector import RondaCollector, make_registry
from ronda.exporter.metrics import METRIC_NAMES, METRICS
from ronda.exporter.server import (
    DEFAULT_LISTEN,
    AddressInUse,
    ExporterError,
    ExporterHandle,
    parse_listen,
    serve,
)

__all__ = [
    "DEFAULT_LISTEN",
    "METRICS",
    "METRIC_NAMES",
    "AddressInUse",
    "ExporterError",
    "ExporterHandle",
    "RondaCollector",
    "make_registry",
    "parse_listen",
    "serve",
]
