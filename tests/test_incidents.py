"""The incident rules, pure: rounds are plain values with injected instants, and a small
in-memory desk plays the tickets the rules' actions would change."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from freezegun import freeze_time
from hypothesis import given, settings
from hypothesis import strategies as st

from ronda.checks.incident_model import (
    Failure,
    LinkChild,
    Notice,
    OpenTicket,
    Outcome,
    RecordEvent,
    Reopen,
    Reprioritize,
    Reprobe,
    Resolve,
    SiteState,
    TicketView,
    class_priority_of,
    human_duration,
    in_maintenance,
    subject_for,
)
from ronda.checks.incidents import RECURRENCE_EVERY_SECONDS, evaluate, needs_reprobe
from ronda.checks.outages import ServerRound, correlate_server
from ronda.config import IncidentSettings, MaintenanceWindow, Server, Site
from ronda.model import FailureClass as FC
from ronda.model import Impact, Priority

T0 = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
SHOP = Site(
    name="tienda-ana",
    url="https://tienda-ana.example/",
    customer="Ana",
    server="web-04",
    impact=Impact.HIGH,
)
NO_RECHECK = IncidentSettings(recheck_immediately=False)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def outcome(
    when: datetime,
    *classes: FC | Failure,
    up: bool | None = None,
    site: Site = SHOP,
    confirmed: frozenset[str] = frozenset(),
    reprobed: bool = False,
) -> Outcome:
    failures = tuple(
        c if isinstance(c, Failure) else Failure(c, None, f"{site.name}: {c} seen") for c in classes
    )
    blocking = bool(failures) and failures[0].failure_class not in (
        FC.SLOW,
        FC.SSL_EXPIRING,
        FC.CONTENT_MISSING,
        FC.RSS_INVALID,
    )
    return Outcome(
        site=site.name,
        at=when,
        url=site.url,
        failures=failures,
        up=(not blocking) if up is None else up,
        evidence={
            "url": site.url,
            "status_code": 500 if failures else 200,
            "headers": {"server": "nginx"},
            "body_excerpt": "<h1>Error</h1>",
            "phases": {"connect": 0.01},
            "elapsed_ms": 42.0,
            "cert": {"not_after": None, "subject": None, "issuer": None},
        },
        confirmed_families=confirmed,
        reprobed=reprobed,
    )


@dataclass
class Desk:
    """Plays the tickets: applies actions the way the round runner would."""

    site: Site = SHOP
    settings: IncidentSettings = field(default_factory=IncidentSettings)
    class_priority: dict = field(default_factory=dict)
    state: SiteState = field(default_factory=SiteState)
    tickets: dict[int, TicketView] = field(default_factory=dict)
    opened: list[tuple[datetime, OpenTicket]] = field(default_factory=list)
    log: list = field(default_factory=list)
    maintenance: bool = False

    def round(self, out: Outcome, reprobe: Outcome | None = None) -> list:
        d = evaluate(
            self.site,
            out,
            self.state,
            self.tickets,
            self.settings,
            self.class_priority,
            in_maintenance=self.maintenance,
        )
        if d.wants_reprobe:
            assert d.state is self.state or d.state == self.state
            if reprobe is None:
                d = evaluate(
                    self.site,
                    out,
                    self.state,
                    self.tickets,
                    self.settings,
                    self.class_priority,
                    in_maintenance=self.maintenance,
                    allow_reprobe=False,
                )
            else:
                d = evaluate(
                    self.site,
                    reprobe,
                    self.state,
                    self.tickets,
                    self.settings,
                    self.class_priority,
                    in_maintenance=self.maintenance,
                )
        self.state = d.state
        for action in d.actions:
            self._apply(action, out.at)
        self.log.extend(d.actions)
        return d.actions

    def _apply(self, a, when: datetime) -> None:
        if isinstance(a, OpenTicket):
            tid = len(self.tickets) + 1
            self.tickets[tid] = TicketView(
                tid, f"R-{1000 + tid}", True, a.priority, a.failure_class, evidence=a.evidence
            )
            self.state.families[a.family].ticket_id = tid
            self.opened.append((when, a))
        elif isinstance(a, RecordEvent):
            t = self.tickets[a.ticket_id]
            ev = {**t.evidence, **(a.evidence or {})}
            self.tickets[a.ticket_id] = replace(
                t, failure_class=a.failure_class or t.failure_class, evidence=ev
            )
        elif isinstance(a, Reprioritize):
            self.tickets[a.ticket_id] = replace(self.tickets[a.ticket_id], priority=a.priority)
        elif isinstance(a, Resolve):
            t = self.tickets[a.ticket_id]
            self.tickets[a.ticket_id] = replace(t, is_open=False, resolved_at=when)
        elif isinstance(a, Reopen):
            t = self.tickets[a.ticket_id]
            self.tickets[a.ticket_id] = replace(t, is_open=True, resolved_at=None)

    def touch(self, tid: int) -> None:
        self.tickets[tid] = replace(self.tickets[tid], touched_by_agent=True)

    def agent_resolves(self, tid: int, when: datetime) -> None:
        t = self.tickets[tid]
        self.tickets[tid] = replace(t, is_open=False, resolved_at=when, touched_by_agent=True)

    def open_tickets(self) -> list[TicketView]:
        return [t for t in self.tickets.values() if t.is_open]


def kinds(actions: list) -> list[str]:
    return [type(a).__name__ for a in actions]


# ---- confirmation ---------------------------------------------------------------------------


def test_one_failed_round_opens_nothing_two_open_one_ticket_with_evidence() -> None:
    desk = Desk(settings=NO_RECHECK)
    assert desk.round(outcome(at(0), FC.HTTP_500)) == []
    actions = desk.round(outcome(at(1), FC.HTTP_500))
    opens = [a for a in actions if isinstance(a, OpenTicket)]
    assert len(opens) == 1
    ticket = opens[0]
    assert ticket.dedupe_key == "tienda-ana:down"
    assert ticket.subject == "tienda-ana: HTTP 500 on https://tienda-ana.example/"
    assert (ticket.priority, ticket.impact) == (Priority.HIGH, Impact.HIGH)
    assert (ticket.site, ticket.customer) == ("tienda-ana", "Ana")
    ev = ticket.evidence
    for key in ("url", "status_code", "headers", "body_excerpt", "phases", "elapsed_ms", "cert"):
        assert key in ev
    assert ev["body_excerpt"] == "<h1>Error</h1>"  # raw: the TUI escapes
    assert ev["first_failure_at"] == at(0).isoformat()
    assert ev["last_failure_at"] == at(1).isoformat()
    assert ev["detail"] == "tienda-ana: http_500 seen"
    assert any(isinstance(a, Notice) and a.kind == "site_down" for a in actions)


def test_confirm_rounds_is_configurable() -> None:
    desk = Desk(settings=IncidentSettings(recheck_immediately=False, confirm_rounds=3))
    desk.round(outcome(at(0), FC.TIMEOUT))
    desk.round(outcome(at(1), FC.TIMEOUT))
    assert desk.opened == []
    desk.round(outcome(at(2), FC.TIMEOUT))
    assert len(desk.opened) == 1


def test_new_failure_asks_for_a_reprobe_and_a_failing_reprobe_opens_at_once() -> None:
    desk = Desk()
    first = outcome(at(0), FC.HTTP_502)
    d = evaluate(SHOP, first, desk.state, {}, desk.settings)
    assert d.actions == [Reprobe("tienda-ana")]
    assert d.state.to_json() == SiteState().to_json()  # nothing moved yet
    again = outcome(at(0.1), FC.HTTP_502, confirmed=frozenset({"down"}), reprobed=True)
    desk.round(first, reprobe=again)
    assert len(desk.opened) == 1
    assert desk.opened[0][1].failure_class == FC.HTTP_502


def test_reprobe_that_passes_is_a_blip_and_opens_nothing() -> None:
    desk = Desk()
    desk.round(outcome(at(0), FC.TIMEOUT), reprobe=outcome(at(0.1), reprobed=True))
    assert desk.opened == []
    assert desk.state.families.get("down") is None or not desk.state.families["down"].failing
    # The next failure is new again: another re-probe is wanted.
    assert needs_reprobe(outcome(at(1), FC.TIMEOUT), desk.state, desk.settings)


def test_no_reprobe_in_maintenance_when_confirmed_or_when_one_round_confirms() -> None:
    s = IncidentSettings()
    o = outcome(at(0), FC.REFUSED)
    assert needs_reprobe(o, SiteState(), s)
    assert not needs_reprobe(o, SiteState(), s, in_maintenance=True)
    assert not needs_reprobe(o, SiteState(), IncidentSettings(confirm_rounds=1))
    assert not needs_reprobe(o, SiteState(), NO_RECHECK)
    assert not needs_reprobe(replace(o, reprobed=True), SiteState(), s)
    desk = Desk(settings=NO_RECHECK)
    desk.round(outcome(at(0), FC.REFUSED))
    assert not needs_reprobe(outcome(at(1), FC.REFUSED), desk.state, s)  # already failing


# ---- dedupe and recurrence ------------------------------------------------------------------


def test_a_long_outage_is_one_ticket_with_hourly_recurrence_events() -> None:
    desk = Desk(settings=NO_RECHECK)
    for minute in range(0, 182):  # three hours, one round a minute
        desk.round(outcome(at(minute), FC.HTTP_500))
    assert len(desk.opened) == 1
    recurrences = [a for a in desk.log if isinstance(a, RecordEvent) and a.kind == "recurrence"]
    # Opened at minute 1; then one event an hour, not one a round.
    assert len(recurrences) == 3
    assert RECURRENCE_EVERY_SECONDS == 3600
    last = desk.tickets[1].evidence["last_failure_at"]
    assert last == at(181).isoformat()  # the evidence follows each recorded event


def test_class_change_records_at_once_and_a_worse_class_raises_priority() -> None:
    desk = Desk(settings=NO_RECHECK)
    slow = Failure(FC.SLOW, None, "tienda-ana: answered in 6.10 s (limit 5 s)")
    desk.round(outcome(at(0), slow))
    desk.round(outcome(at(1), slow))
    assert desk.opened[0][1].priority == Priority.MEDIUM
    assert desk.opened[0][1].subject == "tienda-ana: slow: answered in 6.10 s (limit 5 s)"
    actions = desk.round(outcome(at(2), FC.HTTP_500))
    assert kinds(actions).count("OpenTicket") == 0
    record = next(a for a in actions if isinstance(a, RecordEvent))
    assert record.failure_class == FC.HTTP_500
    raise_ = next(a for a in actions if isinstance(a, Reprioritize))
    assert raise_.priority == Priority.HIGH and "worse than slow" in raise_.reason
    assert desk.tickets[1].priority == Priority.HIGH
    # Back to merely slow: the class is recorded, the priority is not lowered.
    actions = desk.round(outcome(at(3), slow))
    assert not any(isinstance(a, Reprioritize) for a in actions)
    assert desk.tickets[1].priority == Priority.HIGH


def test_an_agents_lowering_is_respected_until_the_rules_ask_for_more() -> None:
    desk = Desk(settings=NO_RECHECK)
    desk.round(outcome(at(0), FC.HTTP_500))
    desk.round(outcome(at(1), FC.HTTP_500))
    desk.tickets[1] = replace(desk.tickets[1], priority=Priority.LOW, touched_by_agent=True)
    for minute in range(2, 10):
        actions = desk.round(outcome(at(minute), FC.HTTP_500))
        assert not any(isinstance(a, Reprioritize) for a in actions)
    assert desk.tickets[1].priority == Priority.LOW


def test_priority_order_default_then_config_then_finding_override() -> None:
    assert class_priority_of(FC.SLOW) == Priority.MEDIUM
    assert class_priority_of(FC.SLOW, {FC.SLOW: Priority.HIGH}) == Priority.HIGH
    assert class_priority_of(FC.SLOW, {FC.SLOW: Priority.HIGH}, Priority.LOW) == Priority.LOW
    desk = Desk(settings=NO_RECHECK, class_priority={FC.HTTP_404: Priority.LOW})
    off_home = Failure(FC.HTTP_404, Priority.MEDIUM, "tienda-ana: HTTP 404 from /carrito/")
    desk.round(outcome(at(0), off_home, up=True))
    desk.round(outcome(at(1), off_home, up=True))
    assert desk.opened[0][1].priority == Priority.MEDIUM


# ---- recovery -------------------------------------------------------------------------------


def test_recovery_resolves_an_untouched_ticket_after_recover_rounds() -> None:
    desk = Desk(settings=NO_RECHECK)
    desk.round(outcome(at(0), FC.HTTP_503))
    desk.round(outcome(at(1), FC.HTTP_503))
    assert desk.round(outcome(at(2))) == []  # one good round is not recovery yet
    actions = desk.round(outcome(at(3)))
    recovered = next(a for a in actions if isinstance(a, RecordEvent))
    assert recovered.kind == "recovered" and "recovered after" in recovered.body
    assert Resolve("down", 1, "site recovered") in actions
    assert any(isinstance(a, Notice) and a.kind == "site_up" for a in actions)
    assert desk.open_tickets() == []


def test_recovery_of_a_ticket_an_agent_works_on_is_an_event_and_it_stays_open() -> None:
    desk = Desk(settings=NO_RECHECK)
    desk.round(outcome(at(0), FC.HTTP_503))
    desk.round(outcome(at(1), FC.HTTP_503))
    desk.touch(1)
    desk.round(outcome(at(2)))
    actions = desk.round(outcome(at(3)))
    assert kinds(actions).count("RecordEvent") == 1
    assert not any(isinstance(a, Resolve) for a in actions)
    assert desk.tickets[1].is_open
    # It fails again an hour later: a recurrence on the same open ticket, no new ticket.
    desk.round(outcome(at(60), FC.HTTP_500))
    actions = desk.round(outcome(at(61), FC.HTTP_500))
    assert len(desk.opened) == 1
    again = next(a for a in actions if isinstance(a, RecordEvent))
    assert "failing again, now http_500" in again.body and again.failure_class == FC.HTTP_500


def test_home_down_says_nothing_about_content_checks() -> None:
    """A keyword check ticket must not recover because the home page fell over."""
    desk = Desk(settings=NO_RECHECK)
    missing = Failure(FC.CONTENT_MISSING, None, "tienda-ana: 'Carrito' not found on /cart/")
    desk.round(outcome(at(0), missing, up=True))
    desk.round(outcome(at(1), missing, up=True))
    content_ticket = next(
        tid for tid, t in desk.tickets.items() if t.failure_class == missing.failure_class
    )
    for minute in range(2, 6):
        desk.round(outcome(at(minute), FC.REFUSED))
    assert desk.tickets[content_ticket].is_open
    assert desk.state.families["content"].first_failure_at is not None


def test_families_are_separate_tickets() -> None:
    desk = Desk(settings=NO_RECHECK)
    expiring = Failure(FC.SSL_EXPIRING, None, "tienda-ana: certificate expires in 12 days")
    desk.round(outcome(at(0), FC.HTTP_500, expiring))
    desk.round(outcome(at(1), FC.HTTP_500, expiring))
    keys = sorted(a.dedupe_key for _, a in desk.opened)
    assert keys == ["tienda-ana:down", "tienda-ana:tls"]
    tls = next(a for _, a in desk.opened if a.dedupe_key.endswith("tls"))
    assert tls.priority == Priority.LOW and tls.category == "hosting"
    down = next(a for _, a in desk.opened if a.dedupe_key.endswith("down"))
    assert down.category == "wordpress"
    assert tls.subject == "tienda-ana: SSL certificate expiring: certificate expires in 12 days"


def test_ticket_resolved_by_an_agent_while_still_failing_is_not_reopened_until_recovery() -> None:
    desk = Desk(settings=NO_RECHECK)
    desk.round(outcome(at(0), FC.HTTP_500))
    desk.round(outcome(at(1), FC.HTTP_500))
    desk.agent_resolves(1, at(2))
    for minute in range(3, 60):
        actions = desk.round(outcome(at(minute), FC.HTTP_500))
        assert not any(isinstance(a, (OpenTicket, Reopen)) for a in actions)
    desk.round(outcome(at(60)))
    desk.round(outcome(at(61)))
    desk.round(outcome(at(120), FC.HTTP_500))
    desk.round(outcome(at(121), FC.HTTP_500))
    assert len(desk.opened) == 2  # a new episode, long after the resolution


# ---- flapping -------------------------------------------------------------------------------


def test_a_flapping_site_becomes_one_intermittent_high_ticket() -> None:
    desk = Desk(settings=NO_RECHECK)
    minute = 0
    for _ in range(10):  # down one round, up the next, for twenty minutes
        desk.round(outcome(at(minute), FC.TIMEOUT))
        desk.round(outcome(at(minute + 1)))
        minute += 2
    assert len(desk.opened) == 1
    opened = desk.opened[0][1]
    assert opened.failure_class == FC.INTERMITTENT
    assert opened.priority == Priority.HIGH
    assert opened.dedupe_key == "tienda-ana:down"
    assert "intermittent" in opened.subject
    # While it keeps flapping the ticket stays open; it resolves once stable for a window.
    assert desk.tickets[1].is_open
    for m in range(minute, minute + 31):
        desk.round(outcome(at(m)))
    assert not desk.tickets[1].is_open


def test_a_confirmed_ticket_is_upgraded_to_intermittent_when_the_site_flaps() -> None:
    desk = Desk(settings=NO_RECHECK)
    desk.round(outcome(at(0), FC.HTTP_500))
    desk.round(outcome(at(1), FC.HTTP_500))
    desk.tickets[1] = replace(desk.tickets[1], priority=Priority.MEDIUM)
    for minute in range(2, 12, 2):
        desk.round(outcome(at(minute)))
        desk.round(outcome(at(minute + 1), FC.HTTP_500))
    assert len(desk.opened) == 1
    assert desk.tickets[1].failure_class == FC.INTERMITTENT
    assert desk.tickets[1].priority == Priority.HIGH


def test_reopens_a_ticket_resolved_minutes_ago_instead_of_opening_another() -> None:
    desk = Desk(settings=NO_RECHECK)
    desk.round(outcome(at(0), FC.HTTP_500))
    desk.round(outcome(at(1), FC.HTTP_500))
    desk.round(outcome(at(2)))
    desk.round(outcome(at(3)))
    assert not desk.tickets[1].is_open
    desk.round(outcome(at(10), FC.HTTP_502))
    actions = desk.round(outcome(at(11), FC.HTTP_502))
    assert any(isinstance(a, Reopen) and a.ticket_id == 1 for a in actions)
    assert len(desk.opened) == 1 and desk.tickets[1].is_open
    assert desk.tickets[1].failure_class == FC.HTTP_502


@settings(max_examples=150, deadline=None)
@given(
    pattern=st.lists(st.booleans(), min_size=10, max_size=240),
    recheck=st.booleans(),
    touch=st.booleans(),
)
def test_flapping_never_makes_more_than_one_ticket_per_window(
    pattern: list[bool], recheck: bool, touch: bool
) -> None:
    cfg = IncidentSettings(recheck_immediately=recheck)
    desk = Desk(settings=cfg)
    for minute, fails in enumerate(pattern):
        when = at(minute)
        if fails:
            reprobe = outcome(
                at(minute + 0.1), FC.TIMEOUT, confirmed=frozenset({"down"}), reprobed=True
            )
            desk.round(outcome(when, FC.TIMEOUT), reprobe=reprobe if recheck else None)
        else:
            desk.round(outcome(when))
        if touch and desk.tickets and minute % 17 == 0:
            desk.touch(max(desk.tickets))
    times = [when for when, _ in desk.opened]
    for a, b in zip(times, times[1:], strict=False):
        assert (b - a).total_seconds() >= cfg.flap_window
    assert len(desk.open_tickets()) <= 1


# ---- maintenance ----------------------------------------------------------------------------


def test_maintenance_window_opens_nothing_and_failures_are_confirmed_afresh_after() -> None:
    desk = Desk(settings=NO_RECHECK, maintenance=True)
    for minute in range(0, 30):
        assert desk.round(outcome(at(minute), FC.HTTP_503)) == []
    assert desk.opened == []
    desk.maintenance = False
    assert desk.round(outcome(at(30), FC.HTTP_503)) == []  # one round after: not confirmed
    desk.round(outcome(at(31), FC.HTTP_503))
    assert len(desk.opened) == 1


def test_in_maintenance_covers_the_sites_and_its_servers_windows() -> None:
    window = MaintenanceWindow(at(0), at(60), "kernel update")
    servers = [Server("web-04", (window,)), Server("web-05")]
    assert in_maintenance(SHOP, servers, at(30))
    assert not in_maintenance(SHOP, servers, at(60))
    other = replace(SHOP, server="web-05")
    assert not in_maintenance(other, servers, at(30))
    own = replace(other, maintenance=(window,))
    assert in_maintenance(own, servers, at(59))


def test_wp_maintenance_starts_low_and_is_raised_to_high_after_fifteen_minutes() -> None:
    desk = Desk(settings=NO_RECHECK)
    desk.round(outcome(at(0), FC.WP_MAINTENANCE))
    desk.round(outcome(at(1), FC.WP_MAINTENANCE))
    assert desk.opened[0][1].priority == Priority.LOW
    raised = []
    for minute in range(2, 20):
        raised += [
            a
            for a in desk.round(outcome(at(minute), FC.WP_MAINTENANCE))
            if isinstance(a, Reprioritize)
        ]
    assert len(raised) == 1
    assert raised[0].priority == Priority.HIGH and "maintenance mode for 15 min" in raised[0].reason
    assert desk.tickets[1].priority == Priority.HIGH


def test_wp_maintenance_confirmed_late_opens_high() -> None:
    desk = Desk(settings=IncidentSettings(recheck_immediately=False, confirm_rounds=20))
    for minute in range(0, 20):
        desk.round(outcome(at(minute), FC.WP_MAINTENANCE))
    assert desk.opened[0][1].priority == Priority.HIGH


# ---- server outages -------------------------------------------------------------------------


def view(tid: int, *, is_open: bool = True, parent: int | None = None, **kw) -> TicketView:
    return TicketView(
        tid, f"R-{1000 + tid}", is_open, Priority.HIGH, FC.HTTP_500, parent_id=parent, **kw
    )


def server(failing: tuple[str, ...], total: int = 4, **kw) -> ServerRound:
    return ServerRound("web-04", tuple(f"s{i}" for i in range(total)), failing, Impact.HIGH, **kw)


def test_three_sites_of_a_server_down_open_one_parent_and_link_the_site_tickets() -> None:
    s = IncidentSettings()
    children = {"s0": view(1), "s1": view(2), "s2": None}
    actions = correlate_server(server(("s0", "s1", "s2")), None, children, s, at(0))
    opens = [a for a in actions if isinstance(a, OpenTicket)]
    assert len(opens) == 1
    parent = opens[0]
    assert parent.subject == "Server web-04 down: 3 of 4 sites failing"
    assert parent.dedupe_key == "server:web-04:down"
    assert (parent.site, parent.customer) == (None, None)
    assert parent.failure_class == FC.SERVER_OUTAGE and parent.priority == Priority.HIGH
    assert parent.category == "hosting" and parent.impact == Impact.HIGH
    assert parent.evidence["failing_sites"] == ["s0", "s1", "s2"]
    assert [a for a in actions if isinstance(a, LinkChild)] == [
        LinkChild(1, None),
        LinkChild(2, None),
    ]


def test_outage_thresholds() -> None:
    s = IncidentSettings()
    assert correlate_server(server(("s0",)), None, {}, s, at(0)) == []
    # Half of a server's sites (at least two of them) is an outage too.
    assert any(
        isinstance(a, OpenTicket)
        for a in correlate_server(server(("s0", "s1")), None, {}, s, at(0))
    )
    assert correlate_server(server(("s0", "s1"), total=10), None, {}, s, at(0)) == []
    # A server with two sites: one failing is that site's business, not the server's.
    assert correlate_server(server(("s0",), total=2), None, {}, s, at(0)) == []
    assert (
        correlate_server(server(("s0", "s1", "s2"), in_maintenance=True), None, {}, s, at(0)) == []
    )


def test_an_open_parent_is_updated_on_change_and_resolved_when_the_server_recovers() -> None:
    s = IncidentSettings()
    parent = view(9, evidence={"failing_sites": ["s0", "s1", "s2"]})
    children = {"s0": view(1, parent=9), "s1": view(2, parent=9), "s2": view(3, parent=9)}
    same = correlate_server(server(("s0", "s1", "s2")), parent, children, s, at(1))
    assert same == []  # nothing new: no event every round
    more = correlate_server(
        server(("s0", "s1", "s2", "s3")), parent, {**children, "s3": view(4)}, s, at(2)
    )
    assert any(isinstance(a, RecordEvent) and "4 of 4" in a.body for a in more)
    assert LinkChild(4, 9) in more
    over = correlate_server(server(("s3",)), parent, {}, s, at(3))
    assert [type(a) for a in over] == [RecordEvent, Resolve]
    assert over[0].kind == "recovered"
    touched = replace(parent, touched_by_agent=True)
    once = correlate_server(server(()), touched, {}, s, at(3))
    assert [type(a) for a in once] == [RecordEvent]
    # The agent keeps it open: the recovery is said once, not every round.
    said = replace(touched, evidence={**touched.evidence, **once[0].evidence})
    assert correlate_server(server(()), said, {}, s, at(4)) == []


# ---- the rest -------------------------------------------------------------------------------


def test_state_round_trips_through_json() -> None:
    desk = Desk(settings=NO_RECHECK)
    desk.round(outcome(at(0), FC.HTTP_500))
    desk.round(outcome(at(1), FC.HTTP_500))
    data = desk.state.to_json()
    again = SiteState.from_json(data)
    assert again.to_json() == data
    assert again.families["down"].ticket_id == 1 and again.families["down"].confirmed
    assert (
        SiteState.from_json({"families": {"down": {"failing": True, "unknown": 1}}})
        .families["down"]
        .failing
    )


def test_subjects_and_durations_are_short_english() -> None:
    assert subject_for("blog", FC.REFUSED, "https://blog.example/") == (
        "blog: connection refused on https://blog.example/"
    )
    long = subject_for("blog", FC.CONTENT_MISSING, "https://b/", "blog: " + "x" * 300)
    assert len(long) <= 160 and long.endswith("...")
    assert human_duration(30) == "30 s"
    assert human_duration(15 * 60) == "15 min"
    assert human_duration(3 * 3600 + 5 * 60) == "3 h 05 min"


@freeze_time("2025-03-03 12:00:00", tz_offset=0)
def test_rules_use_the_rounds_instant_not_the_wall_clock() -> None:
    """Frozen at 12:00, rounds stamped two hours later still count their own time."""
    desk = Desk(settings=NO_RECHECK)
    desk.round(outcome(at(120), FC.HTTP_500))
    desk.round(outcome(at(121), FC.HTTP_500))
    assert desk.opened[0][1].evidence["first_failure_at"] == at(120).isoformat()
    assert datetime.now(UTC) == T0


def test_wordpress_health_classes_are_their_own_cases_reminded_daily() -> None:
    desk = Desk(settings=NO_RECHECK)
    outdated = Failure(FC.WP_OUTDATED, None, "tienda-ana: WordPress 6.5.5 is 2 releases behind")
    rest = Failure(FC.WP_REST_BROKEN, None, "tienda-ana: REST API: HTTP 403 is not JSON")
    for minute in range(0, 6 * 60):  # six hours, a round a minute
        desk.round(outcome(at(minute), outdated, rest, up=True))
    keys = sorted(a.dedupe_key for _, a in desk.opened)
    assert keys == ["tienda-ana:rest_api", "tienda-ana:updates"]
    by_family = {a.dedupe_key: a for _, a in desk.opened}
    assert by_family["tienda-ana:updates"].priority == Priority.LOW
    assert by_family["tienda-ana:rest_api"].category == "elementor"
    assert by_family["tienda-ana:updates"].subject == (
        "tienda-ana: WordPress update due: WordPress 6.5.5 is 2 releases behind"
    )
    events = [a for a in desk.log if isinstance(a, RecordEvent) and a.kind == "recurrence"]
    families = [e.family for e in events]
    assert families.count("rest_api") >= 5  # hourly, as any failure
    assert families.count("updates") == 0  # an update waits for work: daily at most


def test_a_blocked_home_page_judges_nothing_else_and_is_no_outage() -> None:
    desk = Desk(settings=NO_RECHECK)
    rest = Failure(FC.WP_REST_BROKEN, None, "tienda-ana: REST API broken")
    desk.round(outcome(at(0), rest, up=True))
    desk.round(outcome(at(1), rest, up=True))
    blocked = Failure(FC.BLOCKED, None, "tienda-ana: Imunify360 blocks the desk's probes")
    for minute in range(2, 10):
        desk.round(outcome(at(minute), blocked, up=False))
    keys = sorted(a.dedupe_key for _, a in desk.opened)
    assert keys == ["tienda-ana:blocked", "tienda-ana:rest_api"]
    rest_ticket = next(t for t in desk.tickets.values() if t.failure_class == FC.WP_REST_BROKEN)
    assert rest_ticket.is_open  # not recovered while the desk could not see
    assert "tienda-ana:down" not in keys
