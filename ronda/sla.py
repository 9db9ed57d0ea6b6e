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
    "TWENTY_FOUR_SEVEN_NAME",
    "Compliance",
    "ComplianceRecord",
    "Deadlines",
    "SlaPolicy",
    "compliance",
    "default_matrix",
    "format_deadlines",
    "sla_state_sql",
    "stored_state",
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

    __slots__ = ("_cells", "_clock", "business", "always")

    def __init__(
        self,
        matrix: dict[Cell, SlaCellConfig],
        business: BusinessCalendar,
        always: BusinessCalendar,
    ) -> None:
        missing = [f"{p}/{i}" for p in Priority for i in Impact if (p, i) not in matrix]
        if missing:
            raise ValueError(f"SLA matrix lacks cells: {', '.join(missing)}")
        self.business = business
        self.always = always
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
        )

    @classmethod
    def default(cls) -> SlaPolicy:
        """The contract as written: default matrix, Bogota business hours, Colombian holidays."""
        return cls.from_config(Config())

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
        """MET/MISSED once answered (against the limit, boundary included); PAUSED while
        waiting on the customer; else BREACHED past the limit, WARNING past the target, OK."""
        d = self.deadlines(priority, impact, opened_at, paused_seconds)
        outcome = None
        if first_response_at is not None:
            met = _ts(first_response_at) <= d.limit_at.timestamp()
            outcome = "met" if met else "missed"
        return stored_state(
            {
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
# the outcome judged at its first response (which already accounts for pauses), whether it
# waits on the customer, and its deadlines (recomputed by the desk on every change). The
# same rule is written out as an SQL CASE (`sla_state_sql`) for the queries that count by
# state; a property test holds the two together.

STATE_COLUMNS = ("sla_outcome", "first_response_at", "paused_at", "sla_limit_at", "sla_target_at")


@dataclass(frozen=True, slots=True)
class _Clause:
    """One test on one stored column: `is` a value, `set` (not null), or `past` (an instant
    before now)."""

    column: str
    test: str
    value: str | None = None

    def holds(self, row: Mapping[str, object], now: float) -> bool:
        value = row.get(self.column)
        if self.test == "is":
            return value == self.value
        if self.test == "set":
            return value is not None
        return value is not None and now > value  # type: ignore[operator]

    def sql(self, now: str) -> str:
        if self.test == "is":
            return f"{self.column} = '{self.value}'"
        if self.test == "set":
            return f"{self.column} IS NOT NULL"
        return f"({self.column} IS NOT NULL AND {now} > {self.column})"


_STATE_RULE: tuple[tuple[_Clause, SlaState], ...] = (
    (_Clause("sla_outcome", "is", "missed"), SlaState.MISSED),
    (_Clause("sla_outcome", "is", "met"), SlaState.MET),
    (_Clause("first_response_at", "set"), SlaState.MET),  # answered, outcome not recorded
    (_Clause("paused_at", "set"), SlaState.PAUSED),
    (_Clause("sla_limit_at", "past"), SlaState.BREACHED),
    (_Clause("sla_target_at", "past"), SlaState.WARNING),
)
_STATE_OTHERWISE = SlaState.OK


def stored_state(row: Mapping[str, object], now: float) -> SlaState:
    """The SLA state of a stored ticket from its `STATE_COLUMNS` (instants as epoch seconds)
    at `now` (epoch seconds)."""
    for clause, state in _STATE_RULE:
        if clause.holds(row, now):
            return state
    return _STATE_OTHERWISE


@functools.cache
def sla_state_sql(now: str = ":now") -> str:
    """`stored_state` as an SQL CASE over the tickets table's columns; `now` names the
    parameter (or expression) holding the epoch seconds of now."""
    whens = " ".join(f"WHEN {clause.sql(now)} THEN '{state}'" for clause, state in _STATE_RULE)
    return f"CASE {whens} ELSE '{_STATE_OTHERWISE}' END"


def _epoch(at: datetime | None) -> float | None:
    return None if at is None else _ts(at)


def ticket_state(ticket: Ticket, now: datetime) -> SlaState:
    """`stored_state` of a ticket as read from the store."""
    return stored_state(
        {
            "sla_outcome": ticket.sla_outcome,
            "first_response_at": _epoch(ticket.first_response_at),
            "paused_at": _epoch(ticket.paused_at),
            "sla_limit_at": _epoch(ticket.sla_limit_at),
            "sla_target_at": _epoch(ticket.sla_target_at),
        },
        _ts(now),
    )


def ticket_time_left(ticket: Ticket, now: datetime) -> float | None:
    """Wall-clock seconds to the stored limit (negative once past), frozen while paused;
    None once answered or without a limit: no clock is running."""
    if ticket.first_response_at is not None or ticket.sla_outcome is not None:
        return None
    if ticket.sla_limit_at is None:
        return None
    at = ticket.paused_at if ticket.paused_at is not None else now
    return (ticket.sla_limit_at - at).total_seconds()


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
