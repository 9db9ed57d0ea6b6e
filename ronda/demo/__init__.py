"""The demo fleet: simulated customer WordPress sites on 127.0.0.1 for `ronda demo`, tests
and benchmarks, with a scripted timeline of failures and recoveries.

Names are imported lazily so `python -m ronda.demo.fleet` does not import its own module twice.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "BEHAVIOURS": "ronda.demo.specs",
    "DemoCustomer": "ronda.demo.specs",
    "DemoSite": "ronda.demo.specs",
    "Fleet": "ronda.demo.fleet",
    "SiteSpec": "ronda.demo.specs",
    "Step": "ronda.demo.timeline",
    "Timeline": "ronda.demo.timeline",
    "TimelineDriver": "ronda.demo.timeline",
    "default_timeline": "ronda.demo.timeline",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'demo' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
