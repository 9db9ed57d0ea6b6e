"""A customer's month, as the report shows it. Pure: the month's tickets, time entries,
sites' availability and what needs attention come in; a `CustomerReport` comes out.

- Every case of the month with its first response against the contract: the state the
  desk's one SLA rule gives the stored case (`ronda.sla.ticket_state`), never a second rule.
- Compliance per priority: the first responses due in the month (cut at `now` while it is
  not over) as the exporter's compliance windows count them (the store's
  `compliance_candidates`): due when the limit or the answer fell in it and an answer was
  owed, met when the desk judged it met.
- Hours: every time entry logged in the month, billable or included, with the agent's
  note on the entry (internal notes on the case are never read).
- Text from outside (subjects, site names, notes) is bounded and made `visible` here; the
  HTML templates escape it again (autoescape).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from ronda.display import visible
from ronda.model import Priority, SlaState, Source, Ticket
from ronda.outbox import excerpt
from ronda.reports.period import Month
from ronda.sla import ticket_state
from ronda.store.metrics import Candidate
from ronda.store.reports import TimeEntryRow

SUBJECT_EXCERPT = 120  # characters of a case's subject the report repeats
NAME_EXCERPT = 80
NOTE_LIMIT = 1000  # characters of an agent's note on a time entry


@dataclass(frozen=True, slots=True)
class CaseLine:
    """One case of the month and how its first response went."""

    case_number: str
    subject: str
    site: str | None
    priority: Priority
    impact: str
    status: str
    opened_at: datetime
    first_response_at: datetime | None
    limit_at: datetime | None
    state: SlaState
    resolved_at: datetime | None
    # A probe's case: its failure class, which the report says in the customer's words
    # instead of the subject (the probe's subject is internal wording: `site: http_500`).
    failure_class: str | None = None


@dataclass(frozen=True, slots=True)
class PriorityCompliance:
    priority: Priority
    met: int
    due: int

    @property
    def ratio(self) -> float | None:
        """met / due; None when nothing was due (no case to judge)."""
        return self.met / self.due if self.due else None


@dataclass(frozen=True, slots=True)
class HoursLine:
    case_number: str
    subject: str
    at: datetime
    agent: str
    seconds: float
    billable: bool
    note: str


@dataclass(frozen=True, slots=True)
class Hours:
    lines: tuple[HoursLine, ...] = ()

    @property
    def total(self) -> float:
        return sum(line.seconds for line in self.lines)

    @property
    def billable(self) -> float:
        return sum(line.seconds for line in self.lines if line.billable)

    @property
    def included(self) -> float:
        return self.total - self.billable


@dataclass(frozen=True, slots=True)
class DayBar:
    """One local day of a site: its uptime (None: nothing measured) and its parts."""

    day: date
    ratio: float | None
    down_seconds: float = 0.0
    maintenance_seconds: float = 0.0
    unmeasured_seconds: float = 0.0
    seconds: float = 86400.0  # the day's length (23 or 25 h on a change of the clocks)


@dataclass(frozen=True, slots=True)
class SiteAvailability:
    """A site over the month: seconds up, down, in maintenance and not measured."""

    name: str
    url: str
    up_seconds: float = 0.0
    down_seconds: float = 0.0
    maintenance_seconds: float = 0.0
    unmeasured_seconds: float = 0.0
    days: tuple[DayBar, ...] = ()

    @property
    def ratio(self) -> float | None:
        """up / (up + down): the period less maintenance and what was not measured."""
        measured = self.up_seconds + self.down_seconds
        return self.up_seconds / measured if measured > 0 else None


@dataclass(frozen=True, slots=True)
class Incident:
    """A site down for a while: what the probes saw, from when, how long, which case."""

    site: str
    failure_class: str | None
    start: datetime
    end: datetime | None  # None: still down at the month's end
    seconds: float
    case_number: str | None = None


@dataclass(frozen=True, slots=True)
class AttentionItem:
    """Something that will need attention: `kind` names it (certificate, domain,
    wordpress, php), `site` the site (or the domain) it is about, `at` when it comes due
    (None: now), `customer` whose it is when it is not a site's."""

    kind: str
    site: str
    at: datetime | None = None
    detail: str = ""
    customer: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerReport:
    customer: str
    lang: str
    month: Month
    start: datetime
    end: datetime
    generated_at: datetime
    tz: tzinfo
    cases: tuple[CaseLine, ...] = ()
    compliance: tuple[PriorityCompliance, ...] = ()
    hours: Hours = field(default_factory=Hours)
    sites: tuple[SiteAvailability, ...] = ()
    incidents: tuple[Incident, ...] = ()
    attention: tuple[AttentionItem, ...] = ()

    @property
    def uptime(self) -> float | None:
        """All the customer's sites together, time-weighted (None: nothing measured)."""
        up = sum(s.up_seconds for s in self.sites)
        measured = up + sum(s.down_seconds for s in self.sites)
        return up / measured if measured > 0 else None

    @property
    def responses_met(self) -> tuple[int, int]:
        """(met, due) of every priority together."""
        return sum(c.met for c in self.compliance), sum(c.due for c in self.compliance)


def case_line(ticket: Ticket, now: datetime) -> CaseLine:
    return CaseLine(
        case_number=ticket.case_number,
        subject=excerpt(visible(ticket.subject), SUBJECT_EXCERPT),
        site=excerpt(visible(ticket.site), NAME_EXCERPT) if ticket.site else None,
        priority=ticket.priority,
        impact=str(ticket.impact),
        status=str(ticket.status),
        opened_at=ticket.opened_at,
        first_response_at=ticket.first_response_at,
        limit_at=ticket.sla_limit_at,
        state=ticket_state(ticket, now),
        resolved_at=ticket.resolved_at,
        failure_class=(
            str(ticket.failure_class)
            if ticket.source == Source.PROBE and ticket.failure_class is not None
            else None
        ),
    )


def priority_compliance(candidates: Iterable[Candidate]) -> tuple[PriorityCompliance, ...]:
    """First responses met of those due, per priority (high first), in the cell each was
    judged in."""
    met: dict[str, int] = {}
    due: dict[str, int] = {}
    for c in candidates:
        due[c.priority] = due.get(c.priority, 0) + 1
        if c.outcome == "met":
            met[c.priority] = met.get(c.priority, 0) + 1
    return tuple(
        PriorityCompliance(p, met.get(str(p), 0), due.get(str(p), 0))
        for p in (Priority.HIGH, Priority.MEDIUM, Priority.LOW)
    )


def hours_of(entries: Iterable[TimeEntryRow]) -> Hours:
    return Hours(
        tuple(
            HoursLine(
                case_number=e.case_number,
                subject=excerpt(visible(e.subject), SUBJECT_EXCERPT),
                at=e.at,
                agent=excerpt(visible(e.agent), NAME_EXCERPT),
                seconds=e.seconds,
                billable=e.billable,
                note=visible((e.note or "")[:NOTE_LIMIT], lines=True).strip(),
            )
            for e in sorted(entries, key=lambda e: (e.at, e.id))
        )
    )


def build_report(
    customer: str,
    *,
    lang: str,
    month: Month,
    tz: tzinfo,
    now: datetime,
    tickets: Sequence[Ticket],
    candidates: Sequence[Candidate] = (),
    entries: Sequence[TimeEntryRow] = (),
    sites: Sequence[SiteAvailability] = (),
    incidents: Sequence[Incident] = (),
    attention: Sequence[AttentionItem] = (),
) -> CustomerReport:
    """The report of `customer` for `month` as of `now`; `candidates` are the first
    responses due in it (read up to `now` while the month is not over)."""
    start, end = month.start(tz), month.end(tz)
    # The month's cases: those opened in it, and older ones still open or worked in it.
    cases = tuple(case_line(t, now) for t in sorted(tickets, key=lambda t: t.opened_at))
    return CustomerReport(
        customer=excerpt(visible(customer), NAME_EXCERPT),
        lang=lang,
        month=month,
        start=start,
        end=end,
        generated_at=now,
        tz=tz,
        cases=cases,
        compliance=priority_compliance(candidates),
        hours=hours_of(entries),
        sites=tuple(sorted(sites, key=lambda s: s.name)),
        incidents=tuple(sorted(incidents, key=lambda i: (i.start, i.site))),
        attention=tuple(
            sorted(attention, key=lambda a: (a.at is None, a.at or start, a.site, a.kind))
        ),
    )


__all__ = [
    "AttentionItem",
    "CaseLine",
    "CustomerReport",
    "DayBar",
    "Hours",
    "HoursLine",
    "Incident",
    "PriorityCompliance",
    "SiteAvailability",
    "build_report",
    "case_line",
    "hours_of",
    "priority_compliance",
]
