"""BusinessCalendar: opening hours, Colombian holidays, DST, and the add/between inverse."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ronda.calendar import TWENTY_FOUR_SEVEN, BusinessCalendar
from ronda.config import CalendarConfig

BOG = ZoneInfo("America/Bogota")
NY = ZoneInfo("America/New_York")
H = 3600.0


def bog(*args: int) -> datetime:
    return datetime(*args, tzinfo=BOG)


@pytest.fixture(scope="module")
def cal() -> BusinessCalendar:
    return BusinessCalendar()


# -- opening hours ----------------------------------------------------------------------


def test_default_is_bogota_weekdays_eight_to_six(cal: BusinessCalendar) -> None:
    assert cal.timezone.key == "America/Bogota"
    # 2026-02-02 is a Monday with no holiday.
    assert cal.intervals(date(2026, 2, 2)) == ((bog(2026, 2, 2, 8), bog(2026, 2, 2, 18)),)
    assert cal.intervals(date(2026, 2, 7)) == ()  # Saturday
    assert cal.is_open(bog(2026, 2, 2, 8))  # opening instant is inside
    assert not cal.is_open(bog(2026, 2, 2, 18))  # closing instant is outside
    assert not cal.is_open(bog(2026, 2, 2, 7, 59, 59))


def test_add_within_one_day(cal: BusinessCalendar) -> None:
    assert cal.add(bog(2026, 2, 3, 9, 15), 2 * H) == bog(2026, 2, 3, 11, 15)


def test_evening_start_rolls_to_next_morning(cal: BusinessCalendar) -> None:
    assert cal.add(bog(2026, 2, 3, 19, 30), 1 * H) == bog(2026, 2, 4, 9)
    assert cal.add(bog(2026, 2, 4, 3, 0), 0) == bog(2026, 2, 4, 8)  # zero rolls too


def test_zero_inside_hours_is_the_start_itself(cal: BusinessCalendar) -> None:
    assert cal.add(bog(2026, 2, 4, 10, 1, 2, 345678), 0) == bog(2026, 2, 4, 10, 1, 2, 345678)


def test_duration_ending_at_closing_returns_closing_not_next_opening(
    cal: BusinessCalendar,
) -> None:
    assert cal.add(bog(2026, 2, 4, 16), 2 * H) == bog(2026, 2, 4, 18)
    assert cal.add(bog(2026, 2, 4, 16), 2 * H + 1) == bog(2026, 2, 5, 8, 0, 1)


def test_friday_evening_and_weekend_roll_to_monday(cal: BusinessCalendar) -> None:
    assert cal.add(bog(2026, 2, 6, 17), 3 * H) == bog(2026, 2, 9, 10)
    assert cal.add(bog(2026, 2, 7, 11), 30 * 60) == bog(2026, 2, 9, 8, 30)  # Saturday
    assert cal.between(bog(2026, 2, 6, 17), bog(2026, 2, 9, 10)) == 3 * H
    assert cal.between(bog(2026, 2, 7, 0), bog(2026, 2, 8, 23, 59)) == 0.0


def test_result_is_in_calendar_zone_whatever_the_input_zone(cal: BusinessCalendar) -> None:
    out = cal.add(datetime(2026, 2, 4, 14, 0, tzinfo=UTC), 1 * H)  # 09:00 in Bogota
    assert out.utcoffset() == timedelta(hours=-5)
    assert out == bog(2026, 2, 4, 10)


def test_colombian_holidays_moved_to_monday_are_closed(cal: BusinessCalendar) -> None:
    co = holidays.country_holidays("CO", years=2026)
    # Ley Emiliani: Epiphany (Tue 6 Jan 2026) is observed on Monday 12 Jan.
    assert date(2026, 1, 12) in co and date(2026, 1, 6) not in co
    assert cal.is_holiday(date(2026, 1, 12))
    assert cal.is_open(bog(2026, 1, 6, 10))  # the original date is a working day
    assert not cal.is_open(bog(2026, 1, 12, 10))
    # Friday 17:00 + 2 h: one hour on Friday, Monday is the holiday, one hour on Tuesday.
    assert cal.add(bog(2026, 1, 9, 17), 2 * H) == bog(2026, 1, 13, 9)
    assert cal.between(bog(2026, 1, 9, 8), bog(2026, 1, 13, 18)) == 20 * H


def test_fixed_holiday_on_a_weekday_is_closed(cal: BusinessCalendar) -> None:
    # 2026-08-07 (Battle of Boyaca) is a Friday.
    assert cal.add(bog(2026, 8, 6, 17), 2 * H) == bog(2026, 8, 10, 9)


def test_extra_holidays_and_no_country() -> None:
    cfg = CalendarConfig(holidays_country=None, extra_holidays=("2026-02-04",))
    c = BusinessCalendar(cfg)
    assert c.is_open(bog(2026, 1, 12, 10))  # no Colombian holidays any more
    assert not c.is_open(bog(2026, 2, 4, 10))
    assert c.add(bog(2026, 2, 3, 17), 2 * H) == bog(2026, 2, 5, 9)


def test_split_day_with_lunch_break() -> None:
    hours = {d: ((time(8), time(12)), (time(14), time(18))) for d in range(5)}
    c = BusinessCalendar(CalendarConfig(hours=hours, holidays_country=None))
    assert c.add(bog(2026, 2, 2, 11), 2 * H) == bog(2026, 2, 2, 15)
    assert not c.is_open(bog(2026, 2, 2, 13))
    assert c.between(bog(2026, 2, 2, 0), bog(2026, 2, 3, 0)) == 8 * H


def test_end_of_midnight_means_end_of_day() -> None:
    hours = {5: ((time(20), time(0)),)}  # Saturdays 20:00-24:00 only
    c = BusinessCalendar(CalendarConfig(hours=hours, holidays_country=None))
    assert c.add(bog(2026, 2, 2, 9), 4 * H) == bog(2026, 2, 8, 0)
    assert c.add(bog(2026, 2, 2, 9), 5 * H) == bog(2026, 2, 14, 21)


def test_between_is_zero_when_end_not_after_start(cal: BusinessCalendar) -> None:
    assert cal.between(bog(2026, 2, 4, 12), bog(2026, 2, 4, 12)) == 0.0
    assert cal.between(bog(2026, 2, 4, 12), bog(2026, 2, 4, 10)) == 0.0


def test_bad_inputs_are_refused(cal: BusinessCalendar) -> None:
    with pytest.raises(ValueError, match="aware"):
        cal.add(datetime(2026, 2, 4, 10), 60)
    with pytest.raises(ValueError, match=">= 0"):
        cal.add(bog(2026, 2, 4, 10), -1)
    with pytest.raises(ValueError, match="no opening hours"):
        BusinessCalendar(CalendarConfig(hours={}))
    with pytest.raises(ValueError, match="ISO date"):
        BusinessCalendar(CalendarConfig(extra_holidays=("4 Feb",)))
    with pytest.raises(ValueError, match="empty"):
        BusinessCalendar(CalendarConfig(hours={0: ((time(18), time(8)),)}))


def test_calendar_that_never_opens_fails_instead_of_looping() -> None:
    every_day = tuple((date(2026, 1, 1) + timedelta(days=n)).isoformat() for n in range(3700))
    c = BusinessCalendar(CalendarConfig(holidays_country=None, extra_holidays=every_day))
    with pytest.raises(ValueError, match="never opens"):
        c.add(bog(2026, 1, 1), 60)


# -- long durations: week skipping agrees with a day-by-day reference ---------------------


def _reference_add(start: datetime, seconds: float) -> datetime:
    """Slow, obvious model of the default calendar: walk day by day."""
    co = holidays.country_holidays("CO")
    day = start.astimezone(BOG).date()
    at = start.astimezone(BOG)
    while True:
        if day.weekday() < 5 and day not in co:
            opens = datetime.combine(day, time(8), tzinfo=BOG)
            closes = datetime.combine(day, time(18), tzinfo=BOG)
            begin = max(opens, at)
            if begin < closes:
                if begin + timedelta(seconds=seconds) <= closes:
                    return begin + timedelta(seconds=seconds)
                seconds -= (closes - begin).total_seconds()
        day += timedelta(days=1)


@pytest.mark.parametrize("hours", [10, 47, 48, 480, 1000, 2500])
def test_long_durations_match_reference(cal: BusinessCalendar, hours: int) -> None:
    start = bog(2026, 3, 18, 13, 20)
    assert cal.add(start, hours * H) == _reference_add(start, hours * H)
    assert cal.between(start, cal.add(start, hours * H)) == hours * H


# -- zones with daylight saving time ------------------------------------------------------


def test_dst_zone_weekend_change_keeps_local_hours() -> None:
    # US clocks spring forward on Sunday 2026-03-08.
    c = BusinessCalendar(CalendarConfig(timezone="America/New_York", holidays_country=None))
    out = c.add(datetime(2026, 3, 6, 17, tzinfo=NY), 2 * H)
    assert out.isoformat() == "2026-03-09T09:00:00-04:00"
    assert c.between(datetime(2026, 3, 6, 8, tzinfo=NY), datetime(2026, 3, 9, 18, tzinfo=NY)) == (
        20 * H
    )


def test_dst_transition_inside_opening_hours_counts_real_time() -> None:
    sunday_night = {6: ((time(1), time(4)),)}
    c = BusinessCalendar(
        CalendarConfig(timezone="America/New_York", hours=sunday_night, holidays_country=None)
    )
    # Spring forward (01:00 EST -> 04:00 EDT is 2 real hours), fall back (4 real hours).
    spring, fall = date(2026, 3, 8), date(2026, 11, 1)
    assert c.between(*c.intervals(spring)[0]) == 2 * H
    assert c.between(*c.intervals(fall)[0]) == 4 * H
    assert c.add(datetime(2026, 3, 8, 1, tzinfo=NY), 1.5 * H).isoformat() == (
        "2026-03-08T03:30:00-04:00"
    )
    # Fall back: 1.5 h after 01:00 EDT is 01:30 EST (the second 01:30 of the night).
    out = c.add(datetime(2026, 11, 1, 1, tzinfo=NY), 1.5 * H)
    assert out.isoformat() == "2026-11-01T01:30:00-05:00"


def test_twenty_four_seven_counts_wall_clock_across_dst() -> None:
    c = BusinessCalendar.always("America/New_York")
    start = datetime(2026, 11, 1, 0, 30, tzinfo=NY)
    out = c.add(start, 2 * H)
    assert out.isoformat() == "2026-11-01T01:30:00-05:00"  # not 02:30: the hour repeats
    assert c.between(start, out) == 2 * H
    assert c.is_open(datetime(2026, 12, 25, 3, tzinfo=NY))
    assert TWENTY_FOUR_SEVEN.add(bog(2026, 2, 7, 23), 60).isoformat() == (
        "2026-02-08T04:01:00+00:00"
    )


# -- properties ---------------------------------------------------------------------------

_starts = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(BOG)
)
_durations = st.floats(min_value=0, max_value=4_000_000, allow_nan=False, allow_infinity=False)
_NY_CAL = BusinessCalendar(CalendarConfig(timezone="America/New_York", holidays_country="US"))
_CALS = st.sampled_from([BusinessCalendar(), _NY_CAL])


@settings(max_examples=300, deadline=None)
@given(cal=_CALS, start=_starts, d=_durations)
def test_between_inverts_add(cal: BusinessCalendar, start: datetime, d: float) -> None:
    end = cal.add(start, d)
    assert end.timestamp() >= start.timestamp()
    assert abs(cal.between(start, end) - d) <= 1e-6


@settings(max_examples=300, deadline=None)
@given(cal=_CALS, start=_starts, d1=_durations, d2=_durations)
def test_add_is_monotonic_in_duration(
    cal: BusinessCalendar, start: datetime, d1: float, d2: float
) -> None:
    lo, hi = sorted((d1, d2))
    assert cal.add(start, lo) <= cal.add(start, hi)


@settings(max_examples=300, deadline=None)
@given(cal=_CALS, s1=_starts, s2=_starts, d=_durations)
def test_add_is_monotonic_in_start(
    cal: BusinessCalendar, s1: datetime, s2: datetime, d: float
) -> None:
    lo, hi = sorted((s1, s2), key=datetime.timestamp)
    assert cal.add(lo, d).timestamp() <= cal.add(hi, d).timestamp()
