"""Retention in the daemon: once at start and then once a day, `[retention]` applied to the
store in small transactions (`ronda.store.retention`), on a thread of its own.

A pass goes through the cases in batches of `BATCH_TICKETS`, each its own short write
transaction, and stops between two batches when the daemon stops; the next pass carries on
where there is still something to prune. The settings are read at each pass, so a reloaded
config applies from the next one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ronda.config import RetentionSettings
from ronda.periodic import PeriodicThread
from ronda.store import Store
from ronda.store.retention import BATCH_TICKETS, RetentionRecords
from ronda.tickets import utcnow

RETENTION_EVERY = 24 * 3600.0  # seconds between two passes


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """What one pass pruned."""

    probe_notes: int = 0  # probe recurrence notes deleted
    probe_cases: int = 0  # ... from this many cases
    mail_bodies: int = 0  # mail bodies replaced by the marker
    mail_cases: int = 0  # ... on this many cases
    history_rows: int = 0  # site history rows last seen before the cut, deleted
    finished: bool = True  # False when stopped before the end

    def worth_saying(self, settings: RetentionSettings) -> bool:
        """A pass is reported when a case setting applies or site history went (the
        default site history setting alone, with nothing old enough, stays quiet)."""
        cases = settings.probe_history_days is not None or settings.mail_body_days is not None
        return cases or self.history_rows > 0 or not self.finished

    def describe(self, settings: RetentionSettings) -> str:
        parts = []
        if settings.probe_history_days is not None:
            parts.append(
                f"{_count(self.probe_notes, 'probe note')} removed from "
                f"{_count(self.probe_cases, 'case')} resolved over "
                f"{settings.probe_history_days} days ago"
            )
        if settings.mail_body_days is not None:
            parts.append(
                f"{_count(self.mail_bodies, 'mail body', 'mail bodies')} removed from "
                f"{_count(self.mail_cases, 'case')} resolved over "
                f"{settings.mail_body_days} days ago"
            )
        if settings.site_history_days is not None and self.history_rows:
            parts.append(
                f"{_count(self.history_rows, 'site history row')} last seen over "
                f"{settings.site_history_days} days ago removed"
            )
        tail = "" if self.finished else " (stopped before the end)"
        return "retention: " + "; ".join(parts) + tail


def apply_retention(
    store: Store,
    settings: RetentionSettings,
    now: datetime,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    batch: int = BATCH_TICKETS,
) -> RetentionReport:
    """One pass of `settings` over the store as of `now`, batch by batch."""
    records = RetentionRecords(store)
    notes = note_cases = bodies = body_cases = 0
    stopped = False
    if settings.probe_history_days is not None:
        cut = (now - timedelta(days=settings.probe_history_days)).timestamp()
        after = 0
        while not (stopped := should_stop()):
            done = records.prune_probe_notes(cut, now.timestamp(), after_id=after, limit=batch)
            if done.last_id is None:
                break
            notes, note_cases, after = notes + done.events, note_cases + done.tickets, done.last_id
    if settings.mail_body_days is not None and not stopped:
        cut = (now - timedelta(days=settings.mail_body_days)).timestamp()
        after = 0
        while not (stopped := should_stop()):
            done = records.prune_mail_bodies(cut, after_id=after, limit=batch)
            if done.last_id is None:
                break
            bodies, body_cases, after = (
                bodies + done.events,
                body_cases + done.tickets,
                done.last_id,
            )
    rows = 0
    if settings.site_history_days is not None and not stopped:
        cut = (now - timedelta(days=settings.site_history_days)).timestamp()
        while not (stopped := should_stop()):
            done = store.history.prune(cut, limit=batch * 50)
            rows += done
            if done == 0:
                break
    return RetentionReport(notes, note_cases, bodies, body_cases, rows, finished=not stopped)


class RetentionThread(PeriodicThread):
    """Passes of retention until `stop()`: the first at start, then every `every` seconds."""

    thread_name = "ronda-retention"

    def __init__(
        self,
        store: Store,
        settings: Callable[[], RetentionSettings],
        on_report: Callable[[str, bool], object],
        *,
        every: float = RETENTION_EVERY,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """`settings` is asked at each pass (the running config's); `on_report` gets one
        line per pass that had something to apply, and whether the pass failed."""
        super().__init__()
        self.store = store
        self.settings = settings
        self.on_report = on_report
        self.every = every
        self.clock = clock
        self.passes = 0

    def interval(self) -> float:
        return self.every

    def run_once(self) -> RetentionReport | None:
        """One pass now; None when `[retention]` asks for nothing. A failing pass is logged
        and tried again at the next one (the daemon runs on)."""
        settings = self.settings()
        if (
            settings.probe_history_days is None
            and settings.mail_body_days is None
            and settings.site_history_days is None
        ):
            return None
        try:
            report = apply_retention(
                self.store, settings, self.clock(), should_stop=self._stop.is_set
            )
        except Exception as error:  # the store's StoreError among them: next pass retries
            self.on_report(f"retention: pass failed, tried again in a day: {error}", True)
            return None
        finally:
            self.passes += 1
        if report.worth_saying(settings):
            self.on_report(report.describe(settings), False)
        return report


__all__ = ["RETENTION_EVERY", "RetentionReport", "RetentionThread", "apply_retention"]
