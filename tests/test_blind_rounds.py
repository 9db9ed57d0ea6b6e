"""The blind guard in the round runner, against a real SQLite store: a whole fleet failing at
once opens the desk's own incident and nothing else, marks the open site tickets "not
measured", keeps the rules' memory as it was, and resumes without a burst of tickets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from ronda.checks.blind import NOT_MEASURED, CanaryResult, desk_is_blind
from ronda.checks.classify import Finding
from ronda.checks.probe import ProbeResult
from ronda.checks.rounds import RoundEventKind, RoundItem, RoundRunner
from ronda.config import BlindSettings, Canary, Config, Site
from ronda.exporter.collector import RondaCollector
from ronda.model import PROBER_BLIND_KEY, FailureClass, Impact, Priority, Source, Status
from ronda.sites import sync_config
from ronda.store import Store
from ronda.tickets import Desk

T0 = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
FC = FailureClass
CANARY = Canary("tcp://10.0.0.1:80", "tcp", "10.0.0.1", 80)
# Eight sites on two servers, four each.
SITES = tuple(
    Site(f"{server}-{i}", f"https://{server}-{i}.example/", "Ana", f"web-{server}", Impact.HIGH)
    for server in "ab"
    for i in range(4)
)
CONFIG = Config(sites=SITES)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def result(name: str, when: datetime, cls: FC = FC.OK) -> ProbeResult:
    findings = [] if cls == FC.OK else [Finding(cls, None, f"{name}: {cls}")]
    return ProbeResult(
        site=name,
        url=f"https://{name}.example/",
        started_at=when,
        failure_class=cls,
        status_code=200 if cls == FC.OK else None,
        detail=findings[0].detail if findings else "",
        findings=findings,
    )


def everyone(minute: float, cls: FC = FC.OK, names=None) -> list[RoundItem]:
    """One round of every site (or of `names`), a confirming re-probe on failures."""
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


def play(runner: RoundRunner, clock, minute: float, items, canaries=None):
    clock.move_to(at(minute) + timedelta(seconds=30))
    return runner.apply(items, canaries=canaries)


def tickets(store: Store) -> list[dict]:
    return store.query("SELECT * FROM tickets ORDER BY id")


def site_tickets(store: Store) -> list[dict]:
    return [t for t in tickets(store) if t["site"] is not None]


def desk_incidents(store: Store) -> list[dict]:
    return [t for t in tickets(store) if t["dedupe_key"] == PROBER_BLIND_KEY]


def scrape_blind(store: Store, when: datetime) -> float:
    collector = RondaCollector(store, clock=lambda: when)
    try:
        for line in collector.render().decode().splitlines():
            if line.startswith("ronda_prober_blind "):
                return float(line.split()[1])
    finally:
        collector.close()
    raise AssertionError("no ronda_prober_blind sample")


def test_a_whole_fleet_failing_at_once_is_the_desk_not_the_sites(store, clock) -> None:
    sync_config(store, CONFIG)
    desk = Desk(store)
    runner = RoundRunner(store, CONFIG)
    play(runner, clock, 0, everyone(0))
    # An agent's case about one site, open before the desk goes blind.
    case = desk.open_ticket(
        source=Source.EMAIL,
        subject="La tienda no carga",
        priority=Priority.MEDIUM,
        impact=Impact.HIGH,
        actor="mail",
        site="a-0",
        customer="Ana",
    )
    memory_before = {r["site"]: r["rules"] for r in store.query("SELECT * FROM probe_state")}

    events = play(runner, clock, 1, everyone(1, FC.REFUSED))

    assert [t["id"] for t in site_tickets(store)] == [case.id]  # no probe ticket
    (incident,) = desk_incidents(store)
    ticket = desk.get(incident["id"])
    assert ticket.failure_class is FC.PROBER_BLIND and ticket.source is Source.PROBE
    assert (ticket.priority, ticket.impact) == (Priority.HIGH, Impact.HIGH)
    assert (ticket.customer, ticket.site, ticket.status) == (None, None, Status.NEW)
    assert ticket.evidence["blind"] is True and ticket.evidence["failing"] == 8
    assert ticket.evidence["since"] == at(1).isoformat()
    assert "8 of 8 sites seen at once failing on 2 servers" in ticket.subject
    kinds = [e.kind for e in events]
    assert RoundEventKind.DESK_BLIND in kinds
    assert RoundEventKind.TICKET_OPENED in kinds  # the desk incident itself, nothing else
    assert sum(k == RoundEventKind.TICKET_OPENED for k in kinds) == 1
    # The agent's case is marked: its site's results say nothing meanwhile.
    marks = [e for e in desk.events(case.id) if e.kind == NOT_MEASURED]
    assert len(marks) == 1 and ticket.case_number in (marks[0].body or "")
    # Results are stored as results; the rules' memory and the failure counts are not moved.
    state = {r["site"]: r for r in store.query("SELECT * FROM probe_state")}
    assert all(r["up"] == 0 and r["failure_class"] == "refused" for r in state.values())
    assert {s: r["rules"] for s, r in state.items()} == memory_before
    assert store.query("SELECT * FROM probe_failures") == []
    assert desk_is_blind(store, at(2)) and not desk_is_blind(store, at(0.5))
    assert scrape_blind(store, at(2)) == 1.0

    # Still failing, then a failing re-probe is not even asked for: nothing more opens.
    play(runner, clock, 2, everyone(2, FC.TIMEOUT))
    assert not runner.needs_reprobe(result("a-0", at(3), FC.REFUSED))
    assert len(tickets(store)) == 2 and len(desk_incidents(store)) == 1

    # The sites answer again: the desk sees, its incident resolves itself.
    events = play(runner, clock, 3, everyone(3))
    ticket = desk.get(incident["id"])
    assert ticket.status is Status.RESOLVED and ticket.evidence["blind"] is False
    assert RoundEventKind.DESK_SEES in [e.kind for e in events]
    assert [e.kind for e in desk.events(case.id)][-2:] == [NOT_MEASURED, "measured"]
    assert not desk_is_blind(store, at(4)) and scrape_blind(store, at(4)) == 0.0
    # Rounds resume: all up, no ticket burst; a real failure afterwards opens its own ticket.
    play(runner, clock, 4, everyone(4))
    assert len(tickets(store)) == 2
    play(runner, clock, 5, everyone(5, FC.HTTP_500, names=["b-2"]))
    assert [t["dedupe_key"] for t in site_tickets(store) if t["source"] == "probe"] == ["b-2:down"]


def test_one_server_down_is_a_server_outage_not_blindness(store, clock) -> None:
    runner = RoundRunner(store, CONFIG)
    play(runner, clock, 0, everyone(0))
    # Half the fleet (all of web-a) failing is not more than half.
    items = everyone(1, FC.REFUSED, names=[f"a-{i}" for i in range(4)]) + everyone(1.1)[4:]
    play(runner, clock, 1, items)
    assert desk_incidents(store) == []
    keys = sorted(t["dedupe_key"] for t in tickets(store))
    assert keys == ["a-0:down", "a-1:down", "a-2:down", "a-3:down", "server:web-a:down"]


def test_every_canary_failing_blinds_a_desk_that_never_saw_its_sites(store, clock) -> None:
    config = Config(sites=SITES, blind=BlindSettings(canaries=(CANARY,)))
    runner = RoundRunner(store, config)
    refused = [CanaryResult(CANARY.url, False, "connection refused")]
    events = play(runner, clock, 0, everyone(0, FC.DNS), canaries=refused)
    assert [t["dedupe_key"] for t in tickets(store)] == [PROBER_BLIND_KEY]
    canary_lines = [str(e) for e in events if e.kind == RoundEventKind.CANARIES]
    assert canary_lines == ["canaries failing: tcp://10.0.0.1:80: connection refused"]
    # The canary answers again: the desk sees, though few sites were looked at since.
    play(runner, clock, 1, everyone(1, names=["a-0"]), canaries=[CanaryResult(CANARY.url, True)])
    assert not runner.guard.blind
    assert desk_is_blind(store, at(2)) is False


def test_a_canary_failing_while_the_sites_answer_blinds_nothing(store, clock) -> None:
    config = Config(sites=SITES, blind=BlindSettings(canaries=(CANARY,)))
    runner = RoundRunner(store, config)
    play(runner, clock, 0, everyone(0))
    items = everyone(1, FC.HTTP_500, names=["a-0"]) + everyone(1.1)[1:]
    play(runner, clock, 1, items, canaries=[CanaryResult(CANARY.url, False, "timeout")])
    assert desk_incidents(store) == []
    assert [t["dedupe_key"] for t in tickets(store)] == ["a-0:down"]


def test_a_restart_while_blind_resumes_the_span_and_ends_it(store, clock) -> None:
    runner = RoundRunner(store, CONFIG)
    play(runner, clock, 0, everyone(0))
    play(runner, clock, 1, everyone(1, FC.REFUSED))
    assert runner.guard.blind
    again = RoundRunner(store, CONFIG)  # a new process on the same database
    assert again.guard.blind and again.guard.span is not None
    play(again, clock, 2, everyone(2, FC.REFUSED))
    assert len(tickets(store)) == 1
    play(again, clock, 3, everyone(3))
    (incident,) = desk_incidents(store)
    assert incident["status"] == "resolved"
    assert json.loads(incident["evidence"])["blind"] is False
    assert len(tickets(store)) == 1


def test_blindness_coming_back_soon_reopens_the_same_incident(store, clock) -> None:
    runner = RoundRunner(store, CONFIG)
    play(runner, clock, 0, everyone(0))
    for minute in (1, 3):
        play(runner, clock, minute, everyone(minute, FC.REFUSED))
        play(runner, clock, minute + 1, everyone(minute + 1))
    (incident,) = desk_incidents(store)
    assert incident["status"] == "resolved"
    statuses = [e.new for e in Desk(store).events(incident["id"]) if e.field == "status" and e.new]
    assert statuses == ["resolved", "reopened", "resolved"]
    assert len(tickets(store)) == 1
