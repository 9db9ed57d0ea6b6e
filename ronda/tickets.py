"""Tickets: every change to a case goes through here, written with its event in one
transaction.

Optimistic concurrency: each ticket carries a `version`; a change made from a stale copy
fails with `StaleTicket` instead of overwriting another agent's work. Claiming is atomic:
of two agents, one wins. SLA deadlines are computed by `ronda.sla` and stored on the row so
the queue and the exporter can sort and count in SQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils

from ronda.model import (
    ALLOWED_TRANSITIONS,
    FailureClass,
    Impact,
    Priority,
    SlaState,
    Source,
    Status,
    Ticket,
    TicketEvent,
)
from ronda.sla import SlaPolicy, ticket_state, ticket_time_left
from ronda.store import OPEN_STATUSES_SQL, Store, from_epoch

CASE_PREFIX = "R-"
# Case numbers start at four digits: short enough to read out on the phone.
CASE_OFFSET = 1000
# Actors that are not agents: their changes do not make a ticket "touched".
SYSTEM_ACTORS = frozenset({"probe", "system", "mail"})


class TicketError(Exception):
    """A change to a ticket that cannot be made; the message says why."""


class TicketNotFound(TicketError):
    pass


class StaleTicket(TicketError):
    """The ticket changed since the caller read it; `current` is the fresh copy."""

    def __init__(self, current: Ticket, expected_version: int) -> None:
        self.current = current
        super().__init__(
            f"{current.case_number} was changed by someone else "
            f"(you had version {expected_version}, it is now {current.version}); "
            "reload it and try again"
        )


class AlreadyClaimed(TicketError):
    def __init__(self, current: Ticket) -> None:
        self.current = current
        super().__init__(f"{current.case_number} is already claimed by {current.assignee}")


class InvalidTransition(TicketError):
    pass


def utcnow() -> datetime:
    return datetime.now(UTC)


def case_number_for(ticket_id: int) -> str:
    return f"{CASE_PREFIX}{CASE_OFFSET + ticket_id}"


def ticket_id_from_case(case_number: str) -> int | None:
    """`R-2481` (or `r2481`, `2481`) -> the ticket id, or None when it is not a case number."""
    text = case_number.strip().upper().removeprefix(CASE_PREFIX).removeprefix("R")
    if not text.isdigit():
        return None
    number = int(text)
    return number - CASE_OFFSET if number > CASE_OFFSET else None


def _row_to_ticket(row: dict) -> Ticket:
    return Ticket(
        id=row["id"],
        case_number=row["case_number"],
        source=Source(row["source"]),
        subject=row["subject"],
        priority=Priority(row["priority"]),
        impact=Impact(row["impact"]),
        status=Status(row["status"]),
        opened_at=from_epoch(row["opened_at"]),
        version=row["version"],
        category=row["category"],
        failure_class=FailureClass(row["failure_class"]) if row["failure_class"] else None,
        site=row["site"],
        customer=row["customer"],
        assignee=row["assignee"],
        sla_target_at=from_epoch(row["sla_target_at"]),
        sla_limit_at=from_epoch(row["sla_limit_at"]),
        first_response_at=from_epoch(row["first_response_at"]),
        sla_outcome=row["sla_outcome"],
        paused_at=from_epoch(row["paused_at"]),
        paused_seconds=row["paused_seconds"],
        resolved_at=from_epoch(row["resolved_at"]),
        billable=bool(row["billable"]),
        dedupe_key=row["dedupe_key"],
        parent_id=row["parent_id"],
        evidence=json.loads(row["evidence"] or "{}"),
        requester=row["requester"],
        touched_by_agent=bool(row["touched_by_agent"]),
        updated_at=from_epoch(row["updated_at"]),
    )


def _row_to_event(row: dict) -> TicketEvent:
    return TicketEvent(
        id=row["id"],
        ticket_id=row["ticket_id"],
        at=from_epoch(row["at"]),
        actor=row["actor"],
        kind=row["kind"],
        field=row["field"],
        old=row["old"],
        new=row["new"],
        body=row["body"],
    )


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """What an agent asks the queue for."""

    view: str = "open"  # open | mine | unassigned | breached | all
    agent: str | None = None
    priority: Priority | None = None
    status: Status | None = None
    customer: str | None = None
    search: str | None = None  # substring of case number, subject, site or customer
    limit: int = 200


def queue_where(flt: QueueFilter, now: datetime) -> tuple[str, list[object]]:
    """The WHERE clause (with its leading space, or empty) and parameters of a queue view;
    shared by the queue and by whoever counts what its limit leaves out."""
    where: list[str] = []
    params: list[object] = []
    if flt.view != "all":
        where.append(f"status IN {OPEN_STATUSES_SQL}")
    if flt.view == "mine":
        where.append("assignee = ?")
        params.append(flt.agent or "")
    elif flt.view == "unassigned":
        where.append("assignee IS NULL")
    elif flt.view == "breached":
        where.append("first_response_at IS NULL AND paused_at IS NULL AND sla_limit_at < ?")
        params.append(now.timestamp())
    for column, value in (
        ("priority", flt.priority),
        ("status", flt.status),
        ("customer", flt.customer),
    ):
        if value:
            where.append(f"{column} = ?")
            params.append(str(value))
    if flt.search:
        like = "%" + flt.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like += "%"
        where.append(
            "(case_number LIKE ? ESCAPE '\\' OR subject LIKE ? ESCAPE '\\' "
            "OR site LIKE ? ESCAPE '\\' OR customer LIKE ? ESCAPE '\\')"
        )
        params.extend([like] * 4)
    return (" WHERE " + " AND ".join(where)) if where else "", params


class Desk:
    """The one way tickets change. `clock` is injected so tests travel in time."""

    def __init__(
        self,
        store: Store,
        policy: SlaPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.policy = policy or SlaPolicy.default()
        self.clock = clock

    # ---- reading -------------------------------------------------------------------

    def get(self, ref: int | str) -> Ticket:
        """A ticket by id or case number."""
        return _row_to_ticket(self._row(self.store.db, ref))

    def _row(self, db: sqlite_utils.Database, ref: int | str) -> dict:
        ticket_id = ref if isinstance(ref, int) else ticket_id_from_case(ref)
        rows = (
            list(db.query("SELECT * FROM tickets WHERE id = ?", (ticket_id,)))
            if ticket_id is not None
            else []
        )
        if not rows:
            raise TicketNotFound(f"no ticket {ref!r}")
        return rows[0]

    def find_open(self, dedupe_key: str) -> Ticket | None:
        rows = self.store.query(
            f"SELECT * FROM tickets WHERE dedupe_key = ? AND status IN {OPEN_STATUSES_SQL}",
            (dedupe_key,),
        )
        return _row_to_ticket(rows[0]) if rows else None

    def events(self, ref: int | str) -> list[TicketEvent]:
        ticket = self.get(ref)
        return [
            _row_to_event(r)
            for r in self.store.query(
                "SELECT * FROM ticket_events WHERE ticket_id = ? ORDER BY id", (ticket.id,)
            )
        ]

    def children(self, ref: int | str) -> list[Ticket]:
        parent = self.get(ref)
        rows = self.store.query(
            "SELECT * FROM tickets WHERE parent_id = ? ORDER BY id", (parent.id,)
        )
        return [_row_to_ticket(r) for r in rows]

    def queue(self, flt: QueueFilter | None = None) -> list[Ticket]:
        """Tickets by SLA urgency: the nearest limit first (the queue index serves it)."""
        flt = flt or QueueFilter()
        where, params = queue_where(flt, self.clock())
        sql = f"SELECT * FROM tickets{where} ORDER BY sla_limit_at LIMIT ?"
        params.append(int(flt.limit))
        return [_row_to_ticket(r) for r in self.store.query(sql, tuple(params))]

    def sla_state(self, ticket: Ticket, now: datetime | None = None) -> SlaState:
        return ticket_state(ticket, now or self.clock())

    def time_left(self, ticket: Ticket, now: datetime | None = None) -> float | None:
        """Seconds to the SLA limit; None once answered (see `ronda.sla.ticket_time_left`)."""
        return ticket_time_left(ticket, now or self.clock())

    # ---- writing -------------------------------------------------------------------

    def open_ticket(
        self,
        *,
        source: Source,
        subject: str,
        priority: Priority,
        impact: Impact,
        actor: str,
        category: str | None = None,
        failure_class: FailureClass | None = None,
        site: str | None = None,
        customer: str | None = None,
        requester: str | None = None,
        dedupe_key: str | None = None,
        evidence: dict | None = None,
        parent_id: int | None = None,
        billable: bool = False,
        body: str | None = None,
        opened_at: datetime | None = None,
    ) -> Ticket:
        """Open a case and record its `opened` event. With a `dedupe_key` that already has
        an open ticket, raises `TicketError`: callers that dedupe use `find_open` first."""
        if not subject.strip():
            raise TicketError("a ticket needs a subject")
        source, priority, impact = Source(source), Priority(priority), Impact(impact)
        now = opened_at or self.clock()
        deadlines = self.policy.deadlines(priority, impact, now)
        with self.store.write() as db:
            next_id = db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM tickets").fetchone()[0]
            if dedupe_key is not None:
                clash = db.execute(
                    "SELECT case_number FROM tickets WHERE dedupe_key = ? "
                    f"AND status IN {OPEN_STATUSES_SQL}",
                    (dedupe_key,),
                ).fetchone()
                if clash:
                    raise TicketError(f"{clash[0]} is already open for {dedupe_key}")
            db.execute(
                """INSERT INTO tickets (id, case_number, source, subject, category,
                failure_class, site, customer, requester, priority, impact, status, opened_at,
                sla_target_at, sla_limit_at, billable, dedupe_key, parent_id, evidence,
                touched_by_agent, version, updated_at, opened_class)
                VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1,?,?)""",
                (
                    next_id,
                    case_number_for(next_id),
                    str(source),
                    subject,
                    category,
                    str(failure_class) if failure_class else None,
                    site,
                    customer,
                    requester,
                    str(priority),
                    str(impact),
                    str(Status.NEW),
                    now.timestamp(),
                    deadlines.target_at.timestamp(),
                    deadlines.limit_at.timestamp(),
                    int(billable),
                    dedupe_key,
                    parent_id,
                    json.dumps(evidence or {}, default=str),
                    int(actor not in SYSTEM_ACTORS and source != Source.PROBE),
                    now.timestamp(),
                    str(failure_class) if failure_class else None,
                ),
            )
            self._event(db, next_id, now, actor, "opened", body=body or subject)
        return self.get(next_id)

    def claim(self, ref: int | str, agent: str, version: int | None = None) -> Ticket:
        """Take an unassigned ticket. Atomic: of two agents claiming at once, one wins."""

        def change(db: sqlite_utils.Database, row: dict, now: datetime) -> dict:
            if row["assignee"] and row["assignee"] != agent:
                raise AlreadyClaimed(_row_to_ticket(row))
            self._event(db, row["id"], now, agent, "claimed", "assignee", row["assignee"], agent)
            return {"assignee": agent}

        return self._change(ref, agent, version, change)

    def assign(
        self, ref: int | str, assignee: str | None, actor: str, version: int | None
    ) -> Ticket:
        def change(db: sqlite_utils.Database, row: dict, now: datetime) -> dict:
            self._event(
                db, row["id"], now, actor, "assigned", "assignee", row["assignee"], assignee
            )
            return {"assignee": assignee}

        return self._change(ref, actor, version, change)

    def respond(self, ref: int | str, actor: str, body: str, version: int | None = None) -> Ticket:
        """A reply to the customer. The first one is the SLA's first response."""
        if not body.strip():
            raise TicketError("a reply needs a text")

        def change(db: sqlite_utils.Database, row: dict, now: datetime) -> dict:
            updates: dict = {}
            self._event(db, row["id"], now, actor, "replied", body=body)
            if row["first_response_at"] is None:
                updates.update(self._first_response(db, row, now, actor))
            if row["status"] in (Status.NEW, Status.REOPENED):
                updates.update(self._status(db, row, Status.OPEN, now, actor))
            return updates

        return self._change(ref, actor, version, change)

    def note(self, ref: int | str, actor: str, body: str) -> Ticket:
        """An internal note: additive, so it never conflicts with another agent's change."""
        if not body.strip():
            raise TicketError("a note needs a text")

        def change(db: sqlite_utils.Database, row: dict, now: datetime) -> dict:
            self._event(db, row["id"], now, actor, "note", body=body)
            return {}

        return self._change(ref, actor, None, change)

    def set_status(
        self,
        ref: int | str,
        status: Status,
        actor: str,
        version: int | None = None,
        reason: str | None = None,
    ) -> Ticket:
        status = Status(status)

        def change(db: sqlite_utils.Database, row: dict, now: datetime) -> dict:
            updates = self._status(db, row, status, now, actor, reason)
            # Resolving or closing by an agent answers the customer if nobody had yet.
            if (
                status in (Status.RESOLVED, Status.CLOSED)
                and row["first_response_at"] is None
                and actor not in SYSTEM_ACTORS
            ):
                updates.update(self._first_response(db, row, now, actor))
            return updates

        return self._change(ref, actor, version, change)

    def resolve(
        self, ref: int | str, actor: str, version: int | None = None, reason: str | None = None
    ) -> Ticket:
        return self.set_status(ref, Status.RESOLVED, actor, version, reason)

    def reopen(
        self, ref: int | str, actor: str, version: int | None = None, reason: str | None = None
    ) -> Ticket:
        return self.set_status(ref, Status.REOPENED, actor, version, reason)

    def reprioritize(
        self,
        ref: int | str,
        actor: str,
        version: int | None = None,
        *,
        priority: Priority | None = None,
        impact: Impact | None = None,
        reason: str,
    ) -> Ticket:
        """Change priority and/or impact; deadlines are recomputed from the opening time."""
        if not reason.strip():
            raise TicketError("changing priority or impact needs a reason")

        def change(db: sqlite_utils.Database, row: dict, now: datetime) -> dict:
            new_p = Priority(priority) if priority else Priority(row["priority"])
            new_i = Impact(impact) if impact else Impact(row["impact"])
            updates: dict = {}
            if new_p != row["priority"]:
                self._event(
                    db,
                    row["id"],
                    now,
                    actor,
                    "priority",
                    "priority",
                    row["priority"],
                    new_p,
                    reason,
                )
                updates["priority"] = str(new_p)
            if new_i != row["impact"]:
                self._event(
                    db, row["id"], now, actor, "impact", "impact", row["impact"], new_i, reason
                )
                updates["impact"] = str(new_i)
            if not updates:
                return {}
            # Pauses are re-measured in the new cell's calendar: a weekend pause is 0
            # business seconds but 48 h on a 24x7 cell.
            paused = self.policy.paused_total(new_p, new_i, self._pauses(db, row["id"]))
            updates["paused_seconds"] = paused
            updates.update(self._recompute(db, row, new_p, new_i, paused, now, actor))
            return updates

        return self._change(ref, actor, version, change)

    def set_billable(
        self, ref: int | str, billable: bool, actor: str, version: int | None = None
    ) -> Ticket:
        def change(db: sqlite_utils.Database, row: dict, now: datetime) -> dict:
            self._event(
                db,
                row["id"],
                now,
                actor,
                "billable",
                "billable",
                str(bool(row["billable"])),
                str(billable),
            )
            return {"billable": int(billable)}

        return self._change(ref, actor, version, change)

    def log_time(
        self, ref: int | str, actor: str, seconds: float, note: str | None = None
    ) -> Ticket:
        if seconds <= 0:
            raise TicketError(f"time spent must be positive, got {seconds}")

        def change(db: sqlite_utils.Database, row: dict, now: datetime) -> dict:
            db.execute(
                "INSERT INTO time_entries (ticket_id, agent, at, seconds, note, billable) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (row["id"], actor, now.timestamp(), seconds, note, row["billable"]),
            )
            self._event(
                db, row["id"], now, actor, "time_logged", "seconds", None, str(seconds), note
            )
            return {}

        return self._change(ref, actor, None, change)

    def time_spent(self, ref: int | str) -> float:
        ticket = self.get(ref)
        row = self.store.db.execute(
            "SELECT COALESCE(SUM(seconds), 0) FROM time_entries WHERE ticket_id = ?", (ticket.id,)
        ).fetchone()
        return float(row[0])

    def link_parent(
        self, ref: int | str, parent_ref: int | str | None, actor: str, version: int | None = None
    ) -> Ticket:
        parent = self.get(parent_ref) if parent_ref is not None else None

        def change(db: sqlite_utils.Database, row: dict, now: datetime) -> dict:
            if parent is not None and parent.id == row["id"]:
                raise TicketError("a ticket cannot be its own parent")
            old = case_number_for(row["parent_id"]) if row["parent_id"] else None
            new = parent.case_number if parent else None
            self._event(db, row["id"], now, actor, "linked", "parent", old, new)
            return {"parent_id": parent.id if parent else None}

        return self._change(ref, actor, version, change)

    def record(
        self,
        ref: int | str,
        actor: str,
        kind: str,
        body: str | None = None,
        *,
        evidence: dict | None = None,
        failure_class: FailureClass | None = None,
    ) -> Ticket:
        """A fact from a probe or the mail channel (recurrence, recovery, a new message):
        appended without a version check and without making the ticket touched."""

        def change(db: sqlite_utils.Database, row: dict, now: datetime) -> dict:
            updates: dict = {}
            self._event(db, row["id"], now, actor, kind, body=body)
            if evidence is not None:
                merged = json.loads(row["evidence"] or "{}")
                merged.update(evidence)
                updates["evidence"] = json.dumps(merged, default=str)
            if failure_class is not None and failure_class != row["failure_class"]:
                self._event(
                    db,
                    row["id"],
                    now,
                    actor,
                    "class",
                    "failure_class",
                    row["failure_class"],
                    failure_class,
                )
                updates["failure_class"] = str(failure_class)
            return updates

        return self._change(ref, actor, None, change)

    # ---- the one write path --------------------------------------------------------

    def _change(
        self,
        ref: int | str,
        actor: str,
        version: int | None,
        change: Callable[[sqlite_utils.Database, dict, datetime], dict],
    ) -> Ticket:
        now = self.clock()
        with self.store.write() as db:
            row = self._row(db, ref)
            if version is not None and row["version"] != version:
                raise StaleTicket(_row_to_ticket(row), version)
            updates = change(db, row, now)
            if actor not in SYSTEM_ACTORS:
                updates["touched_by_agent"] = 1
            updates["updated_at"] = now.timestamp()
            assignments = ", ".join(f"{column} = ?" for column in updates)
            cursor = db.execute(
                f"UPDATE tickets SET {assignments}, version = version + 1 "  # column names are ours
                "WHERE id = ? AND version = ?",
                (*updates.values(), row["id"], row["version"]),
            )
            if cursor.rowcount != 1:  # cannot happen under BEGIN IMMEDIATE; guard anyway
                raise StaleTicket(_row_to_ticket(row), row["version"])
        return self.get(row["id"])

    def _event(
        self,
        db: sqlite_utils.Database,
        ticket_id: int,
        at: datetime,
        actor: str,
        kind: str,
        field: str | None = None,
        old: object = None,
        new: object = None,
        body: str | None = None,
    ) -> None:
        db.execute(
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

    def _first_response(
        self, db: sqlite_utils.Database, row: dict, now: datetime, actor: str
    ) -> dict:
        limit = row["sla_limit_at"]
        if row["paused_at"] is not None:
            limit = None  # a reply while paused is within the SLA: the clock was stopped
        outcome = "met" if limit is None or now.timestamp() <= limit else "missed"
        elapsed = self.policy.business_elapsed(
            Priority(row["priority"]),
            Impact(row["impact"]),
            from_epoch(row["opened_at"]),
            now,
            paused_seconds=row["paused_seconds"],
        )
        self._event(db, row["id"], now, actor, "first_response", "sla_outcome", None, outcome)
        return {
            "first_response_at": now.timestamp(),
            "first_response_seconds": max(0.0, elapsed),
            "sla_outcome": outcome,
            "outcome_priority": row["priority"],
            "outcome_impact": row["impact"],
        }

    def _status(
        self,
        db: sqlite_utils.Database,
        row: dict,
        status: Status,
        now: datetime,
        actor: str,
        reason: str | None = None,
    ) -> dict:
        current = Status(row["status"])
        if status == current:
            raise InvalidTransition(f"{row['case_number']} is already {status}")
        if status not in ALLOWED_TRANSITIONS[current]:
            raise InvalidTransition(f"{row['case_number']} cannot go from {current} to {status}")
        self._event(db, row["id"], now, actor, "status", "status", current, status, reason)
        updates: dict = {"status": str(status)}
        paused_seconds = row["paused_seconds"]
        if current == Status.PENDING_CUSTOMER and row["paused_at"] is not None:
            # Resuming: the paused business time extends both deadlines.
            paused = self.policy.paused_business_seconds(
                Priority(row["priority"]), Impact(row["impact"]), from_epoch(row["paused_at"]), now
            )
            paused_seconds += paused
            updates["paused_at"] = None
            updates["paused_seconds"] = paused_seconds
            updates.update(
                self._recompute(
                    db,
                    row,
                    Priority(row["priority"]),
                    Impact(row["impact"]),
                    paused_seconds,
                    now,
                    actor,
                )
            )
        if status == Status.PENDING_CUSTOMER:
            updates["paused_at"] = now.timestamp()
        if status in (Status.RESOLVED, Status.CLOSED):
            updates["resolved_at"] = now.timestamp()
            if (
                row["first_response_at"] is None
                and actor in SYSTEM_ACTORS
                and row["sla_limit_at"] is not None
                and now.timestamp() > row["sla_limit_at"]
            ):
                # Resolved by a probe after the limit with no answer: the promise was missed.
                updates["sla_outcome"] = "missed"
                updates["outcome_priority"] = row["priority"]
                updates["outcome_impact"] = row["impact"]
        if status == Status.REOPENED:
            updates["resolved_at"] = None
        return updates

    def _pauses(self, db: sqlite_utils.Database, ticket_id: int) -> list[tuple[datetime, datetime]]:
        """Finished pauses (pending_customer spells) from the ticket's history."""
        pauses: list[tuple[datetime, datetime]] = []
        started: float | None = None
        for at, old, new in db.execute(
            "SELECT at, old, new FROM ticket_events WHERE ticket_id = ? AND field = 'status' "
            "ORDER BY id",
            (ticket_id,),
        ):
            if new == Status.PENDING_CUSTOMER:
                started = at
            elif old == Status.PENDING_CUSTOMER and started is not None:
                pauses.append((from_epoch(started), from_epoch(at)))
                started = None
        return pauses

    def _recompute(
        self,
        db: sqlite_utils.Database,
        row: dict,
        priority: Priority,
        impact: Impact,
        paused_seconds: float,
        now: datetime,
        actor: str,
    ) -> dict:
        deadlines = self.policy.deadlines(
            priority, impact, from_epoch(row["opened_at"]), paused_seconds=paused_seconds
        )
        new_limit = deadlines.limit_at.timestamp()
        self._event(
            db,
            row["id"],
            now,
            actor,
            "sla_recomputed",
            "sla_limit_at",
            from_epoch(row["sla_limit_at"]).isoformat() if row["sla_limit_at"] else None,
            deadlines.limit_at.isoformat(),
        )
        return {"sla_target_at": deadlines.target_at.timestamp(), "sla_limit_at": new_limit}


__all__ = [
    "AlreadyClaimed",
    "Desk",
    "InvalidTransition",
    "QueueFilter",
    "StaleTicket",
    "TicketError",
    "TicketNotFound",
    "case_number_for",
    "ticket_id_from_case",
]
