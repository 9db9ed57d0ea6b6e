"""The whole contract in one round: web sites, their mail and access services and their
domains, through the real scheduler and round runner (`bench/probe_rounds.py --services`).

- web sites: the fast in-process fake probe (a few milliseconds of simulated network wait,
  1% failing with HTTP 500), as bench/schedule_lag.py;
- services: five per server of 25 sites (SMTP with STARTTLS, submission, IMAPS, POP3S, SSH),
  checked for real against the mail server subprocess of bench/probe_rounds.py;
- domains: `domains` subjects (default: one per site) checked for real (DNS within the
  `[dns] per_resolver` bound, registration expiry) against the demo's DNS server and
  registries (ronda/demo/dns_fleet.py) in a child process, over the demo's zones.

Every kind on the same interval (60 s by default: the worst case; the config's defaults
are 300 s for services and 15 min for domains). Servers run in other processes, so the CPU
printed is the desk's own. Lag is the time from a check's due instant to the moment it
starts (after the concurrency limits). Goal: p99 < 1 s.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import resource
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

MAIL_KINDS = ("smtp", "submission", "imaps", "pop3s", "ssh")


def service_subject(server: str, service: str, port: int, interval: float = 60.0):
    from ronda.config.services import SERVICES, ServiceCheck, service_subject

    tls = SERVICES[service].tls
    check = ServiceCheck(server, service, "127.0.0.1", port, tls=tls, deadline=10.0)
    return service_subject(check, interval=interval)


def _serve_dns(conn) -> None:
    from ronda.demo.dns_fleet import DnsFleet

    fleet = DnsFleet().start()
    conn.send((fleet.dns_port, fleet.rdap_port, fleet.whois_port))
    conn.recv()  # until the parent is done
    fleet.stop()


def _domain_subjects(dns_ports: tuple[int, int, int], n: int, interval: float):
    """`n` domain subjects over the demo's zones (distinct names, the same few zones)."""
    from ronda.config import parse_config
    from ronda.demo.dns_fleet import DnsFleet

    fleet = DnsFleet()
    fleet.dns_port, fleet.rdap_port, fleet.whois_port = dns_ports
    # A longer query timeout than the demo's: the responder is Python, in one process.
    text = fleet.config_toml(interval=900.0).replace("timeout = 1.0", "timeout = 5.0")
    base = list(parse_config(text).subjects)
    return tuple(
        replace(b, name=f"{b.name}#{i}", probe=replace(b.probe, interval=interval))
        for i, b in ((i, base[i % len(base)]) for i in range(n))
    )


def _web_probe(failing: frozenset[str], rng: random.Random):
    from datetime import UTC, datetime

    from ronda.checks.classify import Finding
    from ronda.checks.probe import ProbeResult
    from ronda.model import FailureClass

    async def probe(site) -> ProbeResult:
        await asyncio.sleep(rng.uniform(0.002, 0.030))  # the network, roughly
        bad = site.name in failing
        cls = FailureClass.HTTP_500 if bad else FailureClass.OK
        return ProbeResult(
            site=site.name,
            url=site.url,
            started_at=datetime.now(UTC),
            failure_class=cls,
            status_code=500 if bad else 200,
            elapsed_ms=12.0,
            findings=[Finding(cls, None, f"{site.name}: HTTP 500")] if bad else [],
            home_class=cls,
        )

    return probe


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


async def contract_round(
    ports: dict[str, int],
    ca: Path,
    sites: int,
    domains: int,
    duration: float,
    concurrency: int = 100,
    interval: float = 60.0,
) -> bool:
    """One run: `sites` web sites, five services per server of 25, `domains` domains."""
    from ronda.checks import domains as domain_checks
    from ronda.checks.rounds import RoundRunner
    from ronda.checks.scheduler import Scheduler
    from ronda.checks.subjects import CheckContext
    from ronda.config import Config, ProbeSettings, Site
    from ronda.store import Store

    rng = random.Random(7)
    servers = max(1, sites // 25)
    web = tuple(
        Site(
            name=f"site{i:05d}",
            url=f"https://site{i:05d}.example/",
            server=f"web-{i % servers:03d}",
            probe=ProbeSettings(interval=interval),
        )
        for i in range(sites)
    )
    services = tuple(
        service_subject(f"web-{n:03d}", kind, ports[kind], interval)
        for n in range(servers)
        for kind in MAIL_KINDS
    )
    failing = frozenset(s.name for s in rng.sample(web, k=max(1, sites // 100)))
    parent, child = multiprocessing.Pipe()
    dns_server = None
    owned: tuple = ()
    if domains > 0:
        dns_server = multiprocessing.Process(target=_serve_dns, args=(child,), daemon=True)
        dns_server.start()
        owned = _domain_subjects(parent.recv(), domains, interval)
    try:
        config = Config(sites=web, subjects=(*services, *owned), concurrency=concurrency)
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(Path(tmp) / "bench.db")
            runner = RoundRunner(store, config)
            context = CheckContext(extra_ca=ca, store=store)
            sched = Scheduler(config, runner, _web_probe(failing, rng), context=context)
            stop = asyncio.Event()
            cpu0 = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.monotonic()
            task = asyncio.create_task(sched.run(stop))
            await asyncio.sleep(duration)
            stop.set()
            await task
            wall = time.monotonic() - t0
            cpu1 = resource.getrusage(resource.RUSAGE_SELF)
            kind_of = {s.name: s.kind for s in config.checked()}
            sights = [(kind_of.get(n), up) for n, _, up, _ in store.probes.sights()]
            store.close()
    finally:
        if dns_server is not None:
            parent.send("stop")
            dns_server.join(5)
    lags = list(sched.stats.lags or [])
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    p99 = _pct(lags, 99) if lags else float("inf")
    checked = {k: sum(1 for kind, _ in sights if kind == k) for k in ("service", "domain")}
    up = {k: sum(1 for kind, u in sights if kind == k and u) for k in ("service", "domain")}
    limits = domain_checks.STATE.limits.values()
    print(
        f"round: {sites} sites on {servers} servers + {len(services)} services + "
        f"{len(owned)} domains, {interval:g} s interval each, {duration:g} s, "
        f"concurrency {concurrency}"
    )
    print(
        f"  checks started {sched.stats.started}  errors {sched.stats.probe_errors}  "
        f"services checked {checked['service']} (up {up['service']})  "
        f"domains checked {checked['domain']} (resolving {up['domain']})  "
        f"DNS queries in flight at most {max((x.peak for x in limits), default=0)}"
    )
    print(
        f"  lag p50={statistics.median(lags) * 1000:.1f} ms  p99={p99 * 1000:.1f} ms  "
        f"max={max(lags) * 1000:.1f} ms  (n={len(lags)})"
    )
    print(f"  CPU {cpu:.1f} s over {wall:.1f} s ({cpu / wall * 100:.0f}% of a core)")
    ok = p99 < 1.0
    print("  goal p99 < 1 s:", "met" if ok else "NOT met")
    return ok
