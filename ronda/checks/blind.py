"""Never cry wolf: whether the desk can see, and what it does while it cannot.

When the prober's own network or resolver fails, every site fails in the same round; that
must not read as every site down. Two signals say "the desk cannot see" ([blind] settings):

- canaries: targets outside the fleet (the agency's gateway, a public resolver). All of them
  failing means the desk cannot reach out, unless the sites seen at once answer;
- the sites seen at once: of the sites that were up and were probed since a new failure
  appeared (the scheduler then probes a `sample` of up sites at once, other servers' first),
  more than `share` failing, on at least `min_servers` servers, at least two sites.
  A site that was already failing, or whose state the desk never saw, tells nothing.

While blind no ticket opens or changes, no server incident opens, the rules' memory of every
site stays as it was (the results are not measurements); one desk incident (`prober_blind`)
says so, every open ticket about a site gets a "not measured" event, and `desk_is_blind`
tells whoever would notify a customer or page an agent. The desk sees again when the sites
seen since the canaries answered again (without canaries: since it went blind) no longer
fail at once, or, with canaries that answer, when too few sites were seen to tell.

The rule (`at_once`, `share_says`, `judge`) and the memory it reads (`Guard`) are pure; the
canaries' I/O is `ronda.checks.canaries`, the store's is the round runner's and
`desk_is_blind`'s.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ronda.checks.incident_model import (
    Action,
    OpenTicket,
    RecordEvent,
    Reopen,
    Resolve,
    TicketView,
    class_priority_of,
    human_duration,
    iso_utc,
)
from ronda.config import BlindSettings
from ronda.model import PROBER_BLIND_KEY, FailureClass, Impact, Priority

if TYPE_CHECKING:
    from ronda.store import Store

DESK = "desk"  # the family of the desk's own incident
NOT_MEASURED = "not_measured"  # the event on a site's open ticket when the desk goes blind
MEASURED = "measured"  # ... and when it sees again
NAMES_KEPT = 20  # failing sites named in the desk incident's evidence (the rest are counted)


# ---- what the guard reads -----------------------------------------------------------------


@dataclass(slots=True)
class Sight:
    """One site as the desk last saw it (instants in epoch seconds)."""

    host: str  # its server, or "site:<name>" for a site without one (its own host)
    up: bool
    checked_at: float
    # When the desk saw it go from up to down; None while up, or down since before the desk
    # saw it up (a site failing for days says nothing about the desk's eyes).
    down_since: float | None = None
    maintenance: bool = False


@dataclass(frozen=True, slots=True)
class CanaryResult:
    url: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class AtOnce:
    """The sites seen at once since an instant: the desk's evidence about its own eyes."""

    seen: int  # sites that were up before and were probed since
    failing: int  # of them, failing now
    hosts: int  # servers the failing ones are on
    eligible: int  # sites that were up before, probed since or not
    failing_sites: tuple[str, ...] = ()  # the first NAMES_KEPT names


@dataclass(frozen=True, slots=True)
class Look:
    """What the scheduler checks before a batch is applied: the canaries, and a sample of up
    sites (other servers' first) probed at once."""

    canaries: bool
    sample: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Verdict:
    blind: bool
    reason: str = ""
    canaries_failing: tuple[str, ...] = ()
    view: AtOnce | None = None


SEES = Verdict(False)


def host_of(server: str | None, site: str) -> str:
    return server or f"site:{site}"


# ---- the rule ------------------------------------------------------------------------------


def at_once(sights: Mapping[str, Sight], since: float, window: float) -> AtOnce:
    """The sites that were up before `since` (up now, or seen going down within `window` of
    it) and were probed at or after `since`; maintenance windows left out."""
    seen = eligible = 0
    failing: list[str] = []
    hosts: set[str] = set()
    for name, sight in sights.items():
        if sight.maintenance:
            continue
        if not sight.up and (sight.down_since is None or sight.down_since < since - window):
            continue  # failing since before the wave: no evidence either way
        eligible += 1
        if sight.checked_at < since:
            continue
        seen += 1
        if not sight.up:
            failing.append(name)
            hosts.add(sight.host)
    names = tuple(sorted(failing)[:NAMES_KEPT])
    return AtOnce(seen, len(failing), len(hosts), eligible, names)


def share_says(view: AtOnce, settings: BlindSettings) -> bool | None:
    """True: the desk cannot see; False: it sees; None: too few sites seen to tell (fewer
    than the sample, or than all the sites there are to see, and never fewer than two)."""
    needed = max(2, min(settings.sample, view.eligible))
    if view.seen < needed:
        return None
    return (
        view.failing >= 2
        and view.failing / view.seen > settings.share
        and view.hosts >= settings.min_servers
    )


def judge(
    *,
    was_blind: bool,
    canaries: Sequence[CanaryResult] | None,
    view: AtOnce | None,
    settings: BlindSettings,
) -> Verdict:
    """Blind or not, from the canaries (None: not checked) and the sites seen at once (None:
    nothing new to judge). The sites outweigh the canaries: enough of them answering means
    the desk sees, whatever a canary says; too few seen keeps the state it was in, except
    that canaries answering again end a blind span."""
    failing = tuple(c.url for c in canaries or () if not c.ok)
    by_canaries = bool(canaries) and len(failing) == len(canaries or ())
    says = share_says(view, settings) if view is not None else None
    if says is not None:
        blind = says
    elif was_blind:
        blind = by_canaries or not canaries
    else:
        blind = by_canaries
    if not blind:
        return Verdict(False, _reason(False, by_canaries, says, view, failing), failing, view)
    return Verdict(True, _reason(True, by_canaries, says, view, failing), failing, view)


def _reason(
    blind: bool, by_canaries: bool, says: bool | None, view: AtOnce | None, failing: tuple
) -> str:
    """One line for people: what the canaries and the sites seen at once said."""
    parts = []
    if by_canaries:
        parts.append(f"every canary fails ({', '.join(failing)})")
    elif failing:
        parts.append(f"canary {', '.join(failing)} fails")
    if view is not None and says is not None:
        if view.failing:
            on = f"{view.hosts} server{'s' if view.hosts != 1 else ''}"
            parts.append(f"{view.failing} of {view.seen} sites seen at once failing on {on}")
        else:
            parts.append(f"all {view.seen} sites seen since answer")
    if blind and says is True and not by_canaries and not failing and view is not None:
        parts.append("the desk's network, or its route to the servers, is down")
    if not blind and failing and says is False:
        parts.append("the sites answer: check the canary")
    if not parts:
        parts.append("cannot see" if blind else "every canary answers")
    return "; ".join(parts)


# ---- the guard's memory --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Span:
    """A blind span as remembered: since when, and the desk incident that says so."""

    since: float
    ticket_id: int | None = None


class Guard:
    """What the desk last saw of each site, and whether it is blind. No I/O: the round
    runner feeds it results and carries out what it decides; the scheduler asks it what to
    look at before a batch."""

    def __init__(self, settings: BlindSettings) -> None:
        self.settings = settings
        self.sights: dict[str, Sight] = {}
        self.span: Span | None = None
        self._canaries_back: float | None = None  # canaries answered again (while blind)
        self.canaries_failing: tuple[str, ...] = ()

    @property
    def blind(self) -> bool:
        return self.span is not None

    def load(self, rows: Iterable[tuple[str, str, bool, float, bool]], span: Span | None) -> None:
        """(site, host, up, checked_at, in_maintenance) as stored, and the stored span: a
        site found down after the span began went down in it."""
        self.span = span
        for name, host, up, checked_at, maintenance in rows:
            down_since = None
            if not up and span is not None and checked_at >= span.since:
                down_since = span.since
            self.sights[name] = Sight(host, up, checked_at, down_since, maintenance)

    def forget_except(self, names: Collection[str]) -> None:
        for name in [n for n in self.sights if n not in names]:
            del self.sights[name]

    def is_trigger(self, name: str, up: bool) -> bool:
        """A home-down result of a site the desk did not know to be down."""
        sight = self.sights.get(name)
        return not up and (sight is None or sight.up)

    def look(self, results: Iterable[tuple[str, bool]], busy: Collection[str] = ()) -> Look | None:
        """Before a batch of (site, up) is applied: while blind, the canaries (to see again);
        with a new failure, the canaries and a sample of up sites, one per server in turn,
        the oldest look first: other servers' first (one server down must not look like the
        desk), then the failing servers' own when the others are too few."""
        has_canaries = bool(self.settings.canaries)
        if self.blind:
            return Look(True) if has_canaries else None
        triggers = {name for name, up in results if self.is_trigger(name, up)}
        if not triggers:
            return None
        hosts = {self.sights[n].host for n in triggers if n in self.sights}
        candidates = sorted(
            (sight.checked_at, name)
            for name, sight in self.sights.items()
            if sight.up and not sight.maintenance and name not in triggers and name not in busy
        )
        n = self.settings.sample
        other = _spread([c for c in candidates if self.sights[c[1]].host not in hosts], self, n)
        same = _spread([c for c in candidates if self.sights[c[1]].host in hosts], self, n)
        sample = (other + same)[:n]
        if not sample and not has_canaries:
            return None
        return Look(has_canaries, sample)

    def observe(
        self, name: str, host: str, up: bool, at: float, maintenance: bool = False
    ) -> float | None:
        """Take one result; returns its instant when it is a trigger (see `is_trigger`)."""
        sight = self.sights.get(name)
        trigger = self.is_trigger(name, up) and not maintenance
        if sight is None:
            sight = self.sights[name] = Sight(host, up, at, None, maintenance)
            return None  # never seen: nothing to compare with (a trigger for `look` only)
        if at < sight.checked_at:
            return None  # an older result than the one already taken
        if up:
            sight.down_since = None
        elif sight.up:
            # Gone down in a planned window: expected, no evidence about the desk's eyes.
            sight.down_since = None if maintenance else at
        sight.host, sight.up, sight.checked_at, sight.maintenance = host, up, at, maintenance
        return at if trigger else None

    def observe_all(
        self, sightings: Iterable[tuple[str, str, bool, float, bool]]
    ) -> tuple[float | None, float | None]:
        """Take (site, host, up, at, in maintenance) results; returns the earliest trigger
        among them (None: none) and the latest instant (None: no result)."""
        trigger_at: float | None = None
        now: float | None = None
        for name, host, up, at, maintenance in sightings:
            now = at if now is None else max(now, at)
            if (t := self.observe(name, host, up, at, maintenance)) is not None:
                trigger_at = t if trigger_at is None else min(trigger_at, t)
        return trigger_at, now

    def judge(
        self, trigger_at: float | None, canaries: Sequence[CanaryResult] | None, now: float
    ) -> Verdict:
        """The verdict on what was observed so far; `trigger_at` is the earliest new failure
        of the batch (None: none). Without one, and not blind, nothing needs judging."""
        if canaries is not None:
            self.canaries_failing = tuple(c.url for c in canaries if not c.ok)
        if self.span is None:
            if trigger_at is None and not canaries:
                return SEES
            view = None
            if trigger_at is not None:
                view = at_once(self.sights, trigger_at, self.settings.window)
            return judge(was_blind=False, canaries=canaries, view=view, settings=self.settings)
        if canaries is not None:
            if any(c.ok for c in canaries):
                self._canaries_back = self._canaries_back or now
            else:
                self._canaries_back = None
        since = max(self.span.since, self._canaries_back or self.span.since)
        view = at_once(self.sights, since, self.settings.window)
        return judge(was_blind=True, canaries=canaries, view=view, settings=self.settings)

    def went_blind(self, since: float, ticket_id: int | None) -> None:
        self.span = Span(since, ticket_id)
        self._canaries_back = None

    def sees_again(self) -> None:
        """End the span. What went down in it was never measured: those sites count as up
        again, so their next failure is judged afresh (and probed first in a sample)."""
        if self.span is not None:
            since = self.span.since - self.settings.window
            for sight in self.sights.values():
                if not sight.up and sight.down_since is not None and sight.down_since >= since:
                    sight.up, sight.down_since = True, None
        self.span = None
        self._canaries_back = None


def _spread(candidates: Sequence[tuple[float, str]], guard: Guard, n: int) -> tuple[str, ...]:
    """`n` names of (checked_at, name) candidates in that order, one per host in turn."""
    by_host: dict[str, list[str]] = {}
    for _, name in candidates:
        by_host.setdefault(guard.sights[name].host, []).append(name)
    out: list[str] = []
    depth = 0
    while len(out) < n and any(len(names) > depth for names in by_host.values()):
        out += [names[depth] for names in by_host.values() if len(names) > depth]
        depth += 1
    return tuple(out[:n])


# ---- what the desk does about it -----------------------------------------------------------


def subject_of(verdict: Verdict) -> str:
    text = f"Ronda cannot see: {verdict.reason}"
    return text if len(text) <= 160 else text[:157] + "..."


def evidence_of(verdict: Verdict, since: float, now: float) -> dict:
    """The desk incident's evidence: `blind` and `since` are what `desk_is_blind` reads."""
    view = verdict.view
    return {
        "blind": True,
        "since": iso_utc(since),
        "until": None,
        "reason": verdict.reason,
        "canaries_failing": list(verdict.canaries_failing),
        "failing": view.failing if view else None,
        "seen": view.seen if view else None,
        "servers": view.hosts if view else None,
        "failing_sites": list(view.failing_sites) if view else [],
        "checked_at": iso_utc(now),
    }


def going_blind(
    verdict: Verdict,
    since: float,
    now: float,
    latest: TicketView | None,
    recent: float,
    class_priority: Mapping[FailureClass, Priority] | None = None,
) -> list[Action]:
    """Open the desk incident, or take up the latest one: still open, or resolved within
    `recent` seconds by nobody but the desk (a flapping network is one case)."""
    evidence = evidence_of(verdict, since, now)
    body = (
        f"{subject_of(verdict)}. No site ticket opens or changes until the desk sees again; "
        "the probes' results meanwhile are not measurements."
    )
    if latest is not None and latest.is_open:
        return [RecordEvent(DESK, latest.id, "recurrence", body, evidence)]
    if (
        latest is not None
        and not latest.touched_by_agent
        and latest.resolved_at is not None
        and now - latest.resolved_at.timestamp() < recent
    ):
        return [
            Reopen(DESK, latest.id, "the desk cannot see again"),
            RecordEvent(DESK, latest.id, "recurrence", body, evidence),
        ]
    return [
        OpenTicket(
            family=DESK,
            dedupe_key=PROBER_BLIND_KEY,
            subject=subject_of(verdict),
            failure_class=FailureClass.PROBER_BLIND,
            priority=class_priority_of(FailureClass.PROBER_BLIND, class_priority),
            impact=Impact.HIGH,  # every site of every customer
            site=None,
            customer=None,
            evidence=evidence,
            body=body,
            category="hosting",
        )
    ]


def seeing_again(verdict: Verdict, span: Span, now: float, desk: TicketView | None) -> list[Action]:
    """Say the span is over on the desk incident, and resolve it unless an agent works it."""
    if desk is None:
        return []
    lasted = human_duration(now - span.since)
    body = f"The desk sees again after {lasted}: {verdict.reason}"
    actions: list[Action] = [
        RecordEvent(DESK, desk.id, "recovered", body, {"blind": False, "until": iso_utc(now)})
    ]
    if desk.is_open and not desk.touched_by_agent:
        actions.append(Resolve(DESK, desk.id, "the desk sees again"))
    return actions


def not_measured_text(since: float, reason: str, case_number: str | None) -> str:
    where = f" (see {case_number})" if case_number else ""
    return (
        f"Not measured from {iso_utc(since)}: the desk cannot see{where}: {reason}. The probes' "
        "results of this site say nothing until it sees again."
    )


def measured_text(since: float, now: float) -> str:
    return (
        f"Measured again from {iso_utc(now)}: the desk could not see for "
        f"{human_duration(now - since)} (from {iso_utc(since)})."
    )


# ---- for whoever would tell someone ---------------------------------------------------------


def span_of(evidence: Mapping[str, object]) -> Span | None:
    """The blind span a desk incident's evidence records, if it is not over."""
    if evidence.get("blind") is not True or not isinstance(evidence.get("since"), str):
        return None
    try:
        since = datetime.fromisoformat(str(evidence["since"])).timestamp()
    except ValueError:
        return None
    return Span(since)


def stored_span(store: Store) -> Span | None:
    """The blind span the store records (the latest desk incident's), with its ticket."""
    ticket_id = store.tickets.latest_with_key(PROBER_BLIND_KEY)
    ticket = store.tickets.get(ticket_id) if ticket_id is not None else None
    if ticket is None:
        return None
    span = span_of(ticket.evidence)
    return Span(span.since, ticket.id) if span is not None else None


def desk_is_blind(store: Store, now: datetime) -> bool:
    """True while the desk cannot see (from the instant it stopped seeing): no customer
    notice, no escalation, no page about a site should go out meanwhile. Reads the store,
    so any process on the same database may ask."""
    span = stored_span(store)
    return span is not None and span.since <= now.timestamp()


__all__ = [
    "DESK",
    "MEASURED",
    "NOT_MEASURED",
    "AtOnce",
    "CanaryResult",
    "Guard",
    "Look",
    "Sight",
    "Span",
    "Verdict",
    "at_once",
    "desk_is_blind",
    "going_blind",
    "host_of",
    "judge",
    "measured_text",
    "not_measured_text",
    "seeing_again",
    "share_says",
    "span_of",
    "stored_span",
    "subject_of",
]
