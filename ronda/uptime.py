"""Uptime arithmetic over a site's history: pure, no I/O, instants as UTC epoch seconds.

A site's history is a list of `Interval`s, each a span in one state:

- ``up``: the home page answered usefully;
- ``down``: it did not (`cls` names the failure class);
- ``maintenance``: inside a maintenance window of the site or its server, up or down;
- ``unmeasured``: nobody looked (Ronda was not running, or the site was not probed).

**Definition.** The uptime of a site over a period is the time it was up divided by the
time it was measured outside maintenance:

    uptime = up / (period - maintenance - unmeasured) = up / (up + down)

time-weighted (a 2-hour outage weighs 120 times a 1-minute one). Maintenance is left out
of both sides, whatever the site did meanwhile; time nobody measured is shown as "not
measured", never counted as up or down. A period with nothing measured outside
maintenance has no uptime (None), not 100 %.

Any part of the period no interval covers counts as unmeasured, so the four amounts always
add up to the period. Overlapping intervals (which a store never hands out) are read in
order of their start: a later interval covers only what the earlier ones left.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

UP = "up"
DOWN = "down"
MAINTENANCE = "maintenance"
UNMEASURED = "unmeasured"
STATES = (UP, DOWN, MAINTENANCE, UNMEASURED)


@dataclass(frozen=True, slots=True)
class Interval:
    """A span [start, end) of one state; `cls` is the failure class of a `down` span."""

    start: float
    end: float
    state: str
    cls: str | None = None

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass(frozen=True, slots=True)
class Uptime:
    """Seconds of each state over [start, end) and the uptime ratio (0..1, or None)."""

    start: float
    end: float
    up_seconds: float
    down_seconds: float
    maintenance_seconds: float
    unmeasured_seconds: float

    @property
    def measured_seconds(self) -> float:
        """The denominator: measured time outside maintenance (up + down)."""
        return self.up_seconds + self.down_seconds

    @property
    def ratio(self) -> float | None:
        measured = self.measured_seconds
        if measured <= 0:
            return None
        return self.up_seconds / measured

    @property
    def percent(self) -> float | None:
        ratio = self.ratio
        return None if ratio is None else ratio * 100.0


@dataclass(frozen=True, slots=True)
class DayUptime:
    """One local day of the desk's zone (`start`/`end`: its midnights, clipped to the
    period asked for)."""

    day: date
    uptime: Uptime

    @property
    def start(self) -> float:
        return self.uptime.start

    @property
    def end(self) -> float:
        return self.uptime.end


@dataclass(frozen=True, slots=True)
class Outage:
    """Consecutive `down` time: when it began and ended (clipped to the period), its
    first class and every class seen, in order."""

    start: float
    end: float
    cls: str | None
    classes: tuple[str, ...]

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


def clip(intervals: Iterable[Interval], start: float, end: float) -> list[Interval]:
    """The intervals within [start, end), in order, without overlaps, and with every
    uncovered part filled as `unmeasured`: a partition of the period."""
    out: list[Interval] = []
    cursor = start
    for item in sorted(intervals, key=lambda i: (i.start, i.end)):
        if item.state not in STATES:
            raise ValueError(f"unknown state {item.state!r}")
        lo = max(item.start, cursor)
        hi = min(item.end, end)
        if hi <= lo:
            continue
        if lo > cursor:
            out.append(Interval(cursor, lo, UNMEASURED))
        out.append(Interval(lo, hi, item.state, item.cls if item.state == DOWN else None))
        cursor = hi
        if cursor >= end:
            break
    if cursor < end:
        out.append(Interval(cursor, end, UNMEASURED))
    return out


def uptime(intervals: Iterable[Interval], start: float, end: float) -> Uptime:
    """The seconds of each state and the uptime over [start, end)."""
    totals = dict.fromkeys(STATES, 0.0)
    if end > start:
        for item in clip(intervals, start, end):
            totals[item.state] += item.seconds
    return Uptime(
        start=start,
        end=max(start, end),
        up_seconds=totals[UP],
        down_seconds=totals[DOWN],
        maintenance_seconds=totals[MAINTENANCE],
        unmeasured_seconds=totals[UNMEASURED],
    )


def local_midnight(day: date, tz: tzinfo) -> float:
    """The instant a local day begins in `tz` (a day may last 23 or 25 hours)."""
    return datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()


def days_between(start: float, end: float, tz: tzinfo) -> list[tuple[date, float, float]]:
    """(local day, its start, its end) of every local day that [start, end) touches,
    clipped to the period."""
    if end <= start:
        return []
    first = datetime.fromtimestamp(start, tz).date()
    last = datetime.fromtimestamp(end, tz).date()
    if local_midnight(last, tz) >= end:
        last -= timedelta(days=1)  # the period ends at that day's midnight: not touched
    out = []
    day = first
    while day <= last:
        lo = max(start, local_midnight(day, tz))
        hi = min(end, local_midnight(day + timedelta(days=1), tz))
        out.append((day, lo, hi))
        day += timedelta(days=1)
    return out


def daily(intervals: Iterable[Interval], start: float, end: float, tz: tzinfo) -> list[DayUptime]:
    """The uptime of each local day (in `tz`) of [start, end)."""
    parts = clip(intervals, start, end) if end > start else []
    out: list[DayUptime] = []
    index = 0
    for day, lo, hi in days_between(start, end, tz):
        # The partition is in order: walk it once, from the first part that reaches `lo`.
        while index < len(parts) and parts[index].end <= lo:
            index += 1
        covering = []
        j = index
        while j < len(parts) and parts[j].start < hi:
            covering.append(parts[j])
            j += 1
        out.append(DayUptime(day, uptime(covering, lo, hi)))
    return out


def outages(intervals: Iterable[Interval], start: float, end: float) -> list[Outage]:
    """The down spans within [start, end): consecutive `down` intervals (of any classes)
    make one outage; anything else between two of them (up, maintenance, not measured)
    separates them."""
    out: list[Outage] = []
    current: list[Interval] = []

    def flush() -> None:
        if current:
            classes = tuple(dict.fromkeys(i.cls for i in current if i.cls))
            out.append(Outage(current[0].start, current[-1].end, current[0].cls or None, classes))
            current.clear()

    for item in clip(intervals, start, end) if end > start else []:
        if item.state == DOWN:
            current.append(item)
        else:
            flush()
    flush()
    return out


def measured_gap(interval: float) -> float:
    """The longest wait between two probes of a site (probed every `interval` seconds)
    that still counts as measured: three rounds, and at least three minutes (a slow round,
    a re-probe, a restart of the daemon). A longer silence is a gap: not measured."""
    return max(3.0 * interval, 180.0)


def state_at(intervals: Sequence[Interval], at: float) -> Interval | None:
    """The interval that holds `at`, or None."""
    for item in intervals:
        if item.start <= at < item.end:
            return item
    return None


__all__ = [
    "DOWN",
    "MAINTENANCE",
    "STATES",
    "UNMEASURED",
    "UP",
    "DayUptime",
    "Interval",
    "Outage",
    "Uptime",
    "clip",
    "daily",
    "days_between",
    "local_midnight",
    "measured_gap",
    "outages",
    "state_at",
    "uptime",
]
