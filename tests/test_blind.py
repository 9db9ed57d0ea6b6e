"""The blind guard's rule, pure: the sites seen at once, the share and server thresholds at
their boundaries, the canaries against the sites, and the guard's memory of what it saw."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ronda.checks.blind import (
    DESK,
    AtOnce,
    CanaryResult,
    Guard,
    Look,
    Sight,
    Span,
    at_once,
    going_blind,
    judge,
    seeing_again,
    share_says,
    span_of,
)
from ronda.checks.incident_model import OpenTicket, RecordEvent, Reopen, Resolve, TicketView
from ronda.config import BlindSettings, Canary
from ronda.model import PROBER_BLIND_KEY, FailureClass, Impact, Priority

T = 1_800_000_000.0  # an instant, in epoch seconds
SETTINGS = BlindSettings()  # more than half, over at least two servers, a sample of six
CANARY = Canary("tcp://10.0.0.1:80", "tcp", "10.0.0.1", 80)


def view(seen: int, failing: int, hosts: int, eligible: int | None = None) -> AtOnce:
    return AtOnce(seen, failing, hosts, seen if eligible is None else eligible)


# ---- the thresholds ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seen", "failing", "hosts", "expected"),
    [
        (10, 5, 2, False),  # exactly half is not more than half
        (10, 6, 2, True),  # one more is
        (10, 6, 1, False),  # one server failing is a server outage, not the desk
        (10, 10, 1, False),
        (10, 10, 2, True),
        (7, 4, 3, True),
        (8, 4, 4, False),
    ],
)
def test_share_and_servers_at_their_boundaries(
    seen: int, failing: int, hosts: int, expected: bool
) -> None:
    assert share_says(view(seen, failing, hosts), SETTINGS) is expected


def test_the_share_and_the_servers_are_configurable() -> None:
    strict = BlindSettings(share=0.8, min_servers=3)
    assert share_says(view(10, 8, 3), strict) is False  # 0.8 is not more than 0.8
    assert share_says(view(10, 9, 3), strict) is True
    assert share_says(view(10, 9, 2), strict) is False
    assert share_says(view(10, 10, 9), BlindSettings(share=1.0)) is False  # 1: never by share


def test_too_few_sites_seen_tell_nothing() -> None:
    # Fewer than the sample (six) seen out of many: no verdict either way.
    assert share_says(view(5, 5, 3, eligible=100), SETTINGS) is None
    assert share_says(view(6, 6, 3, eligible=100), SETTINGS) is True
    # A small fleet: every site there is to see is enough, never fewer than two.
    assert share_says(view(3, 3, 2, eligible=3), SETTINGS) is True
    assert share_says(view(1, 1, 1, eligible=1), SETTINGS) is None
    # A lone failing site is never the desk's blindness, whatever the settings say.
    assert share_says(view(2, 1, 1), BlindSettings(min_servers=1, sample=0, share=0.1)) is False


def test_sites_seen_at_once_leave_out_old_failures_maintenance_and_older_looks() -> None:
    sights = {
        "up-fresh": Sight("web-1", True, T + 5),
        "up-stale": Sight("web-1", True, T - 30),  # looked at before the wave: not seen
        "went-down": Sight("web-2", False, T + 2, down_since=T),
        "went-down-early": Sight("web-3", False, T + 3, down_since=T - 200),  # in the window
        "down-long-ago": Sight("web-3", False, T + 4, down_since=T - 900),  # before it
        "down-unknown": Sight("web-3", False, T + 4, down_since=None),  # never seen up
        "in-maintenance": Sight("web-4", False, T + 4, down_since=T, maintenance=True),
    }
    got = at_once(sights, T, 300.0)
    assert (got.seen, got.failing, got.hosts, got.eligible) == (3, 2, 2, 4)
    assert got.failing_sites == ("went-down", "went-down-early")


# ---- canaries and sites together --------------------------------------------------------


def ok(url: str = CANARY.url) -> CanaryResult:
    return CanaryResult(url, True)


def bad(url: str = CANARY.url) -> CanaryResult:
    return CanaryResult(url, False, "connection refused")


def test_every_canary_failing_is_blind_unless_the_sites_answer() -> None:
    two_bad = [bad("tcp://a:1"), bad("dns://b")]
    assert judge(was_blind=False, canaries=two_bad, view=None, settings=SETTINGS).blind
    few = view(2, 2, 2, eligible=50)  # too few seen: the canaries decide
    verdict = judge(was_blind=False, canaries=two_bad, view=few, settings=SETTINGS)
    assert verdict.blind and verdict.canaries_failing == ("tcp://a:1", "dns://b")
    assert "every canary fails" in verdict.reason
    answering = view(7, 1, 1)  # seven sites seen, one failing: the desk sees
    verdict = judge(was_blind=False, canaries=two_bad, view=answering, settings=SETTINGS)
    assert not verdict.blind and "check the canary" in verdict.reason
    # One canary answering is enough to say the desk reaches out.
    assert not judge(
        was_blind=False, canaries=[bad("tcp://a:1"), ok("dns://b")], view=None, settings=SETTINGS
    ).blind


def test_blind_stays_blind_until_the_sites_answer_or_the_canaries_do() -> None:
    few = view(1, 0, 0, eligible=50)
    # Without canaries: too few seen keeps it blind; enough answering ends it.
    assert judge(was_blind=True, canaries=None, view=few, settings=SETTINGS).blind
    assert not judge(was_blind=True, canaries=None, view=view(8, 1, 1), settings=SETTINGS).blind
    assert judge(was_blind=True, canaries=None, view=view(8, 8, 2), settings=SETTINGS).blind
    # With canaries: they answering again ends it, unless the sites still fail at once.
    assert judge(was_blind=True, canaries=[bad()], view=few, settings=SETTINGS).blind
    assert not judge(was_blind=True, canaries=[ok()], view=few, settings=SETTINGS).blind
    assert judge(was_blind=True, canaries=[ok()], view=view(8, 8, 2), settings=SETTINGS).blind


# ---- the guard's memory -----------------------------------------------------------------


def fleet_guard(settings: BlindSettings = SETTINGS) -> Guard:
    """Twelve sites on three servers, all seen up at T - 60 (a and b) or T - 50 (c)."""
    guard = Guard(settings)
    for server, at in (("a", T - 60), ("b", T - 60), ("c", T - 50)):
        for i in range(4):
            guard.observe(f"{server}{i}", f"web-{server}", True, at + i)
    return guard


def test_a_new_failure_asks_for_canaries_and_a_sample_on_other_servers() -> None:
    guard = fleet_guard(BlindSettings(canaries=(CANARY,), sample=3))
    assert guard.look([("a0", True), ("b1", True)]) is None  # nothing new
    # Not web-a, not busy; one per server in turn, the oldest looks first.
    assert guard.look([("a0", False)], busy={"b0"}) == Look(True, ("b1", "c0", "b2"))
    assert guard.look([("zz", False)]) == Look(True, ("a0", "b0", "c0"))  # never seen: ask too
    without = fleet_guard(BlindSettings(sample=0))
    assert without.look([("a0", False)]) is None  # neither canaries nor a sample to ask


def test_with_no_other_server_the_sample_comes_from_the_failing_ones() -> None:
    guard = Guard(BlindSettings(sample=4))
    for i in range(3):
        guard.observe(f"a{i}", "web-a", True, T + i)
        guard.observe(f"b{i}", "web-b", True, T + i + 0.5)
    guard.observe("c0", "web-c", True, T + 9)
    # web-c first (another server), then the failing servers' own, one each in turn.
    assert guard.look([("a0", False), ("b0", False)]) == Look(False, ("c0", "a1", "b1", "a2"))


def test_a_wave_over_servers_is_blind_and_one_server_is_not() -> None:
    guard = fleet_guard()
    # Web-a goes down and a sample of six elsewhere answers: a server outage.
    sightings = [(f"a{i}", "web-a", False, T + i, False) for i in range(4)]
    sightings += [(f"{s}{i}", f"web-{s}", True, T + 5, False) for s in "bc" for i in range(3)]
    trigger, now = guard.observe_all(sightings)
    assert (trigger, now) == (T, T + 5)
    assert not guard.judge(trigger, None, now).blind
    # Then the sample fails too, on two more servers: the desk cannot see.
    sightings = [(f"{s}{i}", f"web-{s}", False, T + 10, False) for s in "bc" for i in range(3)]
    trigger, now = guard.observe_all(sightings)
    verdict = guard.judge(trigger, None, now)
    assert verdict.blind and verdict.view is not None
    assert (verdict.view.failing, verdict.view.seen, verdict.view.hosts) == (6, 6, 2)


def test_seeing_again_forgets_what_went_down_while_blind() -> None:
    guard = fleet_guard()
    guard.observe_all([(f"b{i}", "web-b", False, T + 1, False) for i in range(4)])
    guard.went_blind(T + 1, 7)
    guard.observe("c0", "web-c", False, T + 2)
    assert guard.look([("c1", False)]) is None  # while blind, no canaries: nothing to ask
    guard.sees_again()
    assert not guard.blind
    # Those failures were never measured: their next failure is news again.
    assert guard.is_trigger("b0", False) and guard.is_trigger("c0", False)
    assert guard.sights["b0"].up and guard.sights["b0"].checked_at == T + 1


def test_going_down_in_a_maintenance_window_is_no_wave() -> None:
    guard = fleet_guard()
    assert guard.observe("a0", "web-a", False, T, maintenance=True) is None
    assert guard.sights["a0"].down_since is None and not guard.sights["a0"].up
    assert guard.observe("a1", "web-a", False, T) == T  # the same outside one is news


def test_a_restarted_guard_takes_the_stored_span() -> None:
    guard = Guard(SETTINGS)
    rows = [("a0", "web-a", False, T + 5, False), ("a1", "web-a", False, T - 5, False)]
    guard.load(rows, Span(T, 3))
    assert guard.blind and guard.span == Span(T, 3)
    assert guard.sights["a0"].down_since == T  # failing since the span began: in the wave
    assert guard.sights["a1"].down_since is None  # failing before it: no evidence


# ---- what the desk does -----------------------------------------------------------------


def desk_view(**kwargs) -> TicketView:
    values = dict(id=9, case_number="R-9", is_open=False, priority=Priority.HIGH)
    values.update(kwargs)
    return TicketView(**values)  # type: ignore[arg-type]


def test_going_blind_opens_one_high_desk_incident_without_customer() -> None:
    verdict = judge(was_blind=False, canaries=[bad()], view=None, settings=SETTINGS)
    (action,) = going_blind(verdict, T, T + 1, None, 1800.0)
    assert isinstance(action, OpenTicket)
    assert (action.family, action.dedupe_key) == (DESK, PROBER_BLIND_KEY)
    assert action.failure_class is FailureClass.PROBER_BLIND
    assert (action.priority, action.impact) == (Priority.HIGH, Impact.HIGH)
    assert (action.site, action.customer) == (None, None)
    assert action.evidence["blind"] is True
    assert span_of(action.evidence) == Span(T)
    assert action.subject.startswith("Ronda cannot see: every canary fails")
    override = going_blind(verdict, T, T, None, 1800.0, {FailureClass.PROBER_BLIND: Priority.LOW})
    assert override[0].priority is Priority.LOW  # type: ignore[union-attr]


def test_going_blind_takes_up_the_latest_incident_when_it_is_open_or_recent() -> None:
    verdict = judge(was_blind=False, canaries=[bad()], view=None, settings=SETTINGS)
    resolved = datetime.fromtimestamp(T - 600, UTC)
    open_one = going_blind(verdict, T, T, desk_view(is_open=True), 1800.0)
    assert [type(a) for a in open_one] == [RecordEvent]
    recent = going_blind(verdict, T, T, desk_view(resolved_at=resolved), 1800.0)
    assert [type(a) for a in recent] == [Reopen, RecordEvent]
    older = going_blind(verdict, T, T, desk_view(resolved_at=resolved), 300.0)
    assert [type(a) for a in older] == [OpenTicket]
    worked = desk_view(resolved_at=resolved, touched_by_agent=True)
    touched = going_blind(verdict, T, T, worked, 1e4)
    assert [type(a) for a in touched] == [OpenTicket]  # an agent closed it: a new case


def test_seeing_again_resolves_the_incident_unless_an_agent_works_it() -> None:
    verdict = judge(was_blind=True, canaries=[ok()], view=None, settings=SETTINGS)
    span = Span(T, 9)
    actions = seeing_again(verdict, span, T + 3600 + 300, desk_view(is_open=True))
    assert [type(a) for a in actions] == [RecordEvent, Resolve]
    record = actions[0]
    assert isinstance(record, RecordEvent) and record.evidence is not None
    assert record.evidence["blind"] is False and "after 65 min" in record.body
    worked = seeing_again(verdict, span, T + 60, desk_view(is_open=True, touched_by_agent=True))
    assert [type(a) for a in worked] == [RecordEvent]


def test_span_of_reads_only_a_current_span() -> None:
    since = datetime.fromtimestamp(T, UTC)
    assert span_of({"blind": True, "since": since.isoformat()}) == Span(T)
    assert span_of({"blind": False, "since": since.isoformat()}) is None
    assert span_of({"blind": True, "since": "yesterday"}) is None
    assert span_of({}) is None
    assert span_of({"blind": True, "since": (since + timedelta(hours=1)).isoformat()}) == Span(
        T + 3600
    )
