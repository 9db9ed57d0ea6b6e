"""A report's month: `2026-11` as the half-open period between two local midnights in the
desk's time zone (a day there may be 23 or 25 hours long; the month is what the desk's
calendar says it is)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo

_MONTH = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True, slots=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """`2026-11`; ValueError for anything else."""
        match = _MONTH.fullmatch(text.strip())
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise ValueError(f"{text!r} is not a month (expected YYYY-MM, e.g. 2026-11)")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def before(cls, now: datetime, tz: tzinfo) -> Month:
        """The month before the one `now` falls in, on the desk's calendar."""
        local = now.astimezone(tz)
        return cls(local.year - 1, 12) if local.month == 1 else cls(local.year, local.month - 1)

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def start(self, tz: tzinfo) -> datetime:
        """Local midnight of the 1st, aware."""
        return datetime(self.year, self.month, 1, tzinfo=tz)

    def end(self, tz: tzinfo) -> datetime:
        """Local midnight of the next month's 1st (excluded)."""
        return self.next().start(tz)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


__all__ = ["Month"]
