"""Agent notifications, decided: which step of which case tells whom, on which channel.
Pure: the case, the config and the instant in, planned messages out.

The rules (`[oncall]`, by the case's priority): a new case tells whoever is on call
(`opened`); a case still unanswered when its SLA target passes tells the on-call agent
again and the escalation contacts (`warning`); one unanswered at its limit tells the
escalation contacts (`breached`; the on-call agent when there are none). Each step happens
once per case (`reach_steps`), none for a case answered, paused or in maintenance, and a
child of a server incident is told through its parent. Every agent has channels: each of
their Apprise URLs, and their e-mail through the relay. A channel past `rate_limit`
notifications within `rate_window` gets no more for now: the case says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ronda.calendar import BusinessCalendar
from ronda.config import Agent, Config
from ronda.model import OPEN_STATUSES, Priority, Ticket
from ronda.outbox import excerpt
from ronda.reach.channels import target_id
from ronda.reach.rota import on_call
from ronda.reach.templates import Templates
from ronda.reach.words import IMPACTS, NONE, PRIORITIES, duration_text, lang_of
from ronda.reach.words import local_time as when
from ronda.sla import ticket_time_left
from ronda.store.reach import Moment


@dataclass(frozen=True, slots=True)
class Step:
    name: str  # opened, warning, breached: the template is agent_<name>
    moment: Moment  # the instant of the case it hangs on
    oncall: bool  # tells whoever is on call
    escalation: bool  # tells the escalation contacts

    @property
    def key(self) -> str:
        return f"notify_{self.name}"

    def priorities(self, config: Config) -> tuple[Priority, ...]:
        return getattr(config.oncall, self.name)


STEPS = (
    Step("opened", "opened", oncall=True, escalation=False),
    Step("warning", "target", oncall=True, escalation=True),
    Step("breached", "limit", oncall=False, escalation=True),
)


@dataclass(frozen=True, slots=True)
class Channel:
    """One way to reach one agent: an Apprise URL (`target` names it) or their e-mail."""

    agent: Agent
    kind: str  # apprise | mail
    target: str | None  # apprise: target_id of the URL; mail: None
    address: str | None = None  # mail: the agent's e-mail

    @property
    def label(self) -> str:
        return "e-mail" if self.kind == "mail" else (self.target or "").partition(":")[0]

    @property
    def route(self) -> tuple[str, str | None]:
        """What the outbox's rate limit counts by: (recipient, target)."""
        if self.kind == "mail":
            return (self.address or "", None)
        return (self.agent.name, self.target)


@dataclass(frozen=True, slots=True)
class PlannedAlert:
    key: str
    channel: Channel
    subject: str
    body: str
    ticket_id: int


def channels_of(agent: Agent, config: Config) -> list[Channel]:
    out = [Channel(agent, "apprise", target_id(url)) for url in agent.notify]
    if agent.email and agent.notify_by_email and config.mail.relay:
        out.append(Channel(agent, "mail", None, agent.email))
    return out


def recipients(step: Step, config: Config, calendar: BusinessCalendar, now: datetime) -> list[str]:
    """The agents a step tells, in order, each once."""
    names: list[str] = []
    current = on_call(config.oncall, calendar, now)
    if step.oncall and current:
        names.append(current)
    if step.escalation:
        names.extend(config.oncall.escalation)
    if not names and current:
        names.append(current)  # no escalation contact: whoever is on call hears of it
    return list(dict.fromkeys(names))


def _values(
    ticket: Ticket, config: Config, lang: str, now: datetime, current: str | None
) -> dict[str, str]:
    tz = config.calendar.timezone
    site = config.site(ticket.site) if ticket.site else None
    left = ticket_time_left(ticket, now)
    seconds = abs(left) if left is not None else 0.0
    customer, where = ticket.customer, ticket.site
    server = ticket.evidence.get("server") if ticket.site is None else None
    if isinstance(server, str):
        # A server's incident: the server, and the customers of its failing sites.
        failing = ticket.evidence.get("failing_sites") or []
        owners = {s.customer for n in failing if (s := config.site(str(n))) and s.customer}
        customer, where = ", ".join(sorted(owners)) or None, server
    return {
        "case": ticket.case_number,
        "customer": excerpt(customer or NONE[lang], 120),
        "site": excerpt(where or NONE[lang], 60),
        "url": excerpt(site.url if site else "-", 120),
        # Agents read the probe's own words: class, detail and URL.
        "failure": excerpt(ticket.subject, 160),
        "priority": PRIORITIES[lang][ticket.priority],
        "impact": IMPACTS[lang][str(ticket.impact)],
        "opened_at": when(ticket.opened_at, tz),
        "time_left": duration_text(seconds),
        "limit": when(ticket.sla_limit_at, tz),
        "on_call": current or NONE[lang],
    }


def plan(
    step: Step,
    ticket: Ticket,
    config: Config,
    calendar: BusinessCalendar,
    templates: Templates,
    now: datetime,
) -> tuple[list[PlannedAlert], list[str]]:
    """The notifications of one step of one case, and notes for the case (an agent without
    any channel). Rate limits are the caller's: they need the outbox."""
    alerts: list[PlannedAlert] = []
    notes: list[str] = []
    current = on_call(config.oncall, calendar, now)
    for name in recipients(step, config, calendar, now):
        agent = config.agent(name)
        if agent is None:
            continue
        found = channels_of(agent, config)
        if not found:
            notes.append(f"{name} has no notification channel (no notify URL, no e-mail)")
            continue
        lang = lang_of(agent.lang or config.lang)
        values = _values(ticket, config, lang, now, current)
        values["agent"] = name
        rendered = templates.render(f"agent_{step.name}", lang, values)
        for channel in found:
            route = channel.target or f"mail:{channel.address}"
            alerts.append(
                PlannedAlert(
                    key=f"{step.key}:{ticket.id}:{name}:{route}",
                    channel=channel,
                    subject=rendered.subject,
                    body=rendered.body,
                    ticket_id=ticket.id,
                )
            )
    return alerts, notes


def told_through_parent(ticket: Ticket, parents: dict[int, Ticket]) -> bool:
    """A child of an open server incident: the incident carries the notifications."""
    parent = parents.get(ticket.parent_id) if ticket.parent_id is not None else None
    return (
        parent is not None
        and parent.source == ticket.source
        and parent.site is None
        and parent.status in OPEN_STATUSES
    )


def steps_for(config: Config) -> Sequence[Step]:
    return [step for step in STEPS if step.priorities(config)]


__all__ = [
    "STEPS",
    "Channel",
    "PlannedAlert",
    "Step",
    "channels_of",
    "plan",
    "recipients",
    "steps_for",
    "told_through_parent",
]
