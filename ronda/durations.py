"""Time spent on a case as agents write it and read it: `1h15`, `75m`, `1:15`, `1.5h` in,
`1 h 15 min` out. Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
import re

# One entry of logged time above this is a typo far more often than a week's work.
MAX_SPENT_SECONDS = 100 * 3600.0

_H_M = re.compile(r"(\d+(?:[.,]\d+)?)h(?:([0-5]?\d)(?:m|min)?)?")  # 1h, 1h15, 1h15m, 1.5h
_M = re.compile(r"(\d+)(?:m|min)?")  # 75m, 75min, 75 (minutes)
_CLOCK = re.compile(r"(\d+):([0-5]\d)")  # 1:15


class BadDuration(ValueError):
    """A text that is not a time spent; the message names it and gives examples. `why` is
    one of "syntax", "mixed", "zero", "too_long" (for a translated message), `text` the
    input as written."""

    def __init__(self, message: str, why: str, text: str) -> None:
        super().__init__(message)
        self.why = why
        self.text = text


def parse_spent(text: str) -> float:
    """Seconds of `1h15`, `1h15m`, `1h 15min`, `2h`, `1.5h`, `1,5h`, `75m`, `75min`, `1:15`
    or plain minutes (`45`). Refuses anything else, zero, and more than 100 hours."""
    shown = text.strip()[:40]
    compact = re.sub(r"\s+", "", text).lower()
    minutes: float
    if len(compact) > 16:  # no time spent is written longer; bounds the numbers below
        match = None
    elif match := _H_M.fullmatch(compact):
        hours = float(match.group(1).replace(",", "."))
        if match.group(2) is not None and hours != int(hours):
            raise BadDuration(
                f"{shown!r} mixes decimal hours and minutes (write 1h30)", "mixed", shown
            )
        minutes = hours * 60 + int(match.group(2) or 0)
    elif match := _CLOCK.fullmatch(compact):
        minutes = int(match.group(1)) * 60 + int(match.group(2))
    elif match := _M.fullmatch(compact):
        minutes = int(match.group(1))
    if match is None:
        raise BadDuration(
            f"{shown!r} is not a time spent (expected e.g. 1h15, 75m, 1:15 or 1.5h)",
            "syntax",
            shown,
        )
    seconds = round(minutes * 60.0)
    if seconds <= 0:
        raise BadDuration(f"{shown!r}: the time spent must be more than zero", "zero", shown)
    if seconds > MAX_SPENT_SECONDS:
        raise BadDuration(f"{shown!r} is more than 100 h in one entry", "too_long", shown)
    return float(seconds)


def format_spent(seconds: float) -> str:
    """`1 h 15 min`, `45 min`, `2 h`, `30 s` (under a minute), `0 min`: to the minute,
    rounded; the same in English and Spanish."""
    if not math.isfinite(seconds) or seconds <= 0:
        return "0 min"
    if seconds < 60:
        return f"{round(seconds)} s"
    total = round(seconds / 60)
    hours, minutes = divmod(total, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    if hours:
        return f"{hours} h"
    return f"{minutes} min"


__all__ = ["MAX_SPENT_SECONDS", "BadDuration", "format_spent", "parse_spent"]
