"""A site whose probes a firewall blocks (`blocked`) is not down: `ronda_site_up` keeps its
last measured value (absent when never measured), the site history records the time as not
measured, and the blind guard takes a blocked round as no sighting, so a fleet blocked at
once does not read as the desk going blind. Real SQLite store, the real exporter."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from freezegun import freeze_time
from test_blind_rounds import CONFIG, SITES, T0, at  # eight sites on two servers

from ronda.checks.classify import Finding
from ronda.checks.outcomes import blocked, failures_of, measured_up
from ronda.checks.probe import ProbeResult
from ronda.checks.rounds import RoundItem, RoundRunner
from ronda.exporter.collector import RondaCollector
from ronda.model import PROBER_BLIND_KEY, FailureClass
from ronda.sites import sync_config
from ronda.store import Store

FC = FailureClass


def result(name: str, when: datetime, cls: FC = FC.OK) -> ProbeResult:
    findings = [] if cls == FC.OK else [Finding(cls, None, f"{name}: {cls}")]
    return ProbeResult(
        site=name,
        url=f"https://{name}.example/",
        started_at=when,
        failure_class=cls,
        status_code={FC.OK: 200, FC.BLOCKED: 403}.get(cls),
        detail=findings[0].detail if findings else "",
        findings=findings,
    )


def round_of(minute: float, cls: FC, names=None) -> list[RoundItem]:
    out = []
    for n, site in enumerate(names or [s.name for s in SITES]):
        first = result(site, at(minute) + timedelta(seconds=n), cls)
        again = result(site, at(minute) + timedelta(seconds=n, milliseconds=500), cls)
        out.append(RoundItem(first, again if cls != FC.OK else None))
    return out


@pytest.fixture
def clock():
    with freeze_time(T0) as frozen:
        yield frozen


def play(runner: RoundRunner, clock, minute: float, items):
    clock.move_to(at(minute) + timedelta(seconds=30))
    return runner.apply(items)


def site_up(store: Store, when: datetime) -> dict[str, float]:
    collector = RondaCollector(store, clock=lambda: when)
    try:
        lines = collector.render().decode().splitlines()
    finally:
        collector.close()
    return {
        line.split('"')[1]: float(line.split()[-1])
        for line in lines
        if line.startswith("ronda_site_up{")
    }


def test_a_blocked_probe_is_not_measured() -> None:
    failures = failures_of(result("a-0", T0, FC.BLOCKED))
    assert blocked(failures) and measured_up(failures) is None
    assert measured_up(failures_of(result("a-0", T0, FC.REFUSED))) is False
    assert measured_up(failures_of(result("a-0", T0))) is True


def test_site_up_keeps_the_last_measured_value_and_is_absent_when_never_measured(
    store: Store, clock
) -> None:
    sync_config(store, CONFIG)
    runner = RoundRunner(store, CONFIG)
    play(runner, clock, 0, round_of(0, FC.OK, ["a-0"]) + round_of(0, FC.REFUSED, ["a-1"]))
    play(runner, clock, 1, round_of(1, FC.BLOCKED, ["a-0", "a-1", "a-2"]))
    up = site_up(store, at(2))
    assert up["a-0"] == 1.0  # measured up, then blocked: still up, not 0
    assert up["a-1"] == 0.0  # measured down, then blocked: the last measurement stands
    assert "a-2" not in up  # only ever blocked: nothing measured, no sample
    state = {r["site"]: r for r in store.query("SELECT * FROM probe_state")}
    assert state["a-0"]["failure_class"] == "blocked" and state["a-2"]["up"] is None
    health = {s.name: s for s in store.sites.health()}
    assert health["a-0"].up is True and health["a-2"].up is None
    blocked_rows = store.query(
        "SELECT site, state FROM site_history WHERE site = 'a-0' ORDER BY started_at"
    )
    assert [r["state"] for r in blocked_rows] == ["up", "unmeasured"]  # not down


def test_a_fleet_blocked_at_once_does_not_make_the_desk_blind(store: Store, clock) -> None:
    sync_config(store, CONFIG)
    runner = RoundRunner(store, CONFIG)
    play(runner, clock, 0, round_of(0, FC.OK))
    # Every site on both servers blocked at once (the desk's address on a shared blocklist):
    # with refusals this would be the desk going blind; blocked probes are no sightings.
    server_a = [s.name for s in SITES if s.server == "web-a"]
    assert runner.look(round_of(1, FC.BLOCKED, server_a)) is None  # no failure to judge
    assert runner.look(round_of(1, FC.REFUSED, server_a)) is not None  # ...unlike refusals
    play(runner, clock, 1, round_of(1, FC.BLOCKED))
    assert not runner.guard.blind
    assert store.tickets.latest_with_key(PROBER_BLIND_KEY) is None
    opened = store.query("SELECT site, failure_class FROM tickets ORDER BY site")
    assert {(r["site"], r["failure_class"]) for r in opened} == {
        (s.name, "blocked") for s in SITES
    }  # each an address to unblock, confirmed by its re-probe
    # The guard restarts from the store with every site as last measured: up.
    again = RoundRunner(store, CONFIG)
    assert all(sight.up for sight in again.guard.sights.values())
    assert set(again.guard.sights) == {s.name for s in SITES}


def test_refusals_at_once_still_make_the_desk_blind(store: Store, clock) -> None:
    """The same round with refusals: the guard still sees a fleet failing at once."""
    sync_config(store, CONFIG)
    runner = RoundRunner(store, CONFIG)
    play(runner, clock, 0, round_of(0, FC.OK))
    play(runner, clock, 1, round_of(1, FC.REFUSED))
    assert runner.guard.blind
