"""Scheduling lag at scale: 10,000 sites a minute through the real scheduler and round runner.

A fast in-process fake probe (a few milliseconds of simulated network wait, 1% of sites
failing with HTTP 500 so tickets, re-probes and events happen too) stands in for the
network; the round runner writes every batch to a real SQLite file. Lag is the time from a
site's due instant to the moment its probe actually starts (after the concurrency limits).

    python bench/schedule_lag.py                 # 10,000 sites, 60 s interval, 70 s run
    python bench/schedule_lag.py --sites 2000 --duration 20 --interval 10

Goal (checks issue): p99 lag < 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_network import make_probe, pct  # noqa: E402

from ronda.checks.rounds import RoundRunner  # noqa: E402
from ronda.checks.scheduler import Scheduler  # noqa: E402
from ronda.config import Config, ProbeSettings, Site  # noqa: E402
from ronda.model import FailureClass  # noqa: E402
from ronda.store import Store  # noqa: E402


def make_sites(n: int, interval: float, servers: int) -> tuple[Site, ...]:
    settings = ProbeSettings(interval=interval)
    return tuple(
        Site(
            name=f"site{i:05d}",
            url=f"https://site{i:05d}.example/",
            server=f"web-{i % servers:03d}",
            probe=settings,
        )
        for i in range(n)
    )


async def main(args: argparse.Namespace) -> int:
    rng = random.Random(7)
    sites = make_sites(args.sites, args.interval, args.servers)
    failing = frozenset(s.name for s in rng.sample(sites, k=max(1, args.sites // 100)))
    config = Config(sites=sites, concurrency=args.concurrency, per_server_concurrency=4)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.db")
        runner = RoundRunner(store, config)
        sched = Scheduler(
            config,
            runner,
            make_probe(failing, rng, FailureClass.HTTP_500, 500),
            batch_size=args.batch,
        )
        stop = asyncio.Event()
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.monotonic()
        task = asyncio.create_task(sched.run(stop))
        await asyncio.sleep(args.duration)
        stop.set()
        await task
        wall = time.monotonic() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        lags = list(sched.stats.lags or [])
        counts = store.row_counts()
        tickets, stored = counts["tickets"], counts["probe_rounds"]
        store.close()
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    print(
        f"sites={args.sites} interval={args.interval:g}s duration={args.duration:g}s "
        f"concurrency={args.concurrency} batch={args.batch}"
    )
    print(
        f"probes started={sched.stats.started} stored rounds={stored} "
        f"(incl. re-probes) tickets={tickets} skipped_in_flight={sched.stats.skipped_in_flight}"
    )
    if lags:
        print(
            f"lag p50={statistics.median(lags) * 1000:.1f} ms  p99={pct(lags, 99) * 1000:.1f} ms  "
            f"max={max(lags) * 1000:.1f} ms  (n={len(lags)})"
        )
    print(
        f"rate={sched.stats.started / wall:.0f} probes/s  CPU={cpu:.1f} s over {wall:.1f} s "
        f"({cpu / max(1, sched.stats.started) * 1000:.2f} ms CPU per probe incl. store)"
    )
    ok = bool(lags) and pct(lags, 99) < 1.0
    print("goal p99 < 1 s:", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--interval", type=float, default=60.0)
    parser.add_argument("--duration", type=float, default=70.0)
    parser.add_argument("--servers", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop if installed")
    args = parser.parse_args()
    if args.uvloop:
        from ronda.checks.probe import run

        sys.exit(run(main(args)))
    sys.exit(asyncio.run(main(args)))
