"""Incident rules: what a round of probes means for the desk. Pure: no I/O, no clock.

`evaluate` takes one site's round (`Outcome`, plain values), the rules' memory of that site
(`SiteState`, stored as JSON in `probe_state.rules`) and a view of the tickets that memory
points at, and returns the new memory plus `Action`s for the round runner to carry out:

- confirm: a failure opens a ticket only after `confirm_rounds` failed rounds in a row, or
  at once when an immediate re-probe on a fresh connection fails too (`Reprobe` asks for it);
- dedupe: one open ticket per site and failure family; recurrences become events, at most
  one per hour unless the class changes, and a worse class raises the ticket's priority;
- recover: after `recover_rounds` good rounds an event records it, and a ticket no agent
  has touched is resolved; one an agent works on stays open;
- flap: a site that goes down and up `flap_count` times within `flap_window` becomes one
  `intermittent` ticket; a ticket resolved less than `flap_window` ago is reopened rather
  than a new one opened, so a site never has more than one ticket per window and family;
- maintenance windows: nothing opens, results are still recorded;
- wp_maintenance starts low and becomes high once it lasts `maintenance_high_after`;
- `correlate_server` (in `ronda.checks.outages`): many sites of one server failing together
  make one parent incident.

The vocabulary (inputs, memory, actions) lives in `ronda.checks.incident_model`. The round
runner reaches the rules through this module alone (`rules.evaluate`, `rules.DOWN`,
`rules.correlate_server`), so it re-exports the vocabulary and the server correlation it
uses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ronda.checks.incident_model import (
    BLOCKING,
    DOWN,
    Action,
    Decision,
    Failure,
    FamilyState,
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
    category_of,
    class_priority_of,
    dedupe_key,
    human_duration,
    in_maintenance,
    iso_utc,
    server_dedupe_key,
    strip_site,
    subject_for,
)
from ronda.checks.outages import ServerRound, correlate_server, outage_threshold_met
from ronda.config import IncidentSettings, Site
from ronda.model import FailureClass, Priority, family_of

FC = FailureClass

# A recurrence on an open ticket is recorded at most this often (unless the class changes):
# a site down for a day adds ~24 events, not 1,440.
RECURRENCE_EVERY_SECONDS = 3600.0
RECURRENCE_EVERY_ROUNDS = 60
# Failures that change over days, not minutes: one reminder a day is enough.
_SLOW_MOVING = frozenset(
    {
        FailureClass.SSL_EXPIRING,
        FailureClass.RSS_INVALID,
        # WordPress health: an update, a PHP upgrade, a theme fix wait for someone's work.
        FailureClass.WP_OUTDATED,
        FailureClass.PHP_EOL,
        FailureClass.MIXED_CONTENT,
        FailureClass.PHP_WARNING,
        FailureClass.BROKEN_IMAGES,
        FailureClass.DOMAIN_EXPIRING,
        FailureClass.DNS_SPF_INVALID,
        FailureClass.DNS_DMARC_MISSING,
    }
)


# ---- the site rules -----------------------------------------------------------------------


def _worst_by_family(
    failures: Sequence[Failure], class_priority: Mapping[FailureClass, Priority] | None
) -> dict[str, tuple[Failure, Priority]]:
    """The worst failure of each family: highest priority, the first one among equals."""
    worst: dict[str, tuple[Failure, Priority]] = {}
    for failure in failures:
        if failure.failure_class == FC.OK:
            continue
        prio = class_priority_of(failure.failure_class, class_priority, failure.priority)
        fam = family_of(failure.failure_class)
        if fam not in worst or prio.rank > worst[fam][1].rank:
            worst[fam] = (failure, prio)
    return worst


@dataclass(slots=True)
class _Round:
    """What every rule of one evaluation needs."""

    site: Site
    outcome: Outcome
    tickets: Mapping[int, TicketView]
    settings: IncidentSettings
    class_priority: Mapping[FailureClass, Priority] | None
    now: float

    def ticket(self, fs: FamilyState) -> TicketView | None:
        return self.tickets.get(fs.ticket_id) if fs.ticket_id is not None else None


def needs_reprobe(
    outcome: Outcome,
    state: SiteState,
    settings: IncidentSettings,
    *,
    in_maintenance: bool = False,
) -> bool:
    """A family fails for the first time and one more look would confirm it at once."""
    if outcome.reprobed or in_maintenance or not settings.recheck_immediately:
        return False
    if settings.confirm_rounds <= 1:
        return False  # it is confirmed already
    for failure in outcome.failures:
        if failure.failure_class == FC.OK:
            continue
        fs = state.families.get(family_of(failure.failure_class))
        if fs is None or (fs.consecutive_failures == 0 and not fs.confirmed and not fs.dismissed):
            return True
    return False


def evaluate(
    site: Site,
    outcome: Outcome,
    state: SiteState,
    tickets: Mapping[int, TicketView],
    settings: IncidentSettings,
    class_priority: Mapping[FailureClass, Priority] | None = None,
    *,
    in_maintenance: bool = False,
    allow_reprobe: bool = True,
) -> Decision:
    """Apply one round of one site to the rules' memory. Never mutates `state`.

    When a re-probe is wanted (and allowed) the decision is only `[Reprobe]` with the state
    unchanged: probe again and evaluate that result with `reprobed=True`.
    """
    if allow_reprobe and needs_reprobe(outcome, state, settings, in_maintenance=in_maintenance):
        return Decision(state, [Reprobe(site.name)])
    state = state.copy()
    ctx = _Round(site, outcome, tickets, settings, class_priority, now=outcome.at.timestamp())
    actions: list[Action] = []

    # Flapping is about availability: count the down -> up transitions in the window.
    if state.up is False and outcome.up and not in_maintenance:
        state.recoveries.append(ctx.now)
    state.recoveries = [t for t in state.recoveries if ctx.now - t < settings.flap_window]
    state.up = outcome.up
    down = state.families.setdefault(DOWN, FamilyState())
    was_flapping = down.flapping
    newly_flapping = (
        not in_maintenance and not down.flapping and len(state.recoveries) >= settings.flap_count
    )
    if newly_flapping:
        down.flapping = True

    worst = _worst_by_family(outcome.failures, class_priority)
    for fam in sorted(set(state.families) | set(worst)):
        fs = state.families.setdefault(fam, FamilyState())
        if fam in worst:
            failure, prio = worst[fam]
            if in_maintenance:
                _failing_in_maintenance(fs)
            else:
                actions += _failing(ctx, fam, fs, failure, prio)
        elif outcome.up and fam not in outcome.unchecked:
            actions += _passing(ctx, fam, fs)
        # else: the home page failed, so this family's checks did not run: no news.

    if newly_flapping:
        actions += _flapping(ctx, down, len(state.recoveries))
    elif was_flapping and not down.flapping:
        state.recoveries.clear()  # the flapping episode is over: count afresh

    # Forget families with nothing to remember (no episode, no ticket to reopen).
    for fam in [f for f, fs in state.families.items() if _idle(fs, ctx)]:
        del state.families[fam]
    return Decision(state, actions)


def _idle(fs: FamilyState, ctx: _Round) -> bool:
    if fs.in_episode or fs.failing or fs.flapping:
        return False
    if fs.ticket_id is None:
        return True
    ticket = ctx.ticket(fs)
    # A ticket still open, or resolved recently enough to be reopened, is remembered.
    return ticket is not None and not ticket.is_open and not _recently_resolved(ctx, ticket)


def _recently_resolved(ctx: _Round, ticket: TicketView) -> bool:
    return (
        ticket.resolved_at is not None
        and ctx.now - ticket.resolved_at.timestamp() < ctx.settings.flap_window
    )


def _failing_in_maintenance(fs: FamilyState) -> None:
    """Recorded, not counted: after the window a failure needs confirming afresh."""
    fs.failing = True
    fs.consecutive_failures = 0
    fs.consecutive_successes = 0


def _failing(
    ctx: _Round, fam: str, fs: FamilyState, failure: Failure, prio: Priority
) -> list[Action]:
    now = ctx.now
    cls = FailureClass(failure.failure_class)
    fs.failing = True
    fs.consecutive_failures += 1
    fs.consecutive_successes = 0
    if not fs.in_episode:
        fs.first_failure_at = now
        fs.reported = False
        fs.dismissed = False
        fs.priority = None
    fs.last_failure_at = now
    if fs.failure_class != cls:
        fs.failure_class = str(cls)
        fs.class_since = now
    fs.rounds_since_event += 1

    was_confirmed = fs.confirmed
    if not fs.confirmed and (
        fs.consecutive_failures >= ctx.settings.confirm_rounds
        or fam in ctx.outcome.confirmed_families
    ):
        fs.confirmed = True
    if not fs.confirmed:
        return []

    actions: list[Action] = []
    if not was_confirmed and fam == DOWN and cls in BLOCKING:
        actions.append(
            Notice(
                "site_down",
                ctx.site.name,
                f"{ctx.site.name} down: {strip_site(ctx.site.name, failure.detail)}",
            )
        )
    reason = None
    if cls == FC.WP_MAINTENANCE and _maintenance_too_long(ctx, fs) and prio != Priority.HIGH:
        prio = Priority.HIGH
        lasted = human_duration(ctx.now - (fs.class_since or ctx.now))
        reason = f"WordPress maintenance mode for {lasted}"
    if fs.flapping:
        # The ticket says intermittent; the failure of the moment goes into its events.
        cls, prio = FC.INTERMITTENT, class_priority_of(FC.INTERMITTENT, ctx.class_priority)
        reason = None
    actions += _ensure_ticket(ctx, fam, fs, cls, prio, failure.detail, reason)
    return actions


def _maintenance_too_long(ctx: _Round, fs: FamilyState) -> bool:
    return (
        fs.class_since is not None
        and ctx.now - fs.class_since >= ctx.settings.maintenance_high_after
    )


def _evidence(ctx: _Round, fs: FamilyState, cls: FailureClass, detail: str) -> dict:
    evidence = dict(ctx.outcome.evidence)
    evidence.update(
        failure_class=str(cls),
        detail=detail,
        first_failure_at=iso_utc(fs.first_failure_at),
        last_failure_at=iso_utc(fs.last_failure_at),
        failed_rounds=fs.consecutive_failures,
    )
    return evidence


def _ensure_ticket(
    ctx: _Round,
    fam: str,
    fs: FamilyState,
    cls: FailureClass,
    prio: Priority,
    detail: str,
    raise_reason: str | None = None,
) -> list[Action]:
    """Make sure the confirmed episode is on exactly one ticket, and that it is current."""
    ticket = ctx.ticket(fs)
    evidence = _evidence(ctx, fs, cls, detail)
    site = ctx.site.name
    if ticket is not None and ticket.is_open:
        return _update_open(ctx, fam, fs, ticket, cls, prio, detail, evidence, raise_reason)
    if (
        ticket is not None
        and ticket.touched_by_agent
        and fs.reported
        and ticket.resolved_at is not None
        and ticket.resolved_at.timestamp() >= (fs.first_failure_at or 0)
    ):
        # An agent closed it while the failure went on: their call, until it recovers.
        fs.dismissed = True
    if fs.dismissed:
        return []
    fs.reported = True
    fs.priority = str(prio)
    fs.last_event_at, fs.rounds_since_event = ctx.now, 0
    if ticket is not None and _recently_resolved(ctx, ticket):
        # Failing again soon after it was resolved: the same case, not a new one.
        assert ticket.resolved_at is not None
        ago = human_duration(ctx.now - ticket.resolved_at.timestamp())
        actions: list[Action] = [
            Reopen(fam, ticket.id, f"failing again {ago} after it was resolved"),
            RecordEvent(
                fam,
                ticket.id,
                "recurrence",
                f"{site}: failing again: {strip_site(site, detail)}",
                evidence,
                cls if cls != ticket.failure_class else None,
            ),
        ]
        if prio.rank > ticket.priority.rank:
            reason = raise_reason or f"{cls}: failing again"
            actions.append(Reprioritize(fam, ticket.id, prio, reason))
        return actions
    subject = subject_for(site, cls, ctx.outcome.url, detail)
    return [
        OpenTicket(
            family=fam,
            dedupe_key=dedupe_key(site, fam),
            subject=subject,
            failure_class=cls,
            priority=prio,
            impact=ctx.site.impact,
            site=site,
            customer=ctx.site.customer,
            evidence=evidence,
            body=f"{subject}\n{strip_site(site, detail)}".strip(),
            category=category_of(fam, cls),
        )
    ]


def _update_open(
    ctx: _Round,
    fam: str,
    fs: FamilyState,
    ticket: TicketView,
    cls: FailureClass,
    prio: Priority,
    detail: str,
    evidence: dict,
    raise_reason: str | None,
) -> list[Action]:
    """Recurrence on the open ticket: an event on a class change or when one is due, and a
    priority raise when the class changes to a worse one or the rules now ask for more
    than they did (an agent's own lowering is respected until then)."""
    site = ctx.site.name
    actions: list[Action] = []
    every = RECURRENCE_EVERY_SECONDS * (24 if cls in _SLOW_MOVING else 1)
    due = (
        fs.last_event_at is None
        or ctx.now - fs.last_event_at >= every
        or (cls not in _SLOW_MOVING and fs.rounds_since_event >= RECURRENCE_EVERY_ROUNDS)
    )
    class_changed = ticket.failure_class != cls
    if class_changed:
        actions.append(
            RecordEvent(
                fam,
                ticket.id,
                "recurrence",
                f"{site}: {'' if fs.reported else 'failing again, '}now {cls}: "
                f"{strip_site(site, detail)}",
                evidence,
                cls,
            )
        )
    elif not fs.reported or due:
        what = "failing again" if not fs.reported else "still failing"
        since = human_duration(ctx.now - (fs.first_failure_at or ctx.now))
        actions.append(
            RecordEvent(
                fam,
                ticket.id,
                "recurrence",
                f"{site}: {what} (for {since}): {strip_site(site, detail)}",
                evidence,
            )
        )
    asked = Priority(fs.priority) if fs.priority else None
    if asked is None or prio.rank > asked.rank or class_changed:
        fs.priority = str(prio if asked is None or prio.rank > asked.rank else asked)
        if prio.rank > ticket.priority.rank:
            if raise_reason is None:
                was = ticket.failure_class or "the earlier failure"
                raise_reason = f"{cls} is worse than {was}" if class_changed else f"{cls}: {detail}"
            actions.append(Reprioritize(fam, ticket.id, prio, raise_reason))
    if actions:
        fs.last_event_at, fs.rounds_since_event = ctx.now, 0
    fs.reported = True
    return actions


def _passing(ctx: _Round, fam: str, fs: FamilyState) -> list[Action]:
    fs.failing = False
    fs.consecutive_failures = 0
    fs.consecutive_successes += 1
    if not fs.in_episode:
        return []
    if fs.consecutive_successes < ctx.settings.recover_rounds:
        return []
    last = fs.last_failure_at or ctx.now
    if fs.flapping and ctx.now - last < ctx.settings.flap_window:
        return []  # a flapping site is well only once it stays up for a whole window
    actions: list[Action] = []
    site = ctx.site.name
    ticket = ctx.ticket(fs)
    lasted = human_duration(last - (fs.first_failure_at or last))
    if fs.confirmed and ticket is not None and ticket.is_open and fs.reported:
        actions.append(
            RecordEvent(
                fam,
                ticket.id,
                "recovered",
                f"{site}: recovered after {lasted} of failures "
                f"({fs.consecutive_successes} good rounds)",
                {"recovered_at": iso_utc(ctx.now), "last_failure_at": iso_utc(fs.last_failure_at)},
            )
        )
        if not ticket.touched_by_agent:
            actions.append(Resolve(fam, ticket.id, "site recovered"))
    if fs.confirmed and fam == DOWN and (fs.flapping or fs.failure_class in BLOCKING):
        actions.append(Notice("site_up", site, f"{site} up again after {lasted}"))
    _end_episode(fs)
    return actions


def _end_episode(fs: FamilyState) -> None:
    fs.first_failure_at = None
    fs.last_failure_at = None
    fs.failure_class = None
    fs.class_since = None
    fs.confirmed = False
    fs.reported = False
    fs.dismissed = False
    fs.flapping = False
    fs.priority = None
    fs.last_event_at = None
    fs.rounds_since_event = 0


def _flapping(ctx: _Round, down: FamilyState, transitions: int) -> list[Action]:
    """Down and up too often: one intermittent ticket, high, for the whole episode."""
    if not down.in_episode:
        down.first_failure_at = ctx.now
        down.last_failure_at = ctx.now
    down.confirmed = True
    cls = FC.INTERMITTENT
    prio = class_priority_of(cls, ctx.class_priority)
    window = human_duration(ctx.settings.flap_window)
    detail = f"down and up {transitions} times within {window}"
    return _ensure_ticket(ctx, DOWN, down, cls, prio, detail)


__all__ = [
    # the site rules
    "RECURRENCE_EVERY_ROUNDS",
    "RECURRENCE_EVERY_SECONDS",
    "evaluate",
    "needs_reprobe",
    # re-exported for the round runner
    "BLOCKING",
    "DOWN",
    "Action",
    "Failure",
    "LinkChild",
    "Notice",
    "OpenTicket",
    "Outcome",
    "RecordEvent",
    "Reopen",
    "Reprioritize",
    "Reprobe",
    "Resolve",
    "ServerRound",
    "SiteState",
    "TicketView",
    "correlate_server",
    "in_maintenance",
    "outage_threshold_met",
    "server_dedupe_key",
]
