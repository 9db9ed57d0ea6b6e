"""The notifier: a thread of its own in `ronda run` that tells customers and agents.

A sweep reads what the store says is due (`ronda.store.reach`), decides with the pure rules
(`notices` for customers, `alerts` for agents) and writes each decision in one transaction:
the step remembered on every case it covers, the messages queued in the outbox, and any
note on the case. The sender worker delivers them; the "sent" event on the case is its.
A sweep runs when the rounds finish a batch that opened or resolved something
(`after_round`), and every few seconds for the SLA's targets and limits coming due.

After a restart the first sweep catches up on every step due within `catch_up` that the
store does not remember, and on nothing else. While the desk is blind (its prober cannot
see: `is_blind`) a sweep does nothing at all: no notice, no notification, no escalation.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ronda.config import Config
from ronda.model import Ticket
from ronda.outbox import compose_mail, queue_mail, queue_notification
from ronda.reach import alerts, notices
from ronda.reach.templates import Templates
from ronda.sla import SlaPolicy
from ronda.store import Store
from ronda.tickets import Desk, utcnow

log = logging.getLogger("ronda.notify")

ACTOR = "system"
IDLE_POLL = 5.0  # seconds between sweeps when nothing wakes the notifier
MIN_INTERVAL = 0.5  # seconds: wake-ups closer than this are one sweep
WRITE_CHUNK = 100  # requester updates per transaction: the rounds never wait long
# Round events after which a sweep may have something to say.
_WAKING = frozenset({"ticket_opened", "ticket_resolved", "ticket_reopened", "ticket_linked"})

Report = Callable[[str, bool], object]


@dataclass(slots=True)
class SweepReport:
    """What one sweep did."""

    requesters: int = 0  # probe cases given the site's contact as requester
    notices: int = 0  # notices to customers queued
    alerts: int = 0  # notifications to agents queued
    held: int = 0  # notifications not queued: a channel's rate limit
    blind: bool = False  # the desk could not see: nothing was done


def desk_is_blind_standin(store: Store, now: datetime) -> bool:
    """Stand-in for `ronda.checks.blind.desk_is_blind` until the prober-blind guard exists:
    the desk always sees."""
    return False


@dataclass(slots=True)
class _Context:
    config: Config
    templates: Templates
    desk: Desk


class Notifier:
    """Sweeps `store` until `stop()`. `config()` is read at each sweep (a reload applies to
    the next one); `clock` is the time the rules run at."""

    def __init__(
        self,
        store: Store,
        config: Callable[[], Config],
        *,
        clock: Callable[[], datetime] = utcnow,
        is_blind: Callable[[datetime], bool] | None = None,
        queued: Callable[[], object] | None = None,
        report: Report | None = None,
        idle_poll: float = IDLE_POLL,
        min_interval: float = MIN_INTERVAL,
    ) -> None:
        """`queued` is called after a sweep queued messages (the service wakes its sender).
        `is_blind(now)` says the prober cannot see (nothing is sent then)."""
        self.store = store
        self.config = config
        self.clock = clock
        self.is_blind = is_blind or (lambda now: desk_is_blind_standin(store, now))
        self.queued = queued
        self.report = report
        self.idle_poll = idle_poll
        self.min_interval = min_interval
        self._context: _Context | None = None
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.sweeps = 0  # completed sweeps: tests wait on it
        self.next_due: float | None = None  # when the last sweep saw the next step coming

    # ---- life cycle -------------------------------------------------------------------

    def start(self) -> Notifier:
        self.context()  # broken templates stop the start, not the first sweep
        self._thread = threading.Thread(target=self._loop, name="ronda-notifier", daemon=True)
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def after_round(self, events: Iterable[object]) -> None:
        """Called by the rounds with a batch's events (on their thread: only a wake-up)."""
        if any(str(getattr(event, "kind", "")) in _WAKING for event in events):
            self._wake.set()

    def stop(self, timeout: float = 15.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.sweep()
            except Exception:  # the notifier must outlive a bad sweep
                log.exception("notification sweep failed")
                self.next_due = None
            if self._stopping.wait(self.min_interval):
                break
            wait = self.idle_poll - self.min_interval
            if self.next_due is not None:
                wait = min(wait, self.next_due - self.clock().timestamp())
            self._wake.wait(max(0.0, wait))
            self._wake.clear()
        self.store.close()  # this thread's connection

    # ---- a sweep ----------------------------------------------------------------------

    def context(self) -> _Context:
        """Templates and desk for the config of the moment (rebuilt after a reload)."""
        config = self.config()
        ctx = self._context
        if ctx is None or ctx.config is not config:
            templates = (
                ctx.templates
                if ctx is not None and ctx.config.notices.templates == config.notices.templates
                else Templates(config.notices.templates)
            )
            desk = Desk(self.store, SlaPolicy.from_config(config), self.clock)
            ctx = self._context = _Context(config, templates, desk)
        return ctx

    def sweep(self) -> SweepReport:
        """Everything due now, once."""
        now = self.clock()
        report = SweepReport()
        if self.is_blind(now):
            report.blind = True
            self.sweeps += 1
            return report
        ctx = self.context()
        report.requesters = self._requesters(ctx, now)
        report.notices = self._openings(ctx, now) + self._recoveries(ctx, now)
        report.alerts, report.held = self._alerts(ctx, now)
        self.next_due = self._next_due(ctx, now)
        self.sweeps += 1
        if (report.notices or report.alerts) and self.queued is not None:
            self.queued()
        return report

    def _next_due(self, ctx: _Context, now: datetime) -> float | None:
        """When the next step known now comes due (epoch): a notice's delay or recovery
        time running out, an SLA target or limit passing. Later cases wake it themselves."""
        config, reach, ts = ctx.config, self.store.reach, now.timestamp()
        settings = config.notices
        found: list[float] = []
        opening = reach.next_moment(
            notices.OPENED,
            "opened",
            ts - settings.delay,
            priorities=[str(p) for p in settings.priorities],
            probe_only=True,
        )
        if opening is not None:
            found.append(opening + settings.delay)
        recovery = reach.next_moment(
            notices.RESOLVED,
            "resolved",
            ts - settings.recovery_after,
            probe_only=True,
            after_step=notices.OPENED,
        )
        if recovery is not None:
            found.append(recovery + settings.recovery_after)
        for step in alerts.steps_for(config):
            if step.moment == "opened":
                continue  # a new case wakes the notifier itself
            at = reach.next_moment(
                step.key,
                step.moment,
                ts,
                priorities=[str(p) for p in step.priorities(config)],
                unanswered=True,
            )
            if at is not None:
                found.append(at)
        return min(found, default=None)

    def _parents(self, tickets: Sequence[Ticket]) -> dict[int, Ticket]:
        ids = {t.parent_id for t in tickets if t.parent_id is not None}
        return self.store.tickets.many(ids) if ids else {}

    def _requesters(self, ctx: _Context, now: datetime) -> int:
        config = ctx.config
        horizon = max(config.notices.catch_up + config.notices.delay, config.oncall.catch_up)
        found = notices.requesters(
            config, self.store.reach.without_requester(now.timestamp() - horizon)
        )
        items = sorted(found.items())
        for start in range(0, len(items), WRITE_CHUNK):
            with ctx.desk.transaction():
                for ticket_id, contact in items[start : start + WRITE_CHUNK]:
                    ctx.desk.set_requester(ticket_id, contact, ACTOR, "the site's customer contact")
        return len(items)

    def _openings(self, ctx: _Context, now: datetime) -> int:
        config = ctx.config
        settings = config.notices
        until = now.timestamp() - settings.delay
        due = self.store.reach.due(
            notices.OPENED,
            "opened",
            until - settings.catch_up,
            until,
            priorities=[str(p) for p in settings.priorities],
            probe_only=True,
        )
        if not due:
            return 0
        planned = notices.plan_openings(config, ctx.templates, due, self._parents(due), now)
        return self._queue_notices(ctx, planned, now)

    def _recoveries(self, ctx: _Context, now: datetime) -> int:
        config = ctx.config
        settings = config.notices
        until = now.timestamp() - settings.recovery_after
        due = self.store.reach.due(
            notices.RESOLVED,
            "resolved",
            until - settings.catch_up,
            until,
            probe_only=True,
            after_step=notices.OPENED,
        )
        if not due:
            return 0
        parents = self._parents(due)
        siblings = {pid: self.store.tickets.children(pid) for pid in parents}
        involved = [t.id for t in due] + [t.id for kids in siblings.values() for t in kids]
        told = self.store.reach.steps_of(involved)
        up = self.store.reach.sites_up(t.site for t in due if t.site)
        planned = notices.plan_recoveries(
            config, ctx.templates, due, parents, siblings, told, up, now, settings.recovery_after
        )
        return self._queue_notices(ctx, planned, now)

    def _queue_notices(
        self, ctx: _Context, planned: Sequence[notices.PlannedNotice], now: datetime
    ) -> int:
        desk_address = ctx.config.mail.desk_address
        queued = 0
        for notice in planned:
            msg = compose_mail(
                sender=("", desk_address),
                to=(notice.name, notice.to),
                subject=notice.subject,
                body=notice.body,
                now=now,
                automatic=True,
            )
            with ctx.desk.transaction():
                # The same outage told already (a site that joined it later): its cases are
                # covered by that notice, and nothing more is sent.
                if queue_mail(
                    self.store,
                    msg,
                    key=notice.key,
                    kind="notice",
                    to=notice.to,
                    ticket_id=notice.case_id,
                    envelope_from=desk_address,
                    now=now,
                ):
                    queued += 1
                for ticket_id in notice.covers:
                    self.store.reach.record_step(ticket_id, notice.step, now=now.timestamp())
        if queued:
            self._say(f"{queued} customer notices queued", False)
        return queued

    def _alerts(self, ctx: _Context, now: datetime) -> tuple[int, int]:
        config = ctx.config
        calendar = ctx.desk.policy.business
        queued = held = 0
        counts: dict[tuple[str, str | None], int] = {}
        window = config.oncall.rate_window
        for step in alerts.steps_for(config):
            due = self.store.reach.due(
                step.key,
                step.moment,
                now.timestamp() - config.oncall.catch_up,
                now.timestamp(),
                priorities=[str(p) for p in step.priorities(config)],
                unanswered=True,
            )
            parents = self._parents(due)
            for ticket in due:
                with ctx.desk.transaction():
                    if not self.store.reach.record_step(ticket.id, step.key, now=now.timestamp()):
                        continue  # another sweep (another process) had it
                    if alerts.told_through_parent(ticket, parents):
                        continue
                    if notices.in_maintenance(config, ticket.site, now):
                        ctx.desk.record(
                            ticket.id,
                            ACTOR,
                            "notify_held",
                            f"{step.name}: not notified, the site is in a maintenance window",
                        )
                        continue
                    planned, notes = alerts.plan(step, ticket, config, calendar, ctx.templates, now)
                    for note in notes:
                        ctx.desk.record(ticket.id, ACTOR, "notify_held", f"{step.name}: {note}")
                    for alert in planned:
                        route = alert.channel.route
                        if route not in counts:
                            counts[route] = self.store.outbox.routed_since(
                                *route, now.timestamp() - window
                            )
                        limit = config.oncall.rate_limit
                        if limit and counts[route] >= limit:
                            held += 1
                            ctx.desk.record(
                                ticket.id,
                                ACTOR,
                                "notify_held",
                                f"{step.name}: {alert.channel.agent.name} not notified on "
                                f"{alert.channel.label}: {limit} notifications within "
                                f"{window:g} s already",
                            )
                            continue
                        if self._queue_alert(ctx, alert, now):
                            counts[route] += 1
                            queued += 1
        if queued:
            self._say(f"{queued} agent notifications queued", False)
        return queued, held

    def _queue_alert(self, ctx: _Context, alert: alerts.PlannedAlert, now: datetime) -> bool:
        channel = alert.channel
        if channel.kind == "apprise":
            return queue_notification(
                self.store,
                key=alert.key,
                agent=channel.agent.name,
                target=channel.target or "",
                title=alert.subject,
                body=alert.body,
                ticket_id=alert.ticket_id,
                now=now,
            )
        desk_address = ctx.config.mail.desk_address
        msg = compose_mail(
            sender=("Ronda", desk_address),
            to=(channel.agent.name, channel.address or ""),
            subject=alert.subject,
            body=alert.body,
            now=now,
            automatic=True,
        )
        return queue_mail(
            self.store,
            msg,
            key=alert.key,
            kind="notification",
            to=channel.address or "",
            ticket_id=alert.ticket_id,
            envelope_from=desk_address,
            now=now,
            thread=False,
        )

    def _say(self, text: str, failed: bool) -> None:
        if self.report is None:
            log.log(logging.WARNING if failed else logging.INFO, "%s", text)
            return
        try:
            self.report(text, failed)
        except Exception:  # a logging hook must never stop the notifier
            log.exception("notifier report hook failed")


__all__ = ["IDLE_POLL", "Notifier", "SweepReport", "desk_is_blind_standin"]
