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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
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
