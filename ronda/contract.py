"""The support contract's response times: the priority x impact matrix as the agency sells it.

`docs/contract.md` says how the product reads the contract's table (ranges as target and
limit, "immediate" as 5/15 minutes, which cells count wall-clock time). Config and the SLA
clock both start from `default_matrix()`; nothing here imports either of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ronda.model import Impact, Priority

BUSINESS = "business"  # counts business hours of the desk's calendar
TWENTY_FOUR_SEVEN_NAME = "24x7"  # counts wall-clock time
CALENDAR_NAMES = (BUSINESS, TWENTY_FOUR_SEVEN_NAME)

Cell = tuple[Priority, Impact]


@dataclass(frozen=True, slots=True)
class SlaCellConfig:
    """One cell of the matrix: when a first response should come (target: warn), when it
    must (limit: breach), and which calendar counts the time."""

    target: timedelta
    limit: timedelta
    calendar: str  # BUSINESS or TWENTY_FOUR_SEVEN_NAME


_HOUR, _MINUTE = 3600, 60
# (target seconds, limit seconds, calendar) per cell, as docs/contract.md reads the table.
_TABLE: dict[Cell, tuple[int, int, str]] = {
    (Priority.LOW, Impact.LOW): (36 * _HOUR, 48 * _HOUR, BUSINESS),
    (Priority.LOW, Impact.MEDIUM): (24 * _HOUR, 36 * _HOUR, BUSINESS),
    (Priority.LOW, Impact.HIGH): (12 * _HOUR, 24 * _HOUR, BUSINESS),
    (Priority.MEDIUM, Impact.LOW): (8 * _HOUR, 12 * _HOUR, BUSINESS),
    (Priority.MEDIUM, Impact.MEDIUM): (6 * _HOUR, 8 * _HOUR, BUSINESS),
    (Priority.MEDIUM, Impact.HIGH): (4 * _HOUR, 6 * _HOUR, BUSINESS),
    (Priority.HIGH, Impact.LOW): (3 * _HOUR, 4 * _HOUR, BUSINESS),
    (Priority.HIGH, Impact.MEDIUM): (30 * _MINUTE, 60 * _MINUTE, TWENTY_FOUR_SEVEN_NAME),
    (Priority.HIGH, Impact.HIGH): (5 * _MINUTE, 15 * _MINUTE, TWENTY_FOUR_SEVEN_NAME),
}


def default_matrix() -> dict[Cell, SlaCellConfig]:
    """The contract's matrix: a fresh dict each call, safe to modify."""
    return {
        cell: SlaCellConfig(
            target=timedelta(seconds=target), limit=timedelta(seconds=limit), calendar=calendar
        )
        for cell, (target, limit, calendar) in _TABLE.items()
    }


__all__ = [
    "BUSINESS",
    "CALENDAR_NAMES",
    "TWENTY_FOUR_SEVEN_NAME",
    "Cell",
    "SlaCellConfig",
    "default_matrix",
]
