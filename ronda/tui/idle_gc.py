"""Full garbage collections wait for a pause in the agent's typing.

A full (generation 2) collection of a running Textual app walks every tracked object and
holds the UI thread for 50-100 ms; CPython starts one whenever enough objects survive the
young generations, which is exactly while the agent types and each keystroke brings a new
queue. For a real session (`run_tui`) the app's start-up objects are frozen out of the
collector's reach, automatic full collections are turned off, and the app runs one itself
after the agent has paused for a moment (or, under non-stop typing, at a bounded interval).
The young generations keep collecting on their own: they take a few milliseconds.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

# A pause this long in typing or view changes is when a full collection may run.
QUIET_SECONDS = 2.0
# Never more than this between full collections, however busy the agent is.
LONGEST_SECONDS = 120.0
# Generation-2 threshold that no session reaches: full collections become explicit.
NO_AUTOMATIC_FULL = 1_000_000


def collection_due(now: float, last_activity: float, last_full: float) -> bool:
    """Whether a full collection should run at `now` (all three on one monotonic clock)."""
    if now - last_full >= LONGEST_SECONDS:
        return True
    return now - last_activity >= QUIET_SECONDS and last_activity > last_full


class IdleCollector:
    """Install once the app has started; tell it of activity; `tick` every second."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._saved: tuple[int, int, int] | None = None
        self.last_activity = self.last_full = clock()
        self.collections = 0

    @property
    def installed(self) -> bool:
        return self._saved is not None

    def install(self) -> None:
        """Freeze what exists now (the app's long-lived objects) and stop automatic full
        collections. Idempotent."""
        if self._saved is not None:
            return
        gc.collect()  # what start-up left as garbage is not frozen with the rest
        gc.freeze()
        self._saved = gc.get_threshold()
        young, middle, _ = self._saved
        gc.set_threshold(young, middle, NO_AUTOMATIC_FULL)
        self.last_full = self._clock()

    def uninstall(self) -> None:
        """Give the collector back its own schedule (the app is closing)."""
        if self._saved is None:
            return
        gc.set_threshold(*self._saved)
        gc.unfreeze()
        self._saved = None

    def activity(self) -> None:
        """The agent typed or changed the view: a full collection would be felt now."""
        self.last_activity = self._clock()

    def tick(self) -> bool:
        """Run a full collection when one is due; True when it ran."""
        if self._saved is None:
            return False
        now = self._clock()
        if not collection_due(now, self.last_activity, self.last_full):
            return False
        gc.collect()
        self.last_full = self._clock()
        self.collections += 1
        return True
