"""Site history and status pages at agency scale: 200 customers, 5,000 sites, a year of
state changes.

Fills a store with a year of history (per site: an outage every ~two weeks, a maintenance
window a month, a daemon restart gap a month; about 100 rows a site), then prints:
- the history's size (rows, database size) and the load time;
- a round's history write: one batch of every site's verdict through
  `ProbeRecords.write_round` (what the round runner does), median of several;
- the 90-day reads and the whole status site (every customer's page) built, rendered and
  swapped in: time and peak Python memory (tracemalloc) and the process's peak RSS;
- a month's uptime for every site (what a report reads): time.

Run: python bench/status_page.py [--customers 200] [--sites 5000] [--days 365] [--rounds 5]
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ronda.config import Config, Customer, Site  # noqa: E402
from ronda.status_page.gather import publish, specs  # noqa: E402
from ronda.store import Store  # noqa: E402
from ronda.store.history import HistoryRow, load_history  # noqa: E402
from ronda.store.probes import ProbeStateRow  # noqa: E402
from ronda.uptime import Interval, uptime  # noqa: E402

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
DAY = 86400.0
CLASSES = ("timeout", "http_502", "http_500", "refused", "wp_db_connection", "dns")


def site_history(rng: random.Random, start: float, end: float):
    """One site's year: mostly up, outages, maintenance windows and restart gaps."""
    t = start
    while t < end:
        up_for = rng.expovariate(1 / (14 * DAY))
        up_end = min(end, t + up_for)
        yield Interval(t, up_end, "up")
        t = up_end
        if t >= end:
            break
        roll = rng.random()
        if roll < 0.55:  # an outage of minutes to a few hours
            span = rng.choice((120, 300, 900, 3600, 10800))
            yield Interval(t, min(end, t + span), "down", rng.choice(CLASSES))
        elif roll < 0.8:  # a maintenance window
            span = rng.choice((1800, 3600, 7200))
            yield Interval(t, min(end, t + span), "maintenance")
        else:  # the daemon stopped: nothing measured
            span = rng.choice((300, 1800, 7200))
        t = min(end, t + span)


def build(folder: Path, customers: int, sites: int, days: int) -> tuple[Store, Config, float]:
    rng = random.Random(17)
    config = Config(
        customers=tuple(
            Customer(f"Customer {i:03d}", lang=("es", "en")[i % 2]) for i in range(customers)
        ),
        sites=tuple(
            Site(
                f"site-{i:05d}",
                f"https://site-{i:05d}.example/",
                customer=f"Customer {i % customers:03d}",
            )
            for i in range(sites)
        ),
    )
    store = Store(folder / "ronda.db")
    end = NOW.timestamp() - 30
    start = end - days * DAY
    began = time.perf_counter()
    rows = ((s.name, i) for s in config.sites for i in site_history(rng, start, end))
    load_history(store, rows)
    store.probes.write_round(
        [
            ProbeStateRow(s.name, end, True, "ok", 200, 90.0, "{}", None, None, False, "{}")
            for s in config.sites
        ],
        {},
        {s.name: 1 for s in config.sites},
    )
    return store, config, time.perf_counter() - began


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--sites", type=int, default=5000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store, config, load_s = build(folder, args.customers, args.sites, args.days)
        store.checkpoint()
        rows = store.history.count()
        size = (folder / "ronda.db").stat().st_size / 1e6
        print(
            f"history: {rows:,} rows for {args.sites:,} sites over {args.days} days "
            f"({rows / args.sites:.0f} a site), loaded in {load_s:.1f} s, database {size:.0f} MB"
        )

        # A round's history write: every site's verdict in one batch, as the rounds do.
        times = []
        at = NOW.timestamp()
        for n in range(args.rounds):
            at += 60
            batch = [
                HistoryRow(
                    s.name,
                    at,
                    "down" if (i + n) % 97 == 0 else "up",
                    "timeout" if (i + n) % 97 == 0 else None,
                    200.0,
                )
                for i, s in enumerate(config.sites)
            ]
            began = time.perf_counter()
            store.probes.write_round([], {}, {}, batch)  # the history part of a round
            times.append(time.perf_counter() - began)
        print(
            f"round batch: {args.sites:,} verdicts written in "
            f"{statistics.median(times) * 1000:.0f} ms (median of {args.rounds})"
        )

        # Every customer's page, built and swapped in: timed, then again for its memory
        # (tracemalloc slows what it watches).
        now = NOW + timedelta(minutes=args.rounds)
        cpu, began = time.process_time(), time.perf_counter()
        built = publish(store, config, folder / "www", specs(config), now)
        took, cpu = time.perf_counter() - began, time.process_time() - cpu
        tracemalloc.start()
        publish(store, config, folder / "www", specs(config), now)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        pages_mb = sum(p.stat().st_size for p in (folder / "www").glob("*/index.html")) / 1e6
        print(
            f"status pages: {len(built)} pages ({args.sites:,} sites, 90 days each) in "
            f"{took:.1f} s ({cpu:.1f} s of CPU), {pages_mb:.1f} MB of HTML, peak Python "
            f"memory {peak / 1e6:.0f} MB"
        )

        # A month's uptime for every site (what a monthly report reads).
        began = time.perf_counter()
        end = now.timestamp()
        history = store.history.sites_intervals([s.name for s in config.sites], end - 30 * DAY, end)
        ratios = [uptime(v, end - 30 * DAY, end).ratio for v in history.values()]
        took = time.perf_counter() - began
        mean = statistics.fmean(r for r in ratios if r is not None)
        print(f"month uptime: {len(ratios):,} sites in {took:.2f} s (mean {mean * 100:.3f} %)")
        print(f"peak RSS: {rss_mb():.0f} MB")
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
