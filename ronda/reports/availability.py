"""Sites' uptime and incidents over a month, from their history (`ronda.uptime`): the
definition is the one `ronda.uptime` writes down and the report repeats. Pure: intervals
and the month's probe cases in, `SiteAvailability` and `Incident`s out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo

from ronda.display import visible
from ronda.model import Source, Ticket
from ronda.outbox import excerpt
from ronda.reports.data import NAME_EXCERPT, DayBar, Incident, SiteAvailability
from ronda.store.instants import from_epoch
from ronda.uptime import Interval, Outage, daily, outages, uptime


def site_availability(
    name: str, url: str, intervals: Sequence[Interval], start: float, end: float, tz: tzinfo
) -> SiteAvailability:
    """The site over [start, end) and each local day of it."""
    total = uptime(intervals, start, end)
    days = tuple(
        DayBar(
            day=d.day,
            ratio=d.uptime.ratio,
            down_seconds=d.uptime.down_seconds,
            maintenance_seconds=d.uptime.maintenance_seconds,
            unmeasured_seconds=d.uptime.unmeasured_seconds,
            seconds=d.uptime.end - d.uptime.start,
        )
        for d in daily(intervals, start, end, tz)
    )
    return SiteAvailability(
        name=excerpt(visible(name), NAME_EXCERPT),
        url=excerpt(visible(url), 120),
        up_seconds=total.up_seconds,
        down_seconds=total.down_seconds,
        maintenance_seconds=total.maintenance_seconds,
        unmeasured_seconds=total.unmeasured_seconds,
        days=days,
    )


def case_of(outage: Outage, cases: Sequence[Ticket]) -> str | None:
    """The probe case of the site open while the outage ran (the first opened), if any."""
    for ticket in cases:
        opened = ticket.opened_at.timestamp()
        resolved = ticket.resolved_at.timestamp() if ticket.resolved_at else None
        if opened < outage.end and (resolved is None or resolved >= outage.start):
            return ticket.case_number
    return None


def site_incidents(
    name: str,
    intervals: Sequence[Interval],
    start: float,
    end: float,
    still_down_at: float,
    cases: Sequence[Ticket] = (),
) -> list[Incident]:
    """The site's outages in [start, end), with the case that covered each. One that
    reaches `still_down_at` (the month's end, or now) is ongoing."""
    shown = excerpt(visible(name), NAME_EXCERPT)
    ordered = sorted(cases, key=lambda t: t.opened_at)
    out = []
    for outage in outages(intervals, start, end):
        out.append(
            Incident(
                site=shown,
                failure_class=outage.cls,
                start=from_epoch(outage.start),  # type: ignore[arg-type]
                end=None if outage.end >= still_down_at else from_epoch(outage.end),
                seconds=outage.seconds,
                case_number=case_of(outage, ordered),
            )
        )
    return out


def probe_cases_by_site(tickets: Sequence[Ticket]) -> dict[str, list[Ticket]]:
    out: dict[str, list[Ticket]] = {}
    for ticket in tickets:
        if ticket.source == Source.PROBE and ticket.site:
            out.setdefault(ticket.site, []).append(ticket)
    return out


def availability(
    sites: Mapping[str, str],
    intervals: Mapping[str, Sequence[Interval]],
    tickets: Sequence[Ticket],
    start: datetime,
    end: datetime,
    tz: tzinfo,
) -> tuple[list[SiteAvailability], list[Incident]]:
    """Every site (name -> URL) of a customer: its month and its incidents."""
    lo, hi = start.timestamp(), end.timestamp()
    cases = probe_cases_by_site(tickets)
    shown, incidents = [], []
    for name, url in sites.items():
        rows = intervals.get(name, ())
        shown.append(site_availability(name, url, rows, lo, hi, tz))
        incidents += site_incidents(name, rows, lo, hi, hi, cases.get(name, ()))
    return shown, incidents


__all__ = ["availability", "case_of", "site_availability", "site_incidents"]
