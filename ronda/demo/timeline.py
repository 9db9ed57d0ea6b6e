"""The demo's script: which site changes behaviour when, and a driver that plays it.

`Timeline` is a pure schedule of `Step`s (offset in script seconds, site, new behaviour).
`TimelineDriver` applies the steps to a running `Fleet` as time passes, `speed` times faster
than written; tests skip the waiting and call `apply_until(t)` instead.

The default script, in probe rounds of `round_seconds` (each change lands mid-round, so a
probe never races it):
- the intermittent site flaps, HTTP 500 and back, every round for `flap_rounds` rounds;
- the degrading site turns slow, then its database gives out, then it is fixed;
- the recovering site (down with 503 at start) comes back on its own;
- every site of the outage server is refused at once, then all come back as they were.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ronda.demo.fleet import Fleet
    from ronda.demo.specs import DemoSite

FLAPPING_SITE = "reservas-hotel-mar"
DEGRADING_SITE = "academia-idiomas"
RECOVERING_SITE = "law-office-garcia"
OUTAGE_SERVER = "web-04"


@dataclass(frozen=True, slots=True)
class Step:
    at: float  # script seconds from the start
    site: str
    behaviour: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Timeline:
    """Steps in the order they happen (sorted on construction; ties keep their order)."""

    steps: tuple[Step, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(sorted(self.steps, key=lambda s: s.at)))

    @property
    def duration(self) -> float:
        return self.steps[-1].at if self.steps else 0.0

    @property
    def sites(self) -> frozenset[str]:
        return frozenset(s.site for s in self.steps)

    def until(self, t: float) -> tuple[Step, ...]:
        """Steps at or before script time `t`."""
        return tuple(s for s in self.steps if s.at <= t)

    def between(self, after: float, upto: float) -> tuple[Step, ...]:
        """Steps in (after, upto]."""
        return tuple(s for s in self.steps if after < s.at <= upto)

    def state_at(self, t: float, initial: Mapping[str, str]) -> dict[str, str]:
        """Every site's behaviour at script time `t`, starting from `initial`."""
        state = dict(initial)
        for step in self.until(t):
            state[step.site] = step.behaviour
        return state


def default_timeline(
    sites: Sequence[DemoSite],
    *,
    round_seconds: float = 60.0,
    flap_rounds: int = 8,
    flap_phase_rounds: int = 1,
    flapping: str = FLAPPING_SITE,
    degrading: str = DEGRADING_SITE,
    recovering: str = RECOVERING_SITE,
    outage_server: str = OUTAGE_SERVER,
) -> Timeline:
    """The demo's script for these sites (the default fleet's, unless names are given).

    The flapping site changes `flap_rounds` times, each state lasting `flap_phase_rounds`
    rounds (two rounds per state keep a probe from missing one when rounds jitter)."""
    names = {s.name for s in sites}
    for name in (flapping, degrading, recovering):
        if name not in names:
            raise ValueError(f"no site named {name!r} for the timeline")
    outage = [s.name for s in sites if s.server == outage_server]
    if len(outage) < 3:
        raise ValueError(f"server {outage_server!r} has {len(outage)} sites (expected >= 3)")
    if clash := {flapping, degrading, recovering} & set(outage):
        # Their own steps would bring them up in the middle of the outage.
        raise ValueError(f"{', '.join(sorted(clash))} must not be on {outage_server!r}")
    r = round_seconds

    def at(rounds: float) -> float:
        return (rounds + 0.5) * r  # mid-round

    steps: list[Step] = []
    phase = flap_phase_rounds
    for k in range(flap_rounds):
        down = k % 2 == 0
        behaviour, note = ("http_500", "flaps") if down else ("ok", "flaps back")
        steps.append(Step(at(k * phase), flapping, behaviour, note))
    steps.append(Step(at(flap_rounds * phase), flapping, "ok", "stops flapping"))
    steps += [
        Step(at(2), degrading, "slow", "gets slow"),
        Step(at(5), degrading, "wp_db_connection", "database gives out"),
        Step(at(12), degrading, "ok", "fixed"),
        Step(at(3), recovering, "ok", "recovers on its own"),
    ]
    initial = {s.name: s.behaviour for s in sites}
    before = Timeline(tuple(steps)).state_at(at(6), initial)
    steps += [Step(at(6), name, "refused", f"{outage_server} goes down") for name in outage]
    steps += [Step(at(9), name, before[name], f"{outage_server} is back") for name in outage]
    return Timeline(tuple(steps))


class TimelineDriver:
    """Plays a timeline on a fleet, `speed` times faster than written.

    `start()` / `stop()` run it in the background on the fleet's own loop; `await run()`
    plays it on the caller's loop; `apply_until(t)` applies everything due by script time
    `t` at once (tests). Each applied step is passed to `on_step` (from the loop that
    applied it) and appended to `applied`.
    """

    def __init__(
        self,
        timeline: Timeline,
        fleet: Fleet,
        *,
        speed: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        on_step: Callable[[Step], None] | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.timeline = timeline
        self.fleet = fleet
        self.speed = speed
        self._clock = clock
        self._on_step = on_step
        self._next = 0  # index of the first step not applied yet
        self._started: float | None = None
        self._future: concurrent.futures.Future | None = None
        self.applied: list[Step] = []

    @property
    def pending(self) -> tuple[Step, ...]:
        return self.timeline.steps[self._next :]

    @property
    def elapsed(self) -> float:
        """Script seconds since `run()` began (0 before)."""
        if self._started is None:
            return 0.0
        return (self._clock() - self._started) * self.speed

    def _due(self, t: float) -> Step | None:
        steps = self.timeline.steps
        if self._next < len(steps) and steps[self._next].at <= t:
            return steps[self._next]
        return None

    def _record(self, step: Step) -> None:
        # The cursor moves only once the step is in effect: `finished` means applied.
        self._next += 1
        self.applied.append(step)
        if self._on_step is not None:
            self._on_step(step)

    def apply_until(self, t: float) -> list[Step]:
        """Apply every step due by script time `t` (blocking; not from the fleet's loop)."""
        done = []
        while (step := self._due(t)) is not None:
            self.fleet.set_behaviour(step.site, step.behaviour)
            self._record(step)
            done.append(step)
        return done

    async def run(self) -> None:
        """Apply the steps in real time until the script ends."""
        self._started = self._clock()
        on_fleet_loop = asyncio.get_running_loop() is self.fleet._loop
        while self._next < len(self.timeline.steps):
            step = self.timeline.steps[self._next]
            wait = step.at / self.speed - (self._clock() - self._started)
            if wait > 0:
                await asyncio.sleep(wait)
            if on_fleet_loop:
                await self.fleet.apply(step.site, step.behaviour)
            else:
                await self.fleet.aset_behaviour(step.site, step.behaviour)
            self._record(step)

    def start(self) -> None:
        """Play in the background on the fleet's loop."""
        if self._future is not None:
            raise RuntimeError("already started")
        self._future = self.fleet.submit(self.run())

    def stop(self) -> None:
        """Stop playing (steps already applied stay applied)."""
        if self._future is None:
            return
        self._future.cancel()
        try:
            self._future.result(timeout=5)
        except (concurrent.futures.CancelledError, concurrent.futures.TimeoutError):
            pass

    @property
    def finished(self) -> bool:
        return self._next >= len(self.timeline.steps)
