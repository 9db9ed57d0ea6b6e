"""Business calendars: when the SLA clock runs (opening hours, time zone, public holidays).

A `BusinessCalendar` answers three questions about aware datetimes: is the desk open at an
instant (`is_open`), how much business time lies between two instants (`between`), and when
a given amount of business time will have elapsed after an instant (`add`). Everything is
pure: no clock is read, no file is opened.

Internally instants are POSIX timestamps (float seconds). Each local date maps, through a
per-instance LRU cache, to its opening intervals as timestamps computed from aware local
datetimes, so time zones with daylight saving time come out right (a 09:00-17:00 day is
8 real hours on either side of a transition; a span that crosses the transition is as long
as the clock says it really is). Long durations skip whole weeks by their cached totals.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from ronda.config import CalendarConfig

__all__ = ["BusinessCalendar", "TWENTY_FOUR_SEVEN"]

# Intervals of one local date: ((start_ts, end_ts), ...) sorted, disjoint; and their total.
_Day = tuple[tuple[tuple[float, float], ...], float]

_MIDNIGHT = time(0, 0)
# A calendar whose next opening is further away than this is broken (every day a holiday):
# fail loudly instead of looping forever.
_MAX_CLOSED_DAYS = 3660


def _require_aware(at: datetime, name: str) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {at!r}")


def _seconds(value: float | timedelta) -> float:
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"business seconds must be finite and >= 0, got {value!r}")
    return seconds


class BusinessCalendar:
    """Opening hours in one time zone, minus public and extra holidays.

    Build it from a `CalendarConfig`, or use `BusinessCalendar.always(tz)` for a calendar
    that never closes (the 24x7 cells of the SLA matrix). Instances are immutable in
    practice and safe to share; the day cache is bounded.
    """

    __slots__ = ("timezone", "always_open", "_hours", "_holidays", "_extra", "_day", "_week")

    def __init__(self, config: CalendarConfig | None = None) -> None:
        config = config if config is not None else CalendarConfig()
        self.timezone = ZoneInfo(config.timezone)
        self.always_open = False
        self._hours = self._normalise_hours(config.hours)
        if not any(self._hours.values()):
            raise ValueError("calendar has no opening hours on any weekday")
        self._holidays = (
            holidays_lib.country_holidays(config.holidays_country, subdiv=config.holidays_subdiv)
            if config.holidays_country
            else None
        )
        try:
            self._extra = frozenset(date.fromisoformat(d) for d in config.extra_holidays)
        except ValueError as exc:
            raise ValueError(f"extra holiday is not an ISO date (YYYY-MM-DD): {exc}") from exc
        # Per instance, so two calendars never share cached days; ~22 years of days.
        self._day = lru_cache(maxsize=8192)(self._compute_day)
        self._week = lru_cache(maxsize=1024)(self._compute_week)

    @classmethod
    def always(cls, timezone: str = "UTC") -> BusinessCalendar:
        """A calendar open every second of every day; results are given in `timezone`."""
        cal = cls.__new__(cls)
        cal.timezone = ZoneInfo(timezone)
        cal.always_open = True
        cal._hours = {d: (((_MIDNIGHT, _MIDNIGHT),)) for d in range(7)}
        cal._holidays = None
        cal._extra = frozenset()
        cal._day = lru_cache(maxsize=8192)(cal._compute_day)
        cal._week = lru_cache(maxsize=1024)(cal._compute_week)
        return cal

    def __repr__(self) -> str:
        kind = "24x7" if self.always_open else "business"
        return f"<BusinessCalendar {kind} {self.timezone.key}>"

    # -- public API ---------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        """True when `at` falls inside opening hours (intervals are half-open: [open, close))."""
        _require_aware(at, "at")
        if self.always_open:
            return True
        ts = at.timestamp()
        intervals, _ = self._day(at.astimezone(self.timezone).toordinal())
        return any(s <= ts < e for s, e in intervals)

    def add(self, start: datetime, seconds: float | timedelta) -> datetime:
        """The earliest instant by which `seconds` of business time have elapsed after `start`.

        Starting outside hours rolls to the next opening (so `add(start, 0)` is the next
        opening, or `start` itself when open). A duration that ends exactly at a closing
        time returns that closing time, not the next opening. The result is in this
        calendar's time zone.
        """
        _require_aware(start, "start")
        remaining = _seconds(seconds)
        tz = self.timezone
        if self.always_open:
            # Via timestamps: `aware + timedelta` is wall-clock arithmetic across DST.
            return datetime.fromtimestamp(start.timestamp() + remaining, tz)
        ts = start.timestamp()
        ordinal = start.astimezone(tz).toordinal()
        day = self._day
        # The first, possibly partial, day.
        for s, e in day(ordinal)[0]:
            if e <= ts:
                continue
            begin = s if s > ts else ts
            avail = e - begin
            if remaining <= avail:
                return datetime.fromtimestamp(begin + remaining, tz)
            remaining -= avail
        ordinal += 1
        closed = 0
        while True:
            # Whole weeks at once when the rest is long (a ticket paused for weeks).
            if (ordinal - 1) % 7 == 0:  # Monday (date.fromordinal(1) is a Monday)
                week = self._week(ordinal)
                while remaining > week > 0:
                    remaining -= week
                    ordinal += 7
                    week = self._week(ordinal)
            intervals, total = day(ordinal)
            if total == 0:
                closed += 1
                if closed > _MAX_CLOSED_DAYS:
                    raise ValueError(f"{self!r} never opens after {date.fromordinal(ordinal)}")
            else:
                closed = 0
            if remaining > total:
                remaining -= total
            else:
                for s, e in intervals:
                    avail = e - s
                    if remaining <= avail:
                        return datetime.fromtimestamp(s + remaining, tz)
                    remaining -= avail
            ordinal += 1

    def between(self, start: datetime, end: datetime) -> float:
        """Business seconds from `start` to `end`; 0.0 when `end <= start`."""
        _require_aware(start, "start")
        _require_aware(end, "end")
        # Timestamps, not `end - start`: with one shared tzinfo that ignores DST offsets.
        ta, tb = start.timestamp(), end.timestamp()
        if tb <= ta:
            return 0.0
        if self.always_open:
            return tb - ta
        tz = self.timezone
        first = start.astimezone(tz).toordinal()
        last = end.astimezone(tz).toordinal()
        day = self._day
        if first == last:
            return sum(
                max(0.0, min(e, tb) - max(s, ta)) for s, e in day(first)[0] if e > ta and s < tb
            )
        total = sum(e - max(s, ta) for s, e in day(first)[0] if e > ta)
        ordinal = first + 1
        while ordinal < last:
            if (ordinal - 1) % 7 == 0 and ordinal + 7 <= last:
                total += self._week(ordinal)
                ordinal += 7
            else:
                total += day(ordinal)[1]
                ordinal += 1
        total += sum(min(e, tb) - s for s, e in day(last)[0] if s < tb)
        return total

    def intervals(self, on: date) -> tuple[tuple[datetime, datetime], ...]:
        """The opening intervals of local date `on`, as aware datetimes in this zone."""
        tz = self.timezone
        return tuple(
            (datetime.fromtimestamp(s, tz), datetime.fromtimestamp(e, tz))
            for s, e in self._day(on.toordinal())[0]
        )

    def is_holiday(self, on: date) -> bool:
        """True when local date `on` is a public or extra holiday of this calendar."""
        return on in self._extra or (self._holidays is not None and on in self._holidays)

    # -- internals ----------------------------------------------------------------------

    @staticmethod
    def _normalise_hours(
        hours: Mapping[int, Iterable[tuple[time, time]]],
    ) -> dict[int, tuple[tuple[time, time], ...]]:
        out: dict[int, tuple[tuple[time, time], ...]] = {}
        for weekday, spans in hours.items():
            if not 0 <= int(weekday) <= 6:
                raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {weekday!r}")
            clean = []
            for start, end in spans:
                # An end of 00:00 means midnight at the end of the day (24:00).
                if end != _MIDNIGHT and end <= start:
                    raise ValueError(f"opening span {start}-{end} on weekday {weekday} is empty")
                clean.append((start.replace(tzinfo=None), end.replace(tzinfo=None)))
            out[int(weekday)] = tuple(sorted(clean))
        return out

    def _compute_day(self, ordinal: int) -> _Day:
        on = date.fromordinal(ordinal)
        if self.is_holiday(on):
            return (), 0.0
        tz = self.timezone
        spans: list[tuple[float, float]] = []
        for start, end in self._hours.get(on.weekday(), ()):
            s = datetime.combine(on, start, tzinfo=tz).timestamp()
            end_day = on + timedelta(days=1) if end == _MIDNIGHT else on
            e = datetime.combine(end_day, end, tzinfo=tz).timestamp()
            if e <= s:  # swallowed by a DST gap
                continue
            if spans and s <= spans[-1][1]:  # overlapping or touching spans merge
                spans[-1] = (spans[-1][0], max(spans[-1][1], e))
            else:
                spans.append((s, e))
        return tuple(spans), sum(e - s for s, e in spans)

    def _compute_week(self, monday_ordinal: int) -> float:
        return sum(self._day(monday_ordinal + i)[1] for i in range(7))


TWENTY_FOUR_SEVEN = BusinessCalendar.always("UTC")
"""Open every second; results in UTC. `SlaPolicy` builds its own in the desk's zone."""
