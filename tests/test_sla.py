"""SLA policy: the contract's matrix, deadlines, pauses, states, compliance."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from ronda.config import CalendarConfig, Config, SlaCellConfig
from ronda.model import Impact, Priority, SlaState
from ronda.sla import (
    Compliance,
    Deadlines,
    SlaPolicy,
    compliance,
    default_matrix,
    format_deadlines,
)

BOG = ZoneInfo("America/Bogota")
P, I = Priority, Impact  # noqa: E741 - the matrix reads better with short names
H = 3600.0


def bog(*args: int) -> datetime:
    return datetime(*args, tzinfo=BOG)


@pytest.fixture(scope="module")
def policy() -> SlaPolicy:
    return SlaPolicy.default()


# Friday 2026-02-06 17:00 Bogota: one business hour left that day, no holidays until March.
FRIDAY_5PM = bog(2026, 2, 6, 17)

# cell -> (target h, limit h, calendar, target_at, limit_at) opened at FRIDAY_5PM
MATRIX = {
    (P.LOW, I.LOW): (36, 48, "business", bog(2026, 2, 12, 13), bog(2026, 2, 13, 15)),
    (P.LOW, I.MEDIUM): (24, 36, "business", bog(2026, 2, 11, 11), bog(2026, 2, 12, 13)),
    (P.LOW, I.HIGH): (12, 24, "business", bog(2026, 2, 10, 9), bog(2026, 2, 11, 11)),
    (P.MEDIUM, I.LOW): (8, 12, "business", bog(2026, 2, 9, 15), bog(2026, 2, 10, 9)),
    (P.MEDIUM, I.MEDIUM): (6, 8, "business", bog(2026, 2, 9, 13), bog(2026, 2, 9, 15)),
    (P.MEDIUM, I.HIGH): (4, 6, "business", bog(2026, 2, 9, 11), bog(2026, 2, 9, 13)),
    (P.HIGH, I.LOW): (3, 4, "business", bog(2026, 2, 9, 10), bog(2026, 2, 9, 11)),
    (P.HIGH, I.MEDIUM): (0.5, 1, "24x7", bog(2026, 2, 6, 17, 30), bog(2026, 2, 6, 18)),
    (P.HIGH, I.HIGH): (5 / 60, 15 / 60, "24x7", bog(2026, 2, 6, 17, 5), bog(2026, 2, 6, 17, 15)),
}


@pytest.mark.parametrize("cell", list(MATRIX), ids=lambda c: f"{c[0]}-{c[1]}")
def test_matrix_cell_and_its_deadlines(policy: SlaPolicy, cell: tuple[Priority, Impact]) -> None:
    target_h, limit_h, calendar, target_at, limit_at = MATRIX[cell]
    expected = SlaCellConfig(timedelta(hours=target_h), timedelta(hours=limit_h), calendar)
    assert default_matrix()[cell] == expected
    assert policy.cell(*cell) == expected
    d = policy.deadlines(*cell, FRIDAY_5PM)
    assert d == Deadlines(target_at=target_at, limit_at=limit_at)
    assert d.limit_at.utcoffset() == timedelta(hours=-5)  # shown in the desk's zone


def test_matrix_has_exactly_nine_cells() -> None:
    assert set(default_matrix()) == {(p, i) for p in Priority for i in Impact}


def test_calendars_per_cell(policy: SlaPolicy) -> None:
    assert policy.calendar_for(P.HIGH, I.LOW) is policy.business
    assert policy.calendar_for(P.HIGH, I.HIGH) is policy.always
    assert policy.always.always_open and policy.always.timezone.key == "America/Bogota"


def test_config_overrides_cell_by_cell_and_sets_calendar() -> None:
    faster = SlaCellConfig(timedelta(hours=1), timedelta(hours=2), "24x7")
    cfg = Config(
        sla={(P.LOW, I.LOW): faster},
        calendar=CalendarConfig(hours={d: ((time(9), time(17)),) for d in range(6)}),
    )
    pol = SlaPolicy.from_config(cfg)
    assert pol.cell(P.LOW, I.LOW) == faster
    assert pol.cell(P.LOW, I.MEDIUM) == default_matrix()[(P.LOW, I.MEDIUM)]
    assert pol.deadlines(P.LOW, I.LOW, FRIDAY_5PM).limit_at == bog(2026, 2, 6, 19)
    # Saturday 09:00-17:00 is open in this calendar: 2 h business from Friday 16:00.
    assert pol.deadlines(P.HIGH, I.LOW, bog(2026, 2, 6, 16)).target_at == bog(2026, 2, 7, 11)


def test_bad_calendar_name_is_refused() -> None:
    cfg = Config(sla={(P.LOW, I.LOW): SlaCellConfig(timedelta(1), timedelta(2), "weekdays")})
    with pytest.raises(ValueError, match="'business' or '24x7'"):
        SlaPolicy.from_config(cfg)


def test_holiday_moved_to_monday_delays_business_deadline(policy: SlaPolicy) -> None:
    # Monday 2026-01-12 is Epiphany observed: high/low counts Friday's hour then Tuesday.
    d = policy.deadlines(P.HIGH, I.LOW, bog(2026, 1, 9, 17))
    assert d == Deadlines(bog(2026, 1, 13, 10), bog(2026, 1, 13, 11))
    # The 24x7 cell does not care about holidays.
    assert policy.deadlines(P.HIGH, I.HIGH, bog(2026, 1, 12, 3)).limit_at == bog(2026, 1, 12, 3, 15)


def test_opened_in_the_evening_starts_next_morning(policy: SlaPolicy) -> None:
    d = policy.deadlines(P.MEDIUM, I.HIGH, bog(2026, 2, 3, 21, 40))
    assert d == Deadlines(bog(2026, 2, 4, 12), bog(2026, 2, 4, 14))


# -- states and countdowns with the clock frozen ----------------------------------------


@pytest.mark.parametrize(
    ("now", "state"),
    [
        ("2026-02-09 13:00:00-05:00", SlaState.OK),  # exactly the target: not past it
        ("2026-02-09 13:00:01-05:00", SlaState.WARNING),
        ("2026-02-09 15:00:00-05:00", SlaState.WARNING),  # exactly the limit
        ("2026-02-09 15:00:01-05:00", SlaState.BREACHED),
        ("2026-02-07 12:00:00-05:00", SlaState.OK),  # Saturday: the clock is stopped
    ],
)
def test_state_follows_the_frozen_clock(policy: SlaPolicy, now: str, state: SlaState) -> None:
    with freeze_time(now):
        assert policy.state(P.MEDIUM, I.MEDIUM, FRIDAY_5PM, datetime.now(BOG)) == state


def test_met_and_missed_compare_the_response_with_the_limit(policy: SlaPolicy) -> None:
    with freeze_time("2026-03-01 12:00:00-05:00"):
        now = datetime.now(BOG)
        on_limit = policy.state(P.HIGH, I.HIGH, FRIDAY_5PM, now, bog(2026, 2, 6, 17, 15))
        late = policy.state(P.HIGH, I.HIGH, FRIDAY_5PM, now, bog(2026, 2, 6, 17, 15, 1))
        paused = policy.state(P.HIGH, I.HIGH, FRIDAY_5PM, now, paused_at=bog(2026, 2, 6, 17, 1))
    assert (on_limit, late, paused) == (SlaState.MET, SlaState.MISSED, SlaState.PAUSED)


def test_time_left_counts_down_and_goes_negative(policy: SlaPolicy) -> None:
    with freeze_time("2026-02-06 22:10:00+00:00"):  # 17:10 Bogota
        assert policy.time_left(P.HIGH, I.HIGH, FRIDAY_5PM, datetime.now(UTC)) == 300.0
    with freeze_time("2026-02-06 22:25:00+00:00"):
        assert policy.time_left(P.HIGH, I.HIGH, FRIDAY_5PM, datetime.now(UTC)) == -600.0


def test_time_left_is_frozen_while_paused(policy: SlaPolicy) -> None:
    paused_at = bog(2026, 2, 9, 10)  # medium/medium limit is Monday 15:00
    for now in ("2026-02-09 10:00:00-05:00", "2026-02-11 16:00:00-05:00"):
        with freeze_time(now):
            left = policy.time_left(
                P.MEDIUM, I.MEDIUM, FRIDAY_5PM, datetime.now(BOG), paused_at=paused_at
            )
        assert left == 5 * H


# -- pauses ---------------------------------------------------------------------------------


def test_ticket_paused_over_a_weekend(policy: SlaPolicy) -> None:
    opened = bog(2026, 2, 6, 10)  # Friday; low/high = 12 h target, 24 h limit
    before = policy.deadlines(P.LOW, I.HIGH, opened)
    assert before == Deadlines(bog(2026, 2, 9, 12), bog(2026, 2, 10, 14))
    paused_at, resumed_at = bog(2026, 2, 6, 16), bog(2026, 2, 9, 10)
    # Only Friday 16-18 and Monday 8-10 are business time: the weekend does not count.
    paused = policy.paused_business_seconds(P.LOW, I.HIGH, paused_at, resumed_at)
    assert paused == 4 * H
    after = policy.deadlines(P.LOW, I.HIGH, opened, paused_seconds=paused)
    assert after == Deadlines(bog(2026, 2, 9, 16), bog(2026, 2, 10, 18))
    with freeze_time("2026-02-08 12:00:00-05:00"):  # Sunday, still paused
        now = datetime.now(BOG)
        assert policy.state(P.LOW, I.HIGH, opened, now, paused_at=paused_at) == SlaState.PAUSED
        frozen = policy.time_left(P.LOW, I.HIGH, opened, now, paused_at=paused_at)
        assert frozen == 94 * H  # Friday 16:00 to Tuesday 14:00, wall clock
    with freeze_time("2026-02-10 17:00:00-05:00"):  # past the old limit, before the new one
        now = datetime.now(BOG)
        assert policy.state(P.LOW, I.HIGH, opened, now, paused_seconds=paused) == SlaState.WARNING
        assert policy.time_left(P.LOW, I.HIGH, opened, now, paused_seconds=paused) == H
    # Business time consumed excludes both the weekend and the pause.
    elapsed = policy.business_elapsed(P.LOW, I.HIGH, opened, bog(2026, 2, 9, 11), paused)
    assert elapsed == 7 * H  # Friday 10-16 and Monday 10-11


def test_pause_on_a_24x7_cell_counts_wall_clock(policy: SlaPolicy) -> None:
    a, b = bog(2026, 2, 6, 17, 2), bog(2026, 2, 9, 8)
    assert policy.paused_business_seconds(P.HIGH, I.HIGH, a, b) == (b - a).total_seconds()
    assert (
        policy.paused_total(P.LOW, I.HIGH, [(a, b), (bog(2026, 2, 9, 9), bog(2026, 2, 9, 9, 30))])
        == 88 * 60
    )


# -- priority changes ------------------------------------------------------------------------


def test_priority_change_recomputes_from_the_opening(policy: SlaPolicy) -> None:
    # Opened Friday 17:00 as low/medium; raised to high/medium on Monday 09:00.
    with freeze_time("2026-02-09 09:00:00-05:00"):
        now = datetime.now(BOG)
        assert policy.state(P.LOW, I.MEDIUM, FRIDAY_5PM, now) == SlaState.OK
        raised = policy.deadlines(P.HIGH, I.MEDIUM, FRIDAY_5PM)
        assert raised.limit_at == bog(2026, 2, 6, 18)  # from the opening, not from the change
        assert policy.state(P.HIGH, I.MEDIUM, FRIDAY_5PM, now) == SlaState.BREACHED
        # Lowered from high/high to medium/medium: business hours from the opening again.
        assert policy.state(P.MEDIUM, I.MEDIUM, FRIDAY_5PM, now) == SlaState.OK
        assert policy.time_left(P.MEDIUM, I.MEDIUM, FRIDAY_5PM, now) == 6 * H


def test_priority_change_remeasures_pauses_in_the_new_calendar(policy: SlaPolicy) -> None:
    pauses = [(bog(2026, 2, 6, 17, 1), bog(2026, 2, 9, 8, 1))]  # Friday evening to Monday
    business = policy.paused_total(P.HIGH, I.LOW, pauses)
    wall = policy.paused_total(P.HIGH, I.HIGH, pauses)
    assert (business, wall) == (60 * 59 + 60, 63 * H)
    d = policy.deadlines(P.HIGH, I.HIGH, FRIDAY_5PM, paused_seconds=wall)
    assert d.limit_at == bog(2026, 2, 9, 8, 15)


def test_business_elapsed_for_the_first_response_histogram(policy: SlaPolicy) -> None:
    answered = bog(2026, 2, 9, 9)
    assert policy.business_elapsed(P.LOW, I.LOW, FRIDAY_5PM, answered) == 2 * H
    assert policy.business_elapsed(P.HIGH, I.HIGH, FRIDAY_5PM, answered) == 64 * H
    assert policy.business_elapsed(P.LOW, I.LOW, answered, FRIDAY_5PM) == 0.0


def test_naive_now_is_refused(policy: SlaPolicy) -> None:
    with pytest.raises(ValueError, match="aware"):
        policy.state(P.LOW, I.LOW, FRIDAY_5PM, datetime(2026, 2, 9, 9))


# -- compliance -------------------------------------------------------------------------------


def test_compliance_counts_due_and_met_per_cell() -> None:
    ws, we = bog(2026, 2, 1), bog(2026, 3, 1)
    records = [
        (P.HIGH, I.HIGH, bog(2026, 2, 5, 10), bog(2026, 2, 5, 9)),  # met
        (P.HIGH, I.HIGH, bog(2026, 2, 5, 10), bog(2026, 2, 5, 10)),  # met on the limit
        (P.HIGH, I.HIGH, bog(2026, 2, 5, 10), bog(2026, 2, 5, 10, 0, 1)),  # missed
        (P.HIGH, I.HIGH, bog(2026, 2, 20, 10), None),  # unanswered past limit: missed
        (P.LOW, I.LOW, bog(2026, 3, 3, 10), bog(2026, 2, 27, 9)),  # answered early in window
        (P.LOW, I.LOW, bog(2026, 3, 3, 10), None),  # due after the window
        (P.LOW, I.LOW, bog(2026, 1, 30, 10), bog(2026, 1, 29, 10)),  # before the window
        (P.LOW, I.LOW, bog(2026, 1, 31, 10), bog(2026, 2, 2, 10)),  # late, answered inside
        (P.MEDIUM, I.LOW, bog(2026, 3, 1), None),  # limit on the (open) window end
    ]
    out = compliance(records, ws, we)
    assert len(out) == 9
    assert out[(P.HIGH, I.HIGH)] == Compliance(met=2, due=4)
    assert out[(P.HIGH, I.HIGH)].ratio == 0.5 and out[(P.HIGH, I.HIGH)].missed == 2
    assert out[(P.LOW, I.LOW)] == Compliance(met=1, due=2)
    assert out[(P.MEDIUM, I.LOW)] == Compliance(0, 0)
    assert out[(P.MEDIUM, I.LOW)].ratio == 1.0
    high = sum((out[(P.HIGH, i)] for i in Impact), Compliance())
    assert high == Compliance(met=2, due=4)


def test_format_deadlines_two_lines() -> None:
    d = SlaPolicy.default().deadlines(P.HIGH, I.MEDIUM, FRIDAY_5PM)
    assert format_deadlines(d) == (
        "target 2026-02-06T17:30:00-05:00\nlimit 2026-02-06T18:00:00-05:00"
    )
