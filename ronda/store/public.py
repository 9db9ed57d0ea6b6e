"""What the desk shows its customers (status pages, reports): the incidents of their sites
and the agents' public updates on them. Reads only; nothing internal is selected here that
a page could leak by mistake beyond the ticket's own fields."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ronda.model import FailureClass, Ticket
from ronda.store.instants import from_epoch
from ronda.store.schema import OPEN_STATUSES_SQL
from ronda.store.tickets import ticket_from_row

if TYPE_CHECKING:
    from ronda.store.db import Store

PUBLIC_UPDATE = "public_update"  # the event kind of an update posted for customers


@dataclass(frozen=True, slots=True)
class PublicUpdate:
    ticket_id: int
    at: datetime
    body: str


def incidents(store: Store, sites: Iterable[str], resolved_since: float) -> list[Ticket]:
    """The incidents about these sites, open or resolved since `resolved_since`: the probe's
    "site down" cases, and any case about one of the sites with a public update. Newest
    first."""
    names = json.dumps(sorted(set(sites)))
    rows = store.query(
        "SELECT t.* FROM tickets AS t WHERE t.site IN (SELECT value FROM json_each(?)) "
        f"AND (t.status IN {OPEN_STATUSES_SQL} OR t.resolved_at >= ?) "
        "AND ((t.source = 'probe' AND t.dedupe_key LIKE '%:down') OR EXISTS ("
        "SELECT 1 FROM ticket_events AS e WHERE e.ticket_id = t.id AND e.kind = ?)) "
        "ORDER BY t.opened_at DESC, t.id DESC",
        (names, resolved_since, PUBLIC_UPDATE),
    )
    return [ticket_from_row(row) for row in rows]


def outages(
    store: Store, sites: Iterable[str], resolved_since: float
) -> tuple[list[Ticket], list[Ticket]]:
    """The server outages (parent incidents, which name no site) with a child case about
    one of these sites, open or resolved since `resolved_since`, newest first; and those
    children (only the ones about these sites: another customer's never comes along)."""
    names = json.dumps(sorted(set(sites)))
    parents = [
        ticket_from_row(row)
        for row in store.query(
            "SELECT p.* FROM tickets AS p WHERE p.site IS NULL AND p.failure_class = ? "
            f"AND (p.status IN {OPEN_STATUSES_SQL} OR p.resolved_at >= ?) "
            "AND EXISTS (SELECT 1 FROM tickets AS c WHERE c.parent_id = p.id "
            "AND c.site IN (SELECT value FROM json_each(?))) "
            "ORDER BY p.opened_at DESC, p.id DESC",
            (FailureClass.SERVER_OUTAGE.value, resolved_since, names),
        )
    ]
    if not parents:
        return [], []
    children = [
        ticket_from_row(row)
        for row in store.query(
            "SELECT c.* FROM tickets AS c "
            "WHERE c.parent_id IN (SELECT value FROM json_each(?)) "
            "AND c.site IN (SELECT value FROM json_each(?)) ORDER BY c.id",
            (json.dumps([p.id for p in parents]), names),
        )
    ]
    return parents, children


def public_updates(store: Store, ticket_ids: Iterable[int]) -> dict[int, list[PublicUpdate]]:
    """Ticket id -> its public updates, oldest first (only this kind: never notes, mail or
    evidence)."""
    ids = json.dumps(sorted(set(ticket_ids)))
    out: dict[int, list[PublicUpdate]] = {}
    for row in store.query(
        "SELECT ticket_id, at, body FROM ticket_events "
        "WHERE ticket_id IN (SELECT value FROM json_each(?)) AND kind = ? ORDER BY at, id",
        (ids, PUBLIC_UPDATE),
    ):
        out.setdefault(row["ticket_id"], []).append(
            PublicUpdate(row["ticket_id"], from_epoch(row["at"]), row["body"] or "")
        )
    return out


__all__ = ["PUBLIC_UPDATE", "PublicUpdate", "incidents", "outages", "public_updates"]
