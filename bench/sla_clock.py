"""Bench: SLA deadline computations per second (target + limit for one ticket).

Random opening instants over a year, random matrix cells, the default policy (Bogota
business hours with Colombian holidays, 24x7 for high/medium and high/high). Run:

    python bench/sla_clock.py [--n 200000] [--seed 7]

Prints a cold pass (day cache filling) and a warm pass; the goal is >= 100k/s.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from ronda.model import Impact, Priority  # noqa: E402
from ronda.sla import SlaPolicy  # noqa: E402


def workload(n: int, seed: int) -> list[tuple[Priority, Impact, datetime, float]]:
    """n (priority, impact, opened_at, paused_seconds) with ~1 in 10 tickets paused."""
    rng = random.Random(seed)
    tz = ZoneInfo("America/Bogota")
    year = datetime(2026, 1, 1, tzinfo=tz)
    cells = [(p, i) for p in Priority for i in Impact]
    out = []
    for _ in range(n):
        p, i = rng.choice(cells)
        opened = year + timedelta(seconds=rng.uniform(0, 365 * 86400))
        paused = rng.uniform(0, 3 * 86400) if rng.random() < 0.1 else 0.0
        out.append((p, i, opened, paused))
    return out


def run(policy: SlaPolicy, items: list[tuple[Priority, Impact, datetime, float]]) -> float:
    deadlines = policy.deadlines
    t0 = time.perf_counter()
    for p, i, opened, paused in items:
        deadlines(p, i, opened, paused)
    return len(items) / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    items = workload(args.n, args.seed)
    policy = SlaPolicy.default()
    cold = run(policy, items)
    warm = run(policy, items)
    print(f"deadline computations: n={args.n} python={sys.version.split()[0]}")
    print(f"cold (fresh day cache): {cold:,.0f}/s")
    print(f"warm:                   {warm:,.0f}/s")


if __name__ == "__main__":
    main()
