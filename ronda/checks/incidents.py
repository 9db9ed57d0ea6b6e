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
- `correlate_server`: many sites of one server failing together make one parent incident.

Instants in the state are UTC epoch seconds so the memory serializes as plain JSON.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from ronda.config import IncidentSettings, MaintenanceWindow, Server, Site
from ronda.model import DEFAULT_CLASS_PRIORITY, FailureClass, Impact, Priority, family_of

FC = FailureClass

# A recurrence on an open ticket is recorded at most this often (unless the class changes):
# a site down for a day adds ~24 events, not 1,440.
RECURRENCE_EVERY_SECONDS = 3600.0
RECURRENCE_EVERY_ROUNDS = 60
# Failures that change over days, not minutes: one reminder a day is enough.
_SLOW_MOVING = frozenset({FailureClass.SSL_EXPIRING, FailureClass.RSS_INVALID})

DOWN = "down"
# Failures a whole server causes (its web server, proxy or database down). A PHP fatal or a
# 404 is one site's own code: three of them on one server are three cases, not an outage.
SERVER_LEVEL_CLASSES = frozenset(
    {
        FailureClass.REFUSED,
        FailureClass.TIMEOUT,
        FailureClass.HTTP_502,
        FailureClass.HTTP_503,
        FailureClass.WP_DB_CONNECTION,
    }
)
SERVER = "server"

# Failures after which the other checks of a round say nothing: the prober skips the
# keyword checks and the feed when the home page itself fails like this.
BLOCKING: frozenset[FailureClass] = frozenset(
    c for c in FailureClass if family_of(c) == DOWN and c not in (FC.SLOW, FC.INTERMITTENT)
) | {FC.SSL_EXPIRED, FC.SSL_UNTRUSTED, FC.SSL_HOSTNAME}

# Short English words for ticket subjects ("tienda-ana: HTTP 500 on https://...").
_SUBJECT_WORDS: dict[FailureClass, str] = {
    FC.REFUSED: "connection refused",
    FC.DNS: "name not resolved",
    FC.TIMEOUT: "timeout",
    FC.HTTP_500: "HTTP 500",
    FC.HTTP_502: "HTTP 502",
    FC.HTTP_503: "HTTP 503",
    FC.WP_DB_CONNECTION: "database connection error",
    FC.PHP_FATAL: "PHP fatal error",
    FC.PHP_FATAL_TIMEOUT: "PHP maximum execution time exceeded",
    FC.PHP_SYNTAX_ERROR: "PHP syntax error",
    FC.WHITE_SCREEN: "blank page (white screen)",
    FC.HTTP_403: "HTTP 403",
    FC.HTTP_404: "HTTP 404",
    FC.REDIRECT_LOOP: "redirect loop",
    FC.SSL_EXPIRED: "SSL certificate expired",
    FC.SSL_UNTRUSTED: "SSL certificate not trusted",
    FC.SSL_HOSTNAME: "SSL certificate for another host",
    FC.WP_MAINTENANCE: "WordPress maintenance mode",
    FC.SLOW: "slow",
    FC.CONTENT_MISSING: "expected content missing",
    FC.SSL_EXPIRING: "SSL certificate expiring",
    FC.RSS_INVALID: "RSS feed invalid",
    FC.INTERMITTENT: "intermittent (down and up repeatedly)",
}


# ---- inputs -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Failure:
    """One failing check of a round. `priority` overrides the class priority when set."""

    failure_class: FailureClass
    priority: Priority | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Outcome:
    """One site's round as the rules see it.

    `up` is False when the home page itself failed (the other checks then say nothing);
    `evidence` holds the probe's facts copied into tickets (url, status_code, headers,
    body_excerpt, phases, elapsed_ms, cert); `confirmed_families` are the families that
    failed on an immediate re-probe as well, `reprobed` says one was made.
    """

    site: str
    at: datetime
    url: str
    failures: tuple[Failure, ...] = ()
    up: bool = True
    evidence: Mapping[str, object] = field(default_factory=dict)
    confirmed_families: frozenset[str] = frozenset()
    reprobed: bool = False


@dataclass(frozen=True, slots=True)
class TicketView:
    """What the rules need to know of a stored ticket."""

    id: int
    case_number: str
    is_open: bool
    priority: Priority
    failure_class: FailureClass | None = None
    touched_by_agent: bool = False
    resolved_at: datetime | None = None
    parent_id: int | None = None
    evidence: Mapping[str, object] = field(default_factory=dict)


# ---- memory -------------------------------------------------------------------------------


@dataclass(slots=True)
class FamilyState:
    """The rules' memory of one failure family of one site.

    An *episode* runs from the first failed round (`first_failure_at`) until recovery is
    recorded; `ticket_id` outlives it so a ticket resolved moments ago can be reopened.
    """

    failing: bool = False  # the last round failed in this family
    consecutive_failures: int = 0
    consecutive_successes: int = 0
    failure_class: str | None = None  # the episode's latest class
    class_since: float | None = None  # when that class was first seen in a row
    first_failure_at: float | None = None  # None: no episode
    last_failure_at: float | None = None
    confirmed: bool = False  # the episode is confirmed (a ticket was or would be opened)
    reported: bool = False  # the episode is on a ticket (opened, reopened or recorded)
    dismissed: bool = False  # an agent resolved the ticket while the episode went on
    flapping: bool = False
    ticket_id: int | None = None
    last_event_at: float | None = None
    rounds_since_event: int = 0
    priority: str | None = None  # the highest priority the rules asked for this episode

    @property
    def in_episode(self) -> bool:
        return self.first_failure_at is not None


@dataclass(slots=True)
class SiteState:
    """The rules' memory of one site between rounds (JSON in `probe_state.rules`)."""

    families: dict[str, FamilyState] = field(default_factory=dict)
    up: bool | None = None
    recoveries: list[float] = field(default_factory=list)  # down->up instants (flapping)

    def to_json(self) -> dict:
        return {
            "v": 1,
            "up": self.up,
            "recoveries": list(self.recoveries),
            "families": {name: asdict(fs) for name, fs in self.families.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping | None) -> SiteState:
        """The stored memory; unknown keys are ignored so older and newer files both load."""
        if not data:
            return cls()
        known = set(FamilyState.__slots__)
        families = {
            str(name): FamilyState(**{k: v for k, v in fs.items() if k in known})
            for name, fs in (data.get("families") or {}).items()
            if isinstance(fs, Mapping)
        }
        return cls(
            families=families,
            up=data.get("up"),
            recoveries=[float(t) for t in data.get("recoveries") or []],
        )

    def copy(self) -> SiteState:
        return copy.deepcopy(self)

    def ticket_ids(self) -> list[int]:
        return [fs.ticket_id for fs in self.families.values() if fs.ticket_id is not None]

    def down_failing_since(self, now: float, window: float) -> bool:
        """Confirmed down with a server-level class and seen failing within `window`
        seconds (server correlation)."""
        fs = self.families.get(DOWN)
        return bool(
            fs is not None
            and fs.confirmed
            and fs.failing
            and fs.failure_class in SERVER_LEVEL_CLASSES
            and fs.last_failure_at is not None
            and now - fs.last_failure_at <= window
        )


# ---- actions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reprobe:
    """Probe the site again now, on a fresh connection, before deciding."""

    site: str


@dataclass(frozen=True, slots=True)
class OpenTicket:
    family: str
    dedupe_key: str
    subject: str
    failure_class: FailureClass
    priority: Priority
    impact: Impact
    site: str | None
    customer: str | None
    evidence: dict
    body: str
    category: str = "wordpress"


@dataclass(frozen=True, slots=True)
class RecordEvent:
    """A fact on an existing ticket (`kind`: recurrence, recovered)."""

    family: str
    ticket_id: int
    kind: str
    body: str
    evidence: dict | None = None
    failure_class: FailureClass | None = None


@dataclass(frozen=True, slots=True)
class Reprioritize:
    family: str
    ticket_id: int
    priority: Priority
    reason: str


@dataclass(frozen=True, slots=True)
class Reopen:
    family: str
    ticket_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class Resolve:
    family: str
    ticket_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class LinkChild:
    """Put a site ticket under its server's parent; `parent_id` None: the parent this very
    decision opens."""

    ticket_id: int
    parent_id: int | None


@dataclass(frozen=True, slots=True)
class Notice:
    """Something worth one log line that is not a ticket change (site_down, site_up)."""

    kind: str
    site: str
    message: str


Action = Reprobe | OpenTicket | RecordEvent | Reprioritize | Reopen | Resolve | LinkChild | Notice


@dataclass(slots=True)
class Decision:
    state: SiteState
    actions: list[Action]

    @property
    def wants_reprobe(self) -> bool:
        return any(isinstance(a, Reprobe) for a in self.actions)


# ---- small pure helpers -------------------------------------------------------------------


def class_priority_of(
    failure_class: FailureClass,
    class_priority: Mapping[FailureClass, Priority] | None = None,
    override: Priority | None = None,
) -> Priority:
    """Default class priority, overridden by the config, overridden by the probe's finding."""
    if override is not None:
        return Priority(override)
    if class_priority and failure_class in class_priority:
        return Priority(class_priority[failure_class])
    return DEFAULT_CLASS_PRIORITY.get(FailureClass(failure_class), Priority.MEDIUM)


def in_maintenance(site: Site, servers: Iterable[Server], at: datetime) -> bool:
    """A planned window of the site itself or of its server covers `at`."""
    windows: list[MaintenanceWindow] = list(site.maintenance)
    if site.server:
        for server in servers:
            if server.name == site.server:
                windows.extend(server.maintenance)
    return any(w.covers(at) for w in windows)


# Ticket categories, in the words the mail triage uses: certificates and servers are
# hosting work, everything a site shows is WordPress work.
_FAMILY_CATEGORY = {"tls": "hosting", SERVER: "hosting"}


def category_of(family: str) -> str:
    return _FAMILY_CATEGORY.get(family, "wordpress")


def dedupe_key(site: str, family: str) -> str:
    return f"{site}:{family}"


def server_dedupe_key(server: str) -> str:
    return f"server:{server}:down"


def human_duration(seconds: float) -> str:
    """`45 s`, `12 min`, `3 h 05 min`, `2 d 4 h`: short, for events people read."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 90:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def _strip_site(site: str, detail: str) -> str:
    """Finding details start with "site: "; a subject already names the site."""
    return detail.removeprefix(f"{site}: ")


def subject_for(site: str, failure_class: FailureClass, url: str, detail: str = "") -> str:
    """`tienda-ana: HTTP 500 on https://tienda-ana.example/`: English, short."""
    words = _SUBJECT_WORDS.get(failure_class, str(failure_class))
    detail = _strip_site(site, detail)
    if failure_class in (FC.SLOW, FC.SSL_EXPIRING, FC.CONTENT_MISSING, FC.RSS_INVALID) and detail:
        # Their detail says what matters (how slow, how many days, which keyword).
        text = f"{site}: {words}: {detail}"
    else:
        text = f"{site}: {words} on {url}"
    return text if len(text) <= 160 else text[:157] + "..."


def _iso(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch, UTC).isoformat() if epoch is not None else None


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


# ---- the site rules -----------------------------------------------------------------------


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
        elif outcome.up:
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
                f"{ctx.site.name} down: {_strip_site(ctx.site.name, failure.detail)}",
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
        first_failure_at=_iso(fs.first_failure_at),
        last_failure_at=_iso(fs.last_failure_at),
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
                f"{site}: failing again: {_strip_site(site, detail)}",
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
            body=f"{subject}\n{_strip_site(site, detail)}".strip(),
            category=category_of(fam),
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
                f"{_strip_site(site, detail)}",
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
                f"{site}: {what} (for {since}): {_strip_site(site, detail)}",
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
                {"recovered_at": _iso(ctx.now), "last_failure_at": _iso(fs.last_failure_at)},
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


# ---- server outages -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServerRound:
    """One server as a round sees it: its sites and which of them are down together."""

    name: str
    sites: tuple[str, ...]
    failing: tuple[str, ...]  # confirmed down, seen failing within the outage window
    impact: Impact = Impact.MEDIUM  # the highest impact among its sites
    in_maintenance: bool = False


def outage_threshold_met(failing: int, total: int, settings: IncidentSettings) -> bool:
    """K sites, or a share of a server of at least two sites (and never a lone site)."""
    if failing >= settings.outage_min_sites:
        return True
    return total >= 2 and failing >= 2 and failing / total >= settings.outage_fraction


def correlate_server(
    server: ServerRound,
    parent: TicketView | None,
    children: Mapping[str, TicketView | None],
    settings: IncidentSettings,
    now: datetime,
    class_priority: Mapping[FailureClass, Priority] | None = None,
) -> list[Action]:
    """Open, update or resolve the one parent incident of a server.

    `parent` is the server's latest parent ticket (open or not); `children` maps each
    failing site to its open down ticket (or None), to be linked under the parent.
    """
    ts = now.timestamp()
    n, total = len(server.failing), len(server.sites)
    failing = sorted(server.failing)
    summary = f"{n} of {total} sites failing"
    evidence = {
        "server": server.name,
        "failing_sites": failing,
        "failing": n,
        "total": total,
        "checked_at": _iso(ts),
        "recovered": False,
    }
    parent_open = parent is not None and parent.is_open

    def recurrence(ticket_id: int) -> RecordEvent:
        text = f"Server {server.name}: {summary}: {', '.join(failing)}"
        return RecordEvent(SERVER, ticket_id, "recurrence", text, evidence)

    def new_failing_set(open_parent: TicketView) -> list[Action]:
        """A recurrence on the open parent when the set of failing sites changed."""
        if sorted(open_parent.evidence.get("failing_sites") or []) == failing:
            return []
        return [recurrence(open_parent.id)]

    actions: list[Action] = []
    if outage_threshold_met(n, total, settings):
        if parent_open:
            assert parent is not None
            actions += new_failing_set(parent)
            parent_id: int | None = parent.id
        elif server.in_maintenance:
            return []
        elif parent is not None and _server_recently_resolved(parent, ts, settings):
            if parent.touched_by_agent:
                return []  # an agent closed it minutes ago: the site tickets still speak
            actions += [Reopen(SERVER, parent.id, f"{summary} again"), recurrence(parent.id)]
            parent_id = parent.id
        else:
            subject = f"Server {server.name} down: {summary}"
            actions.append(
                OpenTicket(
                    family=SERVER,
                    dedupe_key=server_dedupe_key(server.name),
                    subject=subject,
                    failure_class=FC.SERVER_OUTAGE,
                    priority=class_priority_of(FC.SERVER_OUTAGE, class_priority),
                    impact=server.impact,
                    site=None,
                    customer=None,
                    evidence={**evidence, "first_failure_at": _iso(ts)},
                    body=f"{subject}: {', '.join(failing)}",
                    category=category_of(SERVER),
                )
            )
            parent_id = None
        for name in failing:
            child = children.get(name)
            if (
                child is not None
                and child.is_open
                and (parent_id is None or child.parent_id != parent_id)
            ):
                actions.append(LinkChild(child.id, parent_id))
        return actions
    if parent_open and n <= 1:
        assert parent is not None
        if parent.evidence.get("recovered"):
            return []  # said once; an agent keeps it open for their own reasons
        actions.append(
            RecordEvent(
                SERVER,
                parent.id,
                "recovered",
                f"Server {server.name} recovered: {summary}",
                {**evidence, "recovered": True},
            )
        )
        if not parent.touched_by_agent:
            actions.append(Resolve(SERVER, parent.id, "server recovered"))
    elif parent_open:
        assert parent is not None
        actions += new_failing_set(parent)
    return actions


def _server_recently_resolved(parent: TicketView, now: float, settings: IncidentSettings) -> bool:
    return parent.resolved_at is not None and now - parent.resolved_at.timestamp() < max(
        settings.flap_window, settings.outage_window
    )


__all__ = [
    "BLOCKING",
    "RECURRENCE_EVERY_ROUNDS",
    "RECURRENCE_EVERY_SECONDS",
    "Action",
    "Decision",
    "Failure",
    "FamilyState",
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
    "category_of",
    "class_priority_of",
    "correlate_server",
    "dedupe_key",
    "evaluate",
    "human_duration",
    "in_maintenance",
    "needs_reprobe",
    "outage_threshold_met",
    "server_dedupe_key",
    "subject_for",
]
