"""What the TUI reads from the store, off the UI thread: change stamps, the queue snapshot,
header counts, a ticket's detail, lists for the forms. Pure formatting helpers live here too.

Writes never happen here: every change goes through `ronda.tickets.Desk`. The queue itself
comes from `Desk.queue` (LIMITed, in the queue's order: `ronda.sla_order`); `count_queue`
counts what the limit left out with the same WHERE clause (`ronda.store.queue.queue_where`).

SLA state and countdown in the queue are computed from the deadlines stored on the row
(`sla_target_at`, `sla_limit_at`, which `ronda.sla` computed and recomputes on every change),
so the countdown is a subtraction and agrees with the order of the queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from ronda.display import visible, visible_tree
from ronda.model import SlaState, Ticket, TicketEvent
from ronda.sites import SiteHealth, site_health
from ronda.sla import ticket_state, ticket_time_left
from ronda.store import Store
from ronda.store.outbox import OutboxMessage
from ronda.store.queue import ChangeStamp
from ronda.store.sites import SiteChoice
from ronda.tickets import Desk, QueueFilter, TicketNotFound
from ronda.when import format_when as _format_when

# The queue shows the most urgent N; the header says how many more there are.
QUEUE_LIMIT = 500


# ---- text from outside, shown safely ---------------------------------------------------
# Every ticket, event and site the TUI shows passes through here on its way from the store:
# what sites and senders wrote is shown with its control characters visible, never acted on
# by the terminal (`ronda.display`).

_TICKET_TEXT = ("subject", "category", "site", "customer", "requester", "assignee")
_EVENT_TEXT = ("actor", "kind", "field", "old", "new", "body")
_SITE_TEXT = ("name", "url", "customer", "server", "failure_class", "detail")


def _clean(obj, names: tuple[str, ...], **extra):  # type: ignore[no-untyped-def]
    """`obj` (a frozen dataclass) with its text fields made visible; the same object when
    nothing needed it (the common case costs a few `isprintable` calls)."""
    changes = {
        name: visible(value, lines=name == "body")
        for name in names
        if isinstance(value := getattr(obj, name), str) and not value.isprintable()
    }
    changes.update(extra)
    return replace(obj, **changes) if changes else obj


def shown_ticket(ticket: Ticket) -> Ticket:
    evidence = visible_tree(ticket.evidence)
    extra = {"evidence": evidence} if evidence != ticket.evidence else {}
    return _clean(ticket, _TICKET_TEXT, **extra)


def shown_event(event: TicketEvent) -> TicketEvent:
    return _clean(event, _EVENT_TEXT)


def shown_site(site: SiteHealth) -> SiteHealth:
    return _clean(site, _SITE_TEXT)


def read_stamp(store: Store) -> ChangeStamp:
    return store.queue.change_stamp()


@dataclass(frozen=True, slots=True)
class SlaCounts:
    """Open tickets by SLA state, for the queue's header."""

    ok: int = 0
    warning: int = 0
    breached: int = 0
    paused: int = 0
    answered: int = 0
    open: int = 0


def sla_counts(store: Store, now: datetime) -> SlaCounts:
    by_state = store.queue.sla_counts(now)
    return SlaCounts(
        ok=by_state[SlaState.OK],
        warning=by_state[SlaState.WARNING],
        breached=by_state[SlaState.BREACHED],
        paused=by_state[SlaState.PAUSED],
        answered=by_state[SlaState.MET] + by_state[SlaState.MISSED],
        open=sum(by_state.values()),
    )


def count_queue(store: Store, flt: QueueFilter, now: datetime) -> int:
    """How many tickets match `flt`, ignoring its limit."""
    return store.queue.count(flt, now)


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    """One load of the queue: the top rows by urgency, how many match, the header counts."""

    filter: QueueFilter
    rows: tuple[Ticket, ...]
    total: int | None  # None: more than the limit, still being counted
    counts: SlaCounts | None  # None: still being counted (`ronda.tui.app`'s second worker)
    loaded_at: datetime
    stamp: ChangeStamp | None = None
    generation: int = 0


def load_queue(
    desk: Desk,
    flt: QueueFilter,
    now: datetime,
    *,
    stamp: ChangeStamp | None = None,
    generation: int = 0,
    counts: SlaCounts | None = None,
    count: bool = True,
    with_counts: bool = True,
) -> QueueSnapshot:
    """The queue for `flt`. Pass the previous `counts` when the store has not changed (a
    keystroke in the search box): the header counts do not depend on the filter. With
    `count=False` a list cut short by the limit leaves `total` None for `with_total`; with
    `with_counts=False` (and no `counts`) the header counts are left None for `sla_counts`
    to fill in afterwards, so the rows paint first."""
    rows = tuple(shown_ticket(t) for t in desk.queue(flt))
    # Counting is only needed when the limit cut the list short.
    total: int | None = len(rows)
    if len(rows) >= flt.limit:
        total = count_queue(desk.store, flt, now) if count else None
    return QueueSnapshot(
        filter=flt,
        rows=rows,
        total=total,
        counts=counts if counts is not None or not with_counts else sla_counts(desk.store, now),
        loaded_at=now,
        stamp=stamp,
        generation=generation,
    )


def with_total(desk: Desk, snapshot: QueueSnapshot) -> QueueSnapshot:
    """The snapshot with its total counted (the second step of a keystroke's load)."""
    if snapshot.total is not None:
        return snapshot
    return replace(snapshot, total=count_queue(desk.store, snapshot.filter, snapshot.loaded_at))


def sla_view(ticket: Ticket, now: datetime) -> tuple[SlaState, float | None]:
    """The ticket's SLA state and wall-clock seconds left to the limit (None once answered
    or without deadlines; frozen while paused), by the one rule of `ronda.sla`."""
    return ticket_state(ticket, now), ticket_time_left(ticket, now)


def format_duration(seconds: float, *, precise: bool = True) -> str:
    """`2d 03h`, `5h 07m`, `42m 10s` (or `42m` when not precise); negative gets a `-`."""
    sign = "-" if seconds < 0 else ""
    s = int(abs(seconds))
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours:02d}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if precise:
        return f"{sign}{minutes}m {secs:02d}s"
    return f"{sign}{minutes}m"


def format_when(at: datetime | None, *, zone: bool = True) -> str:
    """An instant in the desk's time zone (`[sla.calendar] timezone`), to the minute, with
    its offset unless `zone=False`: `2026-12-04 08:20 -05` (see `ronda.when`)."""
    return _format_when(at, zone=zone)


@dataclass(frozen=True, slots=True)
class TicketDetail:
    """Everything the ticket screen shows, read in one go."""

    ticket: Ticket
    events: tuple[TicketEvent, ...]
    children: tuple[Ticket, ...] = ()
    parent: Ticket | None = None
    time_spent: float = 0.0
    site_url: str | None = None
    outgoing: tuple[OutboxMessage, ...] = ()  # what the desk sent or queued on the case
    # The customer's other tickets and the site's history, newest first (this one left out).
    customer_tickets: tuple[Ticket, ...] = ()
    site_tickets: tuple[Ticket, ...] = ()


def shown_message(message: OutboxMessage) -> OutboxMessage:
    """An outbox row as shown: a relay's answer or an address may carry anything."""
    return _clean(message, ("recipient", "subject", "last_error"))


# Related tickets listed on the ticket screen, per list.
RELATED_LIMIT = 20


def _related(rows: list[Ticket], ticket_id: int) -> tuple[Ticket, ...]:
    return tuple(shown_ticket(t) for t in rows if t.id != ticket_id)[:RELATED_LIMIT]


def load_detail(desk: Desk, ref: int | str) -> TicketDetail:
    ticket = desk.get(ref)
    records = desk.store.tickets
    parent = None
    if ticket.parent_id is not None:
        try:
            parent = desk.get(ticket.parent_id)
        except TicketNotFound:
            parent = None
    site_url = desk.store.sites.url_of(ticket.site) if ticket.site else None
    return TicketDetail(
        ticket=shown_ticket(ticket),
        events=tuple(shown_event(e) for e in desk.events(ticket.id)),
        children=tuple(shown_ticket(c) for c in desk.children(ticket.id)),
        parent=shown_ticket(parent) if parent is not None else None,
        time_spent=desk.time_spent(ticket.id),
        site_url=site_url,
        outgoing=tuple(shown_message(m) for m in desk.store.outbox.for_ticket(ticket.id)),
        customer_tickets=_related(
            records.of_customer(ticket.customer, RELATED_LIMIT + 1) if ticket.customer else [],
            ticket.id,
        ),
        site_tickets=_related(
            records.of_site(ticket.site, RELATED_LIMIT + 1) if ticket.site else [], ticket.id
        ),
    )


@dataclass(frozen=True, slots=True)
class Directory:
    """Names the forms offer: customers, sites, agents, and who writes from which address."""

    customers: tuple[str, ...] = ()
    sites: tuple[SiteChoice, ...] = ()
    agents: tuple[str, ...] = ()
    emails: dict[str, str] = field(default_factory=dict)  # address -> customer
    domains: dict[str, str] = field(default_factory=dict)  # domain -> customer

    def customer_for(self, address: str) -> str | None:
        address = address.strip().lower()
        if address in self.emails:
            return self.emails[address]
        return self.domains.get(address.rpartition("@")[2])


def load_directory(store: Store) -> Directory:
    customers: set[str] = set()
    emails: dict[str, str] = {}
    domains: dict[str, str] = {}
    for row in store.sites.customers():
        customers.add(row.name)
        for address in row.emails:
            emails[address.lower()] = row.name
        for domain in row.domains:
            domains[domain.lower()] = row.name
    customers.update(store.sites.customers_with_open_tickets())
    return Directory(
        tuple(sorted(customers)),
        tuple(store.sites.choices()),
        tuple(store.sites.assignees()),
        emails,
        domains,
    )


def site_order(site: SiteHealth) -> tuple[bool, str]:
    """The sites screen's order: the sites down first, then by name."""
    return not site.down, site.name


def load_sites(store: Store) -> tuple[SiteHealth, ...]:
    """Every site, down first, each with its open ticket."""
    open_tickets = store.sites.open_tickets()
    sites = (replace(s, open_ticket=open_tickets.get(s.name)) for s in site_health(store))
    return tuple(shown_site(s) for s in sorted(sites, key=site_order))
