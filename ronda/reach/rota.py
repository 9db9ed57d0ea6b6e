"""Who is on call: two turns on the desk's calendar, each a list of agents taking a week each.

During the calendar's opening hours the `business_hours` turn covers the desk; nights,
weekends and holidays (Colombian public holidays by default: the calendar's) belong to the
`after_hours` turn. Weeks count from `rotation_start` (by default Monday 2026-01-05 08:00 in
the calendar's time zone), so both turns hand over on the same weekday and hour; week n is
the (n mod length)-th agent of each list. A turn left empty falls to the other one. Pure:
the instant is given.
"""

from __future__ import annotations

from datetime import datetime, time

from ronda.calendar import BusinessCalendar
from ronda.config import OncallSettings

WEEK = 7 * 24 * 3600.0
DEFAULT_START_DATE = (2026, 1, 5)  # a Monday
DEFAULT_START_TIME = time(8, 0)


def rotation_start(oncall: OncallSettings, calendar: BusinessCalendar) -> datetime:
    """When week 0 of both turns begins."""
    if oncall.rotation_start is not None:
        return oncall.rotation_start
    return datetime(*DEFAULT_START_DATE, DEFAULT_START_TIME.hour, tzinfo=calendar.timezone)


def week_of(at: datetime, start: datetime) -> int:
    """Which week of the rotation `at` falls in (negative before the start)."""
    return int((at.timestamp() - start.timestamp()) // WEEK)


def on_call(oncall: OncallSettings, calendar: BusinessCalendar, at: datetime) -> str | None:
    """The agent on call at `at`, or None when no turn names anyone."""
    business = calendar.is_open(at)
    turn = oncall.business_hours if business else oncall.after_hours
    if not turn:
        turn = oncall.after_hours if business else oncall.business_hours
    if not turn:
        return None
    return turn[week_of(at, rotation_start(oncall, calendar)) % len(turn)]


def turn_name(calendar: BusinessCalendar, at: datetime) -> str:
    """`business_hours` or `after_hours`: which turn covers `at`."""
    return "business_hours" if calendar.is_open(at) else "after_hours"


__all__ = ["WEEK", "on_call", "rotation_start", "turn_name", "week_of"]
