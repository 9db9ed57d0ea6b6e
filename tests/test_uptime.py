"""The uptime arithmetic (pure): states weighted by time, maintenance and gaps left out."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from ronda.uptime import (
    Interval,
    clip,
    daily,
    days_between,
    measured_gap,
    outages,
    state_at,
    uptime,
)

H = 3600.0
T = datetime(2026, 11, 1, 5, tzinfo=UTC).timestamp()  # midnight in Bogotá (UTC-5)
BOG = ZoneInfo("America/Bogota")


def iv(a: float, b: float, state: str, cls: str | None = None) -> Interval:
    return Interval(T + a * H, T + b * H, state, cls)


def test_time_weighted_up_over_up_and_down() -> None:
    u = uptime([iv(0, 9, "up"), iv(9, 10, "down", "http_500")], T, T + 10 * H)
    assert (u.up_seconds, u.down_seconds) == (9 * H, 1 * H)
    assert u.ratio == pytest.approx(0.9)
    assert u.percent == pytest.approx(90.0)


def test_maintenance_leaves_both_sides() -> None:
    u = uptime(
        [iv(0, 6, "up"), iv(6, 8, "maintenance"), iv(8, 10, "down", "timeout")], T, T + 10 * H
    )
    assert u.maintenance_seconds == 2 * H
    assert u.ratio == pytest.approx(6 / 8)  # not 6/10, not 8/10


def test_gaps_are_unmeasured_not_up_nor_down() -> None:
    # Up 0-2, nothing 2-5 (Ronda stopped), down 5-6, nothing after 6 until the period's end.
    u = uptime([iv(0, 2, "up"), iv(5, 6, "down", "refused")], T, T + 10 * H)
    assert u.unmeasured_seconds == 3 * H + 4 * H
    assert u.up_seconds + u.down_seconds + u.unmeasured_seconds == 10 * H
    assert u.ratio == pytest.approx(2 / 3)


def test_nothing_measured_is_no_uptime_not_a_hundred() -> None:
    assert uptime([], T, T + H).ratio is None
    assert uptime([iv(0, 1, "maintenance")], T, T + H).ratio is None
    assert uptime([iv(0, 1, "unmeasured")], T, T + H).unmeasured_seconds == H


def test_boundaries_clip_intervals_that_straddle_the_period() -> None:
    items = [iv(-5, 1, "up"), iv(1, 2, "down", "dns"), iv(2, 30, "maintenance")]
    u = uptime(items, T, T + 3 * H)
    assert (u.up_seconds, u.down_seconds, u.maintenance_seconds) == (H, H, H)
    assert u.unmeasured_seconds == 0
    # An interval that ends exactly where the period starts counts nothing.
    assert uptime([iv(-2, 0, "down")], T, T + H).down_seconds == 0
    assert uptime([iv(1, 2, "down")], T, T + H).down_seconds == 0


def test_clip_is_a_partition_and_later_overlaps_only_fill_what_is_left() -> None:
    parts = clip([iv(0, 4, "up"), iv(2, 6, "down", "x"), iv(8, 9, "up")], T, T + 10 * H)
    assert [(p.start - T) / H for p in parts] == [0, 4, 6, 8, 9]
    assert [p.state for p in parts] == ["up", "down", "unmeasured", "up", "unmeasured"]
    assert parts[-1].end == T + 10 * H
    with pytest.raises(ValueError):
        clip([Interval(T, T + 1, "sideways")], T, T + 2)


def test_daily_follows_the_desks_local_days() -> None:
    # Down from 23:00 to 01:00 local: one hour on each local day.
    items = [iv(0, 23, "up"), iv(23, 25, "down", "timeout"), iv(25, 48, "up")]
    days = daily(items, T, T + 48 * H, BOG)
    assert [d.day for d in days] == [date(2026, 11, 1), date(2026, 11, 2)]
    assert [d.uptime.down_seconds for d in days] == [H, H]
    assert days[0].uptime.ratio == pytest.approx(23 / 24)
    # In UTC the same outage falls within one day (04:00-06:00 UTC of Nov 2).
    utc = daily(items, T, T + 48 * H, UTC)
    assert [d.uptime.down_seconds for d in utc] == [0, 2 * H, 0]


def test_days_between_handles_dst_and_an_end_at_midnight() -> None:
    madrid = ZoneInfo("Europe/Madrid")
    start = datetime(2026, 10, 24, tzinfo=madrid).timestamp()
    end = datetime(2026, 10, 27, tzinfo=madrid).timestamp()
    days = days_between(start, end, madrid)
    assert [d for d, _, _ in days] == [date(2026, 10, 24), date(2026, 10, 25), date(2026, 10, 26)]
    assert [(hi - lo) / H for _, lo, hi in days] == [24, 25, 24]  # the clocks go back on the 25th
    assert days_between(start, start, madrid) == []


def test_outages_merge_consecutive_down_and_split_on_anything_else() -> None:
    items = [
        iv(0, 1, "up"),
        iv(1, 2, "down", "http_502"),
        iv(2, 3, "down", "timeout"),
        iv(3, 4, "up"),
        iv(4, 5, "down", "dns"),
        iv(6, 7, "down", "dns"),  # after a gap: another outage
    ]
    found = outages(items, T, T + 10 * H)
    assert [((o.start - T) / H, (o.end - T) / H) for o in found] == [(1, 3), (4, 5), (6, 7)]
    assert found[0].cls == "http_502" and found[0].classes == ("http_502", "timeout")
    assert found[0].seconds == 2 * H
    assert outages(items, T + 1.5 * H, T + 2.5 * H)[0].seconds == H  # clipped to the period


def test_state_at_and_the_measured_gap() -> None:
    items = clip([iv(0, 1, "up"), iv(1, 2, "down", "x")], T, T + 3 * H)
    assert state_at(items, T + 1 * H).state == "down"
    assert state_at(items, T + 2.5 * H).state == "unmeasured"
    assert state_at(items, T + 9 * H) is None
    assert measured_gap(60) == 180 and measured_gap(900) == 2700
