"""The agents' TUI with 100k tickets in the store, and how it grows to 1M.

Measures, headless (Textual's test driver, 120x36):
- start to first painted queue: from building the app to the queue table holding its rows
  after a refresh (includes Textual's own start-up); the header's counts by SLA state
  (a scan of every open ticket) follow from a second worker, timed apart;
- a filter keystroke to repaint: from a key event entering the app (as the terminal
  driver delivers it) to the screen painted with the new snapshot (search box, poller
  wake-up, queue query, table swap, the screen's refresh), per keystroke; the word in
  --keys is typed --rounds times (the box cleared in between), each key as soon as the
  previous one is painted (faster than anyone types), n = 32 by default; the search goes
  word by word through the FTS5 index over subjects, sites, customers and message bodies
  (every ticket has an opening message here), in the queue's order (its urgency index);
- the parts alone: the queue load (query + count + header counts) and a table swap with
  its repaint.
Goals: first paint < 1 s, keystroke < 100 ms (p95), at 100k tickets. With --tickets
100000,1000000 each size runs in turn, and the last lines say how first paint and keystroke
grow from the first size to the others.

Run: python bench/tui_scale.py [--tickets 100000[,1000000]] [--open-share 0.3]
     [--keys checkout] [--rounds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from textual import events

from ronda.store import Store
from ronda.store.bulk import analyze, bulk_write
from ronda.tickets import QueueFilter, case_number_for
from ronda.tui.app import RondaApp
from ronda.tui.data import QUEUE_LIMIT, load_queue
from ronda.tui.widgets.queue_table import QueueTable

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
OPEN = ["new", "open", "pending_customer", "reopened"]
WORDS = ["home", "checkout", "panel", "correo", "dns", "ssl", "backup", "lento", "plugin"]
# Customers' names with accents, as search folds them ("ferreteria lopez").
CUSTOMERS = ["Ferretería López", "Panadería Núñez", "Óptica Peña", "Café Ávila", "ACME"]
BODIES = [
    "La página de pago no carga desde esta mañana",
    "El formulario de contacto devuelve un error",
    "No llegan los correos del sitio",
    "The checkout is slow again",
    "Renovar el certificado antes del viernes",
]


def populate(store: Store, tickets: int, open_share: float) -> None:
    """Bulk insert straight into the tables (the desk would take minutes for 100k)."""
    rng = random.Random(11)
    base = NOW.timestamp()

    def rows():  # a generator: a million rows never sit in memory at once
        for i in range(1, tickets + 1):
            opened = base - rng.uniform(0, 60 * 86400)
            status = rng.choice(OPEN) if rng.random() < open_share else "resolved"
            answered = opened + 600 if rng.random() < 0.4 else None
            # One answered case in four heard from the customer again: a next reply owed.
            again = answered is not None and status != "resolved" and rng.random() < 0.25
            yield (
                i,
                case_number_for(i),
                rng.choice(["probe", "email", "manual"]),
                f"{rng.choice(WORDS)} {rng.choice(WORDS)} caso {i}",
                rng.choice(["low", "medium", "high"]),
                rng.choice(["low", "medium", "high"]),
                status,
                rng.choice([None, "ana", "luis", "marta"]),
                opened,
                opened + rng.uniform(300, 86400),
                opened + rng.uniform(900, 172800),
                answered,
                "met" if answered is not None else None,
                opened + 60 if status == "pending_customer" else None,
                answered + 3600 if again else None,
                answered + 3600 + rng.uniform(300, 86400) if again else None,
                answered + 3600 + rng.uniform(900, 172800) if again else None,
                f"site-{i % 5000}",
                f"{CUSTOMERS[i % len(CUSTOMERS)]} {i % 800}",
                opened,
            )

    with bulk_write(store) as bulk:
        bulk.insert(
            "tickets",
            (
                "id", "case_number", "source", "subject", "priority", "impact", "status",
                "assignee", "opened_at", "sla_target_at", "sla_limit_at", "first_response_at",
                "sla_outcome", "paused_at", "reply_due_at", "reply_target_at",
                "reply_limit_at", "site", "customer", "updated_at",
            ),
            rows(),
        )  # fmt: skip
        bulk.insert(
            "ticket_events",
            ("ticket_id", "at", "actor", "kind", "body"),
            ((i, base, "mail", "opened", BODIES[i % len(BODIES)]) for i in range(1, tickets + 1)),
        )
    analyze(store)


def populate_file(path: str, tickets: int, open_share: float) -> None:
    store = Store(path)
    populate(store, tickets, open_share)
    store.close()


async def wait_until(pilot, condition, bound: float = 30.0) -> None:  # noqa: ANN001
    deadline = time.perf_counter() + bound
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.004)  # coarse: a busy loop here would steal the GIL


async def painted(widget) -> float:  # noqa: ANN001
    """When the screen has refreshed with everything already sent to `widget`."""
    done: list[float] = []
    widget.call_after_refresh(lambda: done.append(time.perf_counter()))
    deadline = time.perf_counter() + 30.0
    while not done:
        if time.perf_counter() > deadline:
            raise TimeoutError("no refresh")
        await asyncio.sleep(0.002)
    return done[0]


async def measure(path: Path, keystrokes: str, rounds: int = 1) -> dict[str, object]:
    store = Store(path)
    started = time.perf_counter()
    app = RondaApp(store, "ana", clock=lambda: NOW, idle_gc=True)  # as run_tui does
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(
            pilot,
            lambda: (
                isinstance(app.screen.query(QueueTable).first(None), QueueTable)
                and app.screen.query_one(QueueTable).row_count > 0
            ),
        )
        await pilot.pause()  # one refresh: the rows are on screen
        first_paint = time.perf_counter() - started
        # The header's counts by SLA state follow from a second worker.
        await wait_until(pilot, lambda: app.snapshot is not None and app.snapshot.counts)
        await pilot.pause()
        counts_paint = time.perf_counter() - started
        table = app.screen.query_one(QueueTable)
        search = app.screen.query_one("#search")
        await pilot.press("slash")

        direct: list[float] = []
        typed = ""
        for char in keystrokes * rounds:
            if typed == keystrokes:
                # A new round: clear the box and let the queue settle, as an agent would.
                typed = ""
                search.value = ""
                await wait_until(pilot, lambda: app.settled and app.queue_filter.search is None)
            typed += char
            t0 = time.perf_counter()
            # The key event a terminal sends, into the app's queue as the driver puts it.
            app._driver.send_message(events.Key(char, char))
            # The table holds the rows for this text (the total may follow)...
            await wait_until(
                pilot,
                lambda want=typed: (
                    app.queue_filter.search == want
                    and app.snapshot is not None
                    and app.snapshot.generation == app._request[0]
                ),
            )
            # ... and the screen has been painted with them.
            direct.append(await painted(table) - t0)
        await wait_until(pilot, lambda: app.settled)
        shown, total = len(app.snapshot.rows), app.snapshot.total

        # The parts alone.
        loads = []
        for _ in range(5):
            t0 = time.perf_counter()
            snapshot = load_queue(app.desk, QueueFilter(limit=QUEUE_LIMIT), NOW)
            loads.append(time.perf_counter() - t0)
        rebuilds = []
        for flip in range(5):
            rows = snapshot.rows[flip % 2 :]  # a different list each time: every row new
            t0 = time.perf_counter()
            table.show(rows, NOW)
            rebuilds.append(await painted(table) - t0)
    store.close()
    return {
        "first_paint": first_paint,
        "counts_paint": counts_paint,
        "direct": direct,
        "load": loads,
        "rebuild": rebuilds,
        "last": (shown, total, keystrokes),
    }


def ms(values: list[float]) -> str:
    # p95: the nearest rank (with n=32 that is the second worst).
    return (
        f"median {statistics.median(values) * 1000:.0f} ms, "
        f"p95 {p95(values) * 1000:.0f} ms, "
        f"max {max(values) * 1000:.0f} ms (n={len(values)}: "
        + " ".join(f"{v * 1000:.0f}" for v in values)
        + ")"
    )


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, math.ceil(0.95 * len(values)) - 1)]


def run(size: int, open_share: float, keys: str, rounds: int) -> dict[str, object]:
    """Populate a desk of `size` tickets, measure it, print the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        t0 = time.perf_counter()
        # In a child process: the TUI process should not carry the populating garbage
        # (its garbage collector would pay for it, and a real TUI never has it).
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            pool.apply(populate_file, (str(path), size, open_share))
        megabytes = path.stat().st_size / 1e6
        print(f"populated {size} tickets in {time.perf_counter() - t0:.1f} s ({megabytes:.0f} MB)")
        result = asyncio.run(measure(path, keys, rounds))
    shown, total, keys = result["last"]
    print(f"start to first painted queue: {result['first_paint'] * 1000:.0f} ms (goal < 1000)")
    print(f"... and the header's counts:  {result['counts_paint'] * 1000:.0f} ms")
    print(f"filter keystroke to repaint:  {ms(result['direct'])} (goal < 100)")
    print(f"queue load (query+counts):    {ms(result['load'])}")
    print(f"table swap and repaint:       {ms(result['rebuild'])}")
    print(f"search {keys!r}: showing {shown} of {total}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", default="100000", help="a size, or sizes separated by commas")
    parser.add_argument("--open-share", type=float, default=0.3)
    parser.add_argument("--keys", default="checkout")
    # Typing --keys this many times (clearing the box in between): n = rounds * len(keys).
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    sizes = [int(n) for n in args.tickets.split(",")]
    results = {}
    for size in sizes:
        print(f"--- {size} tickets")
        results[size] = run(size, args.open_share, args.keys, args.rounds)
    first = sizes[0]
    for size in sizes[1:]:
        a, b = results[first], results[size]
        print(
            f"growth {first} -> {size} tickets (x{size / first:g}): "
            f"first paint {a['first_paint'] * 1000:.0f} -> {b['first_paint'] * 1000:.0f} ms "
            f"(x{b['first_paint'] / a['first_paint']:.2f}), "
            f"keystroke p95 {p95(a['direct']) * 1000:.0f} -> {p95(b['direct']) * 1000:.0f} ms "
            f"(x{p95(b['direct']) / p95(a['direct']):.2f}), "
            f"queue load median {statistics.median(a['load']) * 1000:.0f} -> "
            f"{statistics.median(b['load']) * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
