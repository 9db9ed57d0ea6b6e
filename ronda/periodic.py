"""A piece of work done now and again on a thread of its own (retention, status pages,
monthly reports): the first pass at start, then one every `interval()` seconds, until
`stop()`."""

from __future__ import annotations

import threading
from typing import Self


class PeriodicThread:
    """Subclasses name their thread, say their interval and do one pass in `run_once`
    (which must not raise: a failed pass is theirs to report, and the next one comes)."""

    thread_name = "ronda-periodic"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def interval(self) -> float:
        """Seconds from the end of one pass to the start of the next (asked each time)."""
        raise NotImplementedError

    def run_once(self) -> object:
        raise NotImplementedError

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            if self._stop.wait(self.interval()):
                return

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the pass in flight (idempotent)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)


__all__ = ["PeriodicThread"]
