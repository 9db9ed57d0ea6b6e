"""The round runner: carries a batch of probe results into the store.

For each result it asks the incident rules (`ronda.checks.incidents`) what the round means,
carries out their actions through `ronda.tickets.Desk`, then writes the batch's probe
state, counters and the rules' memory in ONE transaction.

While the desk cannot see (`ronda.checks.blind`: every canary failing, or most sites seen
at once failing on several servers) a batch is stored as results only: no rule runs, no
ticket opens or changes, the rules' memory stays as it was; the desk's own incident says
so, and every open ticket about a site gets a "not measured" event (and a "measured" one
when the desk sees again).

Crash safety: ticket changes are made before the memory that caused them is saved, so a
process killed mid-batch redoes the batch's decisions after a restart instead of losing
them; a ticket opened twice that way meets the store's unique index on open dedupe keys
(or the Desk's own check), which is read as "dedupe": the fact goes onto the ticket that
is already open. Events are at-least-once, tickets exactly-once.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ronda.checks import incidents as rules
from ronda.checks.blind import (
    MEASURED,
    NOT_MEASURED,
    CanaryResult,
    Guard,
    Look,
    Verdict,
    going_blind,
    host_of,
    measured_text,
    not_measured_text,
    seeing_again,
    stored_span,
)
from ronda.checks.incidents import (
    Action,
    LinkChild,
    Notice,
    OpenTicket,
    Outcome,
    RecordEvent,
    Reopen,
    Reprioritize,
    Reprobe,
    Resolve,
    ServerRound,
    SiteState,
    TicketView,
)
from ronda.checks.outcomes import failures_of, home_up, outcome_of, result_up, ticket_view
from ronda.checks.round_events import EventSink, RoundEvent, RoundEventKind, RoundItem
from ronda.checks.round_groups import correlation_groups, group_of, parse_state
from ronda.checks.round_store import history_row, store_batch
from ronda.config import Config, Server, Site
from ronda.model import PROBER_BLIND_KEY, Impact, Source, Ticket
from ronda.sla import SlaPolicy
from ronda.store import Store
from ronda.store.history import HistoryRow
from ronda.tickets import Desk, InvalidTransition, TicketError

if TYPE_CHECKING:
    from ronda.checks.probe import ProbeResult

log = logging.getLogger(__name__)

PROBE_ACTOR = "probe"


# ---- the runner ---------------------------------------------------------------------------


class RoundRunner:
    """Applies rounds to the store. One per process that probes. `apply` runs on one
    thread at a time (the scheduler's store worker); `needs_reprobe` only reads the
    in-memory memory, which `apply` replaces object by object, so the event loop may call
    it meanwhile."""

    def __init__(
        self,
        store: Store,
        config: Config,
        *,
        desk: Desk | None = None,
        clock: Callable[[], datetime] | None = None,
        on_event: EventSink | None = None,
    ) -> None:
        self.store = store
        self._own_desk = desk is None
        if desk is None:
            kwargs = {"clock": clock} if clock is not None else {}
            desk = Desk(store, SlaPolicy.from_config(config), **kwargs)
        self.desk = desk
        self.on_event = on_event
        self.config = config
        self._sites: dict[str, Site] = {}
        self._by_server: dict[str, list[Site]] = {}  # correlation group -> its members
        self._group_server: dict[str, str] = {}
        self._servers: dict[str, Server] = {}
        self._states: dict[str, SiteState] = {}
        self._checked: dict[str, float] = {}
        self._parents: dict[str, int] = {}  # server -> its latest parent ticket id
        self.guard = Guard(config.blind)
        self.update_config(config)
        self._load()

    # ---- configuration and memory ------------------------------------------------------

    def update_config(self, config: Config) -> None:
        """Take a reloaded config: sites, servers, thresholds and the SLA matrix."""
        self.config = config
        self._sites = {site.name: site for site in config.checked()}
        self._by_server, self._group_server = correlation_groups(self._sites.values())
        self._servers = {server.name: server for server in config.servers}
        self.guard.settings = config.blind
        self.guard.forget_except(self._sites)
        if self._own_desk:
            self.desk.policy = SlaPolicy.from_config(config)

    def _load(self) -> None:
        """The rules' memory and last check times as stored: a restart resumes from them."""
        for site, checked_at, memory in self.store.probes.memory():
            self._states[site] = parse_state(memory)
            if checked_at is not None:
                self._checked[site] = checked_at
        for key, ticket_id in self.store.tickets.open_keys_like("server:").items():
            server = key.removeprefix("server:").removesuffix(":down")
            self._parents[server] = ticket_id
        self.guard.load(
            (
                (name, host_of(self._sites[name].server, name), up, checked_at, maintenance)
                for name, checked_at, up, maintenance in self.store.probes.sights()
                if name in self._sites
            ),
            stored_span(self.store),
        )

    def last_checked(self) -> dict[str, float]:
        """Site -> epoch of its last stored result (the scheduler's restart point)."""
        return dict(self._checked)

    def state_of(self, site: str) -> SiteState:
        return self._states.get(site, SiteState()).copy()

    def in_maintenance(self, site: Site, at: datetime) -> bool:
        server = self._servers.get(site.server or "")
        windows = server.maintenance if server is not None else ()
        return any(w.covers(at) for w in (*site.maintenance, *windows))

    def needs_reprobe(self, result: ProbeResult) -> bool:
        """Should the caller probe this site again right away (fresh connection)?"""
        site = self._sites.get(result.site)
        if site is None or self.guard.blind:
            return False  # while blind a failure confirms nothing: no second look
        outcome = outcome_of(result)
        return rules.needs_reprobe(
            outcome,
            self._states.get(site.name, SiteState()),
            self.config.incidents,
            in_maintenance=self.in_maintenance(site, outcome.at),
        )

    # ---- a batch -------------------------------------------------------------------------

    def look(self, items: Iterable[RoundItem], busy: Iterable[str] = ()) -> Look | None:
        """What to check before this batch is applied (the canaries, a sample of up sites
        on other servers probed at once), or None: nothing new to judge the desk's eyes by."""
        # On the event loop: only failures can be news, so only they are looked at closely.
        down = [i for i in items if result_up(i.reprobe or i.result) is False]
        seen = [(name, up) for name, _, up, _, maint in self._sightings(down) if not maint]
        return self.guard.look(seen, frozenset(busy))

    def _sightings(self, items: Iterable[RoundItem]) -> list[tuple[str, str, bool, float, bool]]:
        """(site, host, up, at, in maintenance) of each item: up as its last probe says, at
        its first probe's instant (when a failure confirmed by a re-probe began). A probe a
        firewall blocked is no sighting: it says nothing of the site nor of the desk's eyes."""
        out = []
        for item in items:
            final = item.reprobe if item.reprobe is not None else item.result
            up = result_up(final)
            if up is not None and (site := self._sites.get(final.site)) is not None:
                host = host_of(site.server, site.name)
                maint = self.in_maintenance(site, final.started_at)
                out.append((site.name, host, up, item.result.started_at.timestamp(), maint))
        return out

    def apply(
        self,
        items: Iterable[RoundItem | ProbeResult],
        canaries: Sequence[CanaryResult] | None = None,
    ) -> list[RoundEvent]:
        """Apply a batch of rounds (in order) and store it; returns the events it made.
        `canaries`: what the canaries answered just before (None: not asked)."""
        batch = [i if isinstance(i, RoundItem) else RoundItem(i) for i in items]
        if not batch:
            return []
        events: list[RoundEvent] = []
        names = sorted({item.result.site for item in batch})
        self._refresh_states(names)
        blind = self._watch(batch, canaries, events)
        held = () if blind else names  # while blind no rule runs: no ticket to read
        views = self._views(t for n in held for t in self._states.get(n, SiteState()).ticket_ids())
        latest: dict[str, tuple[ProbeResult, bool, SiteState]] = {}
        failures: dict[tuple[str, str], int] = {}
        rounds_count: dict[str, int] = {}
        history: list[HistoryRow] = []
        now: datetime | None = None
        servers: set[str] = set()
        for item in batch:
            for result in (item.result, item.reprobe):
                if result is None:
                    continue
                rounds_count[result.site] = rounds_count.get(result.site, 0) + 1
                if blind:
                    continue  # not a measurement: no failure is counted
                for cls in dict.fromkeys(str(f.failure_class) for f in failures_of(result)):
                    failures[(result.site, cls)] = failures.get((result.site, cls), 0) + 1
            outcome = outcome_of(item.result, item.reprobe)
            now = outcome.at if now is None or outcome.at > now else now
            site = self._sites.get(outcome.site)
            state = self._states.get(outcome.site, SiteState())
            maintenance = False
            if site is not None:
                maintenance = self.in_maintenance(site, outcome.at)
                if not blind:
                    state = self._decide(site, outcome, state, views, maintenance, events)
                    self._states[site.name] = state
                    if group := group_of(site):
                        servers.add(group)
            final = item.reprobe if item.reprobe is not None else item.result
            latest[outcome.site] = (final, maintenance, state)
            if site is not None:  # while blind: kept as not measured
                history.append(history_row(site, final, maintenance, blind))
        if now is not None and not blind:
            for server in sorted(servers):
                self._correlate(server, now, views, events)
        stored = store_batch(self.store, latest, failures, rounds_count, history)
        self._checked.update(stored)
        return events

    # ---- the desk's own eyes ---------------------------------------------------------------

    def _watch(
        self,
        batch: Sequence[RoundItem],
        canaries: Sequence[CanaryResult] | None,
        events: list[RoundEvent],
    ) -> bool:
        """Show the guard this batch and carry out a change of sight; True while blind."""
        guard = self.guard
        trigger_at, now = guard.observe_all(self._sightings(batch))
        if now is None:
            return guard.blind
        was, failing = guard.blind, guard.canaries_failing
        verdict = guard.judge(trigger_at, canaries, now)
        if canaries is not None and guard.canaries_failing != failing:
            why = "; ".join(f"{c.url}: {c.detail}" for c in canaries if not c.ok)
            text = f"canaries failing: {why}" if why else "every canary answers again"
            self._emit(events, RoundEvent(RoundEventKind.CANARIES, text))
        try:
            if verdict.blind and not was:
                self._go_blind(verdict, trigger_at if trigger_at is not None else now, now, events)
            elif was and not verdict.blind:
                self._see_again(verdict, now, events)
        except (TicketError, sqlite3.Error) as exc:
            log.exception("the desk's own incident could not be updated")
            self._emit(events, RoundEvent(RoundEventKind.ERROR, f"desk incident: {exc}"))
        return guard.blind

    def _go_blind(self, verdict: Verdict, since: float, now: float, events: list) -> None:
        self.guard.went_blind(since, None)  # first: nothing opens even if the rest fails
        latest_id = self.store.tickets.latest_with_key(PROBER_BLIND_KEY)
        views = self._views([latest_id]) if latest_id is not None else {}
        recent = max(self.config.incidents.flap_window, self.config.incidents.outage_window)
        ticket = None
        for action in going_blind(
            verdict, since, now, views.get(latest_id or 0), recent, self.config.class_priority
        ):
            ticket = self._carry_out(action, None, None, views, events) or ticket
        case = ticket.case_number if ticket is not None else None
        self.guard.went_blind(since, ticket.id if ticket is not None else None)
        text = f"{case or 'desk'}: cannot see ({verdict.reason}); no site ticket opens or changes"
        self._emit(events, RoundEvent(RoundEventKind.DESK_BLIND, text, case_number=case))
        self._mark(NOT_MEASURED, not_measured_text(since, verdict.reason, case))

    def _see_again(self, verdict: Verdict, now: float, events: list) -> None:
        span = self.guard.span
        assert span is not None
        ticket_id = span.ticket_id or self.store.tickets.latest_with_key(PROBER_BLIND_KEY)
        views = self._views([ticket_id]) if ticket_id is not None else {}
        for action in seeing_again(verdict, span, now, views.get(ticket_id or 0)):
            self._carry_out(action, None, None, views, events)
        self.guard.sees_again()
        desk = views.get(ticket_id or 0)
        case = desk.case_number if desk is not None else None
        text = f"{case or 'desk'}: sees again ({verdict.reason}); rounds resume"
        self._emit(events, RoundEvent(RoundEventKind.DESK_SEES, text, case_number=case))
        self._mark(MEASURED, measured_text(span.since, now))

    def _mark(self, kind: str, body: str) -> None:
        """One event on every open ticket about a site (not on the desk's own incident)."""
        for ticket_id in self.store.tickets.open_about_sites(PROBER_BLIND_KEY):
            self.desk.record(ticket_id, PROBE_ACTOR, kind, body)

    def _decide(
        self,
        site: Site,
        outcome: Outcome,
        state: SiteState,
        views: dict[int, TicketView],
        maintenance: bool,
        events: list[RoundEvent],
    ) -> SiteState:
        """Evaluate one round and carry out its actions. The new memory is kept only when
        every action went through; otherwise the old one is, and the next round redoes it."""
        decision = rules.evaluate(
            site,
            outcome,
            state,
            views,
            self.config.incidents,
            self.config.class_priority,
            in_maintenance=maintenance,
            allow_reprobe=False,
        )
        try:
            for action in decision.actions:
                self._carry_out(action, site, decision.state, views, events)
        except (TicketError, sqlite3.Error) as exc:
            log.exception("rules for %s could not be applied", site.name)
            self._emit(events, RoundEvent(RoundEventKind.ERROR, f"{site.name}: {exc}", site.name))
            return state
        return decision.state

    # ---- actions -------------------------------------------------------------------------

    def _carry_out(
        self,
        action: Action,
        site: Site | None,
        state: SiteState | None,
        views: dict[int, TicketView],
        events: list[RoundEvent],
    ) -> Ticket | None:
        desk = self.desk
        name = site.name if site is not None else None
        if isinstance(action, Reprobe):
            return None  # apply() runs with allow_reprobe=False; nothing to do
        if isinstance(action, Notice):
            self._emit(events, RoundEvent(action.kind, action.message, action.site))
            return None
        if isinstance(action, OpenTicket):
            ticket = self._open(action, site, views, events)
        elif isinstance(action, RecordEvent):
            ticket = desk.record(
                action.ticket_id,
                PROBE_ACTOR,
                action.kind,
                action.body,
                evidence=action.evidence,
                failure_class=action.failure_class,
            )
            kind = (
                RoundEventKind.TICKET_RECOVERED
                if action.kind == "recovered"
                else RoundEventKind.TICKET_UPDATED
            )
            self._emit(
                events,
                RoundEvent(
                    kind,
                    f"{ticket.case_number} {action.kind}: {action.body}",
                    name,
                    ticket.case_number,
                ),
            )
        elif isinstance(action, Reprioritize):
            ticket = desk.reprioritize(
                action.ticket_id, PROBE_ACTOR, None, priority=action.priority, reason=action.reason
            )
            self._emit(
                events,
                RoundEvent(
                    RoundEventKind.TICKET_REPRIORITIZED,
                    f"{ticket.case_number} priority {ticket.priority}: {action.reason}",
                    name,
                    ticket.case_number,
                ),
            )
        elif isinstance(action, Reopen):
            ticket = self._reopen(action, state, views, name, events)
        elif isinstance(action, Resolve):
            try:
                ticket = desk.resolve(action.ticket_id, PROBE_ACTOR, reason=action.reason)
            except InvalidTransition:
                ticket = desk.get(action.ticket_id)  # already resolved (a redone batch)
            else:
                self._emit(
                    events,
                    RoundEvent(
                        RoundEventKind.TICKET_RESOLVED,
                        f"{ticket.case_number} resolved: {action.reason}",
                        name,
                        ticket.case_number,
                    ),
                )
        elif isinstance(action, LinkChild):
            if action.parent_id is None:
                return None  # resolved by _correlate, which knows the parent it opened
            ticket = self._link(action.ticket_id, action.parent_id, views, events)
        else:  # pragma: no cover - every action type is handled above
            raise TypeError(f"unknown action {action!r}")
        if ticket is not None:
            views[ticket.id] = ticket_view(ticket)
            family = getattr(action, "family", None)
            if state is not None and family is not None and family in state.families:
                state.families[family].ticket_id = ticket.id
        return ticket

    def _open(
        self,
        action: OpenTicket,
        site: Site | None,
        views: dict[int, TicketView],
        events: list[RoundEvent],
    ) -> Ticket:
        parent_id = None
        if site is not None and (group := group_of(site)) and action.family == rules.DOWN:
            parent = self._parent_view(group, views)
            if parent is not None and parent.is_open:
                parent_id = parent.id
        try:
            ticket = self.desk.open_ticket(
                source=Source.PROBE,
                subject=action.subject,
                priority=action.priority,
                impact=action.impact,
                actor=PROBE_ACTOR,
                category=action.category,
                failure_class=action.failure_class,
                site=action.site,
                customer=action.customer,
                dedupe_key=action.dedupe_key,
                evidence=action.evidence,
                parent_id=parent_id,
                body=action.body,
            )
        except (TicketError, sqlite3.IntegrityError):
            # Already open (a redone batch, another prober): dedupe onto it.
            existing = self.desk.find_open(action.dedupe_key)
            if existing is None:
                raise
            if (
                existing.source == Source.PROBE
                and existing.failure_class == action.failure_class
                and not existing.touched_by_agent
            ):
                # The same opening redone after a batch was lost (a crash): no new fact.
                return existing
            return self._dedupe_onto(existing, action, site, events)
        self._emit(
            events,
            RoundEvent(
                RoundEventKind.TICKET_OPENED,
                f"{ticket.case_number} opened ({ticket.priority} priority, {ticket.impact} "
                f"impact): {ticket.subject}",
                action.site,
                ticket.case_number,
            ),
        )
        return ticket

    def _dedupe_onto(
        self, existing: Ticket, action: OpenTicket, site: Site | None, events: list[RoundEvent]
    ) -> Ticket:
        ticket = self.desk.record(
            existing.id,
            PROBE_ACTOR,
            "recurrence",
            action.body,
            evidence=action.evidence,
            failure_class=action.failure_class
            if action.failure_class != existing.failure_class
            else None,
        )
        if action.priority.rank > ticket.priority.rank:
            ticket = self.desk.reprioritize(
                ticket.id,
                PROBE_ACTOR,
                None,
                priority=action.priority,
                reason=f"{action.failure_class}: {action.subject}",
            )
        self._emit(
            events,
            RoundEvent(
                RoundEventKind.TICKET_UPDATED,
                f"{ticket.case_number} recurrence: {action.subject}",
                site.name if site is not None else None,
                ticket.case_number,
            ),
        )
        return ticket

    def _reopen(
        self,
        action: Reopen,
        state: SiteState | None,
        views: dict[int, TicketView],
        name: str | None,
        events: list[RoundEvent],
    ) -> Ticket:
        try:
            ticket = self.desk.reopen(action.ticket_id, PROBE_ACTOR, reason=action.reason)
        except InvalidTransition:
            return self.desk.get(action.ticket_id)  # open already (a redone batch)
        except sqlite3.IntegrityError:
            # Another ticket holds the key open (opened meanwhile): the facts go there.
            current = self.desk.get(action.ticket_id)
            existing = self.desk.find_open(current.dedupe_key or "")
            if existing is None:
                raise
            return existing
        self._emit(
            events,
            RoundEvent(
                RoundEventKind.TICKET_REOPENED,
                f"{ticket.case_number} reopened: {action.reason}",
                name,
                ticket.case_number,
            ),
        )
        return ticket

    def _link(
        self, child_id: int, parent_id: int, views: dict[int, TicketView], events: list[RoundEvent]
    ) -> Ticket:
        ticket = self.desk.link_parent(child_id, parent_id, PROBE_ACTOR)
        parent = views.get(parent_id)
        under = parent.case_number if parent else str(parent_id)
        self._emit(
            events,
            RoundEvent(
                RoundEventKind.TICKET_LINKED,
                f"{ticket.case_number} linked under {under}",
                ticket.site,
                ticket.case_number,
            ),
        )
        return ticket

    # ---- servers -------------------------------------------------------------------------

    def _parent_view(self, server: str, views: dict[int, TicketView]) -> TicketView | None:
        parent_id = self._parents.get(server)
        if parent_id is None:
            return None
        if parent_id not in views:
            views.update(self._views([parent_id]))
        return views.get(parent_id)

    def _latest_parent(self, server: str, views: dict[int, TicketView]) -> TicketView | None:
        view = self._parent_view(server, views)
        if view is not None:
            return view
        latest = self.store.tickets.latest_with_key(rules.server_dedupe_key(server))
        if latest is None:
            return None
        self._parents[server] = latest
        return self._parent_view(server, views)

    def _correlate(
        self, server: str, now: datetime, views: dict[int, TicketView], events: list[RoundEvent]
    ) -> None:
        sites = self._by_server.get(server, [])
        settings = self.config.incidents
        ts = now.timestamp()
        failing = tuple(
            s.name
            for s in sites
            if self._states.get(s.name, SiteState()).down_failing_since(ts, settings.outage_window)
        )
        meets = rules.outage_threshold_met(len(failing), len(sites), settings)
        parent = self._parent_view(server, views)
        if parent is None and not meets:
            return  # nothing open, nothing to open: the common case costs no query
        if meets and (parent is None or not parent.is_open):
            parent = self._latest_parent(server, views)
        child_ids = {name: self._states[name].families[rules.DOWN].ticket_id for name in failing}
        missing = [tid for tid in child_ids.values() if tid is not None and tid not in views]
        views.update(self._views(missing))
        children = {
            name: views.get(tid) if tid is not None else None for name, tid in child_ids.items()
        }
        server_config = self._servers.get(self._group_server.get(server, server))
        view = ServerRound(
            name=server,
            sites=tuple(s.name for s in sites),
            failing=failing,
            impact=max(
                (s.impact for s in sites), key=lambda i: Impact(i).rank, default=Impact.MEDIUM
            ),
            in_maintenance=server_config is not None
            and any(w.covers(now) for w in server_config.maintenance),
        )
        actions = rules.correlate_server(
            view, parent, children, settings, now, self.config.class_priority
        )
        opened: Ticket | None = None
        try:
            for action in actions:
                if isinstance(action, LinkChild):
                    target = action.parent_id or (opened.id if opened else None)
                    if target is not None:
                        self._link(action.ticket_id, target, views, events)
                    continue
                ticket = self._carry_out(action, None, None, views, events)
                if isinstance(action, OpenTicket) and ticket is not None:
                    opened = ticket
                if ticket is not None:
                    self._parents[server] = ticket.id
        except (TicketError, sqlite3.Error) as exc:
            log.exception("server rules for %s could not be applied", server)
            self._emit(events, RoundEvent(RoundEventKind.ERROR, f"server {server}: {exc}"))

    # ---- reading and writing -------------------------------------------------------------

    def _refresh_states(self, names: Sequence[str]) -> None:
        """Re-read the memory of this batch's sites: another process (`ronda probe`) may
        have moved it on since we loaded it."""
        for site, memory in self.store.probes.memory_of(names).items():
            self._states[site] = parse_state(memory)

    def _views(self, ids: Iterable[int]) -> dict[int, TicketView]:
        return {tid: ticket_view(t) for tid, t in self.store.tickets.many(ids).items()}

    def _emit(self, events: list[RoundEvent], event: RoundEvent) -> None:
        events.append(event)
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:  # a logging hook must never stop the rounds
                log.exception("on_event hook failed")


__all__ = [
    "EventSink",
    "RoundEvent",
    "RoundEventKind",
    "RoundItem",
    "RoundRunner",
    "failures_of",
    "home_up",
    "outcome_of",
    "ticket_view",
]
