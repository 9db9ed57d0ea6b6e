"""Hand-moved clocks injected into the desk: tests travel in time without sleeping."""

from __future__ import annotations

from datetime import datetime, timedelta


class Clock:
    """A wall clock (aware datetimes) that moves only when told."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


class FakeClock:
    """A monotonic clock (float seconds) that moves only when told."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
