"""Reaching people in a large outage: 1,000 tickets opening in one round, every customer
notice and agent notification queued and delivered to local sinks, while the rounds go on.

The real scheduler and round runner (with the service's after-batch hook) probe `--sites`
sites through a fast in-process fake probe (a few milliseconds of simulated network wait);
`--failing` of them fail from the start, each for its own customer (who opted in to
notices), so each round that reaches one opens its case at once (an immediate re-probe
confirms it). The real notifier and sender run on their own threads against the same
SQLite file; an SMTP sink (aiosmtpd) and a webhook (Apprise's json://) in another process
stand in for the relay and the agent's phone. One agent is on call, told on both channels,
with no rate limit, so every case is a notice and two notifications.

    python bench/notify.py                         # 1,000 failing of 3,000 sites, 2 s rounds
    python bench/notify.py --failing 200 --sites 1000

Figures: when the last case opened, when every message was queued, when every one was
delivered (seconds from the start), the messages per second delivered, and the rounds'
schedule lag meanwhile. Goal (the issue): p99 lag < 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ronda.app.rounds import HookedRunner  # noqa: E402
from ronda.checks.classify import Finding  # noqa: E402
from ronda.checks.probe import ProbeResult  # noqa: E402
from ronda.checks.scheduler import Scheduler  # noqa: E402
from ronda.config import (  # noqa: E402
    Agent,
    Config,
    Customer,
    MailSettings,
    NoticeSettings,
    OncallSettings,
    ProbeSettings,
    Site,
)
from ronda.model import FailureClass, Impact  # noqa: E402
from ronda.reach.notifier import Notifier  # noqa: E402
from ronda.reach.sender import Sender  # noqa: E402
from ronda.store import Store  # noqa: E402

# ---- the sinks, in a process of their own (as the relay and the phone would be) -----------


def _sinks(ports: multiprocessing.Queue, mails: Synchronized, posts: Synchronized) -> None:
    from ronda.intake.server import SmtpThread

    class Count:
        async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001
            with mails.get_lock():
                mails.value += 1
            return "250 OK"

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with posts.get_lock():
                posts.value += 1
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    smtp = SmtpThread(Count()).start()
    http = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    ports.put((smtp.port, http.server_address[1]))
    http.serve_forever(poll_interval=0.05)


# ---- the desk -----------------------------------------------------------------------------


def make_config(args: argparse.Namespace, smtp: int, hook: int) -> tuple[Config, frozenset]:
    probe = ProbeSettings(interval=args.interval)
    customers = tuple(
        Customer(f"Cliente {i:04d}", emails=(f"c{i:04d}@cliente.example",), notices=True)
        for i in range(args.failing)
    )
    sites = tuple(
        Site(
            name=f"site{i:05d}",
            url=f"https://site{i:05d}.example/",
            customer=customers[i].name if i < args.failing else None,
            impact=Impact.HIGH,
            probe=probe,
        )
        for i in range(args.sites)
    )
    failing = frozenset(site.name for site in sites[: args.failing])
    config = Config(
        customers=customers,
        sites=sites,
        mail=MailSettings(relay=f"127.0.0.1:{smtp}", desk_address="soporte@desk.example"),
        notices=NoticeSettings(delay=0.0),
        agents=(
            Agent(
                "laura",
                email="laura@agencia.example",
                notify=(f"json://127.0.0.1:{hook}/laura",),
            ),
        ),
        oncall=OncallSettings(business_hours=("laura",), after_hours=("laura",), rate_limit=0),
        concurrency=100,
    )
    return config, failing


def make_probe(failing: frozenset[str], rng: random.Random):
    async def probe(site: Site) -> ProbeResult:
        await asyncio.sleep(rng.uniform(0.002, 0.030))  # the network, roughly
        bad = site.name in failing
        findings = [Finding(FailureClass.HTTP_502, None, f"{site.name}: HTTP 502")] if bad else []
        return ProbeResult(
            site=site.name,
            url=site.url,
            started_at=datetime.now(UTC),
            failure_class=FailureClass.HTTP_502 if bad else FailureClass.OK,
            status_code=502 if bad else 200,
            elapsed_ms=12.0,
            phases={"dns": 0.001, "connect": 0.002, "tls": 0.004, "first_byte": 0.004},
            headers={"server": "nginx"},
            body_excerpt="<html>",
            findings=findings,
        )

    return probe


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def run(
    args: argparse.Namespace,
    store: Store,
    config: Config,
    failing: frozenset,
    mails: Synchronized,
    posts: Synchronized,
) -> int:
    want_mail, want_posts = 2 * args.failing, args.failing  # a notice and an e-mail; a post
    want = want_mail + want_posts
    notifier = Notifier(store, lambda: config, queued=lambda: sender.wake())
    sender = Sender(store, lambda: config)
    runner = HookedRunner(store, config, after_batch=notifier.after_round)
    sched = Scheduler(config, runner, make_probe(failing, random.Random(7)))
    reader = Store(store.path)  # the bench's own looks at the file
    marks: dict[str, float] = {}
    stop = asyncio.Event()
    sender.start()
    notifier.start()
    t0 = time.monotonic()
    task = asyncio.create_task(sched.run(stop))
    deadline = t0 + args.timeout
    while time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        now = time.monotonic() - t0
        opened = reader.query("SELECT COUNT(*) AS n FROM tickets")[0]["n"]
        if opened and "first" not in marks:
            marks["first"] = now
        if opened >= args.failing and "opened" not in marks:
            marks["opened"] = now
        if "queued" not in marks and sum(reader.outbox.totals().values()) >= want:
            marks["queued"] = now
        if mails.value >= want_mail and posts.value >= want_posts:
            marks["delivered"] = now
            break
    lag_from = len(sched.stats.lags or ())
    await asyncio.sleep(args.interval)  # one more round with everything told
    stop.set()
    await task
    notifier.stop()
    sender.stop()
    latencies = reader.outbox.latencies()
    reader.close()
    lags = list(sched.stats.lags or [])
    print(
        f"sites={args.sites} failing={args.failing} interval={args.interval:g}s "
        f"probes started={sched.stats.started}"
    )
    labels = {
        "first": "first case opened",
        "opened": f"all {args.failing} cases open",
        "queued": f"all {want} messages queued",
        "delivered": "all delivered",
    }
    for mark, label in labels.items():
        value = marks.get(mark)
        print(f"  {label:>26}: " + (f"{value:6.2f} s" if value is not None else "not reached"))
    delivered = marks.get("delivered")
    if delivered is not None and "opened" in marks and "first" in marks:
        print(
            f"  delivered {delivered - marks['opened']:.2f} s after the last case opened; "
            f"{want / max(delivered - marks['first'], 0.001):.0f} messages/s from the first "
            f"({want_mail} mails to the relay, {want_posts} webhook posts)"
        )
    if latencies:
        print(
            f"  queued -> sent per message: p50={statistics.median(latencies) * 1000:.0f} ms "
            f"p99={pct(latencies, 99) * 1000:.0f} ms max={max(latencies) * 1000:.0f} ms"
        )
    ok = False
    if lags:
        p99 = pct(lags, 99)
        print(
            f"  schedule lag p50={statistics.median(lags) * 1000:.1f} ms "
            f"p99={p99 * 1000:.1f} ms max={max(lags) * 1000:.1f} ms (n={len(lags)}, "
            f"{len(lags) - lag_from} after delivery)"
        )
        ok = p99 < 1.0 and delivered is not None
    print("goal p99 < 1 s with everything delivered:", "met" if ok else "NOT met")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=3000)
    parser.add_argument("--failing", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    mails = multiprocessing.Value("i", 0)
    posts = multiprocessing.Value("i", 0)
    ports: multiprocessing.Queue = multiprocessing.Queue()
    sinks = multiprocessing.Process(target=_sinks, args=(ports, mails, posts), daemon=True)
    sinks.start()
    try:
        smtp, hook = ports.get(timeout=20)
        config, failing = make_config(args, smtp, hook)
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(Path(tmp) / "bench.db")
            try:
                return asyncio.run(run(args, store, config, failing, mails, posts))
            finally:
                store.close()
    finally:
        sinks.terminate()  # the process this bench started, by its handle
        sinks.join(5)


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    sys.exit(main())
