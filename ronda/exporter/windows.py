"""The 7- and 30-day compliance windows: first responses due and met over the windows ending
now, per priority x impact cell and per customer.

A ticket is due in a window [now - w, now) when its limit fell in it, or its answer did;
unanswered past its limit it counts as missed; paused or self-resolved tickets owe nothing
(see `ronda.store.metrics.MetricsReader.compliance_candidates`). Only tickets whose limit or
answer is within the longest window, or ahead, can be due: the first scrape reads those
through indexes, and later scrapes re-read only the tickets whose change number moved.

The counts are kept, not recounted. A candidate's standing in the windows changes only when
`now` passes its limit or its answer, or a window's length after them: a heap holds each
candidate's next such instant, so a scrape looks again only at those whose instant has
passed, and drops those that left the longest window for good.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ronda.exporter.metrics import (
    LONGEST_WINDOW,
    NO_CUSTOMER,
    OTHER_CUSTOMER,
    SPECS,
    WINDOWS,
    customer_label,
)
from ronda.exporter.textformat import Family, escape_label
from ronda.model import Impact, Priority
from ronda.store.metrics import Candidate, MetricsReader

_W7, _W30 = WINDOWS["7d"], WINDOWS["30d"]
# A time leaves a window when `now - window > time`; the rounding of that subtraction moves
# the moment by far less than this, so a candidate is looked at again this much early.
_EDGE_SLACK = 1.0
# Changed tickets past which re-reading them one by one costs more than reading all the
# candidates again.
_RELOAD_AT = 20_000

_CELLS = tuple((str(p), str(i)) for p in Priority for i in Impact)
_COMPLIANCE_FAMILIES = (
    "ronda_sla_compliance_ratio",
    "ronda_sla_first_responses_due",
    "ronda_sla_first_responses_met",
    "ronda_sla_customer_compliance_ratio",
    "ronda_sla_customer_first_responses_due",
    "ronda_sla_customer_first_responses_met",
)
_NEXT_RESPONSE_FAMILIES = (
    "ronda_sla_next_response_compliance_ratio",
    "ronda_sla_next_responses_due",
    "ronda_sla_next_responses_met",
)


@dataclass(frozen=True, slots=True)
class Source:
    """Where one clock's candidates come from: the families it fills (per cell, then per
    customer if six), and the reader's change number, changed ids and candidate reads."""

    families: tuple[str, ...]
    mark: Callable[[MetricsReader], int]
    changed: Callable[[MetricsReader, int, int], list[int]]
    candidates: Callable[[MetricsReader, float], list[Candidate]]
    candidates_of: Callable[[MetricsReader, Sequence[int], float], list[Candidate]]


FIRST_RESPONSES = Source(
    _COMPLIANCE_FAMILIES,
    MetricsReader.ticket_change_mark,
    MetricsReader.changed_tickets,
    MetricsReader.compliance_candidates,
    MetricsReader.compliance_candidates_of,
)
NEXT_RESPONSES = Source(
    _NEXT_RESPONSE_FAMILIES,
    MetricsReader.next_response_change_mark,
    MetricsReader.changed_next_responses,
    MetricsReader.next_response_candidates,
    MetricsReader.next_response_candidates_of,
)

# Counts per cell or customer: [met 7d, due 7d, met 30d, due 30d].
Counts = list[int]


def in_windows(limit_at: float | None, answered_at: float | None, now: float) -> tuple[bool, bool]:
    """(due in the 7-day window, in the 30-day window) ending at `now`: a candidate is due
    in a window [now - w, now) when its limit fell in it, or its answer did."""
    ws7, ws30 = now - _W7, now - _W30
    in30 = (limit_at is not None and ws30 <= limit_at < now) or (
        answered_at is not None and ws30 <= answered_at < now
    )
    in7 = in30 and (
        (limit_at is not None and ws7 <= limit_at < now)
        or (answered_at is not None and ws7 <= answered_at < now)
    )
    return in7, in30


def next_check(limit_at: float | None, answered_at: float | None, now: float) -> float | None:
    """The instant after which `in_windows` may answer otherwise than at `now` (None: never
    again while time goes forward). A time enters both windows once `now` passes it and
    leaves each about one window later."""
    soonest = math.inf
    for instant in (limit_at, answered_at):
        if instant is None:
            continue
        if now <= instant:
            soonest = min(soonest, instant)
            continue
        for width in (_W7, _W30):  # the 7-day edge comes first
            if now - width <= instant:
                # At least `now`: near the edge the candidate is looked at every scrape.
                soonest = min(soonest, max(instant + width - _EDGE_SLACK, now))
                break
    return None if soonest == math.inf else soonest


class Windows:
    """Compliance counts over the windows ending `now`, kept up to date as candidates come,
    change and go, and as `now` moves forward (it never moves back: start afresh instead).

    `cells` and `customers` hold only keys with something due in 30 days.
    """

    def __init__(self, now: float) -> None:
        self.now = now
        self.cells: dict[tuple[str, str], Counts] = {}
        self.customers: dict[str | None, Counts] = {}
        # ticket id -> [candidate, in 7d, in 30d, next check or None]
        self._live: dict[int, list] = {}
        self._heap: list[tuple[float, int]] = []  # (next check, ticket id); may hold stale ones

    def __len__(self) -> int:
        return len(self._live)

    def put(self, candidate: Candidate) -> None:
        """Count the ticket as this candidate (instead of what it was before, if anything)."""
        self.discard(candidate.ticket_id)
        entry = [candidate, False, False, None]
        self._judge(entry)
        if entry[3] is None and not entry[2]:
            return  # in no window, and never again
        self._live[candidate.ticket_id] = entry
        self._count(entry, 1)

    def discard(self, ticket_id: int) -> None:
        """The ticket is no candidate (any more)."""
        entry = self._live.pop(ticket_id, None)
        if entry is not None:
            self._count(entry, -1)

    def advance(self, now: float) -> None:
        """Move the windows' end forward to `now`."""
        if now < self.now:
            raise ValueError(f"the windows' end cannot move back ({now} < {self.now})")
        self.now = now
        heap, live = self._heap, self._live
        while heap and heap[0][0] < now:
            at, ticket_id = heapq.heappop(heap)
            entry = live.get(ticket_id)
            if entry is None or entry[3] != at:
                continue  # gone, or rescheduled since: a stale heap entry
            self._count(entry, -1)
            self._judge(entry)
            if entry[3] is None and not entry[2]:
                del live[ticket_id]  # left the longest window for good
            else:
                self._count(entry, 1)
        if len(heap) > 2 * len(live) + 1024:
            self._compact()

    def _judge(self, entry: list) -> None:
        """Place the candidate in the windows ending now and schedule its next look."""
        candidate = entry[0]
        entry[1], entry[2] = in_windows(candidate.limit_at, candidate.answered_at, self.now)
        entry[3] = next_check(candidate.limit_at, candidate.answered_at, self.now)
        if entry[3] is not None:
            heapq.heappush(self._heap, (entry[3], candidate.ticket_id))

    def _count(self, entry: list, sign: int) -> None:
        candidate, in7, in30 = entry[0], entry[1], entry[2]
        if not in30:  # in7 implies in30
            return
        met = sign if candidate.outcome == "met" else 0
        cell = (candidate.priority, candidate.impact)
        for table, key in ((self.cells, cell), (self.customers, candidate.customer)):
            counts = table.get(key)
            if counts is None:
                counts = table[key] = [0, 0, 0, 0]
            if in7:
                counts[0] += met
                counts[1] += sign
            counts[2] += met
            counts[3] += sign
            if counts[3] == 0:
                del table[key]  # nothing due any more: keep the tables small

    def _compact(self) -> None:
        """Drop the heap's stale entries (candidates gone or rescheduled)."""
        self._heap = [(e[3], ticket_id) for ticket_id, e in self._live.items() if e[3] is not None]
        heapq.heapify(self._heap)


class Compliance:
    """The windows of one clock's candidates (first responses by default; next replies with
    `NEXT_RESPONSES`), refreshed from the store, and their families.

    The first refresh reads every candidate; later ones read the tickets changed since (the
    store numbers every change that can move a ticket in or out of a window). A clock that
    went back, or a change log that did (another file), starts afresh.
    """

    def __init__(self, source: Source = FIRST_RESPONSES) -> None:
        self.source = source
        self.windows: Windows | None = None
        self._mark = 0  # the store's ticket change number the windows are up to date with
        self.tickets_read = 0  # by the last refresh (the bench and tests look)
        # Each customer's lines by the counts they were made from.
        self._customer_lines: dict[str, tuple[tuple[int, ...], tuple[bytes, bytes, bytes]]] = {}

    def refresh(self, reader: MetricsReader, now: float) -> None:
        """Bring the windows to `now` inside the caller's snapshot."""
        source = self.source
        mark = source.mark(reader)
        cut = now - LONGEST_WINDOW
        windows = self.windows
        if windows is None or now < windows.now or mark < self._mark:
            self._reload(reader, now, cut, mark)
            return
        windows.advance(now)
        changed = source.changed(reader, self._mark, mark) if mark != self._mark else []
        if len(changed) > _RELOAD_AT:
            self._reload(reader, now, cut, mark)
            return
        fresh = {c.ticket_id: c for c in source.candidates_of(reader, changed, cut)}
        for ticket_id in changed:
            candidate = fresh.get(ticket_id)
            if candidate is None:
                windows.discard(ticket_id)
            else:
                windows.put(candidate)
        self._mark = mark
        self.tickets_read = len(fresh)

    def _reload(self, reader: MetricsReader, now: float, cut: float, mark: int) -> None:
        self.windows = windows = Windows(now)
        candidates = self.source.candidates(reader, cut)
        for candidate in candidates:
            windows.put(candidate)
        self._mark = mark
        self.tickets_read = len(candidates)

    def families(
        self, customers: frozenset[str], listed: frozenset[str] = frozenset()
    ) -> list[Family]:
        """Ratio, due and met per cell (every cell, both windows), then, for first
        responses, per customer label: those with anything due in 30 days, and every one of
        `listed` (the customers with sites: 1 with nothing due, from the start)."""
        windows = self.windows
        cells = windows.cells if windows is not None else {}
        families = [Family(SPECS[name]) for name in self.source.families]
        ratio, due_f, met_f = families[:3]
        for key in _CELLS:
            met7, due7, met30, due30 = cells.get(key, (0, 0, 0, 0))
            for window, met, due in (("7d", met7, due7), ("30d", met30, due30)):
                # Nothing due is no evidence of failure: the ratio reads 1.
                ratio.add((*key, window), met / due if due else 1.0)
                due_f.add((*key, window), due)
                met_f.add((*key, window), met)
        if len(families) == 3:
            return families
        # Several stored names can share one label ("other").
        per_customer: dict[str, list[int]] = {
            label: [0, 0, 0, 0]
            for label in (customer_label(name, customers) for name in listed)
            if label not in (NO_CUSTOMER, OTHER_CUSTOMER)
        }
        for customer, counts in (windows.customers if windows is not None else {}).items():
            total = per_customer.setdefault(customer_label(customer, customers), [0, 0, 0, 0])
            for i in range(4):
                total[i] += counts[i]
        # Hundreds of customers whose counts rarely change: their lines are kept.
        previous, kept = self._customer_lines, {}
        add_ratio, add_due, add_met = (f.lines.append for f in families[3:])
        for label in sorted(per_customer):
            counts = tuple(per_customer[label])
            hit = previous.get(label)
            if hit is None or hit[0] != counts:
                hit = (counts, _customer_lines(label, *counts))
            kept[label] = hit
            ratio_lines, due_lines, met_lines = hit[1]
            add_ratio(ratio_lines)
            add_due(due_lines)
            add_met(met_lines)
        self._customer_lines = kept
        return families


def _customer_lines(
    customer: str, met7: int, due7: int, met30: int, due30: int
) -> tuple[bytes, bytes, bytes]:
    """One customer's ratio, due and met lines (both windows each)."""
    ratio, due, met = (SPECS[name].name for name in _COMPLIANCE_FAMILIES[3:])
    label = f'customer="{escape_label(customer)}",window='
    out: tuple[list[str], list[str], list[str]] = ([], [], [])
    for window, m, d in (('"7d"', met7, due7), ('"30d"', met30, due30)):
        out[0].append(f"{ratio}{{{label}{window}}} {m / d if d else 1.0!r}\n")
        out[1].append(f"{due}{{{label}{window}}} {float(d)!r}\n")
        out[2].append(f"{met}{{{label}{window}}} {float(m)!r}\n")
    return tuple("".join(lines).encode() for lines in out)  # type: ignore[return-value]
