"""Time spent as agents write it (`1h15`, `75m`, `1:15`, `1.5h`) and read it (`1 h 15 min`)."""

from __future__ import annotations

import pytest

from ronda.durations import BadDuration, format_spent, parse_spent


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("1h15", 75),
        ("1h15m", 75),
        ("1h 15min", 75),
        ("1H15M", 75),
        ("2h", 120),
        ("1.5h", 90),
        ("1,5h", 90),
        ("0.25h", 15),
        ("75m", 75),
        ("75min", 75),
        (" 75 m ", 75),
        ("1:15", 75),
        ("0:05", 5),
        ("45", 45),
        ("100h", 6000),
    ],
)
def test_what_agents_write_is_read_as_minutes(text: str, minutes: int) -> None:
    assert parse_spent(text) == minutes * 60


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "syntax"),
        ("una hora", "syntax"),
        ("1h75", "syntax"),  # minutes past the hour go to 59
        ("1:75", "syntax"),
        ("1:5", "syntax"),
        ("-5m", "syntax"),
        ("1.5h30", "mixed"),
        ("0", "zero"),
        ("0h0m", "zero"),
        ("0:00", "zero"),
        ("101h", "too_long"),
        ("6001m", "too_long"),
        ("9" * 5000, "syntax"),  # bounded: no giant integers parsed
        ("1" * 400 + ".5h", "syntax"),
    ],
)
def test_anything_else_is_refused_naming_the_input(text: str, why: str) -> None:
    with pytest.raises(BadDuration) as caught:
        parse_spent(text)
    assert caught.value.why == why
    assert repr(text.strip()[:40]) in str(caught.value)


def test_the_refusal_gives_examples() -> None:
    with pytest.raises(BadDuration, match=r"'una hora' is not a time spent \(expected e.g. 1h15"):
        parse_spent("una hora")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (4500.0, "1 h 15 min"),
        (3600.0, "1 h"),
        (2700.0, "45 min"),
        (5400.0, "1 h 30 min"),
        (89.0, "1 min"),
        (30.0, "30 s"),
        (0.0, "0 min"),
        (-5.0, "0 min"),
        (float("nan"), "0 min"),
        (3599.0, "1 h"),  # rounded to the minute
        (36 * 3600.0 + 60, "36 h 1 min"),
    ],
)
def test_durations_read_as_hours_and_minutes(seconds: float, text: str) -> None:
    assert format_spent(seconds) == text


def test_what_is_shown_reads_back_as_the_same_time() -> None:
    for minutes in (1, 59, 60, 61, 75, 599, 6000):
        shown = format_spent(minutes * 60.0)
        assert parse_spent(shown.replace(" ", "")) == minutes * 60
