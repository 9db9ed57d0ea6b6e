"""Store at agency scale: 100k tickets and 1M events.

Prints the queue query's latency (top 50 open by urgency; median and p95), the rate of
ticket updates through the desk (each a transaction with its event), and the file's size.
Run: python bench/store_scale.py [--tickets 100000] [--events 1000000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from ronda.model import Impact, Priority, Source
from ronda.store import Store
from ronda.store.bulk import analyze, bulk_write
from ronda.tickets import Desk, QueueFilter, case_number_for

STATUSES = ["new", "open", "pending_customer", "resolved", "closed", "reopened"]


def populate(store: Store, tickets: int, events: int, now: datetime) -> None:
    rng = random.Random(7)
    base = now.timestamp()
    rows = []
    for i in range(1, tickets + 1):
        opened = base - rng.uniform(0, 90 * 86400)
        status = rng.choices(STATUSES, weights=[5, 10, 3, 60, 20, 2])[0]
        rows.append(
            (
                i,
                case_number_for(i),
                rng.choice(["probe", "email", "manual"]),
                f"ticket {i}",
                rng.choice(["low", "medium", "high"]),
                rng.choice(["low", "medium", "high"]),
                status,
                opened,
                opened + rng.uniform(300, 86400),
                opened + rng.uniform(900, 172800),
                f"site-{i % 5000}",
                f"customer-{i % 800}",
                opened,
            )
        )
    per_ticket = events // tickets
    with bulk_write(store) as bulk:
        bulk.insert(
            "tickets",
            (
                "id", "case_number", "source", "subject", "priority", "impact", "status",
                "opened_at", "sla_target_at", "sla_limit_at", "site", "customer", "updated_at",
            ),
            rows,
        )  # fmt: skip
        bulk.insert(
            "ticket_events",
            ("ticket_id", "at", "actor", "kind", "body"),
            (
                (i, base, "probe", "recurrence", "still failing")
                for i in range(1, tickets + 1)
                for _ in range(per_ticket)
            ),
        )
    analyze(store)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--updates", type=int, default=2_000)
    args = parser.parse_args()
    now = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        store = Store(path)
        started = time.perf_counter()
        populate(store, args.tickets, args.events, now)
        print(
            f"populated {args.tickets:,} tickets and {args.events:,} events "
            f"in {time.perf_counter() - started:.1f} s"
        )
        desk = Desk(store, clock=lambda: now)
        latencies = []
        views = [
            QueueFilter(limit=50),
            QueueFilter(view="unassigned", limit=50),
            QueueFilter(priority=Priority.HIGH, limit=50),
        ]
        for n in range(args.queries):
            flt = views[n % len(views)]
            t0 = time.perf_counter()
            top = desk.queue(flt)
            latencies.append(time.perf_counter() - t0)
            assert len(top) == 50
        latencies.sort()
        p95 = latencies[int(len(latencies) * 0.95) - 1]
        print(
            f"queue query (top 50 open by urgency): median "
            f"{statistics.median(latencies) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms "
            f"(goal p95 < 20 ms)"
        )
        open_ids = [t.id for t in desk.queue(QueueFilter(limit=args.updates))]
        t0 = time.perf_counter()
        for ticket_id in open_ids:
            desk.note(ticket_id, "bench", "looked at it")
        elapsed = time.perf_counter() - t0
        print(
            f"ticket updates (change + event, one transaction each): "
            f"{len(open_ids) / elapsed:,.0f}/s"
        )
        t0 = time.perf_counter()
        opened = 0
        while time.perf_counter() - t0 < 2:
            desk.open_ticket(
                source=Source.MANUAL,
                subject="bench",
                priority=Priority.MEDIUM,
                impact=Impact.LOW,
                actor="bench",
            )
            opened += 1
        print(f"tickets opened: {opened / (time.perf_counter() - t0):,.0f}/s")
        store.checkpoint()
        size = path.stat().st_size
        print(f"database size: {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
