"""What a status page says, built from plain facts (pure: no store, no files): each site's
state now and its daily uptime, the incidents with their public updates, in the page's
language and the desk's time zone.

Only what a customer may read goes in: site names, states, uptime figures, the failure in
words (`ronda.reach.words`), when an incident began and ended, and the agents' public
updates. Never a ticket's subject, evidence, headers, addresses, notes or mail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from ronda.display import visible
from ronda.model import FailureClass, Ticket
from ronda.reach.words import duration_text, failure_text, lang_of
from ronda.store.public import PublicUpdate
from ronda.uptime import (
    DOWN,
    MAINTENANCE,
    UNMEASURED,
    UP,
    DayUptime,
    Interval,
    Uptime,
    daily,
    days_between,
    uptime,
)

DAYS = 90  # bars on a page
RECENT_DAYS = 30  # resolved incidents shown this long
RECENT_MAX = 10
BAR_WIDTH, BAR_GAP, BAR_HEIGHT = 6, 2, 34

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Service status",
        "for": "for {name}",
        "generated": "Updated {when}",
        "all_up": "All sites are working",
        "some_down": "Some sites have problems",
        "some_maintenance": "Planned maintenance in progress",
        "unmeasured_all": "Not measured right now",
        "up": "Working",
        "down": "Down",
        "maintenance": "Maintenance",
        "unmeasured": "Not measured",
        "uptime_90": "{value} uptime in the last {days} days",
        "no_uptime": "no uptime: not measured in the last {days} days",
        "days_ago": "{days} days ago",
        "today": "Today",
        "open_incidents": "Open incidents",
        "no_open": "No open incidents.",
        "resolved_incidents": "Resolved in the last {days} days",
        "no_resolved": "No incidents in the last {days} days.",
        "since": "Since {when} ({zone}), {duration} so far",
        "lasted": "{start} to {end} ({zone}), {duration}",
        "investigating": "We are working on it.",
        "updates": "Updates",
        "bar": "{day}: {value}",
        "bar_down": "{day}: {value}, down {duration}",
        "bar_none": "{day}: not measured",
        "bar_maintenance": "{day}: maintenance",
        "definition": (
            "Uptime is the time a site was up divided by the time it was measured outside "
            "planned maintenance. Time nobody measured is shown as not measured, never as up "
            "or down. Times are in {zone}."
        ),
        "case": "Case {case}",
        "outage_many": "the server that hosts them is down",
        "more_sites": "{names} and {count} more",
    },
    "es": {
        "title": "Estado del servicio",
        "for": "de {name}",
        "generated": "Actualizado {when}",
        "all_up": "Todos los sitios funcionan",
        "some_down": "Algunos sitios tienen problemas",
        "some_maintenance": "Mantenimiento programado en curso",
        "unmeasured_all": "Sin medición en este momento",
        "up": "Funciona",
        "down": "Caído",
        "maintenance": "Mantenimiento",
        "unmeasured": "Sin medición",
        "uptime_90": "{value} de disponibilidad en los últimos {days} días",
        "no_uptime": "sin disponibilidad: no se midió en los últimos {days} días",
        "days_ago": "hace {days} días",
        "today": "Hoy",
        "open_incidents": "Incidentes abiertos",
        "no_open": "No hay incidentes abiertos.",
        "resolved_incidents": "Resueltos en los últimos {days} días",
        "no_resolved": "Sin incidentes en los últimos {days} días.",
        "since": "Desde {when} ({zone}), {duration} hasta ahora",
        "lasted": "{start} a {end} ({zone}), {duration}",
        "investigating": "Estamos trabajando en ello.",
        "updates": "Novedades",
        "bar": "{day}: {value}",
        "bar_down": "{day}: {value}, caído {duration}",
        "bar_none": "{day}: sin medición",
        "bar_maintenance": "{day}: mantenimiento",
        "definition": (
            "La disponibilidad es el tiempo que un sitio funcionó dividido por el tiempo "
            "medido fuera del mantenimiento programado. El tiempo sin medición se muestra "
            "como tal, nunca como funcionando ni caído. Las horas están en {zone}."
        ),
        "case": "Caso {case}",
        "outage_many": "el servidor que los aloja está caído",
        "more_sites": "{names} y {count} más",
    },
}


@dataclass(frozen=True, slots=True)
class Bar:
    """One day's bar: where it is drawn, its colour class and its tooltip."""

    x: int
    css: str  # ok, warn, bad, maint, none
    label: str


@dataclass(frozen=True, slots=True)
class SitePart:
    name: str
    state: str  # up, down, maintenance, unmeasured
    state_text: str
    uptime_text: str
    bars: tuple[Bar, ...]


@dataclass(frozen=True, slots=True)
class Update:
    when: str
    text: str


@dataclass(frozen=True, slots=True)
class IncidentPart:
    case: str
    site: str
    title: str
    span: str  # since ... / from ... to ...
    updates: tuple[Update, ...]
    resolved: bool


@dataclass(frozen=True, slots=True)
class Outage:
    """A server's outage as one page shows it: the parent case (it names no site), this
    page's sites among its children, and the children's cases folded into it."""

    ticket: Ticket
    sites: tuple[str, ...]
    children: tuple[Ticket, ...]


@dataclass(frozen=True, slots=True)
class Page:
    """One page: `slug` names its folder."""

    slug: str
    lang: str
    title: str
    subtitle: str
    generated: str
    overall: str
    overall_state: str
    sites: tuple[SitePart, ...]
    open_incidents: tuple[IncidentPart, ...]
    resolved_incidents: tuple[IncidentPart, ...]
    words: Mapping[str, str]
    width: int
    height: int


def percent_text(ratio: float | None, lang: str) -> str:
    """`99.95 %` (`99,95 %` in Spanish); two decimals under 100, so a short outage shows."""
    if ratio is None:
        return "-"
    value = ratio * 100.0
    text = "100" if value >= 100.0 else f"{min(value, 99.99):.2f}"
    return (text.replace(".", ",") if lang == "es" else text) + " %"


def bar_class(day: DayUptime) -> str:
    ratio = day.uptime.ratio
    if ratio is None:
        return "maint" if day.uptime.maintenance_seconds > 0 else "none"
    if ratio >= 0.999:
        return "ok"
    if ratio >= 0.99:
        return "warn"
    return "bad"


def site_part(
    name: str,
    intervals: Sequence[Interval],
    now_state: str,
    start: float,
    end: float,
    tz: tzinfo,
    lang: str,
    day_spans: Sequence[tuple[date, float, float]] | None = None,
) -> SitePart:
    """`day_spans`: `days_between(start, end, tz)`, computed once for every site."""
    words = WORDS[lang]
    days = daily(intervals, start, end, tz, day_spans)
    bars = []
    for i, day in enumerate(days):
        css = bar_class(day)
        label_day = day.day.isoformat()
        value = percent_text(day.uptime.ratio, lang)
        if css == "none":
            label = words["bar_none"].format(day=label_day)
        elif css == "maint":
            label = words["bar_maintenance"].format(day=label_day)
        elif day.uptime.down_seconds > 0:
            down = duration_text(day.uptime.down_seconds)
            label = words["bar_down"].format(day=label_day, value=value, duration=down)
        else:
            label = words["bar"].format(day=label_day, value=value)
        bars.append(Bar(i * (BAR_WIDTH + BAR_GAP), css, label))
    total = uptime(intervals, start, end) if not days else _sum(days)
    uptime_text = (
        words["uptime_90"].format(value=percent_text(total.ratio, lang), days=len(days))
        if total.ratio is not None
        else words["no_uptime"].format(days=len(days))
    )
    state = now_state if now_state in (UP, DOWN, MAINTENANCE, UNMEASURED) else UNMEASURED
    return SitePart(visible(name), state, words[state], uptime_text, tuple(bars))


def _sum(days: Sequence[DayUptime]) -> Uptime:
    """The period's figures as the sum of its days (the days partition it)."""
    return Uptime(
        start=days[0].start,
        end=days[-1].end,
        up_seconds=sum(d.uptime.up_seconds for d in days),
        down_seconds=sum(d.uptime.down_seconds for d in days),
        maintenance_seconds=sum(d.uptime.maintenance_seconds for d in days),
        unmeasured_seconds=sum(d.uptime.unmeasured_seconds for d in days),
    )


def _when(at: datetime, tz: tzinfo) -> str:
    shown = at.astimezone(tz)
    return shown.strftime("%Y-%m-%d %H:%M")


def _closed(ticket: Ticket) -> bool:
    return ticket.resolved_at is not None and not ticket.status.is_open


def fold_outages(
    parents: Sequence[Ticket],
    children: Sequence[Ticket],
    incidents: Sequence[Ticket],
    sites: Sequence[str],
) -> tuple[list[Outage], list[Ticket]]:
    """One page's server outages and the incidents left to show on their own.

    An outage is on the page when one of its children is about one of the page's `sites`;
    those children are folded into it (one entry, not one per site), except a child still
    open after its outage was resolved (that site's trouble outlived the server's), which
    stays an incident of its own."""
    order = {name: i for i, name in enumerate(sites)}
    folded: set[int] = set()
    out: list[Outage] = []
    for parent in parents:
        mine = [c for c in children if c.parent_id == parent.id and c.site in order]
        if not mine:
            continue
        kept = tuple(c for c in mine if not (_closed(parent) and not _closed(c)))
        folded.update(c.id for c in kept)
        names = sorted({c.site for c in mine if c.site}, key=order.__getitem__)
        out.append(Outage(parent, tuple(names), kept))
    return out, [t for t in incidents if t.id not in folded]


def _span(opened: datetime, resolved: datetime | None, now: datetime, tz: tzinfo, lang: str) -> str:
    """When an incident began (and ended), with the zone named next to the times: a
    customer reads them here, far from the page's footer."""
    words = WORDS[lang]
    zone = getattr(tz, "key", None) or str(tz)
    if resolved is not None:
        return words["lasted"].format(
            start=_when(opened, tz),
            end=_when(resolved, tz),
            zone=zone,
            duration=duration_text((resolved - opened).total_seconds()),
        )
    return words["since"].format(
        when=_when(opened, tz),
        zone=zone,
        duration=duration_text((now - opened).total_seconds()),
    )


def _updates(updates: Sequence[PublicUpdate], tz: tzinfo) -> tuple[Update, ...]:
    return tuple(Update(_when(u.at, tz), visible(u.body, lines=True)) for u in updates)


def incident_part(
    ticket: Ticket, updates: Sequence[PublicUpdate], now: datetime, tz: tzinfo, lang: str
) -> IncidentPart:
    """An incident as customers read it: the site, the failure in words, when, and the
    public updates. The ticket's subject (internal wording, URLs) is never used."""
    site = visible(ticket.site or "")
    cls = ticket.failure_class
    meaning = failure_text(FailureClass(cls), lang, "") if cls is not None else ""
    title = f"{site}: {meaning}" if meaning else site
    resolved = ticket.resolved_at if _closed(ticket) else None
    span = _span(ticket.opened_at, resolved, now, tz, lang)
    return IncidentPart(
        ticket.case_number, site, title, span, _updates(updates, tz), resolved is not None
    )


SITES_NAMED = 4  # an outage's title names this many of the page's sites, then counts


def outage_bounds(outage: Outage) -> tuple[datetime, datetime | None]:
    """When the outage began for this page (its first case) and when it ended for it
    (None: still on): when the server's case was resolved, or, before that, once every
    one of the page's sites in it recovered; never before a case folded into it ended."""
    cases = (outage.ticket, *outage.children)
    start = min(t.opened_at for t in cases)
    children_ends = [c.resolved_at for c in outage.children if _closed(c)]
    if _closed(outage.ticket):
        assert outage.ticket.resolved_at is not None
        return start, max([outage.ticket.resolved_at, *children_ends])  # type: ignore[type-var]
    if outage.children and len(children_ends) == len(outage.children):
        return start, max(children_ends)  # type: ignore[type-var]
    return start, None


def outage_part(
    outage: Outage,
    updates: Mapping[int, Sequence[PublicUpdate]],
    now: datetime,
    tz: tzinfo,
    lang: str,
) -> IncidentPart:
    """A server outage as one entry: the page's sites it took down, the case of the
    server's incident, and the public updates of it and of its folded children. The
    server's name is internal and never shown."""
    words = WORDS[lang]
    names = [visible(s) for s in outage.sites]
    shown = ", ".join(names[:SITES_NAMED])
    if len(names) > SITES_NAMED:
        shown = words["more_sites"].format(names=shown, count=len(names) - SITES_NAMED)
    meaning = (
        failure_text(FailureClass.SERVER_OUTAGE, lang) if len(names) == 1 else words["outage_many"]
    )
    start, end = outage_bounds(outage)
    merged = sorted(
        (u for t in (outage.ticket, *outage.children) for u in updates.get(t.id, ())),
        key=lambda u: u.at,
    )
    return IncidentPart(
        outage.ticket.case_number,
        ", ".join(names),
        f"{shown}: {meaning}",
        _span(start, end, now, tz, lang),
        _updates(merged, tz),
        end is not None,
    )


def build_page(
    *,
    slug: str,
    name: str | None,
    lang: str | None,
    sites: Sequence[str],
    intervals: Mapping[str, Sequence[Interval]],
    now_states: Mapping[str, str],
    incidents: Sequence[Ticket],
    updates: Mapping[int, Sequence[PublicUpdate]],
    now: datetime,
    tz: tzinfo,
    zone_name: str,
    days: int = DAYS,
    outages: Sequence[Outage] = (),
) -> Page:
    """One page over the last `days` local days (today included) up to `now`."""
    code = lang_of(lang)
    words = {k: v for k, v in WORDS[code].items()}
    words["definition"] = WORDS[code]["definition"].format(zone=zone_name)
    today = now.astimezone(tz).date()
    first = today - timedelta(days=days - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=tz).timestamp()
    end = now.timestamp()
    spans = days_between(start, end, tz)
    parts = tuple(
        site_part(
            s, intervals.get(s, ()), now_states.get(s, UNMEASURED), start, end, tz, code, spans
        )
        for s in sites
    )
    recent = now - timedelta(days=RECENT_DAYS)
    # (began, ended, entry): the site incidents and the server outages, newest first.
    entries = [
        (t.opened_at, t.resolved_at if _closed(t) else None, t, None)
        for t in incidents
        if t.status.is_open or t.resolved_at is not None  # closed without a time: not shown
    ] + [(*outage_bounds(o), None, o) for o in outages]
    entries.sort(key=lambda e: e[0], reverse=True)

    def part(ticket: Ticket | None, outage: Outage | None) -> IncidentPart:
        if outage is not None:
            return outage_part(outage, updates, now, tz, code)
        assert ticket is not None
        return incident_part(ticket, updates.get(ticket.id, ()), now, tz, code)

    open_ones = [part(t, o) for _, ended, t, o in entries if ended is None]
    resolved = [part(t, o) for _, ended, t, o in entries if ended is not None and ended >= recent][
        :RECENT_MAX
    ]
    states = {p.state for p in parts}
    if DOWN in states:
        overall = "down"
    elif MAINTENANCE in states:
        overall = "maintenance"
    elif parts and states == {UNMEASURED}:
        overall = "unmeasured"
    else:
        overall = "up"
    overall_text = {
        "down": words["some_down"],
        "maintenance": words["some_maintenance"],
        "unmeasured": words["unmeasured_all"],
        "up": words["all_up"],
    }[overall]
    return Page(
        slug=slug,
        lang=code,
        title=words["title"],
        subtitle=words["for"].format(name=visible(name)) if name else "",
        generated=words["generated"].format(when=f"{_when(now, tz)} ({zone_name})"),
        overall=overall_text,
        overall_state=overall,
        sites=parts,
        open_incidents=tuple(open_ones),
        resolved_incidents=tuple(resolved),
        words=words,
        width=days * (BAR_WIDTH + BAR_GAP) - BAR_GAP,
        height=BAR_HEIGHT,
    )


__all__ = [
    "DAYS",
    "WORDS",
    "Bar",
    "IncidentPart",
    "Outage",
    "Page",
    "SitePart",
    "build_page",
    "fold_outages",
    "outage_bounds",
]
