"""The all-time counters: first responses by outcome, the first-response histogram, next
replies by outcome, and tickets opened.

They are totals the store keeps up to date with every write that changes them (see
`ronda.store.metrics`), so a scrape reads a few dozen rows whatever the size of the history,
and they survive restarts. Within one process each series is also guarded against going
down: a total only falls when a row is edited by hand or deleted, and Prometheus would read
a decrease as a counter reset.
"""

from __future__ import annotations

from ronda.exporter.metrics import BUCKETS, OUTCOMES, SPECS, class_label
from ronda.exporter.textformat import Family
from ronda.model import Impact, Priority
from ronda.store.metrics import MetricsReader
from ronda.store.outbox import KINDS as OUTBOX_KINDS

_PRIORITIES = tuple(str(p) for p in Priority)
_IMPACTS = tuple(str(i) for i in Impact)
# `le` of each bucket, then +Inf: the store's bucket index is the position here.
LE: tuple[str, ...] = (*(repr(float(b)) for b in BUCKETS), "+Inf")


class Monotonic:
    """Keeps each counter series from going down within this process: a decrease is carried
    as an offset instead of read as a reset."""

    __slots__ = ("_last", "_offset")

    def __init__(self) -> None:
        self._last: dict[tuple, float] = {}
        self._offset: dict[tuple, float] = {}

    def __call__(self, key: tuple, raw: float) -> float:
        last = self._last.get(key)
        offset = self._offset.get(key, 0.0)
        if last is not None and raw < last:
            offset += last - raw
            self._offset[key] = offset
        self._last[key] = raw
        return raw + offset


class Counters:
    """Reads the totals and builds their three families, guarded (one per process)."""

    def __init__(self) -> None:
        self._guard = Monotonic()

    def families(self, reader: MetricsReader) -> list[Family]:
        """Inside the caller's snapshot: responses, histogram, opened."""
        return [
            self._responses(reader.outcome_totals(), "ronda_first_responses_total"),
            self._histogram(reader),
            self._responses(reader.next_response_totals(), "ronda_next_responses_total"),
            self._opened(reader),
            *self._outbox(reader),
        ]

    def _responses(self, rows: list[tuple[str, str, str, int]], name: str) -> Family:
        totals = {(p, i, o): n for p, i, o, n in rows}
        family = Family(SPECS[name])
        for priority in _PRIORITIES:
            for impact in _IMPACTS:
                for outcome in OUTCOMES:  # every cell and outcome, from zero
                    key = (priority, impact, outcome)
                    n = float(totals.get(key, 0))
                    family.add(key, self._guard((name, *key), n), "_total")
        return family

    def _histogram(self, reader: MetricsReader) -> Family:
        counts: dict[str, list[int]] = {}
        micros: dict[str, int] = {}
        for priority, bucket, n, us in reader.response_time_totals():
            if 0 <= bucket < len(LE):
                counts.setdefault(priority, [0] * len(LE))[bucket] += n
                micros[priority] = micros.get(priority, 0) + us
        family = Family(SPECS["ronda_first_response_business_seconds"])
        guard = self._guard
        for priority in _PRIORITIES:
            cumulative = 0
            for le, n in zip(LE, counts.get(priority, [0] * len(LE)), strict=True):
                cumulative += n
                family.add(
                    (priority, le), guard(("frt", priority, le), float(cumulative)), "_bucket"
                )
            family.add((priority,), guard(("frt", priority, "count"), float(cumulative)), "_count")
            seconds = micros.get(priority, 0) / 1e6
            family.add((priority,), guard(("frt", priority, "sum"), seconds), "_sum")
        return family

    def _outbox(self, reader: MetricsReader) -> list[Family]:
        """What the outbox sent and gave up on (counters), and what waits (a gauge), for
        every kind from zero."""
        totals = {(kind, state): n for kind, state, n in reader.outbox_totals()}
        done = Family(SPECS["ronda_outbox_messages_total"])
        pending = Family(SPECS["ronda_outbox_pending_messages"])
        for kind in OUTBOX_KINDS:
            for outcome in ("sent", "failed"):
                n = float(totals.get((kind, outcome), 0))
                done.add((kind, outcome), self._guard(("outbox", kind, outcome), n), "_total")
            for state in ("queued", "sending"):
                pending.add((kind, state), float(max(0, totals.get((kind, state), 0))))
        return [done, pending]

    def _opened(self, reader: MetricsReader) -> Family:
        totals: dict[tuple[str, str], int] = {}
        for source, failure_class, n in reader.opened_totals():
            key = (source, class_label(failure_class))  # several classes may read "other"
            totals[key] = totals.get(key, 0) + n
        family = Family(SPECS["ronda_tickets_opened_total"])
        for key, n in sorted(totals.items()):
            if n > 0:
                family.add(key, self._guard(("opened", *key), float(n)), "_total")
        return family
