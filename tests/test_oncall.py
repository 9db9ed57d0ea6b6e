"""Who is on call, and how the desk escalates: the rota on the desk's calendar (nights,
weekends, Colombian holidays, the weekly handover) as pure functions; the notifier's rules
on an injected clock against a real SQLite file, with Apprise delivering to a real HTTP
server on 127.0.0.1 (`json://`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from clocks import Clock
from test_outbox import Hooks
from test_rounds import result

from ronda.calendar import BusinessCalendar
from ronda.checks.rounds import RoundRunner
from ronda.config import (
    Agent,
    CalendarConfig,
    Config,
    Customer,
    IncidentSettings,
    MaintenanceWindow,
    OncallSettings,
    Server,
    Site,
)
from ronda.model import FailureClass as FC
from ronda.model import Impact, Priority, Source
from ronda.reach.notifier import Notifier
from ronda.reach.rota import on_call, turn_name
from ronda.reach.sender import Sender
from ronda.store import Store
from ronda.tickets import Desk

BOGOTA = ZoneInfo("America/Bogota")
ROTA = OncallSettings(business_hours=("laura", "mateo"), after_hours=("nico", "olga"))
CALENDAR = BusinessCalendar(CalendarConfig())  # Mon-Fri 08:00-18:00 Bogota, CO holidays


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=BOGOTA)


# ---- the rota -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "turn", "agent"),
    [
        (local(2026, 11, 25, 10, 0), "business_hours", "laura"),  # Wednesday, week 46
        (local(2026, 12, 2, 10, 0), "business_hours", "mateo"),  # the next week
        (local(2026, 11, 25, 22, 0), "after_hours", "nico"),  # the night
        (local(2026, 11, 25, 7, 59), "after_hours", "nico"),  # before opening
        (local(2026, 11, 28, 11, 0), "after_hours", "nico"),  # Saturday
        (local(2026, 11, 29, 23, 0), "after_hours", "nico"),  # Sunday night: week 46 still
        (local(2026, 11, 30, 7, 59), "after_hours", "nico"),  # Monday before the handover
        (local(2026, 11, 30, 8, 0), "business_hours", "mateo"),  # handover: week 47
        (local(2026, 11, 16, 10, 0), "after_hours", "olga"),  # Independencia de Cartagena (Mon)
        (local(2026, 11, 17, 10, 0), "business_hours", "mateo"),  # the Tuesday after, week 45
        (local(2026, 12, 8, 10, 0), "after_hours", "nico"),  # Inmaculada Concepción (Tue)
        (local(2026, 12, 25, 10, 0), "after_hours", "nico"),  # Christmas (Fri), week 50
    ],
)
def test_the_rota_follows_the_desks_calendar_and_hands_over_weekly(
    at: datetime, turn: str, agent: str
) -> None:
    assert turn_name(CALENDAR, at) == turn
    assert on_call(ROTA, CALENDAR, at) == agent


def test_an_empty_turn_falls_to_the_other_and_the_start_may_move() -> None:
    only_days = OncallSettings(business_hours=("laura",))
    assert on_call(only_days, CALENDAR, local(2026, 11, 28, 11, 0)) == "laura"
    assert on_call(OncallSettings(), CALENDAR, local(2026, 11, 28, 11, 0)) is None
    shifted = OncallSettings(
        business_hours=("laura", "mateo"), rotation_start=local(2026, 1, 12, 8, 0)
    )
    assert on_call(shifted, CALENDAR, local(2026, 11, 25, 10, 0)) == "mateo"


# ---- the rules ----------------------------------------------------------------------------

T0 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # Wednesday 10:00 in Bogota: laura's hours


class Team:
    """A desk with agents on webhooks, the notifier and the sender on one clock."""

    def __init__(self, store: Store, hooks: Hooks, clock: Clock, **oncall: object) -> None:
        self.store = store
        self.hooks = hooks
        self.clock = clock
        agents = tuple(
            Agent(name, lang="es" if name == "mateo" else None, notify=(hooks.url(f"/{name}"),))
            for name in ("laura", "mateo", "nico", "olga", "jefa")
        )
        rules = replace(
            OncallSettings(
                business_hours=ROTA.business_hours,
                after_hours=ROTA.after_hours,
                escalation=("jefa",),
            ),
            **oncall,
        )
        self.config = Config(
            customers=(Customer("Ana", emails=("ana@tienda.example",)),),
            sites=(Site("tienda", "https://tienda.example/", customer="Ana", impact=Impact.HIGH),),
            agents=agents,
            oncall=rules,
        )
        self.desk = Desk(store, clock=clock)
        self.notifier = self.restart()
        self.sender = Sender(store, lambda: self.config, clock=clock)

    def restart(self) -> Notifier:
        """A new notifier, as after `ronda run` restarts: only the store remembers."""
        self.notifier = Notifier(self.store, lambda: self.config, clock=self.clock)
        return self.notifier

    def case(self, priority: Priority = Priority.HIGH, impact: Impact = Impact.HIGH) -> int:
        return self.desk.open_ticket(
            source=Source.EMAIL,
            subject="La tienda no carga",
            priority=priority,
            impact=impact,
            actor="mail",
            customer="Ana",
            site="tienda",
            requester="ana@tienda.example",
        ).id

    def told(self, minutes: float = 0) -> list[tuple[str, str]]:
        """Time passes; a sweep and a delivery: (agent, title) of what went out."""
        self.clock.advance(minutes=minutes)
        before = len(self.hooks.received)
        self.notifier.sweep()
        self.sender.drain()
        return [(path.strip("/"), body["title"]) for path, body in self.hooks.received[before:]]


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    with Hooks() as hooks:
        yield hooks


@pytest.fixture
def team(store: Store, hooks: Hooks) -> Team:
    return Team(store, hooks, Clock(T0))


def test_a_new_high_case_tells_whoever_is_on_call_with_what_they_need(team: Team) -> None:
    case = team.case()
    assert team.told() == [("laura", "R-1001 new (high): Ana, tienda")]
    message = team.hooks.received[-1][1]["message"]
    assert "R-1001 opened 2026-11-25 10:00 (America/Bogota): La tienda no carga" in message
    assert "Customer: Ana. Site: tienda (https://tienda.example/)." in message
    assert "answer due in 15 min" in message  # high x high: 15 min, 24x7
    assert message.rstrip().endswith("Open it: ronda tui, then :R-1001")
    assert [e.kind for e in team.desk.events(case)][-1] == "notified"
    assert team.told(minutes=1) == []  # once per case and step


def test_unanswered_past_the_target_escalates_and_past_the_limit_breaches(team: Team) -> None:
    team.case()
    team.told()
    assert team.told(minutes=4) == []
    assert team.told(minutes=1) == [  # the 5 min target: on call again, and the escalation
        ("laura", "R-1001 unanswered past its target: Ana, tienda"),
        ("jefa", "R-1001 unanswered past its target: Ana, tienda"),
    ]
    assert team.told(minutes=9) == []
    assert team.told(minutes=1) == [
        ("jefa", "R-1001 breached: no answer by its limit (Ana, tienda)")
    ]
    assert "On call: laura." in team.hooks.received[-1][1]["message"]


def test_an_answered_case_is_not_escalated(team: Team) -> None:
    case = team.case()
    team.told()
    team.desk.respond(case, "laura", "Lo estamos revisando")
    assert team.told(minutes=30) == []


def test_the_priorities_each_rule_covers(team: Team) -> None:
    team.case(Priority.MEDIUM, Impact.HIGH)  # 4 h target, 6 h limit, business hours
    team.case(Priority.LOW, Impact.LOW)
    assert team.told() == []  # only high cases page at once
    # The next morning: the medium case passed its target (opened 10:00, 4 business hours).
    assert team.told(minutes=4 * 60) == [
        ("laura", "R-1001 unanswered past its target: Ana, tienda"),
        ("jefa", "R-1001 unanswered past its target: Ana, tienda"),
    ]


def test_nights_go_to_the_after_hours_agent_in_their_language(store: Store, hooks: Hooks) -> None:
    team = Team(store, hooks, Clock(datetime(2026, 12, 3, 3, 0, tzinfo=UTC)))  # Wed 22:00
    team.case()
    # Week 47 of the after-hours turn: olga. Her notification is in English, mateo's Spanish.
    assert team.told() == [("olga", "R-1001 new (high): Ana, tienda")]
    team.config = Team(store, hooks, team.clock, after_hours=("mateo",)).config
    team.case()
    assert team.told() == [("mateo", "R-1002 nuevo (alta): Ana, tienda")]


def test_after_a_restart_the_notifier_catches_up_without_repeating(team: Team) -> None:
    first = team.case()
    assert len(team.told()) == 1
    team.restart()
    assert team.told() == []  # the store remembers the opening step
    team.case()  # opened while the notifier was down...
    team.clock.advance(minutes=6)  # ...and its target passed too
    team.restart()
    told = team.told()
    assert ("laura", "R-1002 new (high): Ana, tienda") in told
    assert ("jefa", "R-1002 unanswered past its target: Ana, tienda") in told
    assert ("jefa", "R-1001 unanswered past its target: Ana, tienda") in told
    assert len(told) == 5 and team.told() == []
    assert first == 1


def test_a_channel_past_its_rate_limit_gets_no_more_and_the_case_says_so(
    store: Store, hooks: Hooks
) -> None:
    team = Team(store, hooks, Clock(T0), rate_limit=2, rate_window=600)
    for _ in range(3):
        team.case()
    assert team.told() == [
        ("laura", "R-1001 new (high): Ana, tienda"),
        ("laura", "R-1002 new (high): Ana, tienda"),
    ]
    held = [e for e in team.desk.events(3) if e.kind == "notify_held"]
    assert len(held) == 1 and "2 notifications within 600 s already" in (held[0].body or "")
    for case in (1, 2, 3):
        team.desk.respond(case, "laura", "Lo estamos revisando")
    team.clock.advance(minutes=11)  # the window is over
    team.case()
    assert team.told() == [("laura", "R-1004 new (high): Ana, tienda")]


def test_a_server_outage_pages_once_through_its_incident(store: Store, hooks: Hooks) -> None:
    clock = Clock(T0)
    team = Team(store, hooks, clock)
    sites = tuple(
        Site(f"s{i}", f"https://s{i}.example/", customer="Ana", server="web-1", impact=Impact.HIGH)
        for i in range(4)
    )
    team.config = Config(
        customers=team.config.customers,
        sites=sites,
        servers=(Server("web-1"),),
        agents=team.config.agents,
        oncall=team.config.oncall,
        incidents=IncidentSettings(recheck_immediately=False),
    )
    runner = RoundRunner(store, team.config, clock=clock)
    for _ in range(2):
        clock.advance(minutes=1)
        runner.apply([result(s.name, clock.now, FC.HTTP_502) for s in sites])
    parent = store.query("SELECT case_number FROM tickets WHERE site IS NULL")[0]["case_number"]
    told = team.told()
    assert len(told) == 1 and told[0][1].startswith(f"{parent} new (high): ")


def test_nobody_is_paged_for_a_case_in_maintenance(store: Store, hooks: Hooks) -> None:
    team = Team(store, hooks, Clock(T0))
    window = MaintenanceWindow(T0 - timedelta(hours=1), T0 + timedelta(hours=1), "update")
    site = Site("tienda", "https://tienda.example/", customer="Ana", maintenance=(window,))
    team.config = Config(
        customers=team.config.customers,
        sites=(site,),
        agents=team.config.agents,
        oncall=team.config.oncall,
    )
    case = team.case()
    assert team.told() == []
    assert [e.kind for e in team.desk.events(case)][-1] == "notify_held"


def test_an_agent_without_a_channel_is_noted_on_the_case(store: Store, hooks: Hooks) -> None:
    team = Team(store, hooks, Clock(T0))
    team.config = Config(
        sites=team.config.sites,
        agents=(Agent("laura"),),
        oncall=OncallSettings(business_hours=("laura",)),
    )
    case = team.case()
    assert team.told() == []
    note = team.desk.events(case)[-1]
    assert note.kind == "notify_held" and "laura has no notification channel" in (note.body or "")
