"""Tickets: every change to a case goes through here, written with its event in one
transaction.

Optimistic concurrency: each ticket carries a `version`; a change made from a stale copy
fails with `StaleTicket` instead of overwriting another agent's work. Claiming is atomic:
of two agents, one wins. SLA deadlines are computed by `ronda.sla` and stored on the row so
the queue and the exporter can sort and count in SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from ronda.model import (
    ALLOWED_TRANSITIONS,
    FailureClass,
    Impact,
    Priority,
    QueueFilter,
    SlaState,
    Source,
    Status,
    Ticket,
    TicketEvent,
)
from ronda.sla import SlaPolicy, ticket_state, ticket_time_left
from ronda.store import Store
from ronda.store.public import PUBLIC_UPDATE
from ronda.store.tickets import NextResponse, TicketRecords
from ronda.ticket_clocks import NOT_DUE, Clocks, after, first_judged

CASE_PREFIX = "R-"
# Case numbers start at four digits: short enough to read out on the phone.
CASE_OFFSET = 1000
# Actors that are not agents: their changes do not make a ticket "touched".
SYSTEM_ACTORS = frozenset({"probe", "system", "mail"})
PUBLIC_UPDATE_CHARS = 2000  # a status page shows it whole


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
    """`R-2481` (or `r2481`, `2481`, `r 2481`, `r-2481`: as read over the phone) -> the
    ticket id, or None when it is not a case number."""
    text = "".join(case_number.split()).upper().removeprefix(CASE_PREFIX).removeprefix("R")
    text = text.removeprefix("-")
    if not text.isdigit():
        return None
    number = int(text)
    return number - CASE_OFFSET if number > CASE_OFFSET else None


# A change to one ticket: given the store, the fresh ticket (read under the write lock) and
# now, record its events and return the fields to change.
Change = Callable[["TicketRecords", Ticket, datetime], dict]


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
        ticket_id = ref if isinstance(ref, int) else ticket_id_from_case(ref)
        ticket = self.store.tickets.get(ticket_id) if ticket_id is not None else None
        if ticket is None:
            raise TicketNotFound(f"no ticket {ref!r}")
        return ticket

    def find_open(self, dedupe_key: str) -> Ticket | None:
        return self.store.tickets.open_with_key(dedupe_key)

    def events(self, ref: int | str) -> list[TicketEvent]:
        return self.store.tickets.events(self.get(ref).id)

    def children(self, ref: int | str) -> list[Ticket]:
        return self.store.tickets.children(self.get(ref).id)

    def queue(self, flt: QueueFilter | None = None) -> list[Ticket]:
        """Tickets by SLA urgency: the nearest limit first."""
        return self.store.queue.tickets(flt or QueueFilter(), self.clock())

    def sla_state(self, ticket: Ticket, now: datetime | None = None) -> SlaState:
        return ticket_state(ticket, now or self.clock())

    def time_left(self, ticket: Ticket, now: datetime | None = None) -> float | None:
        """Seconds to the limit of the running clock; None when none runs (see
        `ronda.sla.ticket_time_left`)."""
        return ticket_time_left(ticket, now or self.clock())

    def time_spent(self, ref: int | str) -> float:
        return self.store.tickets.time_spent(self.get(ref).id)

    def next_responses(self, ref: int | str) -> list[NextResponse]:
        """The case's next-reply clocks, oldest first (the last may still be owed)."""
        return self.store.tickets.next_responses(self.get(ref).id)

    # ---- writing -------------------------------------------------------------------

    def transaction(self) -> AbstractContextManager[object]:
        """One transaction around several changes and what the caller writes with them:
        `with desk.transaction(): ticket = desk.respond(...); queue_mail(...)` commits the
        reply and the message it causes together, or neither. Every change made inside joins
        it (each as a savepoint of its own)."""
        return self.store.write()

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
        records = self.store.tickets
        with self.store.write():
            if dedupe_key is not None:
                clash = records.open_with_key(dedupe_key)
                if clash is not None:
                    raise TicketError(f"{clash.case_number} is already open for {dedupe_key}")
            next_id = records.next_id()
            records.insert(
                next_id,
                {
                    "case_number": case_number_for(next_id),
                    "source": source,
                    "subject": subject,
                    "category": category,
                    "failure_class": failure_class,
                    "site": site,
                    "customer": customer,
                    "requester": requester,
                    "priority": priority,
                    "impact": impact,
                    "status": Status.NEW,
                    "opened_at": now,
                    "sla_target_at": deadlines.target_at,
                    "sla_limit_at": deadlines.limit_at,
                    "billable": billable,
                    "dedupe_key": dedupe_key,
                    "parent_id": parent_id,
                    "evidence": evidence or {},
                    "touched_by_agent": actor not in SYSTEM_ACTORS and source != Source.PROBE,
                    "updated_at": now,
                    # The class it is counted under for good (see migration 3).
                    "opened_class": failure_class,
                },
            )
            records.add_event(next_id, now, actor, "opened", body=body or subject)
        return self.get(next_id)

    def claim(self, ref: int | str, agent: str, version: int | None = None) -> Ticket:
        """Take an unassigned ticket. Atomic: of two agents claiming at once, one wins."""

        def change(records: TicketRecords, ticket: Ticket, now: datetime) -> dict:
            if ticket.assignee and ticket.assignee != agent:
                raise AlreadyClaimed(ticket)
            records.add_event(ticket.id, now, agent, "claimed", "assignee", ticket.assignee, agent)
            return {"assignee": agent}

        return self._change(ref, agent, version, change)

    def assign(
        self, ref: int | str, assignee: str | None, actor: str, version: int | None
    ) -> Ticket:
        def change(records: TicketRecords, ticket: Ticket, now: datetime) -> dict:
            records.add_event(
                ticket.id, now, actor, "assigned", "assignee", ticket.assignee, assignee
            )
            return {"assignee": assignee}

        return self._change(ref, actor, version, change)

    def respond(self, ref: int | str, actor: str, body: str, version: int | None = None) -> Ticket:
        """A reply to the customer. The first one is the SLA's first response; one sent
        while a next reply is owed answers it."""
        if not body.strip():
            raise TicketError("a reply needs a text")

        def change(records: TicketRecords, ticket: Ticket, now: datetime) -> dict:
            records.add_event(ticket.id, now, actor, "replied", body=body)
            return self._answered(records, ticket, now, actor)

        return self._change(ref, actor, version, change)

    def customer_wrote(
        self,
        ref: int | str,
        actor: str,
        kind: str,
        body: str | None = None,
        *,
        reopen_reason: str | None = None,
        resume_reason: str | None = None,
    ) -> Ticket:
        """A message from the customer that wants an answer (a mail follow-up): recorded
        as a `kind` event; a resolved or closed case reopens, one waiting on the customer
        resumes; and once the first response is given, a reply is due (the next-reply
        clock, `SlaPolicy.next_response`). Appended without a version check."""

        def change(records: TicketRecords, ticket: Ticket, now: datetime) -> dict:
            records.add_event(ticket.id, now, actor, kind, body=body)
            return self._customer_message(records, ticket, now, actor, reopen_reason, resume_reason)

        return self._change(ref, actor, None, change)

    def phone_call(
        self,
        ref: int | str,
        agent: str,
        body: str,
        *,
        answered: bool = False,
        version: int | None = None,
    ) -> Ticket:
        """The customer called about an existing case; `body` says what they asked. Unless
        the agent `answered` on the phone, a reply is due as for a mail follow-up (a closed
        case reopens, a paused one resumes); an answer given on the phone counts as the
        reply (the first response, or the one owed)."""
        if not body.strip():
            raise TicketError("a phone call needs a text (what the customer asked)")

        def change(records: TicketRecords, ticket: Ticket, now: datetime) -> dict:
            records.add_event(ticket.id, now, agent, "phone_call", body=body)
            if answered:
                return self._answered(records, ticket, now, agent)
            return self._customer_message(
                records,
                ticket,
                now,
                agent,
                "the customer called about it again",
                "the customer answered by phone",
            )

        return self._change(ref, agent, version, change)

    def note(self, ref: int | str, actor: str, body: str) -> Ticket:
        """An internal note: additive, so it never conflicts with another agent's change."""
        if not body.strip():
            raise TicketError("a note needs a text")

        def change(records: TicketRecords, ticket: Ticket, now: datetime) -> dict:
            records.add_event(ticket.id, now, actor, "note", body=body)
            return {}

        return self._change(ref, actor, None, change)

    def public_update(self, ref: int | str, actor: str, body: str) -> Ticket:
        """An update for the customers (the status page shows it with the incident): not a
        reply, so no SLA clock moves; additive, like a note, so no version check. One
        paragraph of at most `PUBLIC_UPDATE_CHARS` characters."""
        text = body.strip()
        if not text:
            raise TicketError("a public update needs a text")
        if len(text) > PUBLIC_UPDATE_CHARS:
            raise TicketError(
                f"a public update is at most {PUBLIC_UPDATE_CHARS} characters ({len(text)} given)"
            )

        def change(records: TicketRecords, ticket: Ticket, now: datetime) -> dict:
            records.add_event(ticket.id, now, actor, PUBLIC_UPDATE, body=text)
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

        def change(records: TicketRecords, ticket: Ticket, now: datetime) -> dict:
            updates = self._status(records, ticket, status, now, actor, reason)
            if status in (Status.RESOLVED, Status.CLOSED):
                clocks = Clocks(self.policy, records)
                if actor in SYSTEM_ACTORS:
                    if not first_judged(ticket):
                        updates.update(clocks.unanswered_at_resolution(ticket, now, actor))
                    updates.update(clocks.reply_unanswered_at_resolution(ticket, now, actor))
                else:
                    # Resolving or closing by an agent answers the customer: the first
                    # response if nobody had given it yet, and the reply owed if any.
                    if ticket.first_response_at is None and ticket.sla_outcome != NOT_DUE:
                        updates.update(clocks.first_response(ticket, now, actor))
                    updates.update(clocks.reply_answered(ticket, now, actor))
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

        def change(records: TicketRecords, ticket: Ticket, now: datetime) -> dict:
            new_p = Priority(priority) if priority else ticket.priority
            new_i = Impact(impact) if impact else ticket.impact
            updates: dict = {}
            if new_p != ticket.priority:
                records.add_event(
                    ticket.id, now, actor, "priority", "priority", ticket.priority, new_p, reason
                )
                updates["priority"] = new_p
            if new_i != ticket.impact:
                records.add_event(
                    ticket.id, now, actor, "impact", "impact", ticket.impact, new_i, reason
                )
                updates["impact"] = new_i
            if not updates:
                return {}
            # Pauses are re-measured in the new cell's calendar: a weekend pause is 0
            # business seconds but 48 h on a 24x7 cell.
            paused = self.policy.paused_total(new_p, new_i, records.pauses(ticket.id))
            updates["paused_seconds"] = paused
            clocks = Clocks(self.policy, records)
            updates.update(clocks.recompute(ticket, new_p, new_i, paused, now, actor))
            return updates

        return self._change(ref, actor, version, change)

    def set_billable(
        self, ref: int | str, billable: bool, actor: str, version: int | None = None
    ) -> Ticket:
        def change(records: TicketRecords, ticket: Ticket, now: datetime) -> dict:
            records.add_event(
                ticket.id,
                now,
                actor,
                "billable",
                "billable",
                str(ticket.billable),
                str(bool(billable)),
            )
            return {"billable": bool(billable)}

        return self._change(ref, actor, version, change)

    def log_time(
        self, ref: int | str, actor: str, seconds: float, note: str | None = None
    ) -> Ticket:
        if seconds <= 0:
            raise TicketError(f"time spent must be positive, got {seconds}")

        def change(records: TicketRecords, ticket: Ticket, now: datetime) -> dict:
            records.add_time(ticket.id, actor, now, seconds, note, ticket.billable)
            records.add_event(
                ticket.id, now, actor, "time_logged", "seconds", None, str(seconds), note
            )
            return {}

        return self._change(ref, actor, None, change)

    def set_requester(self, ref: int | str, requester: str, actor: str, reason: str) -> Ticket:
        """Name who the desk writes to on this case (a probe case: the site's customer
        contact). Additive, like a note: no version check."""

        def change(records: TicketRecords, ticket: Ticket, now: datetime) -> dict:
            if ticket.requester == requester:
                return {}
            records.add_event(
                ticket.id, now, actor, "requester", "requester", ticket.requester, requester, reason
            )
            return {"requester": requester}

        return self._change(ref, actor, None, change)

    def link_parent(
        self, ref: int | str, parent_ref: int | str | None, actor: str, version: int | None = None
    ) -> Ticket:
        parent = self.get(parent_ref) if parent_ref is not None else None

        def change(records: TicketRecords, ticket: Ticket, now: datetime) -> dict:
            if parent is not None and parent.id == ticket.id:
                raise TicketError("a ticket cannot be its own parent")
            old = case_number_for(ticket.parent_id) if ticket.parent_id else None
            new = parent.case_number if parent else None
            records.add_event(ticket.id, now, actor, "linked", "parent", old, new)
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

        def change(records: TicketRecords, ticket: Ticket, now: datetime) -> dict:
            updates: dict = {}
            records.add_event(ticket.id, now, actor, kind, body=body)
            if evidence is not None:
                updates["evidence"] = {**ticket.evidence, **evidence}
            if failure_class is not None and failure_class != ticket.failure_class:
                records.add_event(
                    ticket.id,
                    now,
                    actor,
                    "class",
                    "failure_class",
                    ticket.failure_class,
                    failure_class,
                )
                updates["failure_class"] = FailureClass(failure_class)
            return updates

        return self._change(ref, actor, None, change)

    # ---- the one write path --------------------------------------------------------

    def _change(self, ref: int | str, actor: str, version: int | None, change: Change) -> Ticket:
        now = self.clock()
        records = self.store.tickets
        with self.store.write():
            ticket = self.get(ref)  # read again under the write lock
            if version is not None and ticket.version != version:
                raise StaleTicket(ticket, version)
            updates = change(records, ticket, now)
            if actor not in SYSTEM_ACTORS:
                updates["touched_by_agent"] = True
            updates["updated_at"] = now
            if not records.update(ticket.id, ticket.version, updates):
                # Cannot happen under BEGIN IMMEDIATE; guard anyway.
                raise StaleTicket(ticket, ticket.version)
        return self.get(ticket.id)

    def _answered(self, records: TicketRecords, ticket: Ticket, now: datetime, actor: str) -> dict:
        """An agent answered the customer: the first response if none was given (unless
        none was owed), the reply owed if any, and a new or reopened case is open."""
        clocks = Clocks(self.policy, records)
        updates: dict = {}
        if ticket.first_response_at is None and ticket.sla_outcome != NOT_DUE:
            updates.update(clocks.first_response(ticket, now, actor))
        updates.update(clocks.reply_answered(ticket, now, actor))
        if ticket.status in (Status.NEW, Status.REOPENED):
            updates.update(self._status(records, ticket, Status.OPEN, now, actor))
        return updates

    def _customer_message(
        self,
        records: TicketRecords,
        ticket: Ticket,
        now: datetime,
        actor: str,
        reopen_reason: str | None,
        resume_reason: str | None,
    ) -> dict:
        updates: dict = {}
        if ticket.status in (Status.RESOLVED, Status.CLOSED):
            updates.update(
                self._status(records, ticket, Status.REOPENED, now, actor, reopen_reason)
            )
        elif ticket.status == Status.PENDING_CUSTOMER:
            # The customer answered: the paused SLA clock runs again.
            updates.update(self._status(records, ticket, Status.OPEN, now, actor, resume_reason))
        current = after(ticket, updates)
        updates.update(Clocks(self.policy, records).reply_due(current, now, actor))
        return updates

    def _status(
        self,
        records: TicketRecords,
        ticket: Ticket,
        status: Status,
        now: datetime,
        actor: str,
        reason: str | None = None,
    ) -> dict:
        current = ticket.status
        if status == current:
            raise InvalidTransition(f"{ticket.case_number} is already {status}")
        if status not in ALLOWED_TRANSITIONS[current]:
            raise InvalidTransition(f"{ticket.case_number} cannot go from {current} to {status}")
        records.add_event(ticket.id, now, actor, "status", "status", current, status, reason)
        updates: dict = {"status": status}
        clocks = Clocks(self.policy, records)
        if current == Status.PENDING_CUSTOMER and ticket.paused_at is not None:
            # Resuming: the paused business time adds up and extends the running clocks.
            updates.update(clocks.resumed(ticket, now, actor))
        if status == Status.PENDING_CUSTOMER:
            updates.update(clocks.paused(ticket, now))
        if status in (Status.RESOLVED, Status.CLOSED):
            updates["resolved_at"] = now
        if status == Status.REOPENED:
            updates["resolved_at"] = None
            if not first_judged(ticket):
                # Resolved before this version judged unanswered cases: none was owed then.
                updates["sla_outcome"] = NOT_DUE
        return updates


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
