"""CPU per WordPress-health check: the judges alone, and what each check adds to a round.

    python bench/wordpress_checks.py [--sites 200] [--rounds 4] [--concurrency 50] [--runs 3]

1. The pure judges on a demo shop's home page (in this process, best of 5): the page scan
   (generator, mixed content, images), the core and PHP judges, PHP-warning search, the
   REST judge on a REST index, the firewall signatures on a 403.
2. Rounds of a healthy demo fleet (`python -m ronda.demo.fleet --uniform N`, its own
   process, so server CPU is not counted; half HTTPS; a third of the sites are shops with
   product images) probed by `Prober.probe_site` in this process: without WordPress health,
   with the home-page checks only (core, php, mixed_content, php_warnings: no request), and
   with each turn-taking check alone (images, rest_api, login: one extra request when its
   turn comes, which here is every round). CPU ms per site-round (getrusage of this
   process; the median of interleaved runs) and the difference to the round without
   WordPress health.

`bench/probe_rounds.py --wordpress` prints the same section after its own figures.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def judge_costs() -> list[tuple[str, float]]:
    """(what, microseconds per call) of each pure judge on a demo shop's home page."""
    from ronda.checks.classify import Observation, classify
    from ronda.checks.waf import firewall_of
    from ronda.checks.wordpress import core, debug, page, php, rest
    from ronda.config import ProbeSettings
    from ronda.demo import pages, wordpress_pages
    from ronda.demo.pages import Profile

    base = "https://127.0.0.1:8443/"
    shop = Profile("tienda", "Tienda", "Artesanías", kind="shop")
    body = pages.home(shop, base).body
    index = wordpress_pages.rest_index(shop, base).body
    facts = page.scan_page(body)
    releases = core.Releases((6, 7, 1), {(6, 6): (6, 6, 2)})
    now = datetime.now(UTC)
    blocked = Observation(url=base, status_code=403, body=wordpress_pages.IMUNIFY_PAGE)
    settings = ProbeSettings()
    cases = [
        ("page scan (generator, mixed, images)", lambda: page.scan_page(body)),
        (
            "core judge",
            lambda: core.judge_core(core.version_from_generator(facts.generator), releases),
        ),
        ("PHP end-of-life judge", lambda: php.judge_php(php.php_version("PHP/8.3.14"), now)),
        ("mixed-content judge", lambda: page.judge_mixed_content(base, facts)),
        ("image sample pick", lambda: page.own_images(base, facts, 3)),
        ("PHP-warning search", lambda: debug.judge_php_warnings(200, body)),
        ("REST judge (index)", lambda: rest.judge_rest(base, 200, "application/json", index)),
        ("firewall signatures (403)", lambda: firewall_of(403, {}, wordpress_pages.IMUNIFY_PAGE)),
        ("classify a firewall 403", lambda: classify(blocked, settings, now)),
    ]
    out = []
    for name, fn in cases:
        number = 200
        best = min(timeit.repeat(fn, number=number, repeat=5)) / number
        out.append((name, best * 1e6))
    return out


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _rounds(config, health, rounds: int, concurrency: int) -> tuple[float, int, float]:
    """(CPU seconds, site-rounds, wall seconds) of `rounds` rounds of every site."""
    from ronda.checks.probe import Prober

    prober = Prober(extra_ca=config.tls.extra_ca, use_uvloop=False)
    prober.wordpress = health
    if health is not None:
        health.verify = prober.ssl_context
    limit = asyncio.Semaphore(concurrency)

    async def one(site) -> None:
        async with limit:
            result = await prober.probe_site(site)
            assert not result.findings, (site.name, result.findings)

    await asyncio.gather(*(one(s) for s in config.sites))  # warm: handshakes, caches
    cpu, wall = _cpu(), time.perf_counter()
    for _ in range(rounds):
        await asyncio.gather(*(one(s) for s in config.sites))
    return _cpu() - cpu, rounds * len(config.sites), time.perf_counter() - wall


def round_costs(
    sites: int, rounds: int, concurrency: int, runs: int
) -> list[tuple[str, float, float, list[float]]]:
    """(variant, CPU ms per site-round (median of the runs), site-rounds/s, each run's CPU
    ms) against a healthy demo fleet in its own process."""
    from ronda.checks.wordpress.health import WordPressHealth
    from ronda.config import load_config

    workdir = Path(tempfile.mkdtemp(prefix="ronda-bench-wp-"))
    config_path = workdir / "fleet.toml"
    fleet = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ronda.demo.fleet",
            "--uniform",
            str(sites),
            "--config",
            str(config_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert fleet.stdout is not None
        line = fleet.stdout.readline()
        if not line.startswith("ready"):
            raise RuntimeError(f"the fleet did not start: {line!r}")
        config = load_config(config_path)
        home_only = frozenset({"core", "php", "mixed_content", "php_warnings"})
        variants = [("without WordPress health", None)]
        variants.append(("home-page checks only", home_only))
        for check in ("images", "rest_api", "login"):
            variants.append((f"home-page checks + {check} every round", home_only | {check}))
        cpu_ms: dict[str, list[float]] = {name: [] for name, _ in variants}
        rates: dict[str, list[float]] = {name: [] for name, _ in variants}
        for _ in range(runs):  # interleaved, so a busy moment of the machine hits them all
            for name, checks in variants:
                health = None
                if checks is not None:
                    settings = replace(config.wordpress, checks=checks, safe_browsing=None)
                    health = WordPressHealth(settings)
                cpu, n, wall = asyncio.run(_rounds(config, health, rounds, concurrency))
                cpu_ms[name].append(cpu / n * 1000)
                rates[name].append(n / wall)
        return [
            (name, statistics.median(cpu_ms[name]), statistics.median(rates[name]), cpu_ms[name])
            for name, _ in variants
        ]
    finally:
        fleet.terminate()  # the process this function started, by its handle
        fleet.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def report(sites: int, rounds: int, concurrency: int, runs: int = 3) -> None:
    print("WordPress health: the judges on a demo shop's home page (best of 5)")
    for name, us in judge_costs():
        print(f"  {name:<40} {us:8.1f} us")
    print(
        f"WordPress health in rounds: {sites} healthy demo sites (half HTTPS), {rounds} rounds, "
        f"concurrency {concurrency}, asyncio loop, {runs} interleaved runs (median)"
    )
    costs = round_costs(sites, rounds, concurrency, runs)
    base = costs[0][1]
    for name, ms, rate, each in costs:
        extra = "" if name.startswith("without") else f" (+{ms - base:.3f} ms)"
        runs_ = " ".join(f"{m:.3f}" for m in each)
        print(f"  {name:<42} {ms:6.3f} CPU ms/site-round{extra}  {rate:5.0f}/s  (runs: {runs_})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    report(args.sites, args.rounds, args.concurrency, args.runs)


if __name__ == "__main__":
    main()
