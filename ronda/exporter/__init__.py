"""Prometheus exporter: SLA compliance and site health from the store, at scrape time.

`serve(store, listen, clock)` runs the endpoint in a thread; `RondaCollector` is the
prometheus_client collector behind it; `METRIC_NAMES` is the contract with grafana/.
"""

from ronda.exporter.collector import METRIC_NAMES, METRICS, RondaCollector, make_registry
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
