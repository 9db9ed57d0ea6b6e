"""What the TUI reads from the store, off the UI thread: change stamps, the queue snapshot,
header counts, a ticket's detail, lists for the forms. Pure formatting helpers live here too.

Writes never happen here: every change goes through `ronda.tickets.Desk`. The queue itself
comes from `Desk.queue` (LIMITed, ordered by the SLA limit); `count_queue` repeats its
WHERE clause only to count what the limit left out (a test keeps the two in step).

SLA state and countdown in the queue are computed from the deadlines stored on the row
(`sla_target_at`, `sla_limit_at`, which `ronda.sla` computed and recomputes on every change),
so the countdown is a subtraction and agrees with the order of the queue.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime

from ronda.model import SlaState, Ticket, TicketEvent
from ronda.sites import SiteHealth, site_health
from ronda.sla import ticket_state, ticket_time_left
from ronda.store import OPEN_STATUSES_SQL, Store
from ronda.tickets import Desk, QueueFilter, TicketNotFound, queue_where

# The queue shows the most urgent N; the header says how many more there are.
QUEUE_LIMIT = 500


@dataclass(frozen=True, slots=True)
class ChangeStamp:
    """Cheap fingerprint of the store: when it differs, something changed."""

    tickets_updated: float | None
    tickets: int
    last_event: int | None
    last_probe: float | None


def read_stamp(store: Store) -> ChangeStamp:
    """Three aggregate queries; `MAX(id)` of events is a b-tree end, the rest is small."""
    updated, count = store.db.execute("SELECT MAX(updated_at), COUNT(*) FROM tickets").fetchone()
    (last_event,) = store.db.execute("SELECT MAX(id) FROM ticket_events").fetchone()
    (last_probe,) = store.db.execute("SELECT MAX(checked_at) FROM probe_state").fetchone()
    return ChangeStamp(updated, count, last_event, last_probe)


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
    ts = now.timestamp()
    row = store.db.execute(
        f"""SELECT
            COALESCE(SUM(first_response_at IS NULL AND paused_at IS NULL
                AND (sla_target_at IS NULL OR sla_target_at >= :now)), 0),
            COALESCE(SUM(first_response_at IS NULL AND paused_at IS NULL
                AND sla_target_at < :now AND sla_limit_at >= :now), 0),
            COALESCE(SUM(first_response_at IS NULL AND paused_at IS NULL
                AND sla_limit_at < :now), 0),
            COALESCE(SUM(first_response_at IS NULL AND paused_at IS NOT NULL), 0),
            COALESCE(SUM(first_response_at IS NOT NULL), 0),
            COUNT(*)
        FROM tickets WHERE status IN {OPEN_STATUSES_SQL}""",
        {"now": ts},
    ).fetchone()
    return SlaCounts(*row)


def count_queue(store: Store, flt: QueueFilter, now: datetime) -> int:
    """How many tickets match `flt`, ignoring its limit."""
    where, params = queue_where(flt, now)
    # fetchall: step the statement to its end, so none stays pending (see RondaApp._poll).
    return store.db.execute(f"SELECT COUNT(*) FROM tickets{where}", params).fetchall()[0][0]


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    """One load of the queue: the top rows by urgency, how many match, the header counts."""

    filter: QueueFilter
    rows: tuple[Ticket, ...]
    total: int | None  # None: more than the limit, still being counted
    counts: SlaCounts
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
) -> QueueSnapshot:
    """The queue for `flt`. Pass the previous `counts` when the store has not changed (a
    keystroke in the search box): the header counts do not depend on the filter. With
    `count=False` a list cut short by the limit leaves `total` None for `with_total`."""
    rows = tuple(desk.queue(flt))
    # Counting is only needed when the limit cut the list short.
    total: int | None = len(rows)
    if len(rows) >= flt.limit:
        total = count_queue(desk.store, flt, now) if count else None
    return QueueSnapshot(
        filter=flt,
        rows=rows,
        total=total,
        counts=counts if counts is not None else sla_counts(desk.store, now),
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


def format_when(at: datetime | None) -> str:
    """An instant in the agent's local time zone (TZ), to the minute."""
    return at.astimezone().strftime("%Y-%m-%d %H:%M") if at is not None else "-"


@dataclass(frozen=True, slots=True)
class TicketDetail:
    """Everything the ticket screen shows, read in one go."""

    ticket: Ticket
    events: tuple[TicketEvent, ...]
    children: tuple[Ticket, ...] = ()
    parent: Ticket | None = None
    time_spent: float = 0.0
    site_url: str | None = None


def load_detail(desk: Desk, ref: int | str) -> TicketDetail:
    ticket = desk.get(ref)
    parent = None
    if ticket.parent_id is not None:
        try:
            parent = desk.get(ticket.parent_id)
        except TicketNotFound:
            parent = None
    site_url = None
    if ticket.site:
        rows = desk.store.query("SELECT url FROM sites WHERE name = ?", (ticket.site,))
        site_url = rows[0]["url"] if rows else None
    return TicketDetail(
        ticket=ticket,
        events=tuple(desk.events(ticket.id)),
        children=tuple(desk.children(ticket.id)),
        parent=parent,
        time_spent=desk.time_spent(ticket.id),
        site_url=site_url,
    )


@dataclass(frozen=True, slots=True)
class SiteChoice:
    name: str
    customer: str | None
    impact: str


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
    for row in store.query("SELECT name, emails, domains FROM customers"):
        customers.add(row["name"])
        for address in json.loads(row["emails"] or "[]"):
            emails[str(address).lower()] = row["name"]
        for domain in json.loads(row["domains"] or "[]"):
            domains[str(domain).lower()] = row["name"]
    for row in store.query(
        f"SELECT DISTINCT customer FROM tickets WHERE customer IS NOT NULL "
        f"AND status IN {OPEN_STATUSES_SQL} LIMIT 1000"
    ):
        customers.add(row["customer"])
    sites = tuple(
        SiteChoice(r["name"], r["customer"], r["impact"])
        for r in store.query("SELECT name, customer, impact FROM sites ORDER BY name")
    )
    agents = tuple(
        r["assignee"]
        for r in store.query(
            "SELECT DISTINCT assignee FROM tickets WHERE assignee IS NOT NULL "
            "ORDER BY assignee LIMIT 200"
        )
    )
    return Directory(tuple(sorted(customers)), sites, agents, emails, domains)


def load_sites(store: Store) -> tuple[SiteHealth, ...]:
    return tuple(site_health(store))
