"""The SLA bookkeeping of a change to a ticket: the two clocks judged, stopped and moved.

A ticket has a first-response clock from its opening, and a next-reply clock each time the
customer writes again after the first response (`SlaPolicy.next_response`). Both count in
the cell's calendar, stop while the ticket waits on the customer, and move out by the time
paused. Every judgement follows one rule: an answer while paused is judged by the clock as
it stood when the pause began (`ronda.sla.judge_response`), and business time consumed
never includes a pause, finished or running.

Each function here runs inside `Desk._change`: it records the events of what it decided and
returns the row's fields to change; `Clocks` holds the policy and the table methods.
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import datetime

from ronda.model import Impact, Priority, Ticket
from ronda.sla import SlaPolicy, judge_response
from ronda.store.tickets import TicketRecords

# Outcomes stored on a clock: answered in time or not, or no answer was owed after all.
MET, MISSED, NOT_DUE = "met", "missed", "not_due"
_TICKET_FIELDS = frozenset(f.name for f in fields(Ticket))


def after(ticket: Ticket, updates: dict) -> Ticket:
    """The ticket as it will be once `updates` (row fields) are written."""
    known = {k: v for k, v in updates.items() if k in _TICKET_FIELDS}
    return replace(ticket, **known) if known else ticket


def first_judged(ticket: Ticket) -> bool:
    """The first-response clock is over: answered, or judged without an answer."""
    return ticket.first_response_at is not None or ticket.sla_outcome is not None


def _stopped_at(ticket: Ticket, now: datetime) -> datetime:
    """Where the clock stands: at the pause while paused, else now."""
    return ticket.paused_at if ticket.paused_at is not None and ticket.paused_at <= now else now


class Clocks:
    """The SLA side of every change the desk makes."""

    def __init__(self, policy: SlaPolicy, records: TicketRecords) -> None:
        self.policy = policy
        self.records = records

    # ---- the first response ---------------------------------------------------------

    def first_response(self, ticket: Ticket, now: datetime, actor: str) -> dict:
        """An agent's answer to a case not answered yet: met or missed, and the business
        time it took (pauses, the running one too, left out)."""
        outcome = judge_response(ticket.sla_limit_at, now, ticket.paused_at)
        elapsed = self.policy.business_elapsed(
            ticket.priority,
            ticket.impact,
            ticket.opened_at,
            _stopped_at(ticket, now),
            paused_seconds=ticket.paused_seconds,
        )
        self.records.add_event(
            ticket.id, now, actor, "first_response", "sla_outcome", None, outcome
        )
        return {
            "first_response_at": now,
            "first_response_seconds": elapsed,
            "sla_outcome": outcome,
            # The cell it is counted under for good (see migration 3).
            "outcome_priority": ticket.priority,
            "outcome_impact": ticket.impact,
        }

    def unanswered_at_resolution(self, ticket: Ticket, now: datetime, actor: str) -> dict:
        """A system (a probe) resolves a case nobody answered: missed when its clock had
        run out, else no answer was owed."""
        outcome = judge_response(ticket.sla_limit_at, now, ticket.paused_at)
        if outcome == MISSED:
            # Resolved past the limit with no answer: the promise was missed.
            self.records.add_event(
                ticket.id, now, actor, "first_response", "sla_outcome", None, MISSED
            )
            return {
                "sla_outcome": MISSED,
                "outcome_priority": ticket.priority,
                "outcome_impact": ticket.impact,
            }
        return {"sla_outcome": NOT_DUE}

    # ---- the next reply -------------------------------------------------------------

    def reply_due(self, ticket: Ticket, now: datetime, actor: str) -> dict:
        """The customer wrote again: a reply is due within the cell's times, unless one is
        owed already (the oldest unanswered message keeps its clock), the first response is
        still running (it covers the message), the case is closed, or the policy has no
        next-reply clock."""
        if (
            not self.policy.next_response
            or ticket.reply_due_at is not None
            or not first_judged(ticket)
            or not ticket.status.is_open
        ):
            return {}
        d = self.policy.deadlines(ticket.priority, ticket.impact, now)
        self.records.add_event(
            ticket.id, now, actor, "reply_due", "reply_limit_at", None, d.limit_at.isoformat()
        )
        self.records.start_next_response(
            ticket.id,
            {
                "priority": ticket.priority,
                "impact": ticket.impact,
                "customer": ticket.customer,
                "due_at": now,
                "target_at": d.target_at,
                "limit_at": d.limit_at,
                "paused_at": ticket.paused_at,
            },
        )
        return {"reply_due_at": now, "reply_target_at": d.target_at, "reply_limit_at": d.limit_at}

    def reply_answered(self, ticket: Ticket, now: datetime, actor: str) -> dict:
        """An agent answered while a reply was owed: met or missed, judged like a first
        response (by the clock as it stood at a pause)."""
        if ticket.reply_due_at is None:
            return {}
        outcome = judge_response(ticket.reply_limit_at, now, ticket.paused_at)
        return self._close_reply(ticket, now, actor, outcome, answered=True)

    def reply_unanswered_at_resolution(self, ticket: Ticket, now: datetime, actor: str) -> dict:
        """A system resolves a case with a reply owed: missed past its limit, else dropped
        (not due)."""
        if ticket.reply_due_at is None:
            return {}
        outcome = judge_response(ticket.reply_limit_at, now, ticket.paused_at)
        return self._close_reply(
            ticket, now, actor, MISSED if outcome == MISSED else NOT_DUE, answered=False
        )

    def _close_reply(
        self, ticket: Ticket, now: datetime, actor: str, outcome: str, *, answered: bool
    ) -> dict:
        assert ticket.reply_due_at is not None
        cal = self.policy.calendar_for(ticket.priority, ticket.impact)
        stopped = _stopped_at(ticket, now)
        paused = self._reply_paused(ticket, ticket.priority, ticket.impact, upto=stopped)
        business = max(0.0, cal.between(ticket.reply_due_at, stopped) - paused)
        self.records.add_event(
            ticket.id, now, actor, "next_response", "reply_outcome", None, outcome
        )
        self.records.update_next_response(
            ticket.id,
            {
                "priority": ticket.priority,  # the cell it is counted under for good
                "impact": ticket.impact,
                "answered_at": now if answered else None,
                "outcome": outcome,
                "business_seconds": business if answered else None,
            },
        )
        return {"reply_due_at": None, "reply_target_at": None, "reply_limit_at": None}

    def _reply_paused(
        self,
        ticket: Ticket,
        priority: Priority,
        impact: Impact,
        *,
        upto: datetime | None = None,
        running: tuple[datetime, datetime] | None = None,
    ) -> float:
        """Business seconds the next-reply clock was stopped: the finished pauses (and the
        `running` one) after the customer wrote, in the cell's calendar, up to `upto`."""
        assert ticket.reply_due_at is not None
        since = ticket.reply_due_at
        spells = self.records.pauses(ticket.id)
        if running is not None:
            spells.append(running)
        total = 0.0
        cal = self.policy.calendar_for(priority, impact)
        for start, end in spells:
            if upto is not None:
                end = min(end, upto)
            start = max(start, since)
            if end > start:
                total += cal.between(start, end)
        return total

    # ---- pauses and cell changes ----------------------------------------------------

    def paused(self, ticket: Ticket, now: datetime) -> dict:
        """The case now waits on the customer: both clocks stop."""
        if ticket.reply_due_at is not None:
            self.records.update_next_response(ticket.id, {"paused_at": now})
        return {"paused_at": now}

    def resumed(self, ticket: Ticket, now: datetime, actor: str) -> dict:
        """The pause that began at `ticket.paused_at` ends now: it adds to the pauses so
        far, and a clock still running moves out by it."""
        assert ticket.paused_at is not None
        pause = self.policy.paused_business_seconds(
            ticket.priority, ticket.impact, ticket.paused_at, now
        )
        paused_seconds = ticket.paused_seconds + pause
        updates: dict = {"paused_at": None, "paused_seconds": paused_seconds}
        updates.update(
            self.recompute(ticket, ticket.priority, ticket.impact, paused_seconds, now, actor)
        )
        if ticket.reply_due_at is not None:
            self.records.update_next_response(ticket.id, {"paused_at": None})
        return updates

    def recompute(
        self,
        ticket: Ticket,
        priority: Priority,
        impact: Impact,
        paused_seconds: float,
        now: datetime,
        actor: str,
    ) -> dict:
        """Deadlines of the clocks still running, in the cell (`priority`, `impact`), with
        the pauses so far. A judged first response keeps its limit: it was promised and
        counted under it."""
        updates: dict = {}
        records = self.records
        if not first_judged(ticket):
            d = self.policy.deadlines(priority, impact, ticket.opened_at, paused_seconds)
            records.add_event(
                ticket.id,
                now,
                actor,
                "sla_recomputed",
                "sla_limit_at",
                ticket.sla_limit_at.isoformat() if ticket.sla_limit_at else None,
                d.limit_at.isoformat(),
            )
            updates.update(sla_target_at=d.target_at, sla_limit_at=d.limit_at)
        if ticket.reply_due_at is not None:
            # The pause that ends now is in the history already (its status event comes
            # first) or still running (a cell change while paused: it counts at resume).
            reply_paused = self._reply_paused(ticket, priority, impact)
            d = self.policy.deadlines(priority, impact, ticket.reply_due_at, reply_paused)
            records.add_event(
                ticket.id,
                now,
                actor,
                "sla_recomputed",
                "reply_limit_at",
                ticket.reply_limit_at.isoformat() if ticket.reply_limit_at else None,
                d.limit_at.isoformat(),
            )
            records.update_next_response(
                ticket.id,
                {
                    "priority": priority,
                    "impact": impact,
                    "target_at": d.target_at,
                    "limit_at": d.limit_at,
                },
            )
            updates.update(reply_target_at=d.target_at, reply_limit_at=d.limit_at)
        return updates


__all__ = ["MET", "MISSED", "NOT_DUE", "Clocks", "after", "first_judged"]
