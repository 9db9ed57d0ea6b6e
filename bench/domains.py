"""Customer domains: CPU per DNS check and per registry (expiry) lookup.

    python bench/domains.py [--checks 500] [--concurrency 50] [--lookups 200]

The demo's DNS server and registries (ronda/demo/dns_fleet.py: a dnspython responder, an
RDAP server, a WHOIS server) run in a child process, so their CPU is never counted; this
process counts only its own (`time.process_time`) while it:

- judges a healthy domain's answers (the pure part: SPF through pyspf, DMARC, MX, records);
- checks domains end to end (`check_domain_dns`: about nine queries each, judged) at the
  given concurrency, healthy and broken ones mixed;
- looks up expiry dates by RDAP (a new HTTP client per lookup, as the rounds do once a day)
  and by WHOIS on port 43.

Prints CPU ms per unit and units per CPU second for each. At agency scale (hundreds of
domains every 15 minutes, one registry lookup each a day) both are far below a core.

    python bench/domains.py --round [--sites 10000] [--domains 1000] [--duration 70]

runs the real scheduler and round runner instead: `--sites` web sites a minute (the fake
probe of bench/schedule_lag.py) and `--domains` domain subjects a minute checked for real
(DNS and expiry) against the child process's servers, and prints the scheduling lag of
both. Goal: p99 < 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _serve(conn) -> None:
    from ronda.demo.dns_fleet import DnsFleet

    fleet = DnsFleet().start()
    conn.send((fleet.dns_port, fleet.rdap_port, fleet.whois_port))
    conn.recv()  # until the parent is done
    fleet.stop()


def _cpu(fn, *args):
    start = time.process_time()
    value = fn(*args)
    return time.process_time() - start, value


async def _checks(config, n: int, concurrency: int) -> tuple[int, int]:
    from ronda.checks.dns_fetch import check_domain_dns, make_resolver

    subjects = [s for s in config.subjects]
    resolver = make_resolver(subjects[0].check.dns)
    gate = asyncio.Semaphore(concurrency)
    queries = 0
    findings = 0

    async def one(i: int) -> None:
        nonlocal queries, findings
        subject = subjects[i % len(subjects)]
        async with gate:
            result = await check_domain_dns(subject.check.checks, resolver)
        queries += result.queries
        findings += len(result.verdict.findings)

    await asyncio.gather(*(one(i) for i in range(n)))
    return queries, findings


async def _lookups(config, n: int, whois: bool) -> int:
    from ronda.checks.expiry_fetch import BootstrapCache, lookup_expiry, make_client

    name = "mercadoorganico.com.co" if whois else "hostalcandelaria.test"
    subject = next(s for s in config.subjects if s.check.domain == name)
    ex = subject.check.expiry_settings
    import tempfile

    cache = BootstrapCache(Path(tempfile.mkdtemp()) / "b.json", ex.bootstrap_url)
    async with make_client(ex) as client:
        await cache.get(client)  # fetched once, as in a running desk
    found = 0
    for _ in range(n):
        async with make_client(ex) as client:
            expiry = await lookup_expiry(name, ex, cache, client)
        found += expiry.expires_at is not None
    return found


def _domain_subjects(config, n: int, interval: float):
    """`n` subjects over the demo's domains (distinct names, the same few zones)."""
    from dataclasses import replace

    base = list(config.subjects)
    return tuple(
        replace(
            b,
            name=f"{b.name}#{i}",
            probe=replace(b.probe, interval=interval),
        )
        for i, b in ((i, base[i % len(base)]) for i in range(n))
    )


async def _round(config, args) -> int:
    import random
    import resource
    import tempfile
    from dataclasses import replace

    from bench.schedule_lag import make_probe, make_sites, pct
    from ronda.checks.rounds import RoundRunner
    from ronda.checks.scheduler import Scheduler
    from ronda.checks.subjects import CheckContext
    from ronda.store import Store

    rng = random.Random(7)
    sites = make_sites(args.sites, 60.0, 400)
    failing = frozenset(s.name for s in rng.sample(sites, k=max(1, args.sites // 100)))
    subjects = _domain_subjects(config, args.domains, 60.0)
    full = replace(config, sites=sites, subjects=subjects, concurrency=100)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.db")
        runner = RoundRunner(store, full)
        context = CheckContext(store=store)
        sched = Scheduler(full, runner, make_probe(failing, rng), context=context)
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
        domain_rounds = sum(1 for site, *_ in store.probes.sights() if site.startswith("domain:"))
        store.close()
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    print(
        f"{args.sites} sites and {args.domains} domains a minute for {args.duration:g} s: "
        f"{sched.stats.started} checks started, {domain_rounds} domains checked"
    )
    p99 = pct(lags, 99) if lags else float("inf")
    print(
        f"lag p50={statistics.median(lags) * 1000:.1f} ms p99={p99 * 1000:.1f} ms "
        f"max={max(lags) * 1000:.1f} ms; CPU {cpu:.1f} s over {wall:.1f} s"
    )
    print("goal p99 < 1 s:", "met" if p99 < 1.0 else "NOT met")
    return 0 if p99 < 1.0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--round", action="store_true", help="scheduling lag with sites")
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--domains", type=int, default=1_000)
    parser.add_argument("--duration", type=float, default=70.0)
    args = parser.parse_args()

    from ronda.checks.dns_fetch import check_domain_dns, make_resolver
    from ronda.checks.dns_judge import judge
    from ronda.config import parse_config
    from ronda.demo.dns_fleet import DnsFleet

    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve, args=(child,), daemon=True)
    server.start()
    try:
        dns_port, rdap_port, whois_port = parent.recv()
        fleet = DnsFleet()
        fleet.dns_port, fleet.rdap_port, fleet.whois_port = dns_port, rdap_port, whois_port
        # A longer query timeout than the demo's: the responder is Python, in one process.
        config = parse_config(
            fleet.config_toml(interval=900.0).replace("timeout = 1.0", "timeout = 5.0")
        )
        if args.round:
            return asyncio.run(_round(config, args))
        healthy = next(s for s in config.subjects if s.check.domain == "tienda-ana.co")

        # The pure judgement, on answers fetched once.
        fetched = asyncio.run(
            check_domain_dns(healthy.check.checks, make_resolver(healthy.check.dns))
        )
        rounds = 2000
        cpu, _ = _cpu(lambda: [judge(healthy.check.checks, fetched.answers) for _ in range(rounds)])
        print(
            f"judge (pure, healthy domain, SPF via pyspf): {cpu / rounds * 1000:.3f} ms CPU "
            f"per domain, {rounds / cpu:,.0f} per CPU second"
        )

        per_check = []
        for run in range(args.runs):
            cpu, (queries, findings) = _cpu(
                lambda: asyncio.run(_checks(config, args.checks, args.concurrency))
            )
            per_check.append(cpu / args.checks * 1000)
            print(
                f"DNS checks run {run + 1}: {args.checks} domains at concurrency "
                f"{args.concurrency}, {queries / args.checks:.1f} queries each: "
                f"{per_check[-1]:.3f} ms CPU per check ({findings} findings)"
            )
        median = statistics.median(per_check)
        print(
            f"DNS check (fetch + judge): median {median:.3f} ms CPU per domain, "
            f"{1000 / median:,.0f} domains per CPU second"
        )

        for label, whois in (("RDAP", False), ("WHOIS", True)):
            cpu, found = _cpu(lambda w=whois: asyncio.run(_lookups(config, args.lookups, w)))
            assert found == args.lookups, f"{label}: {found} of {args.lookups} found a date"
            print(
                f"expiry lookup by {label}: {cpu / args.lookups * 1000:.3f} ms CPU per lookup "
                f"(at most one a day per domain)"
            )
    finally:
        parent.send("stop")
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
