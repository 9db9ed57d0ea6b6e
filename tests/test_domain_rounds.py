"""A customer domain as a check subject: scheduled with the sites, its DNS checked against
a real NSD and its expiry against a local RDAP registry, its findings through the same
incident rules (confirmation, one ticket per family, recovery), its facts in the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from clocks import Clock, FakeClock

from ronda.checks import domains
from ronda.checks.rounds import RoundRunner
from ronda.checks.scheduler import Scheduler
from ronda.checks.subjects import CheckContext
from ronda.config import Site, parse_config
from ronda.model import FailureClass as FC
from ronda.model import Priority, Source, Status
from tests.nsd_server import NsdServer, zone
from tests.registry_servers import RdapServer, rdap_domain

START = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
HEALTHY = """
@ IN A 127.0.0.10
@ IN MX 10 mail
mail IN A 127.0.0.11
@ IN TXT "v=spf1 mx -all"
_dmarc IN TXT "v=DMARC1; p=reject"
"""


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts a new process's memory (resolvers, lookups)."""
    monkeypatch.setattr(domains, "STATE", domains.DomainState())


@pytest.fixture
def nsd(tmp_path: Path):
    server = NsdServer(tmp_path / "nsd", {"tienda.test": zone("tienda.test", HEALTHY)})
    yield server
    server.stop()


@pytest.fixture
def rdap():
    expires = (START + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    server = RdapServer(["test"], {"tienda.test": rdap_domain("tienda.test", expires)})
    yield server
    server.stop()


def _config(nsd: NsdServer, rdap: RdapServer, extra: str = ""):
    return parse_config(
        f"""
[[customers]]
name = "Ana"
[dns]
resolvers = ["{nsd.resolver}"]
timeout = "2s"
interval = "5m"
[expiry]
rdap_bootstrap = "{rdap.base}/dns.json"
[[domains]]
name = "tienda.test"
customer = "Ana"
impact = "high"
nameservers = ["ns1.agencia.test"]
{extra}
"""
    )


async def test_domain_rounds_open_confirm_dedupe_and_resolve(
    store, nsd: NsdServer, rdap: RdapServer
) -> None:
    config = _config(nsd, rdap)
    [subject] = config.subjects
    assert subject.name == "domain:tienda.test" and subject.kind == "domain"
    wall = Clock(START)
    runner = RoundRunner(store, config, clock=wall)
    clock = FakeClock(0.0)

    async def no_web(site: Site):
        raise AssertionError(site.name)

    scheduler = Scheduler(
        config,
        runner,
        no_web,
        clock=clock,
        wall=wall,
        context=CheckContext(clock=wall, store=store),
    )

    async def one_round() -> None:
        clock.now += 300.0
        wall.advance(seconds=300)
        assert await scheduler.run_due() == 1

    def tickets() -> list:
        return store.tickets.by_source(Source.PROBE)

    await one_round()
    # Healthy DNS; the registration expires in 20 days: one low-priority case.
    [expiring] = tickets()
    assert expiring.failure_class == FC.DOMAIN_EXPIRING
    assert expiring.priority == Priority.LOW
    assert expiring.customer == "Ana" and expiring.site == "domain:tienda.test"
    assert expiring.evidence["extra"]["expiry"]["source"] == "rdap"
    assert expiring.evidence["extra"]["checks"] == dict.fromkeys(
        ("resolves", "mx", "spf", "dmarc", "records"), True
    )
    row = store.domains.get("tienda.test")
    assert row.expires_at == (START + timedelta(days=20)).timestamp()
    assert row.dns_checks["mx"] is True

    # The mail records go: one DNS case, confirmed by the immediate re-check, high.
    nsd.reload(
        "tienda.test",
        zone("tienda.test", HEALTHY.replace("@ IN MX 10 mail", "")),
        ("tienda.test", "MX"),
        present=False,
    )
    await one_round()
    dns_cases = [t for t in tickets() if t.failure_class == FC.DNS_NO_MX]
    assert len(dns_cases) == 1 and dns_cases[0].priority == Priority.HIGH
    assert "no MX records" in dns_cases[0].subject
    assert store.domains.get("tienda.test").dns_checks["mx"] is False
    for _ in range(3):
        await one_round()
    assert len(tickets()) == 2  # still failing: the same two cases

    # The registry was asked once in all these rounds.
    assert rdap.asked["/rdap/domain/tienda.test"] == 1

    # The records come back: the DNS case resolves itself; the expiry stays open.
    nsd.reload("tienda.test", zone("tienda.test", HEALTHY), ("tienda.test", "MX"), present=True)
    await one_round()
    await one_round()
    assert store.tickets.get(dns_cases[0].id).status == Status.RESOLVED
    assert store.tickets.get(expiring.id).status.is_open

    # Thirteen days on (7 left) the same case is raised to high; the registry asked again.
    wall.advance(days=13, seconds=60)
    await one_round()
    assert rdap.asked["/rdap/domain/tienda.test"] == 2
    assert store.tickets.get(expiring.id).priority == Priority.HIGH
    assert len(tickets()) == 2


async def test_restart_reads_the_stored_expiry_instead_of_asking(
    store, nsd: NsdServer, rdap: RdapServer
) -> None:
    config = _config(nsd, rdap)
    [subject] = config.subjects
    context = CheckContext(clock=Clock(START), store=store)
    first = await domains.check_domain(subject, context)
    assert first.failure_class == FC.DOMAIN_EXPIRING
    domains.STATE = domains.DomainState()  # a new process
    again = await domains.check_domain(subject, context)
    assert again.failure_class == FC.DOMAIN_EXPIRING
    assert rdap.asked["/rdap/domain/tienda.test"] == 1


async def test_expiry_turned_off_is_not_looked_up(store, nsd: NsdServer, rdap: RdapServer):
    config = _config(nsd, rdap, "[domains.checks]\nexpiry = false")
    [subject] = config.subjects
    result = await domains.check_domain(subject, CheckContext(clock=Clock(START), store=store))
    assert result.ok and result.findings == []
    assert "expiry" not in result.extra
    assert rdap.asked == {}


async def test_a_registry_without_a_date_is_asked_again_an_hour_on_not_every_round(
    store, nsd: NsdServer, rdap: RdapServer
) -> None:
    from tests.registry_servers import WhoisServer, co_whois

    whois = WhoisServer({})  # knows nothing yet: "No match"
    try:
        config = parse_config(
            f"""
[dns]
resolvers = ["{nsd.resolver}"]
[expiry]
rdap_bootstrap = "{rdap.base}/dns.json"
[expiry.whois_servers]
co = "{whois.address}"
[[domains]]
name = "tienda.co"
[domains.checks]
resolves = false
mx = false
spf = false
dmarc = false
"""
        )
        [subject] = config.subjects
        wall = Clock(START)
        context = CheckContext(clock=wall, store=store)
        first = await domains.check_domain(subject, context)
        assert first.ok and "knows no such domain" in first.extra["expiry"]["detail"]
        wall.advance(minutes=30)
        await domains.check_domain(subject, context)
        assert whois.asked["tienda.co"] == 1  # not every round
        whois.answers["tienda.co"] = co_whois("tienda.co", "2025-03-20T00:00:00Z")
        wall.advance(minutes=31)
        found = await domains.check_domain(subject, context)
        assert whois.asked["tienda.co"] == 2
        assert found.failure_class == FC.DOMAIN_EXPIRING and found.priority is None
        # Found: the next lookup is a day on.
        wall.advance(hours=23)
        await domains.check_domain(subject, context)
        assert whois.asked["tienda.co"] == 2
    finally:
        whois.stop()


async def test_a_domains_own_maintenance_window_opens_nothing(store, tmp_path: Path) -> None:
    broken = NsdServer(
        tmp_path / "nsd-broken",
        {"tienda.test": zone("tienda.test", HEALTHY.replace("@ IN MX 10 mail", ""))},
    )
    try:
        config = parse_config(
            f"""
[dns]
resolvers = ["{broken.resolver}"]
interval = "5m"
[[domains]]
name = "tienda.test"
[domains.checks]
expiry = false
[[domains.maintenance]]
start = "{START.isoformat()}"
end = "{(START + timedelta(hours=1)).isoformat()}"
reason = "moving the zone to the agency's nameservers"
"""
        )
        wall = Clock(START)
        runner = RoundRunner(store, config, clock=wall)
        clock = FakeClock(0.0)

        async def no_web(site: Site):
            raise AssertionError(site.name)

        scheduler = Scheduler(
            config, runner, no_web, clock=clock, wall=wall,
            context=CheckContext(clock=wall, store=store),
        )  # fmt: skip
        for _ in range(3):
            clock.now += 300.0
            wall.advance(seconds=300)
            assert await scheduler.run_due() == 1
        assert store.tickets.by_source(Source.PROBE) == []
        state = store.query("SELECT failure_class, in_maintenance FROM probe_state")
        assert [tuple(r.values()) for r in state] == [("dns_no_mx", 1)]
        # Past the window the same failure opens its case.
        wall.now = START + timedelta(hours=1, minutes=1)
        clock.now += 300.0
        await scheduler.run_due()
        [case] = store.tickets.by_source(Source.PROBE)
        assert case.failure_class == FC.DNS_NO_MX
    finally:
        broken.stop()
