"""Exporter at agency scale: 100k tickets, 1M events, 5,000 sites.

Fills a store with the store's bulk loader (a bench, not a desk), starts the exporter in a
child process, scrapes `/metrics` over HTTP and prints the scrape time (median, p95; the
exporter's own collect time too), the response size and the exporter's memory (RSS).
Goal: under 100 ms median per scrape.

Between two scrapes the bench writes what a busy desk writes in ~15 s (a quarter of the
sites probed again, tickets opened and answered, with their events) and the exporter's clock
moves 15 s, so its caches and compliance windows see realistic churn; `--idle` skips the
writes (best case).

Run: python bench/exporter_scale.py [--tickets 100000] [--events 1000000] [--sites 5000]
     [--scrapes 40] [--idle] [--analyze]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ronda.model import FailureClass  # noqa: E402
from ronda.sla import default_matrix  # noqa: E402
from ronda.store import Store  # noqa: E402
from ronda.store.bulk import analyze, bulk_write  # noqa: E402
from ronda.tickets import case_number_for  # noqa: E402

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
LEVELS = ("low", "medium", "high")
CLASSES = [str(c) for c in FailureClass if c not in (FailureClass.OK,)]
PHASES = ("dns", "connect", "tls", "first_byte", "transfer")


@dataclass
class Desk:
    """What the bench wrote, so that its later writes can set values instead of computing
    them in SQL: the top ticket id, who is answered, each site's rounds and failures."""

    top: int
    answered: bytearray  # per ticket id: 1 once it has a first response
    rounds: dict[str, int]
    failures: dict[tuple[str, str], int]


def populate(store: Store, tickets: int, events: int, sites: int, customers: int) -> Desk:
    rng = random.Random(7)
    now = NOW.timestamp()
    matrix = {
        (str(p), str(i)): (c.target.total_seconds(), c.limit.total_seconds())
        for (p, i), c in default_matrix().items()
    }
    customer_names = [f"customer-{n}" for n in range(customers)]
    site_names = [f"site-{n:05d}.example.co" for n in range(sites)]
    answered_flags = bytearray(tickets + 1)
    ticket_rows = []
    for i in range(1, tickets + 1):
        opened = now - rng.uniform(0, 365 * 86400)
        priority, impact = rng.choice(LEVELS), rng.choice(LEVELS)
        target, limit = matrix[(priority, impact)]
        # Business hours stretch a deadline; a factor stands in for the calendar here.
        stretch = 1.0 if priority == "high" and impact != "low" else 2.5
        target_at, limit_at = opened + target * stretch, opened + limit * stretch
        source = rng.choices(["probe", "email", "manual"], weights=[50, 40, 10])[0]
        failure_class = rng.choice(CLASSES) if source == "probe" else None
        recent = now - opened < 3 * 86400
        status = (
            rng.choices(["new", "open", "pending_customer", "reopened"], weights=[4, 4, 2, 1])[0]
            if recent and rng.random() < 0.6
            else rng.choices(["resolved", "closed"], weights=[3, 7])[0]
        )
        answered = status != "new" and rng.random() < 0.97
        first_at = frs = outcome = None
        if answered:
            frs = rng.expovariate(1 / (limit * 0.6))
            first_at = min(opened + frs * stretch, now - 1)
            outcome = "met" if first_at <= limit_at else "missed"
            answered_flags[i] = 1
        paused_at = now - rng.uniform(0, 86400) if status == "pending_customer" else None
        ticket_rows.append(
            (
                i,
                case_number_for(i),
                source,
                f"ticket {i}",
                failure_class,
                site_names[i % sites],
                customer_names[i % customers],
                priority,
                impact,
                status,
                opened,
                target_at,
                limit_at,
                first_at,
                frs,
                outcome,
                paused_at,
                opened,
            )
        )
    per_ticket = max(1, events // tickets)
    site_rows, state_rows, failure_rows, round_rows = [], [], [], []
    for n, name in enumerate(site_names):
        site_rows.append(
            (name, f"https://{name}/", customer_names[n % customers], f"srv-{n % 250}", "medium")
        )
        up = rng.random() > 0.03
        phases = {p: round(rng.uniform(0.001, 0.4), 6) for p in PHASES}
        state_rows.append(
            (
                name,
                now - rng.uniform(0, 60),
                int(up),
                None if up else rng.choice(CLASSES),
                200 if up else rng.choice([500, 502, 503, 403]),
                sum(phases.values()) * 1000,
                json.dumps(phases),
                now + rng.uniform(-5, 90) * 86400,
                int(rng.random() < 0.01),
            )
        )
        for cls in rng.sample(CLASSES, rng.randint(0, 3)):
            failure_rows.append((name, cls, rng.randint(1, 500)))
        round_rows.append((name, rng.randint(1_000, 500_000)))
    with bulk_write(store) as bulk:
        bulk.insert("customers", ("name",), ((c,) for c in customer_names))
        bulk.insert("sites", ("name", "url", "customer", "server", "impact"), site_rows)
        bulk.insert("tickets", TICKET_COLUMNS, ticket_rows)
        bulk.insert(
            "ticket_events",
            ("ticket_id", "at", "actor", "kind", "body"),
            (
                (i, now, "probe", "recurrence", "still failing")
                for i in range(1, tickets + 1)
                for _ in range(per_ticket)
            ),
        )
        bulk.insert("probe_state", STATE_COLUMNS, state_rows)
        bulk.insert("probe_failures", ("site", "failure_class", "count"), failure_rows)
        bulk.insert("probe_rounds", ("site", "count"), round_rows)
    return Desk(
        top=tickets,
        answered=answered_flags,
        rounds=dict(round_rows),
        failures={(site, cls): n for site, cls, n in failure_rows},
    )


TICKET_COLUMNS = (
    "id",
    "case_number",
    "source",
    "subject",
    "failure_class",
    "site",
    "customer",
    "priority",
    "impact",
    "status",
    "opened_at",
    "sla_target_at",
    "sla_limit_at",
    "first_response_at",
    "first_response_seconds",
    "sla_outcome",
    "paused_at",
    "updated_at",
)
STATE_COLUMNS = (
    "site",
    "checked_at",
    "up",
    "failure_class",
    "status_code",
    "elapsed_ms",
    "phases",
    "cert_not_after",
    "in_maintenance",
)


def activity(store: Store, desk: Desk, rng: random.Random, sites: int, step: int) -> None:
    """About 15 s of a busy desk between two scrapes: a quarter of the sites probed again
    (state, rounds, some failures), five tickets opened, thirty touched (with events)."""
    now = NOW.timestamp() + step * 15
    with bulk_write(store) as bulk:
        quarter = range(step % 4, sites, 4)
        names = [f"site-{n:05d}.example.co" for n in quarter]
        bulk.update(
            "probe_state",
            ("checked_at", "elapsed_ms", "phases"),
            (
                (
                    now - rng.uniform(0, 15),
                    rng.uniform(50, 900),
                    json.dumps({p: round(rng.uniform(0.001, 0.3), 6) for p in PHASES}),
                    name,
                )
                for name in names
            ),
            key=("site",),
        )
        for name in names:
            desk.rounds[name] = desk.rounds.get(name, 0) + 1
        bulk.update("probe_rounds", ("count",), ((desk.rounds[n], n) for n in names), key=("site",))
        failed = [(n, "timeout") for n in rng.sample(names, 20)]
        for key in failed:
            desk.failures[key] = desk.failures.get(key, 0) + 1
        bulk.upsert(
            "probe_failures",
            ("site", "failure_class", "count"),
            ((*key, desk.failures[key]) for key in failed),
            key=("site", "failure_class"),
        )
        top = desk.top
        opened = range(top + 1, top + 6)
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
                "opened_at",
                "sla_target_at",
                "sla_limit_at",
                "customer",
                "updated_at",
            ),
            (
                (i, case_number_for(i), "email", "new", "medium", "medium", "new", now)
                + (now + 21600, now + 28800, "customer-1", now)
                for i in opened
            ),
        )
        bulk.insert(
            "ticket_events",
            ("ticket_id", "at", "actor", "kind"),
            ((i, now, "mail", "opened") for i in opened),
        )
        desk.top = top + 5
        desk.answered.extend(bytes(5))
        touched = [rng.randint(top - 3000, top) for _ in range(28)] + [
            rng.randint(1, top) for _ in range(2)
        ]
        # Answered now if nobody had yet; open again either way.
        for ticket_id in touched:
            if desk.answered[ticket_id]:
                bulk.update("tickets", ("status",), [("open", ticket_id)], key=("id",))
            else:
                desk.answered[ticket_id] = 1
                bulk.update(
                    "tickets",
                    ("first_response_at", "first_response_seconds", "sla_outcome", "status"),
                    [(now, 600, "met", "open", ticket_id)],
                    key=("id",),
                )
        bulk.insert(
            "ticket_events",
            ("ticket_id", "at", "actor", "kind"),
            ((ticket_id, now, "ana", "replied") for ticket_id in touched),
        )


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve_child(db: str) -> None:
    """The exporter process measured: serves until its stdin closes. Its clock moves 15 s a
    scrape, as the desk's does in `activity`, so the compliance windows move too."""
    from ronda.exporter.server import serve

    scrapes = itertools.count()

    def clock() -> datetime:  # the collector reads it once a scrape
        return NOW + timedelta(seconds=15 * next(scrapes))

    handle = serve(Store(db, migrate=False), "127.0.0.1:0", clock=clock)
    print(handle.port, flush=True)
    sys.stdin.read()
    handle.stop()


def rss_kib(pid: int) -> tuple[int, int]:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def scrape(port: int) -> tuple[float, bytes]:
    started = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
        body = response.read()
    return time.perf_counter() - started, body


def collect_seconds(body: bytes) -> float:
    for line in body.splitlines():
        if line.startswith(b"ronda_exporter_scrape_duration_seconds "):
            return float(line.split()[1])
    raise ValueError("no scrape duration in the scrape")


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve_child(sys.argv[2])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--sites", type=int, default=5_000)
    parser.add_argument("--customers", type=int, default=800)
    parser.add_argument("--scrapes", type=int, default=40)
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="refresh the query planner's statistics after filling",
    )
    parser.add_argument("--idle", action="store_true", help="no writes between scrapes (best case)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        store = Store(path)
        started = time.perf_counter()
        desk = populate(store, args.tickets, args.events, args.sites, args.customers)
        if args.analyze:
            analyze(store)
        store.close()
        print(
            f"filled {args.tickets} tickets, {args.events} events, {args.sites} sites in "
            f"{time.perf_counter() - started:.1f} s ({path.stat().st_size / 1e6:.0f} MB); "
            f"planner statistics: {'yes' if args.analyze else 'no'}"
        )
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            port = int(child.stdout.readline())
            rss_before, _ = rss_kib(child.pid)
            first, body = scrape(port)
            walls, collects, cpus = [], [], []
            rng = random.Random(11)
            writer = Store(path)
            for step in range(args.scrapes):
                if not args.idle:
                    activity(writer, desk, rng, args.sites, step)
                cpu = cpu_seconds(child.pid)
                wall, body = scrape(port)
                cpus.append(cpu_seconds(child.pid) - cpu)
                walls.append(wall)
                collects.append(collect_seconds(body))
            writer.close()
            rss, peak = rss_kib(child.pid)
        finally:
            child.stdin.close()
            child.wait(timeout=30)
        walls.sort()
        collects.sort()
        p95 = walls[min(len(walls) - 1, int(0.95 * len(walls)))]
        print(f"first scrape (cold): {first * 1000:.1f} ms")
        print(
            f"scrape over HTTP: median {statistics.median(walls) * 1000:.1f} ms, "
            f"p95 {p95 * 1000:.1f} ms, max {walls[-1] * 1000:.1f} ms "
            f"({len(walls)} scrapes, {len(body) / 1e6:.1f} MB, "
            f"{sum(1 for line in body.splitlines() if not line.startswith(b'#'))} samples)"
        )
        print(
            f"  exporter CPU per scrape: median {statistics.median(cpus) * 1000:.0f} ms "
            f"(clock ticks of {1000 / os.sysconf('SC_CLK_TCK'):.0f} ms); queries + families: "
            f"median {statistics.median(collects) * 1000:.1f} ms"
        )
        print(f"  load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        started = time.process_time()
        sum(range(10**6))
        print(
            f"  machine reference: sum(range(10**6)) takes "
            f"{(time.process_time() - started) * 1000:.1f} ms of CPU here"
        )
        print(
            f"exporter RSS: {rss_before / 1024:.0f} MiB idle, {rss / 1024:.0f} MiB after "
            f"scrapes, peak {peak / 1024:.0f} MiB"
        )


if __name__ == "__main__":
    main()
