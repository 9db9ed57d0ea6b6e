"""The SLA clock: deadlines, states and compliance from the priority x impact matrix.

Two notions stay apart: the *deadline* an agent sees is a wall-clock instant
(`Deadlines.target_at`, `Deadlines.limit_at`); the *business time consumed* is a timer in the
cell's calendar that stops while the ticket waits on the customer. Pauses are measured in
the cell's calendar (`paused_business_seconds`) and push both deadlines out by that much
business time. Everything here is pure: callers pass `now` and the ticket's history.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ronda.calendar import BusinessCalendar
from ronda.config import Config
from ronda.contract import (
    BUSINESS,
    CALENDAR_NAMES,
    TWENTY_FOUR_SEVEN_NAME,
    Cell,
    SlaCellConfig,
    default_matrix,
)
from ronda.model import Impact, Priority, SlaState, Ticket

__all__ = [
    "BUSINESS",
    "CLOCK_NAMES",
    "CLOSED_STATUSES",
    "FIRST_RESPONSE",
    "NEXT_RESPONSE",
    "TWENTY_FOUR_SEVEN_NAME",
    "Compliance",
    "ComplianceRecord",
    "Deadlines",
    "SlaPolicy",
    "clock_sql",
    "compliance",
    "default_matrix",
    "format_deadlines",
    "judge_response",
    "queue_rank",
    "queue_rank_sql",
    "running_limit",
    "running_limit_sql",
    "sla_state_sql",
    "stored_clock",
    "stored_state",
    "ticket_clock",
    "ticket_row",
    "ticket_state",
    "ticket_time_left",
]

# (priority, impact, limit_at, first_response_at or None)
ComplianceRecord = tuple[Priority, Impact, datetime, datetime | None]


@dataclass(frozen=True, slots=True)
class Deadlines:
    """When a first response should come (target: warn) and must come (limit: breach)."""

    target_at: datetime
    limit_at: datetime


def _ts(at: datetime) -> float:
    """POSIX seconds of an aware datetime; naive ones would silently use the host's zone."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"timezone-aware datetime required, got naive {at!r}")
    return at.timestamp()


class SlaPolicy:
    """The matrix plus its two calendars; answers every SLA question about one ticket."""

    __slots__ = ("_cells", "_clock", "business", "always", "next_response")

    def __init__(
        self,
        matrix: dict[Cell, SlaCellConfig],
        business: BusinessCalendar,
        always: BusinessCalendar,
        *,
        next_response: bool = True,
    ) -> None:
        """`next_response`: when the customer writes again after the first response, a
        reply is due within the cell's same target and limit (the next-reply clock)."""
        missing = [f"{p}/{i}" for p in Priority for i in Impact if (p, i) not in matrix]
        if missing:
            raise ValueError(f"SLA matrix lacks cells: {', '.join(missing)}")
        self.business = business
        self.always = always
        self.next_response = next_response
        self._cells = dict(matrix)
        # Per cell: (calendar, target seconds, limit seconds), so hot paths do one lookup.
        self._clock: dict[Cell, tuple[BusinessCalendar, float, float]] = {}
        for (p, i), cell in self._cells.items():
            if cell.calendar not in CALENDAR_NAMES:
                raise ValueError(
                    f"SLA cell {p}/{i}: calendar must be 'business' or '24x7', "
                    f"got {cell.calendar!r}"
                )
            if cell.limit < cell.target or cell.target < timedelta(0):
                raise ValueError(f"SLA cell {p}/{i}: need 0 <= target <= limit")
            cal = business if cell.calendar == BUSINESS else always
            self._clock[(Priority(p), Impact(i))] = (
                cal,
                cell.target.total_seconds(),
                cell.limit.total_seconds(),
            )

    @classmethod
    def from_config(cls, config: Config) -> SlaPolicy:
        """Default matrix overridden cell by cell by `config.sla`; calendar from config."""
        matrix = default_matrix()
        matrix.update(config.sla)
        return cls(
            matrix,
            BusinessCalendar(config.calendar),
            BusinessCalendar.always(config.calendar.timezone),
            next_response=config.next_response,
        )

    @classmethod
    def default(cls) -> SlaPolicy:
        """The contract as written: default matrix, Bogota business hours, Colombian holidays."""
        return cls.from_config(Config())

    @property
    def timezone(self) -> ZoneInfo:
        """The desk's time zone (`[sla.calendar] timezone`): every instant is shown in it."""
        return self.business.timezone

    def cell(self, priority: Priority, impact: Impact) -> SlaCellConfig:
        return self._cells[(priority, impact)]

    def calendar_for(self, priority: Priority, impact: Impact) -> BusinessCalendar:
        return self._clock[(priority, impact)][0]

    def deadlines(
        self,
        priority: Priority,
        impact: Impact,
        opened_at: datetime,
        paused_seconds: float = 0.0,
    ) -> Deadlines:
        """Target and limit counted from the opening; business time paused extends both.

        After a priority or impact change call it again with the new cell and the original
        `opened_at` (and pauses re-measured in the new cell's calendar, see `paused_total`).
        """
        cal, target, limit = self._clock[(priority, impact)]
        return Deadlines(
            target_at=cal.add(opened_at, target + paused_seconds),
            limit_at=cal.add(opened_at, limit + paused_seconds),
        )

    def paused_business_seconds(
        self, priority: Priority, impact: Impact, paused_at: datetime, resumed_at: datetime
    ) -> float:
        """Length of one pause in the cell's calendar (business or wall-clock seconds)."""
        return self._clock[(priority, impact)][0].between(paused_at, resumed_at)

    def paused_total(
        self, priority: Priority, impact: Impact, pauses: Iterable[tuple[datetime, datetime]]
    ) -> float:
        """Sum of `(paused_at, resumed_at)` pauses in the cell's calendar.

        Recomputing from the event history after a cell change keeps the units right: a
        weekend pause is 0 business seconds but 48 h on a 24x7 cell.
        """
        cal = self._clock[(priority, impact)][0]
        return sum(cal.between(a, b) for a, b in pauses)

    def state(
        self,
        priority: Priority,
        impact: Impact,
        opened_at: datetime,
        now: datetime,
        first_response_at: datetime | None = None,
        paused_at: datetime | None = None,
        paused_seconds: float = 0.0,
    ) -> SlaState:
        """MET/MISSED once answered (against the limit, boundary included; an answer while
        paused is judged by the clock as it stood at the pause); PAUSED while waiting on the
        customer; else BREACHED past the limit, WARNING past the target, OK."""
        d = self.deadlines(priority, impact, opened_at, paused_seconds)
        outcome = None
        if first_response_at is not None:
            outcome = judge_response(d.limit_at, first_response_at, paused_at)
        return stored_state(
            {
                "status": "open",
                "sla_outcome": outcome,
                "first_response_at": _epoch(first_response_at),
                "paused_at": _epoch(paused_at),
                "sla_limit_at": d.limit_at.timestamp(),
                "sla_target_at": d.target_at.timestamp(),
            },
            _ts(now),
        )

    def time_left(
        self,
        priority: Priority,
        impact: Impact,
        opened_at: datetime,
        now: datetime,
        paused_at: datetime | None = None,
        paused_seconds: float = 0.0,
    ) -> float:
        """Wall-clock seconds until the limit (negative once past).

        While paused (`paused_at` set; `paused_seconds` holds earlier, finished pauses) the
        value is frozen at what it was at `paused_at`. On resume the deadline moves out by
        the pause's business time, so a business-hours countdown may jump (a pause over a
        weekend) - the limit instant, not this number, is the contract.
        """
        limit_at = self.deadlines(priority, impact, opened_at, paused_seconds).limit_at
        at = paused_at if paused_at is not None else now
        return limit_at.timestamp() - _ts(at)

    def business_elapsed(
        self,
        priority: Priority,
        impact: Impact,
        opened_at: datetime,
        at: datetime,
        paused_seconds: float = 0.0,
    ) -> float:
        """Clock time consumed from opening to `at` in the cell's calendar, minus pauses."""
        cal = self._clock[(priority, impact)][0]
        return max(0.0, cal.between(opened_at, at) - paused_seconds)


# ---- the SLA state of a stored ticket ------------------------------------------------
#
# One rule, read in order, decides the state from what the store keeps on a ticket's row:
# whether the case is resolved, whether a next reply is owed (the customer wrote again after
# the first response) and its deadlines, the outcome judged at the first response (which
# already accounts for pauses), whether it waits on the customer, and the first response's
# deadlines (recomputed by the desk on every change). The same rule is written out as an
# SQL CASE (`sla_state_sql`) for the queries that count by state; a property test holds the
# two together. Resolved tickets never show a running clock: met, missed or not due.

STATE_COLUMNS = (
    "status",
    "sla_outcome",
    "first_response_at",
    "paused_at",
    "sla_limit_at",
    "sla_target_at",
    "reply_due_at",
    "reply_limit_at",
    "reply_target_at",
)
CLOSED_STATUSES = ("closed", "resolved")


@dataclass(frozen=True, slots=True)
class _Clause:
    """One test on one stored column: `is` a value, `in` a set of values, `set` (not null),
    or `past` (an instant before now)."""

    column: str
    test: str
    value: str | tuple[str, ...] | None = None

    def holds(self, row: Mapping[str, object], now: float) -> bool:
        value = row.get(self.column)
        if self.test == "is":
            return value == self.value
        if self.test == "in":
            return value in self.value  # type: ignore[operator]
        if self.test == "set":
            return value is not None
        return value is not None and now > value  # type: ignore[operator]

    def sql(self, now: str) -> str:
        if self.test == "is":
            return f"{self.column} = '{self.value}'"
        if self.test == "in":
            listed = ", ".join(f"'{v}'" for v in self.value)  # type: ignore[union-attr]
            return f"{self.column} IN ({listed})"
        if self.test == "set":
            return f"{self.column} IS NOT NULL"
        return f"({self.column} IS NOT NULL AND {now} > {self.column})"


_CLOSED = _Clause("status", "in", CLOSED_STATUSES)
_REPLY_OWED = _Clause("reply_due_at", "set")

# (clauses that must all hold, state), first match wins.
_STATE_RULE: tuple[tuple[tuple[_Clause, ...], SlaState], ...] = (
    # Resolved or closed: the first response's outcome, or nothing was owed.
    ((_CLOSED, _Clause("sla_outcome", "is", "missed")), SlaState.MISSED),
    ((_CLOSED, _Clause("sla_outcome", "is", "met")), SlaState.MET),
    ((_CLOSED, _Clause("first_response_at", "set")), SlaState.MET),
    ((_CLOSED,), SlaState.NOT_DUE),
    # The customer wrote again: the next reply's clock is the one that runs.
    ((_REPLY_OWED, _Clause("paused_at", "set")), SlaState.PAUSED),
    ((_REPLY_OWED, _Clause("reply_limit_at", "past")), SlaState.BREACHED),
    ((_REPLY_OWED, _Clause("reply_target_at", "past")), SlaState.WARNING),
    ((_REPLY_OWED,), SlaState.OK),
    # The first response: judged, or still running.
    ((_Clause("sla_outcome", "is", "missed"),), SlaState.MISSED),
    ((_Clause("sla_outcome", "is", "met"),), SlaState.MET),
    ((_Clause("sla_outcome", "is", "not_due"),), SlaState.NOT_DUE),
    ((_Clause("first_response_at", "set"),), SlaState.MET),  # answered, outcome not recorded
    ((_Clause("paused_at", "set"),), SlaState.PAUSED),
    ((_Clause("sla_limit_at", "past"),), SlaState.BREACHED),
    ((_Clause("sla_target_at", "past"),), SlaState.WARNING),
)
_STATE_OTHERWISE = SlaState.OK


def stored_state(row: Mapping[str, object], now: float) -> SlaState:
    """The SLA state of a stored ticket from its `STATE_COLUMNS` (instants as epoch seconds)
    at `now` (epoch seconds)."""
    for clauses, state in _STATE_RULE:
        if all(clause.holds(row, now) for clause in clauses):
            return state
    return _STATE_OTHERWISE


@functools.cache
def sla_state_sql(now: str = ":now") -> str:
    """`stored_state` as an SQL CASE over the tickets table's columns; `now` names the
    parameter (or expression) holding the epoch seconds of now."""
    whens = " ".join(
        f"WHEN {' AND '.join(c.sql(now) for c in clauses)} THEN '{state}'"
        for clauses, state in _STATE_RULE
    )
    return f"CASE {whens} ELSE '{_STATE_OTHERWISE}' END"


# ---- which clock runs, and the queue's order ------------------------------------------
#
# A ticket has at most one running clock: the next reply's while one is owed, else the
# first response's until it is judged; none once resolved. While paused the clock is stopped
# (its time left frozen), so a paused ticket is not "running". The queue shows first what
# needs the agent now: running clocks by time left (breached ones first), then tickets that
# wait on an agent with no running clock, then the rest (waiting on the customer, resolved).

RUNNING, WAITING_ON_AGENT, REST = 0, 1, 2
FIRST_RESPONSE, NEXT_RESPONSE = "first_response", "next_response"
CLOCK_NAMES = (FIRST_RESPONSE, NEXT_RESPONSE)


def running_limit(row: Mapping[str, object]) -> float | None:
    """Epoch seconds of the limit of the ticket's clock (running or stopped by a pause);
    None when no clock applies (resolved, judged, or no deadline stored)."""
    if row.get("status") in CLOSED_STATUSES:
        return None
    if row.get("reply_due_at") is not None:
        return row.get("reply_limit_at")  # type: ignore[return-value]
    if row.get("first_response_at") is not None or row.get("sla_outcome") is not None:
        return None
    return row.get("sla_limit_at")  # type: ignore[return-value]


def queue_rank(row: Mapping[str, object]) -> int:
    """RUNNING, WAITING_ON_AGENT or REST (see above) of a stored ticket."""
    if row.get("status") in CLOSED_STATUSES or row.get("paused_at") is not None:
        return REST
    return RUNNING if running_limit(row) is not None else WAITING_ON_AGENT


@functools.cache
def running_limit_sql() -> str:
    """`running_limit` as an SQL expression over the tickets table's columns."""
    closed = _CLOSED.sql("")
    return (
        f"CASE WHEN {closed} THEN NULL "
        "WHEN reply_due_at IS NOT NULL THEN reply_limit_at "
        "WHEN first_response_at IS NOT NULL OR sla_outcome IS NOT NULL THEN NULL "
        "ELSE sla_limit_at END"
    )


@functools.cache
def queue_rank_sql() -> str:
    """`queue_rank` as an SQL expression over the tickets table's columns."""
    return (
        f"CASE WHEN {_CLOSED.sql('')} OR paused_at IS NOT NULL THEN {REST} "
        f"WHEN ({running_limit_sql()}) IS NOT NULL THEN {RUNNING} ELSE {WAITING_ON_AGENT} END"
    )


def _epoch(at: datetime | None) -> float | None:
    return None if at is None else _ts(at)


def ticket_row(ticket: Ticket) -> dict[str, object]:
    """A ticket's `STATE_COLUMNS` as the store keeps them (instants as epoch seconds)."""
    return {
        "status": str(ticket.status),
        "sla_outcome": ticket.sla_outcome,
        "first_response_at": _epoch(ticket.first_response_at),
        "paused_at": _epoch(ticket.paused_at),
        "sla_limit_at": _epoch(ticket.sla_limit_at),
        "sla_target_at": _epoch(ticket.sla_target_at),
        "reply_due_at": _epoch(ticket.reply_due_at),
        "reply_limit_at": _epoch(ticket.reply_limit_at),
        "reply_target_at": _epoch(ticket.reply_target_at),
    }


def ticket_state(ticket: Ticket, now: datetime) -> SlaState:
    """`stored_state` of a ticket as read from the store."""
    return stored_state(ticket_row(ticket), _ts(now))


def ticket_clock(ticket: Ticket) -> str | None:
    """Which clock decides the ticket's state: `next_response` while a reply is owed on an
    open case, `first_response` otherwise (None once resolved)."""
    return stored_clock(ticket_row(ticket))


def stored_clock(row: Mapping[str, object]) -> str | None:
    """`ticket_clock` of a stored row."""
    if row.get("status") in CLOSED_STATUSES:
        return None
    return NEXT_RESPONSE if row.get("reply_due_at") is not None else FIRST_RESPONSE


@functools.cache
def clock_sql() -> str:
    """`stored_clock` as an SQL expression over the tickets table's columns."""
    return (
        f"CASE WHEN {_CLOSED.sql('')} THEN NULL WHEN reply_due_at IS NOT NULL "
        f"THEN '{NEXT_RESPONSE}' ELSE '{FIRST_RESPONSE}' END"
    )


def ticket_time_left(ticket: Ticket, now: datetime) -> float | None:
    """Wall-clock seconds to the limit of the ticket's clock (negative once past), frozen
    while paused; None once resolved, answered with no reply owed, or without a limit: no
    clock is running."""
    limit = running_limit(ticket_row(ticket))
    if limit is None:
        return None
    at = ticket.paused_at if ticket.paused_at is not None else now
    return limit - _ts(at)


def judge_response(
    limit_at: datetime | None, answered_at: datetime, paused_at: datetime | None = None
) -> str:
    """`met` or `missed`: an answer at `answered_at` against `limit_at` (boundary included).
    While the ticket waits on the customer (`paused_at`, before the answer) the clock is
    stopped, so the answer is judged by the clock as it stood at the pause: a reply sent
    while paused misses only when the limit had already passed when the pause began."""
    if limit_at is None:
        return "met"
    at = paused_at if paused_at is not None and paused_at <= answered_at else answered_at
    return "met" if _ts(at) <= _ts(limit_at) else "missed"


@dataclass(frozen=True, slots=True)
class Compliance:
    """First responses within the limit (`met`) out of those due (`due`)."""

    met: int = 0
    due: int = 0

    @property
    def missed(self) -> int:
        return self.due - self.met

    @property
    def ratio(self) -> float:
        """met / due, from 0 to 1; 1.0 when nothing was due (no evidence of failure)."""
        return self.met / self.due if self.due else 1.0

    def __add__(self, other: Compliance) -> Compliance:
        return Compliance(self.met + other.met, self.due + other.due)


def compliance(
    records: Iterable[ComplianceRecord], window_start: datetime, window_end: datetime
) -> dict[Cell, Compliance]:
    """Compliance per cell over `[window_start, window_end)`; every cell is present.

    A record is due in the window when its `limit_at` falls in the window (answered or
    not: an unanswered one counts as missed) or its first response does (an early answer
    counts before its limit comes). It is met when answered at or before `limit_at`.
    Pass `window_end <= now`: an unanswered record whose limit is still ahead of the real
    clock would otherwise count as missed too early.
    """
    # Timestamps: comparing datetimes that share a DST zone would ignore the fold.
    ws, we = _ts(window_start), _ts(window_end)
    met: dict[Cell, int] = {}
    due: dict[Cell, int] = {}
    for priority, impact, limit_at, answered_at in records:
        limit_ts = _ts(limit_at)
        answered_ts = _ts(answered_at) if answered_at is not None else None
        in_window = ws <= limit_ts < we or (answered_ts is not None and ws <= answered_ts < we)
        if not in_window:
            continue
        key = (Priority(priority), Impact(impact))
        due[key] = due.get(key, 0) + 1
        if answered_ts is not None and answered_ts <= limit_ts:
            met[key] = met.get(key, 0) + 1
    return {
        (p, i): Compliance(met=met.get((p, i), 0), due=due.get((p, i), 0))
        for p in Priority
        for i in Impact
    }


def format_deadlines(d: Deadlines) -> str:
    """Two lines for `ronda sla deadline`: `target <iso>` and `limit <iso>` (with offsets)."""
    return f"target {d.target_at.isoformat()}\nlimit {d.limit_at.isoformat()}"
