"""Tickets, their events and time entries as the store keeps them.

Reads return the desk's own objects (`Ticket`, `TicketEvent`); writes take field names and
Python values (datetimes, enums, booleans, dicts) and turn them into columns here, so the
desk never sees how a value is stored. Every method runs one statement (or a few) on the
calling thread's connection: inside the caller's `Store.write()` transaction when there is
one, so a change and its event commit together.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

from ronda.model import FailureClass, Impact, Priority, Source, Status, Ticket, TicketEvent
from ronda.store.instants import from_epoch
from ronda.store.schema import OPEN_STATUSES_SQL

if TYPE_CHECKING:
    from ronda.store.db import Store

_IDS_PER_QUERY = 500  # well under SQLite's limit on bound parameters

# Ticket fields (and the few stored-only ones the desk writes) that are columns of `tickets`.
_COLUMNS = frozenset(
    {
        "case_number",
        "source",
        "subject",
        "category",
        "failure_class",
        "site",
        "customer",
        "requester",
        "priority",
        "impact",
        "status",
        "assignee",
        "opened_at",
        "sla_target_at",
        "sla_limit_at",
        "first_response_at",
        "first_response_seconds",
        "sla_outcome",
        "paused_at",
        "paused_seconds",
        "resolved_at",
        "billable",
        "dedupe_key",
        "parent_id",
        "evidence",
        "touched_by_agent",
        "updated_at",
        "opened_class",
        "outcome_priority",
        "outcome_impact",
        "reply_due_at",
        "reply_target_at",
        "reply_limit_at",
    }
)


def _column_value(value: object) -> object:
    """A Python value as the column holds it: instants as UTC epoch seconds, enums as their
    text, booleans as 0/1, evidence as JSON."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given to the store")
        return value.timestamp()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    return value


# Text -> member, read off a dict: a row builds several enums, and `Enum(value)` costs a few
# times a dict lookup on the queue's hot path.
_SOURCE = {str(m): m for m in Source}
_PRIORITY = {str(m): m for m in Priority}
_IMPACT = {str(m): m for m in Impact}
_STATUS = {str(m): m for m in Status}
_CLASS = {str(m): m for m in FailureClass}


def ticket_from_row(row: Mapping[str, object]) -> Ticket:
    """A `tickets` row as the desk's `Ticket`."""
    return Ticket(
        id=row["id"],  # type: ignore[arg-type]
        case_number=row["case_number"],  # type: ignore[arg-type]
        source=_SOURCE[row["source"]],  # type: ignore[index]
        subject=row["subject"],  # type: ignore[arg-type]
        priority=_PRIORITY[row["priority"]],  # type: ignore[index]
        impact=_IMPACT[row["impact"]],  # type: ignore[index]
        status=_STATUS[row["status"]],  # type: ignore[index]
        opened_at=from_epoch(row["opened_at"]),  # type: ignore[arg-type]
        version=row["version"],  # type: ignore[arg-type]
        category=row["category"],  # type: ignore[arg-type]
        failure_class=_CLASS[row["failure_class"]] if row["failure_class"] else None,  # type: ignore[index]
        site=row["site"],  # type: ignore[arg-type]
        customer=row["customer"],  # type: ignore[arg-type]
        assignee=row["assignee"],  # type: ignore[arg-type]
        sla_target_at=from_epoch(row["sla_target_at"]),  # type: ignore[arg-type]
        sla_limit_at=from_epoch(row["sla_limit_at"]),  # type: ignore[arg-type]
        first_response_at=from_epoch(row["first_response_at"]),  # type: ignore[arg-type]
        sla_outcome=row["sla_outcome"],  # type: ignore[arg-type]
        paused_at=from_epoch(row["paused_at"]),  # type: ignore[arg-type]
        paused_seconds=row["paused_seconds"],  # type: ignore[arg-type]
        resolved_at=from_epoch(row["resolved_at"]),  # type: ignore[arg-type]
        billable=bool(row["billable"]),
        dedupe_key=row["dedupe_key"],  # type: ignore[arg-type]
        parent_id=row["parent_id"],  # type: ignore[arg-type]
        evidence=json.loads(row["evidence"]) if row["evidence"] not in (None, "{}") else {},  # type: ignore[arg-type]
        requester=row["requester"],  # type: ignore[arg-type]
        touched_by_agent=bool(row["touched_by_agent"]),
        updated_at=from_epoch(row["updated_at"]),  # type: ignore[arg-type]
        # .get: a test's database of an earlier schema has no next-reply columns.
        reply_due_at=from_epoch(row.get("reply_due_at")),  # type: ignore[arg-type]
        reply_target_at=from_epoch(row.get("reply_target_at")),  # type: ignore[arg-type]
        reply_limit_at=from_epoch(row.get("reply_limit_at")),  # type: ignore[arg-type]
    )


_NEXT_RESPONSE_COLUMNS = frozenset(
    {
        "priority",
        "impact",
        "customer",
        "due_at",
        "target_at",
        "limit_at",
        "paused_at",
        "answered_at",
        "outcome",
        "business_seconds",
    }
)


@dataclass(frozen=True, slots=True)
class NextResponse:
    """One next-reply clock: when the customer wrote, its deadlines, and how it was judged
    (`outcome` None while owed)."""

    id: int
    ticket_id: int
    priority: Priority
    impact: Impact
    due_at: datetime
    target_at: datetime
    limit_at: datetime
    customer: str | None = None
    paused_at: datetime | None = None
    answered_at: datetime | None = None
    outcome: str | None = None
    business_seconds: float | None = None


def _next_response_from_row(row: Mapping[str, object]) -> NextResponse:
    return NextResponse(
        id=row["id"],  # type: ignore[arg-type]
        ticket_id=row["ticket_id"],  # type: ignore[arg-type]
        priority=_PRIORITY[row["priority"]],  # type: ignore[index]
        impact=_IMPACT[row["impact"]],  # type: ignore[index]
        due_at=from_epoch(row["due_at"]),  # type: ignore[arg-type]
        target_at=from_epoch(row["target_at"]),  # type: ignore[arg-type]
        limit_at=from_epoch(row["limit_at"]),  # type: ignore[arg-type]
        customer=row["customer"],  # type: ignore[arg-type]
        paused_at=from_epoch(row["paused_at"]),  # type: ignore[arg-type]
        answered_at=from_epoch(row["answered_at"]),  # type: ignore[arg-type]
        outcome=row["outcome"],  # type: ignore[arg-type]
        business_seconds=row["business_seconds"],  # type: ignore[arg-type]
    )


def _event_from_row(row: Mapping[str, object]) -> TicketEvent:
    return TicketEvent(
        id=row["id"],  # type: ignore[arg-type]
        ticket_id=row["ticket_id"],  # type: ignore[arg-type]
        at=from_epoch(row["at"]),  # type: ignore[arg-type]
        actor=row["actor"],  # type: ignore[arg-type]
        kind=row["kind"],  # type: ignore[arg-type]
        field=row["field"],  # type: ignore[arg-type]
        old=row["old"],  # type: ignore[arg-type]
        new=row["new"],  # type: ignore[arg-type]
        body=row["body"],  # type: ignore[arg-type]
    )


def _chunks(values: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(values), _IDS_PER_QUERY):
        yield values[start : start + _IDS_PER_QUERY]


class TicketRecords:
    """The `tickets`, `ticket_events` and `time_entries` tables."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ---- reading -----------------------------------------------------------------------

    def get(self, ticket_id: int) -> Ticket | None:
        rows = self.store.query("SELECT * FROM tickets WHERE id = ?", (ticket_id,))
        return ticket_from_row(rows[0]) if rows else None

    def many(self, ticket_ids: Iterable[int]) -> dict[int, Ticket]:
        """Tickets by id (ids that do not exist are left out)."""
        out: dict[int, Ticket] = {}
        for chunk in _chunks(sorted(set(ticket_ids))):
            marks = ",".join("?" * len(chunk))
            for row in self.store.query(f"SELECT * FROM tickets WHERE id IN ({marks})", chunk):
                out[row["id"]] = ticket_from_row(row)
        return out

    def open_with_key(self, dedupe_key: str) -> Ticket | None:
        """The open ticket holding a dedupe key (at most one: a unique index says so)."""
        rows = self.store.query(
            f"SELECT * FROM tickets WHERE dedupe_key = ? AND status IN {OPEN_STATUSES_SQL}",
            (dedupe_key,),
        )
        return ticket_from_row(rows[0]) if rows else None

    def latest_with_key(self, dedupe_key: str) -> int | None:
        """The id of the newest ticket ever opened with a dedupe key, open or not."""
        rows = self.store.query(
            "SELECT id FROM tickets WHERE dedupe_key = ? ORDER BY id DESC LIMIT 1", (dedupe_key,)
        )
        return rows[0]["id"] if rows else None

    def open_keys_like(self, prefix: str) -> dict[str, int]:
        """Dedupe key -> id of the open tickets whose key starts with `prefix`."""
        like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self.store.query(
            "SELECT id, dedupe_key FROM tickets WHERE dedupe_key LIKE ? ESCAPE '\\' "
            f"AND status IN {OPEN_STATUSES_SQL}",
            (like,),
        )
        return {row["dedupe_key"]: row["id"] for row in rows}

    def open_about_sites(self, except_key: str) -> list[int]:
        """Ids of the open tickets the probes' measurements speak for: those about a site,
        and the probes' own incidents (server outages); the one holding `except_key` (and
        any with it) left out."""
        rows = self.store.query(
            f"SELECT id FROM tickets WHERE status IN {OPEN_STATUSES_SQL} "
            "AND (site IS NOT NULL OR source = 'probe') AND dedupe_key IS NOT ? ORDER BY id",
            (except_key,),
        )
        return [row["id"] for row in rows]

    def children(self, parent_id: int) -> list[Ticket]:
        rows = self.store.query(
            "SELECT * FROM tickets WHERE parent_id = ? ORDER BY id", (parent_id,)
        )
        return [ticket_from_row(r) for r in rows]

    def of_customer(self, customer: str, limit: int) -> list[Ticket]:
        """A customer's tickets, newest first (open or not)."""
        rows = self.store.query(
            "SELECT * FROM tickets WHERE customer = ? ORDER BY opened_at DESC, id DESC LIMIT ?",
            (customer, limit),
        )
        return [ticket_from_row(r) for r in rows]

    def of_site(self, site: str, limit: int) -> list[Ticket]:
        """A site's tickets, newest first: its history."""
        rows = self.store.query(
            "SELECT * FROM tickets WHERE site = ? ORDER BY opened_at DESC, id DESC LIMIT ?",
            (site, limit),
        )
        return [ticket_from_row(r) for r in rows]

    def by_source(self, source: Source) -> list[Ticket]:
        rows = self.store.query(
            "SELECT * FROM tickets WHERE source = ? ORDER BY id", (str(source),)
        )
        return [ticket_from_row(r) for r in rows]

    def events(self, ticket_id: int) -> list[TicketEvent]:
        rows = self.store.query(
            "SELECT * FROM ticket_events WHERE ticket_id = ? ORDER BY id", (ticket_id,)
        )
        return [_event_from_row(r) for r in rows]

    def status_changes(self, ticket_id: int) -> list[tuple[datetime, str | None, str | None]]:
        """(at, old, new) of every status change of a ticket, oldest first."""
        rows = self.store.db.execute(
            "SELECT at, old, new FROM ticket_events WHERE ticket_id = ? AND field = 'status' "
            "ORDER BY id",
            (ticket_id,),
        ).fetchall()
        return [(from_epoch(at), old, new) for at, old, new in rows]  # type: ignore[misc]

    def time_spent(self, ticket_id: int) -> float:
        row = self.store.db.execute(
            "SELECT COALESCE(SUM(seconds), 0) FROM time_entries WHERE ticket_id = ?",
            (ticket_id,),
        ).fetchone()
        return float(row[0])

    def next_responses(self, ticket_id: int) -> list[NextResponse]:
        """Every next-reply clock of a ticket, oldest first (the last may be owed)."""
        rows = self.store.query(
            "SELECT * FROM next_responses WHERE ticket_id = ? ORDER BY id", (ticket_id,)
        )
        return [_next_response_from_row(r) for r in rows]

    def pauses(self, ticket_id: int) -> list[tuple[datetime, datetime]]:
        """The finished pauses of a ticket (pending_customer spells, `(start, end)`), oldest
        first, from its history."""
        pauses: list[tuple[datetime, datetime]] = []
        started: datetime | None = None
        for at, old, new in self.status_changes(ticket_id):
            if new == Status.PENDING_CUSTOMER:
                started = at
            elif old == Status.PENDING_CUSTOMER and started is not None:
                pauses.append((started, at))
                started = None
        return pauses

    # ---- writing (inside the caller's transaction) -------------------------------------

    def next_id(self) -> int:
        return self.store.db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM tickets").fetchone()[0]

    def insert(self, ticket_id: int, fields: Mapping[str, object]) -> None:
        """A new ticket at version 1."""
        unknown = set(fields) - _COLUMNS
        if unknown:
            raise ValueError(f"not ticket columns: {', '.join(sorted(unknown))}")
        names = ["id", *fields, "version"]
        values = [ticket_id, *(_column_value(v) for v in fields.values()), 1]
        # Column names come from _COLUMNS, never from outside.
        self.store.db.execute(
            f"INSERT INTO tickets ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            values,
        )

    def update(self, ticket_id: int, version: int, fields: Mapping[str, object]) -> bool:
        """Change a ticket that is still at `version` and move it to the next one; False
        when it was not at that version."""
        unknown = set(fields) - _COLUMNS
        if unknown:
            raise ValueError(f"not ticket columns: {', '.join(sorted(unknown))}")
        assignments = "".join(f"{name} = ?, " for name in fields)
        cursor = self.store.db.execute(
            f"UPDATE tickets SET {assignments}version = version + 1 WHERE id = ? AND version = ?",
            (*(_column_value(v) for v in fields.values()), ticket_id, version),
        )
        return cursor.rowcount == 1

    def add_event(
        self,
        ticket_id: int,
        at: datetime,
        actor: str,
        kind: str,
        field: str | None = None,
        old: object = None,
        new: object = None,
        body: str | None = None,
    ) -> None:
        self.store.db.execute(
            "INSERT INTO ticket_events (ticket_id, at, actor, kind, field, old, new, body) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                ticket_id,
                at.timestamp(),
                actor,
                kind,
                field,
                None if old is None else str(old),
                None if new is None else str(new),
                body,
            ),
        )

    def add_time(
        self,
        ticket_id: int,
        agent: str,
        at: datetime,
        seconds: float,
        note: str | None,
        billable: bool,
    ) -> None:
        self.store.db.execute(
            "INSERT INTO time_entries (ticket_id, agent, at, seconds, note, billable) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (ticket_id, agent, at.timestamp(), seconds, note, int(billable)),
        )

    def start_next_response(self, ticket_id: int, fields: Mapping[str, object]) -> None:
        """A next-reply clock starts (at most one owed per ticket: an index says so)."""
        unknown = set(fields) - _NEXT_RESPONSE_COLUMNS
        if unknown:
            raise ValueError(f"not next_responses columns: {', '.join(sorted(unknown))}")
        names = ["ticket_id", *fields]
        self.store.db.execute(
            f"INSERT INTO next_responses ({', '.join(names)}) "
            f"VALUES ({', '.join('?' * len(names))})",
            (ticket_id, *(_column_value(v) for v in fields.values())),
        )

    def update_next_response(self, ticket_id: int, fields: Mapping[str, object]) -> None:
        """Change the ticket's owed next-reply clock (its deadlines, pause, or judgement)."""
        unknown = set(fields) - _NEXT_RESPONSE_COLUMNS
        if unknown:
            raise ValueError(f"not next_responses columns: {', '.join(sorted(unknown))}")
        assignments = ", ".join(f"{name} = ?" for name in fields)
        self.store.db.execute(
            f"UPDATE next_responses SET {assignments} WHERE ticket_id = ? AND outcome IS NULL",
            (*(_column_value(v) for v in fields.values()), ticket_id),
        )


__all__ = ["NextResponse", "TicketRecords", "ticket_from_row"]
