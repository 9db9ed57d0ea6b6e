"""Bounded waits for the tests: poll a condition on a server, a thread or a process.

Time in the desk travels with injected clocks and freezegun; this is only for waiting on
real parts to get somewhere, with a bound, polling a short interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

POLL = 0.02  # seconds between two looks


def wait_until(
    condition: Callable[[], Any],
    what: str = "the condition",
    timeout: float = 10.0,
    *,
    poll: float = POLL,
    ignore: tuple[type[BaseException], ...] = (),
    alive: Callable[[], str | None] | None = None,
) -> Any:
    """Return the first truthy value of `condition()`; fail after `timeout` seconds.

    `ignore`: exceptions that mean "not yet" (a server still starting). `alive`: called each
    time; returns a reason when waiting is pointless (the process died), which fails at once.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except ignore:
            value = None
        if value:
            return value
        if alive is not None and (reason := alive()):
            raise AssertionError(f"gave up waiting for {what}: {reason}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(poll)
