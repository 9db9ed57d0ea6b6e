"""Customer notices, decided: who is told what about which cases. Pure: tickets and the
config in, planned messages out (`ronda.reach.notifier` reads and writes).

- Only customers who opted in (`[[customers]] notices = true`, or the site's own `notices`)
  hear anything, in their language, at the site's contact (the case's requester).
- A confirmed failure that opened a probe case is told once per case, `[notices] delay`
  after the opening (a blip resolved by then is never told); a case reopened by a flap is
  the same case, so a flapping site sends one notice.
- The sites of one server outage (children of one server incident) are told together: one
  notice per customer and outage, naming the customer's own case of the first site.
- The recovery is told once the case has stayed resolved `recovery_after` (a flap reopens
  it sooner), only to whom the failure was told, and for an outage once all of the
  customer's sites in it are well.
- Nothing during a maintenance window.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from ronda.config import Config, Customer, Site
from ronda.model import Ticket
from ronda.outbox import excerpt
from ronda.reach.templates import Templates
from ronda.reach.words import failure_text, lang_of, local_time

NAME_EXCERPT = 60  # characters of a customer's or a site's name a notice repeats
URL_EXCERPT = 120
OPENED = "notice_opened"
RESOLVED = "notice_resolved"


@dataclass(frozen=True, slots=True)
class PlannedNotice:
    """One mail to one customer contact about one or more of their cases."""

    key: str  # the outbox key: one notice per group, step and recipient, ever
    step: str  # notice_opened or notice_resolved: recorded on every case it covers
    to: str
    name: str  # the customer's name, for the To: header
    lang: str
    subject: str
    body: str
    case_id: int  # the case it is filed under (its number is the one the customer reads)
    covers: tuple[int, ...]  # every case the notice speaks for


def contact_of(config: Config, site: Site | None, customer: Customer | None) -> str | None:
    """Where the desk writes about a site: its own contact, else its customer's."""
    if site is not None and site.contact:
        return site.contact
    return customer.contact_address if customer is not None else None


def opted_in(site: Site | None, customer: Customer | None) -> bool:
    if site is not None and site.notices is not None:
        return site.notices
    return customer is not None and customer.notices


def in_maintenance(config: Config, site_name: str | None, at: datetime) -> bool:
    """The site, or its server, is in a maintenance window at `at`."""
    site = config.site(site_name) if site_name else None
    if site is None:
        return False
    if any(w.covers(at) for w in site.maintenance):
        return True
    server = next((s for s in config.servers if s.name == site.server), None)
    return server is not None and any(w.covers(at) for w in server.maintenance)


def _group_key(ticket: Ticket, parents: Mapping[int, Ticket]) -> str:
    """The outage a case belongs to (its server incident), or the case itself."""
    parent = parents.get(ticket.parent_id) if ticket.parent_id is not None else None
    if parent is not None and parent.source == ticket.source and parent.site is None:
        return f"outage-{parent.id}"
    return f"case-{ticket.id}"


@dataclass(frozen=True, slots=True)
class _Audience:
    to: str
    customer: Customer | None
    lang: str


def _audience(config: Config, ticket: Ticket) -> _Audience | None:
    """Who hears about this case, if anyone."""
    site = config.site(ticket.site) if ticket.site else None
    customer = config.customer(ticket.customer or (site.customer if site else None))
    if not opted_in(site, customer):
        return None
    to = ticket.requester or contact_of(config, site, customer)
    if not to or "@" not in to:
        return None
    lang = lang_of(customer.lang if customer and customer.lang else config.lang)
    return _Audience(to.lower(), customer, lang)


def _site_line(ticket: Ticket, config: Config) -> str:
    site = config.site(ticket.site) if ticket.site else None
    name = excerpt(ticket.site or "", NAME_EXCERPT)
    url = excerpt(site.url, URL_EXCERPT) if site else ""
    return f"- {name} ({url}): {ticket.case_number}" if url else f"- {name}: {ticket.case_number}"


def _common(config: Config, audience: _Audience, case: Ticket) -> dict[str, str]:
    name = audience.customer.name if audience.customer else ""
    return {
        "case": case.case_number,
        "customer": excerpt(name, NAME_EXCERPT),
        "desk_address": config.mail.desk_address,
    }


def plan_openings(
    config: Config,
    templates: Templates,
    due: Sequence[Ticket],
    parents: Mapping[int, Ticket],
    now: datetime,
) -> list[PlannedNotice]:
    """The opening notices for cases due one (see the module's rules)."""
    groups: dict[tuple[str, str], list[tuple[Ticket, _Audience]]] = {}
    for ticket in due:
        if ticket.site is None or in_maintenance(config, ticket.site, now):
            continue
        audience = _audience(config, ticket)
        if audience is None:
            continue
        groups.setdefault((_group_key(ticket, parents), audience.to), []).append((ticket, audience))
    tz = config.calendar.timezone
    out: list[PlannedNotice] = []
    for (group, to), members in groups.items():
        members.sort(key=lambda pair: pair[0].id)
        case, audience = members[0]
        values = _common(config, audience, case)
        limit = min((t.sla_limit_at for t, _ in members if t.sla_limit_at), default=None)
        values.update(
            detected_at=local_time(min(t.opened_at for t, _ in members), tz),
            next_answer=local_time(limit, tz),
        )
        if group.startswith("outage-") and len(members) > 1:
            values.update(
                sites="\n".join(_site_line(t, config) for t, _ in members),
                count=str(len(members)),
            )
            rendered = templates.render("notice_outage", audience.lang, values)
        else:
            site = config.site(case.site or "")
            values.update(
                site=excerpt(case.site or "", NAME_EXCERPT),
                url=excerpt(site.url if site else "", URL_EXCERPT),
                failure=failure_text(case.failure_class, audience.lang),
            )
            rendered = templates.render("notice_opened", audience.lang, values)
        out.append(
            PlannedNotice(
                key=f"{OPENED}:{group}:{to}",
                step=OPENED,
                to=to,
                name=values["customer"],
                lang=audience.lang,
                subject=rendered.subject,
                body=rendered.body,
                case_id=case.id,
                covers=tuple(t.id for t, _ in members),
            )
        )
    return out


def plan_recoveries(
    config: Config,
    templates: Templates,
    due: Sequence[Ticket],
    parents: Mapping[int, Ticket],
    siblings: Mapping[int, Sequence[Ticket]],
    told: Mapping[int, set[str]],
    sites_up: Mapping[str, bool | None],
    now: datetime,
    recovery_after: float,
) -> list[PlannedNotice]:
    """The recovery notices for resolved cases due one. `siblings`: the children of each
    outage's server incident; `told`: the steps every case involved has had; `sites_up`:
    whether each site's last round passed."""
    tz = config.calendar.timezone
    cut = now.timestamp() - recovery_after
    groups: dict[tuple[str, str], tuple[_Audience, list[Ticket]]] = {}
    for ticket in due:
        if ticket.site is None or in_maintenance(config, ticket.site, now):
            continue
        if sites_up.get(ticket.site) is not True:
            continue  # resolved by hand while the site still fails: no "working again"
        audience = _audience(config, ticket)
        if audience is None:
            continue
        group = _group_key(ticket, parents)
        groups.setdefault((group, audience.to), (audience, []))[1].append(ticket)
    out: list[PlannedNotice] = []
    for (group, to), (audience, members) in groups.items():
        if group.startswith("outage-"):
            parent_id = int(group.removeprefix("outage-"))
            told_here = [
                t
                for t in siblings.get(parent_id, ())
                if OPENED in told.get(t.id, set())
                and RESOLVED not in told.get(t.id, set())
                and (t.requester or "").lower() == to
            ]
            if any(t.resolved_at is None or t.resolved_at.timestamp() > cut for t in told_here):
                continue  # one of their sites in this outage is not well yet
            members = sorted({t.id: t for t in [*members, *told_here]}.values(), key=_id)
        members.sort(key=_id)
        case = members[0]
        values = _common(config, audience, case)
        recovered = max((t.resolved_at for t in members if t.resolved_at), default=now)
        values["recovered_at"] = local_time(recovered, tz)
        if len(members) > 1:
            values.update(
                sites="\n".join(_site_line(t, config) for t in members), count=str(len(members))
            )
            rendered = templates.render("notice_outage_resolved", audience.lang, values)
        else:
            site = config.site(case.site or "")
            values.update(
                site=excerpt(case.site or "", NAME_EXCERPT),
                url=excerpt(site.url if site else "", URL_EXCERPT),
            )
            rendered = templates.render("notice_resolved", audience.lang, values)
        out.append(
            PlannedNotice(
                key=f"{RESOLVED}:{group}:{to}",
                step=RESOLVED,
                to=to,
                name=values["customer"],
                lang=audience.lang,
                subject=rendered.subject,
                body=rendered.body,
                case_id=case.id,
                covers=tuple(t.id for t in members),
            )
        )
    return out


def _id(ticket: Ticket) -> int:
    return ticket.id


def requesters(config: Config, tickets: Iterable[Ticket]) -> dict[int, str]:
    """Probe cases without a requester -> the site's customer contact, where there is one."""
    out: dict[int, str] = {}
    for ticket in tickets:
        site = config.site(ticket.site) if ticket.site else None
        customer = config.customer(ticket.customer or (site.customer if site else None))
        contact = contact_of(config, site, customer)
        if contact and "@" in contact:
            out[ticket.id] = contact.lower()
    return out


__all__ = [
    "OPENED",
    "RESOLVED",
    "PlannedNotice",
    "contact_of",
    "in_maintenance",
    "opted_in",
    "plan_openings",
    "plan_recoveries",
    "requesters",
]
