"""Monthly reports at agency scale: 200 customers, 5,000 sites, a year of site history.

Fills a store with a year of state changes per site (an outage every few days, a monthly
maintenance window, a gap where the desk was stopped), a month of cases and time entries,
and the last probes' certificates; then makes every customer's report of the last month
(`ronda report --all`): the store's reads, the reports' content, the HTML. Prints the time
of each part, the HTML's size, and the peak memory (Python's allocations by tracemalloc,
in a second pass, and the process's peak resident size).

Run: python bench/report.py [--customers 200] [--sites 5000] [--days 365]
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path

from ronda.config import Config, Customer, Site
from ronda.reports.period import Month
from ronda.reports.render import Renderer
from ronda.reports.run import customer_reports
from ronda.sites import sync_config
from ronda.sla import SlaPolicy
from ronda.store import Store
from ronda.store.bulk import analyze, bulk_write
from ronda.store.history import load_history
from ronda.tickets import case_number_for
from ronda.uptime import Interval

MONTH = Month(2026, 11)
CLASSES = ("http_500", "timeout", "refused", "http_503", "wp_db_connection")


def fleet(customers: int, sites: int) -> Config:
    people = tuple(
        Customer(f"Customer {i:03d}", contact=f"c{i}@c{i}.example", reports=True)
        for i in range(customers)
    )
    return Config(
        customers=people,
        sites=tuple(
            Site(
                f"site-{j:05d}",
                f"https://site-{j:05d}.example/",
                customer=people[j % customers].name,
            )
            for j in range(sites)
        ),
    )


def site_history(rng: random.Random, start: float, end: float) -> list[Interval]:
    """A site's year: up, with an outage every ~3 days (minutes to hours), an hour of
    maintenance on each 20th, and now and then a gap (no rows: the desk was stopped)."""
    out: list[Interval] = []
    t = start
    while t < end:
        up_for = rng.expovariate(1 / (3 * 86400))
        down_for = rng.choice((120, 300, 900, 3600, 7200)) * rng.uniform(0.5, 1.5)
        if rng.random() < 0.05:  # a gap of a few hours
            t += rng.uniform(3600, 6 * 3600)
            if t >= end:
                break
        out.append(Interval(t, min(end, t + up_for), "up"))
        t += up_for
        if t >= end:
            break
        state = "maintenance" if rng.random() < 0.1 else "down"
        cls = rng.choice(CLASSES) if state == "down" else None
        out.append(Interval(t, min(end, t + down_for), state, cls))
        t += down_for
    return out


def populate(store: Store, config: Config, days: int, tz) -> int:
    rng = random.Random(17)
    end = MONTH.end(tz).timestamp() + 86400
    start = end - days * 86400
    rows = 0
    batch: list[tuple[str, Interval]] = []
    for site in config.sites:
        batch += ((site.name, i) for i in site_history(rng, start, end))
        if len(batch) > 200_000:
            rows += load_history(store, batch)
            batch = []
    rows += load_history(store, batch)

    lo, hi = MONTH.start(tz).timestamp(), MONTH.end(tz).timestamp()
    tickets, entries, probes = [], [], []
    for customer in config.customers:
        for _ in range(rng.randint(3, 20)):
            tid = len(tickets) + 1
            opened = rng.uniform(lo, hi - 3600)
            limit = opened + rng.choice((900, 3600, 4 * 3600, 8 * 3600))
            answered = opened + rng.uniform(60, 2 * (limit - opened))
            tickets.append(
                (
                    tid,
                    case_number_for(tid),
                    rng.choice(("probe", "email", "manual")),
                    f"case {tid} of {customer.name}",
                    rng.choice(("low", "medium", "high")),
                    rng.choice(("low", "medium", "high")),
                    "resolved",
                    customer.name,
                    opened,
                    limit - 600,
                    limit,
                    answered,
                    "met" if answered <= limit else "missed",
                    answered + 3600,
                    answered + 3600,
                )
            )
            for _ in range(rng.randint(0, 3)):
                entries.append(
                    (
                        tid,
                        rng.choice(("maria", "pedro", "ana")),
                        rng.uniform(opened, hi),
                        rng.choice((900, 1800, 3600, 4500)),
                        f"work on case {tid}",
                        int(rng.random() < 0.3),
                    )
                )
    for site in config.sites:
        probes.append((site.name, hi, 1, "ok", hi + rng.uniform(0, 120) * 86400))
    with bulk_write(store) as bulk:
        bulk.insert(
            "tickets",
            (
                "id",
                "case_number",
                "source",
                "subject",
                "priority",
                "impact",
                "status",
                "customer",
                "opened_at",
                "sla_target_at",
                "sla_limit_at",
                "first_response_at",
                "sla_outcome",
                "resolved_at",
                "updated_at",
            ),
            tickets,
        )
        bulk.insert(
            "time_entries", ("ticket_id", "agent", "at", "seconds", "note", "billable"), entries
        )
        bulk.insert(
            "probe_state", ("site", "checked_at", "up", "failure_class", "cert_not_after"), probes
        )
    analyze(store)
    print(
        f"store: {rows:,} history rows ({rows / len(config.sites):.0f} per site over {days} "
        f"days), {len(tickets):,} cases, {len(entries):,} time entries"
    )
    return rows


def make_all(config: Config, store: Store, now: datetime) -> tuple[float, float, int]:
    """(seconds reading and building, seconds rendering, bytes of HTML)."""
    t0 = time.perf_counter()
    reports = customer_reports(config, store, MONTH, now=now)
    t1 = time.perf_counter()
    renderer = Renderer(config.reports)
    size = sum(len(renderer.render(r).encode("utf-8")) for r in reports)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--sites", type=int, default=5000)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    config = fleet(args.customers, args.sites)
    tz = SlaPolicy.from_config(config).timezone
    now = MONTH.end(tz) + timedelta(hours=9)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "ronda.db")
        sync_config(store, config)
        t = time.perf_counter()
        populate(store, config, args.days, tz)
        print(f"filled in {time.perf_counter() - t:.1f} s")
        store.close()
        store = Store(Path(tmp) / "ronda.db")  # cold connection, as `ronda report` starts
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        build, render, size = make_all(config, store, now)
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        total = build + render
        print(
            f"{args.customers} reports of {MONTH} ({args.sites:,} sites): {total:.2f} s "
            f"(reads and content {build:.2f} s, HTML {render:.2f} s; "
            f"{total / args.customers * 1000:.1f} ms per customer), "
            f"{size / 1e6:.1f} MB of HTML ({size / args.customers / 1024:.0f} KB each)"
        )
        tracemalloc.start()
        make_all(config, store, now)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"peak memory: {peak / 1e6:.1f} MB of Python allocations (tracemalloc); "
            f"process peak RSS {rss1 / 1024:.0f} MB (was {rss0 / 1024:.0f} MB before the reports)"
        )
        store.close()


if __name__ == "__main__":
    main()
