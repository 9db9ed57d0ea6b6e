"""How long the ticket screen's read takes on a big desk: `load_detail` (the ticket, its
history, its messages, the customer's other tickets and the site's history, newest first).

    python bench/ticket_detail.py [--tickets 100000] [--samples 300]

Prints p50/p95/max in milliseconds for a desk with the related-tickets indexes and, for
comparison, the same desk at the schema before them (the lists then scan the table).
The read runs off the UI thread; the goal is that opening a ticket stays well under the
100 ms an agent notices.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tui_scale import populate  # noqa: E402 - the same synthetic desk as the queue bench

from ronda.store import MIGRATIONS, Store  # noqa: E402
from ronda.tickets import Desk  # noqa: E402
from ronda.tui.data import load_detail  # noqa: E402

# The schema just before the related-tickets indexes (and what follows them).
BEFORE_INDEXES = next(i for i, m in enumerate(MIGRATIONS) if m.__name__ == "_m10_related_tickets")


def measure(path: Path, tickets: int, samples: int) -> list[float]:
    store = Store(path, migrate=False)
    desk = Desk(store)
    rng = random.Random(5)
    ids = [rng.randint(1, tickets) for _ in range(samples)]
    load_detail(desk, ids[0])  # warm the connection and the page cache
    took = []
    for ticket_id in ids:
        start = time.perf_counter()
        detail = load_detail(desk, ticket_id)
        took.append((time.perf_counter() - start) * 1000)
        assert detail.customer_tickets or detail.site_tickets
    store.close()
    return took


def report(label: str, took: list[float]) -> None:
    ordered = sorted(took)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    print(
        f"{label:<28} p50 {statistics.median(ordered):7.2f} ms   "
        f"p95 {p95:7.2f} ms   max {ordered[-1]:7.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for label, migrations in (
            ("with the indexes", MIGRATIONS),
            ("without them (before)", MIGRATIONS[:BEFORE_INDEXES]),
        ):
            path = Path(tmp) / f"{len(migrations)}.db"
            start = time.perf_counter()
            store = Store(path, migrations=migrations)
            populate(store, args.tickets, open_share=0.05)
            store.close()
            built = time.perf_counter() - start
            print(f"{args.tickets:,} tickets (800 customers, 5,000 sites), built in {built:.1f} s")
            report(label, measure(path, args.tickets, args.samples))


if __name__ == "__main__":
    main()
