"""The scheduler's look before a batch with a new failure: the canaries are asked (a real
TCP listener on 127.0.0.1), a sample of up sites on other servers is probed at once, and the
batch is judged on both. A fake probe stands in for the sites; the store is a real file."""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from clocks import FakeClock

from ronda.checks.classify import Finding
from ronda.checks.probe import ProbeResult
from ronda.checks.rounds import RoundRunner
from ronda.checks.scheduler import Scheduler
from ronda.config import BlindSettings, Canary, Config, ProbeSettings, Site
from ronda.model import PROBER_BLIND_KEY
from ronda.model import FailureClass as FC
from ronda.store import Store

# Twelve sites on three servers, every one due each minute.
SITES = tuple(
    Site(f"s{i:02d}", f"https://s{i:02d}.example/", server=f"web-{i % 3}", probe=ProbeSettings())
    for i in range(12)
)


class Probe:
    """Answers at once: refused for the sites in `failing`, 200 for the others."""

    def __init__(self) -> None:
        self.failing: set[str] = set()
        self.calls: Counter[str] = Counter()

    async def __call__(self, site: Site) -> ProbeResult:
        self.calls[site.name] += 1
        cls = FC.REFUSED if site.name in self.failing else FC.OK
        findings = [] if cls == FC.OK else [Finding(cls, None, f"{site.name}: refused")]
        return ProbeResult(
            site=site.name,
            url=site.url,
            started_at=datetime.now(UTC),
            failure_class=cls,
            status_code=200 if cls == FC.OK else None,
            findings=findings,
        )


@pytest.fixture
def canary() -> Iterator[socket.socket]:
    sock = socket.create_server(("127.0.0.1", 0))
    yield sock
    sock.close()


def scheduler(store: Store, probe: Probe, blind: BlindSettings) -> Scheduler:
    config = Config(sites=SITES, blind=blind)
    return Scheduler(config, RoundRunner(store, config), probe, clock=FakeClock(0.0))


def keys(store: Store) -> list[str]:
    return [r["dedupe_key"] for r in store.query("SELECT dedupe_key FROM tickets ORDER BY id")]


async def test_a_new_failure_is_judged_on_a_sample_of_other_servers(store) -> None:
    probe = Probe()
    sched = scheduler(store, probe, BlindSettings())
    await sched.run_due(60.0)  # every site seen up once
    assert sched.stats.sampled == 0
    probe.failing = {"s00"}
    probe.calls.clear()
    await sched.run_due(120.0)
    # Six up sites of web-1 and web-2 were probed once more, and answered: s00's own case.
    sampled = {name for name, n in probe.calls.items() if n == 2 and name != "s00"}
    server = {s.name: s.server for s in SITES}
    assert len(sampled) == 6 and {server[name] for name in sampled} == {"web-1", "web-2"}
    assert sched.stats.sampled == 6
    assert keys(store) == ["s00:down"]

    # Then everything goes dark at once: the desk's own incident, and nothing for the sites.
    probe.failing = {s.name for s in SITES}
    await sched.run_due(180.0)
    assert keys(store) == ["s00:down", PROBER_BLIND_KEY]
    await sched.run_due(240.0)
    assert keys(store) == ["s00:down", PROBER_BLIND_KEY]
    assert sched.runner.guard.blind
    probe.failing = {"s00"}
    await sched.run_due(300.0)
    assert not sched.runner.guard.blind
    assert keys(store) == ["s00:down", PROBER_BLIND_KEY]
    status = store.query("SELECT status FROM tickets WHERE dedupe_key = ?", (PROBER_BLIND_KEY,))
    assert status == [{"status": "resolved"}]


async def test_the_canaries_are_asked_on_a_new_failure_and_while_blind(store, canary) -> None:
    port = canary.getsockname()[1]
    blind = BlindSettings(
        canaries=(Canary(f"tcp://127.0.0.1:{port}", "tcp", "127.0.0.1", port),), sample=0
    )
    probe = Probe()
    sched = scheduler(store, probe, blind)
    await sched.run_due(60.0)
    assert sched.stats.canary_checks == 0  # nothing new, nothing asked
    probe.failing = {"s01"}
    await sched.run_due(120.0)
    assert sched.stats.canary_checks == 1 and keys(store) == ["s01:down"]
    canary.close()  # the gateway goes: refused from now on
    probe.failing = {s.name for s in SITES}
    await sched.run_due(180.0)
    assert keys(store) == ["s01:down", PROBER_BLIND_KEY]
    checks = sched.stats.canary_checks
    await sched.run_due(240.0)
    assert sched.stats.canary_checks == checks + 1  # asked again while blind, still refused
    assert sched.runner.guard.blind
