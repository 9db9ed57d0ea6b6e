"""The status pages in the daemon: rewritten every `[status_page] every` on a thread of
their own, so building them never delays a probe (the rounds have their own thread and
the store's WAL lets this one read while they write).

The settings are read at each pass, so a reloaded config (another folder, other public
sites) applies from the next one. A failing pass is reported and tried again at the next:
the last pages written stay served meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from ronda.config import Config
from ronda.periodic import PeriodicThread
from ronda.store import Store
from ronda.tickets import utcnow


class StatusPageThread(PeriodicThread):
    """Passes until `stop()`: the first at start, then every `[status_page] every`."""

    thread_name = "ronda-status-page"

    def __init__(
        self,
        store: Store,
        config: Callable[[], Config],
        on_report: Callable[[str, bool], object],
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """`config` is asked at each pass (the running one); `on_report` gets a line when
        a pass fails (True) and when pages are first written or written again after a
        failure (False)."""
        super().__init__()
        self.store = store
        self.config = config
        self.on_report = on_report
        self.clock = clock
        self.passes = 0
        self.failed = False
        self.last_seconds: float | None = None

    def interval(self) -> float:
        return self.config().status_page.every

    def run_once(self) -> int | None:
        """One pass now: how many pages were written; None when off or failed."""
        from ronda.status_page.gather import publish, specs

        config = self.config()
        settings = config.status_page
        if settings.out is None:
            return None
        began = time.monotonic()
        try:
            wanted = specs(config, public=settings.public, customers=settings.customers)
            built = publish(self.store, config, settings.out, wanted, self.clock())
        except Exception as error:  # the store, the disk, a broken agency template
            self.failed = True
            self.on_report(f"status pages not written ({settings.out}): {error}", True)
            return None
        finally:
            self.passes += 1
        self.last_seconds = time.monotonic() - began
        if self.failed or self.passes == 1:
            self.on_report(
                f"status pages: {len(built)} written to {settings.out} "
                f"in {self.last_seconds:.2f} s, again every {settings.every:g} s",
                False,
            )
        self.failed = False
        return len(built)


__all__ = ["StatusPageThread"]
