"""What the scheduling benches share: a probe that answers after a network-like pause
without touching the network, and a percentile."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from ronda.checks.classify import Finding
from ronda.checks.probe import ProbeResult
from ronda.config import Site
from ronda.model import FailureClass


def make_probe(
    failing: frozenset[str], rng: random.Random, failure: FailureClass, status: int
) -> Callable[[Site], Awaitable[ProbeResult]]:
    """A probe that takes 2-30 ms; the `failing` sites answer `status` (seen as `failure`)."""

    async def probe(site: Site) -> ProbeResult:
        await asyncio.sleep(rng.uniform(0.002, 0.030))  # the network, roughly
        bad = site.name in failing
        findings = [Finding(failure, None, f"{site.name}: HTTP {status}")] if bad else []
        return ProbeResult(
            site=site.name,
            url=site.url,
            started_at=datetime.now(UTC),
            failure_class=failure if bad else FailureClass.OK,
            status_code=status if bad else 200,
            elapsed_ms=12.0,
            phases={"dns": 0.001, "connect": 0.002, "tls": 0.004, "first_byte": 0.004},
            headers={"server": "nginx"},
            body_excerpt="<html>",
            findings=findings,
        )

    return probe


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]
