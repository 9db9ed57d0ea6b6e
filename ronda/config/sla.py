"""The [sla] section: the matrix's overridden cells and the business calendar that times them.

A cell names only what it changes from the contract's matrix (`ronda.contract`); the
calendar's time zone, opening hours and holidays are checked here and read by ronda.calendar.
"""

from __future__ import annotations

import difflib
import itertools
from dataclasses import replace
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ronda.config.errors import KeyPath, describe
from ronda.config.model import CalendarConfig
from ronda.config.reader import BAD, Reader
from ronda.config.values import clock, format_duration, minute_of_day, parse_duration
from ronda.contract import CALENDAR_NAMES, SlaCellConfig, default_matrix
from ronda.model import Impact, Priority

CALENDAR_KEYS = ("timezone", "holidays", "holidays_subdiv", "extra_holidays", "hours")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def read_sla(
    r: Reader, raw: object
) -> tuple[CalendarConfig, dict[tuple[Priority, Impact], SlaCellConfig]]:
    """[sla]: the calendar and the cells that differ from the contract's matrix."""
    table = r.table(raw, ("sla",), ("calendar", "next_response", *Priority))
    if table is None:
        return CalendarConfig(), {}
    calendar = _calendar(r, table["calendar"]) if "calendar" in table else CalendarConfig()
    cells: dict[tuple[Priority, Impact], SlaCellConfig] = {}
    defaults = default_matrix()  # a cell names only what it changes
    for priority in Priority:
        if priority.value not in table:
            continue
        row = r.table(table[priority.value], ("sla", priority.value), tuple(Impact))
        for impact in Impact:
            if not row or impact.value not in row:
                continue
            cell = _sla_cell(
                r,
                row[impact.value],
                ("sla", priority.value, impact.value),
                defaults[(priority, impact)],
            )
            if cell is not None:
                cells[(priority, impact)] = cell
    return calendar, cells


def read_next_response(r: Reader, raw: object) -> bool:
    """`[sla] next_response`: whether a customer's new message after the first response
    starts a next-reply clock (the cell's own target and limit); on unless `false`."""
    if not isinstance(raw, dict) or "next_response" not in raw:
        return True
    value = raw["next_response"]
    if not isinstance(value, bool):
        r.add(("sla", "next_response"), f"{describe(value)} is not true or false")
        return True
    return value


def _sla_cell(
    r: Reader, raw: object, path: KeyPath, default: SlaCellConfig
) -> SlaCellConfig | None:
    table = r.table(raw, path, ("target", "limit", "calendar"))
    if table is None:
        return None
    values: dict[str, Any] = {}
    ok = True
    for key in ("target", "limit"):
        if key in table:
            try:
                values[key] = parse_duration(table[key])
            except ValueError:
                ok = False
                r.add(
                    path + (key,),
                    f"{describe(table[key])} is not a positive duration "
                    '(expected e.g. "5m", "1h30m", "36h" or seconds as a number)',
                )
    if "calendar" in table:
        values["calendar"] = r.choice(table["calendar"], path + ("calendar",), CALENDAR_NAMES)
        ok = ok and values["calendar"] is not BAD
    if not ok:
        return None
    cell = replace(default, **values)
    if cell.target > cell.limit:
        key = "target" if "target" in table else "limit"
        whose = "" if "target" in table and "limit" in table else "the contract's "
        r.add(
            path + (key,),
            f"target {format_duration(cell.target)} is after {whose}limit "
            f"{format_duration(cell.limit)} (expected target <= limit)",
        )
        return None
    return cell


def _calendar(r: Reader, raw: object) -> CalendarConfig:
    path: KeyPath = ("sla", "calendar")
    table = r.table(raw, path, CALENDAR_KEYS)
    if table is None:
        return CalendarConfig()
    values: dict[str, Any] = {}
    if "timezone" in table:
        key = r.string(table["timezone"], path + ("timezone",))
        if key is not BAD:
            try:
                ZoneInfo(key)  # raises for a zone the tz database does not know
                values["timezone"] = key
            except (ZoneInfoNotFoundError, ValueError):
                r.add(
                    path + ("timezone",),
                    f"{describe(key)} is not a known time zone (expected e.g. America/Bogota)",
                )
    if "holidays" in table:
        _holidays(r, table, path, values)
    elif "holidays_subdiv" in table:
        r.add(path + ("holidays_subdiv",), 'needs holidays = "CC" (the country) too')
    if "extra_holidays" in table:
        values["extra_holidays"] = _extra_holidays(r, table["extra_holidays"], path)
    if "hours" in table:
        hours = _hours(r, table["hours"], path + ("hours",))
        if hours is not None:
            values["hours"] = hours
    return replace(CalendarConfig(), **values)


def _holidays(r: Reader, table: dict, path: KeyPath, values: dict[str, Any]) -> None:
    raw = table["holidays"]
    if raw is False or raw == "":  # no public holidays: the agency works every weekday
        values["holidays_country"] = None
        values["holidays_subdiv"] = None
        return
    if not isinstance(raw, str):
        r.add(
            path + ("holidays",),
            f'{describe(raw)} is not a country code (expected e.g. "CO", or false)',
        )
        return
    import holidays  # lazily: 50 ms, and only a file that names a country pays it

    supported = holidays.list_supported_countries()
    country = raw.strip().upper()
    if country not in supported:
        close = difflib.get_close_matches(country, list(supported), n=1)
        hint = f"did you mean '{close[0]}'?" if close else 'expected an ISO code such as "CO"'
        r.add(path + ("holidays",), f"{describe(raw)} is not a supported country ({hint})")
        return
    values["holidays_country"] = country
    values["holidays_subdiv"] = None
    if "holidays_subdiv" in table:
        sub = table["holidays_subdiv"]
        subs = supported[country]
        if not isinstance(sub, str) or sub.strip().upper() not in subs:
            expected = (
                ", ".join(subs[:12]) + ("..." if len(subs) > 12 else "")
                if subs
                else "none for this country"
            )
            r.add(
                path + ("holidays_subdiv",),
                f"{describe(sub)} is not a subdivision of {country} (expected {expected})",
            )
        else:
            values["holidays_subdiv"] = sub.strip().upper()


def _extra_holidays(r: Reader, raw: object, path: KeyPath) -> tuple[str, ...]:
    path = path + ("extra_holidays",)
    if not isinstance(raw, list):
        r.add(path, f"{describe(raw)} is not an array of dates")
        return ()
    out = []
    for i, item in enumerate(raw):
        if isinstance(item, date) and not isinstance(item, datetime):
            out.append(item.isoformat())
            continue
        try:
            out.append(date.fromisoformat(item).isoformat())  # type: ignore[arg-type]
        except (TypeError, ValueError):
            r.add(path + (i,), f"{describe(item)} is not a date (expected YYYY-MM-DD)")
    return tuple(out)


def _hours(
    r: Reader, raw: object, path: KeyPath
) -> dict[int, tuple[tuple[time, time], ...]] | None:
    table = r.table(raw, path, DAYS)
    if table is None:
        return None
    hours = dict(CalendarConfig().hours)  # days not listed keep the default hours
    for day, spec in table.items():
        if day not in DAYS:
            continue
        weekday = DAYS.index(day)
        ranges = _day_ranges(r, spec, path + (day,))
        if ranges is None:
            continue
        if ranges:
            hours[weekday] = ranges
        else:
            hours.pop(weekday, None)
    if not hours:
        r.add(path, "no opening hours on any day (expected at least one open day)")
        return None
    return hours


def _day_ranges(r: Reader, spec: object, path: KeyPath) -> tuple[tuple[time, time], ...] | None:
    expected = '(expected e.g. "08:00-18:00", "08:00-12:00, 14:00-18:00", or "" for closed)'
    if isinstance(spec, list) and all(isinstance(s, str) for s in spec):
        parts = [p.strip() for p in spec]
    elif isinstance(spec, str):
        parts = [p.strip() for p in spec.split(",")] if spec.strip() else []
    else:
        r.add(path, f"{describe(spec)} is not a list of opening hours {expected}")
        return None
    minutes: list[tuple[int, int]] = []
    for part in parts:
        start_s, sep, end_s = part.partition("-")
        start, end = minute_of_day(start_s), minute_of_day(end_s)
        if end == 0:  # "00:00" as an end is midnight at the close of the day, like 24:00
            end = 24 * 60
        if not sep or start is None or end is None or not start < end:
            r.add(path, f"{describe(part)} is not a range of hours {expected}")
            return None
        minutes.append((start, end))
    minutes.sort()
    for (_, end), (start, _) in itertools.pairwise(minutes):
        if start < end:
            r.add(path, f"{describe(spec)} has overlapping ranges {expected}")
            return None
    # ronda.calendar reads an end of 00:00 as the close of the day (24:00).
    return tuple((clock(start), clock(end % (24 * 60))) for start, end in minutes)
