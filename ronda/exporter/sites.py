"""The per-site families: site info, probe state, rounds and failure counts of every
configured site, re-rendered only where a site's row or failure counts changed.

A probe round rewrites a quarter of 5,000 sites' state every 15 s, but most lines stay as
they were: each site's lines are kept as bytes with the row they were made from.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from ronda.exporter.metrics import FAILURE_CLASSES, NO_CUSTOMER, OTHER_CLASS, PHASES, SPECS
from ronda.exporter.textformat import Family, escape_label
from ronda.store.metrics import MetricsReader, SiteRow

# Sites whose failure counts are re-read in turn per scrape, at least: a lap over the sites
# takes at most this many scrapes.
HEAL_LAP = 100


# Per-site families, in exposition order: `Sites.columns` holds one column per family.
_SITE_FAMILIES = (
    "ronda_site_info",
    "ronda_site_up",
    "ronda_site_http_status_code",
    "ronda_probe_duration_seconds",
    "ronda_probe_phase_duration_seconds",
    "ronda_site_cert_expiry_timestamp_seconds",
    "ronda_site_in_maintenance",
    "ronda_probe_last_check_timestamp_seconds",
    "ronda_probe_failures_total",
    "ronda_probe_rounds_total",
)
(
    _INFO_NAME,
    _UP_NAME,
    _STATUS_NAME,
    _DURATION_NAME,
    _PHASE_NAME,
    _CERT_NAME,
    _MAINTENANCE_NAME,
    _CHECKED_NAME,
    _FAILURES_NAME,
    _ROUNDS_NAME,
) = _SITE_FAMILIES
# Failure counts come from their own table; `_site_lines` makes the other columns' lines.
_FAILURES_COLUMN = _SITE_FAMILIES.index(_FAILURES_NAME)
_ROW_COLUMNS = tuple(i for i in range(len(_SITE_FAMILIES)) if i != _FAILURES_COLUMN)

# A site's failure counts: ((failure_class, count), ...) in class order.
Failures = tuple[tuple[str, int], ...]


def _phase_lines(label: str, text: str | None) -> str:
    if not text or text == "{}":
        return ""
    try:
        measured = json.loads(text)
    except ValueError:
        return ""  # a damaged row loses its phases, not the scrape
    if not isinstance(measured, dict):
        return ""
    lines = []
    for phase in PHASES:
        seconds = measured.get(phase)
        if type(seconds) is float or type(seconds) is int:  # JSON numbers; not true/false
            lines.append(f'{_PHASE_NAME}{{{label},phase="{phase}"}} {float(seconds)!r}\n')
    return "".join(lines)


def _site_lines(row: SiteRow, cert_seen: float | None) -> tuple[bytes, ...]:
    """One site's lines for each column of `_ROW_COLUMNS` (b"" for none)."""
    name, customer, server, impact, checked_at, is_up, code, elapsed_ms = row[:8]
    in_maintenance, phases_json, rounds = row[9:12]
    label = f'site="{escape_label(name)}"'
    info = (
        f'{_INFO_NAME}{{{label},customer="{escape_label(customer or NO_CUSTOMER)}",'
        f'server="{escape_label(server or "none")}",'
        f'impact="{escape_label(impact or "medium")}"}} 1.0\n'
    ).encode()
    maintenance = f"{_MAINTENANCE_NAME}{{{label}}} {1.0 if in_maintenance else 0.0!r}\n".encode()
    cert = b"" if cert_seen is None else f"{_CERT_NAME}{{{label}}} {float(cert_seen)!r}\n".encode()
    # probe_rounds only ever grows: no guard needed.
    made = b"" if rounds is None else f"{_ROUNDS_NAME}{{{label}}} {float(rounds)!r}\n".encode()
    if checked_at is None:  # never probed: no probe state to publish
        return (info, b"", b"", b"", b"", cert, maintenance, b"", made)
    return (
        info,
        b"" if is_up is None else f"{_UP_NAME}{{{label}}} {1.0 if is_up else 0.0!r}\n".encode(),
        f"{_STATUS_NAME}{{{label}}} {float(code or 0)!r}\n".encode(),
        b""
        if elapsed_ms is None
        else f"{_DURATION_NAME}{{{label}}} {elapsed_ms / 1000.0!r}\n".encode(),
        _phase_lines(label, phases_json).encode(),
        cert,
        maintenance,
        f"{_CHECKED_NAME}{{{label}}} {float(checked_at)!r}\n".encode(),
        made,
    )


def _failure_lines(name: str, failures: Failures) -> bytes:
    """One site's ronda_probe_failures_total lines. probe_failures only ever grows: no guard
    needed."""
    label = f'site="{escape_label(name)}"'
    lines = []
    for failure_class, count in failures:
        cls = failure_class if failure_class in FAILURE_CLASSES else OTHER_CLASS
        lines.append(f'{_FAILURES_NAME}{{{label},failure_class="{cls}"}} {float(count)!r}\n')
    return "".join(lines).encode()


class Sites:
    """The per-site families, each a column of one entry per configured site (in name order),
    re-rendered only where the site's row or failure counts changed.

    The row (sites + probe_state + probe_rounds) is read for every site on every scrape and
    compared with the one the lines were made from. Failure counts are kept for the whole
    probe_failures table; they only grow, so while the table's (rows, total) mark is what
    the kept counts add up to, none changed. When the mark moved, the sites whose row
    changed (a round writes state, rounds and failures together) are re-read first, and the
    whole table only if that does not account for the move. A few sites are re-read in turn
    as well, so an edit that did not move the mark is healed within HEAL_LAP scrapes.
    """

    def __init__(self, last_cert: dict[str, float]) -> None:
        self.rows: list[SiteRow] = []
        self.index: dict[str, int] = {}  # site -> its place in `rows` and the columns
        self.columns: list[list[bytes]] = [[] for _ in _SITE_FAMILIES]
        # Last certificate expiry seen per site (shared with the collector; see there).
        self.last_cert = last_cert
        self.failures: dict[str, Failures] = {}  # every site of probe_failures
        self._mark = (0, 0)  # (rows, total) that `failures` adds up to
        self._heal_next = 0
        self.rendered = 0  # sites whose row was rendered by the last scrape (bench, tests)

    def refresh(self, reader: MetricsReader) -> list[Family]:
        """Read the sites inside the caller's snapshot; returns their families."""
        rows = reader.site_rows()
        old = self.rows
        changed: Sequence[int] = []
        if len(rows) == len(old):
            changed = [i for i, (new, was) in enumerate(zip(rows, old, strict=True)) if new != was]
        rebuilt = len(rows) != len(old) or any(rows[i][0] != old[i][0] for i in changed)
        if rebuilt:  # sites added, removed or renamed: start the columns afresh
            changed = range(len(rows))
            self.columns = [[b""] * len(rows) for _ in _SITE_FAMILIES]
            self.index = {row[0]: i for i, row in enumerate(rows)}
        self.rows = rows
        for i in changed:
            self._render_row(i)
        refailed = self._refresh_failures(reader, [rows[i][0] for i in changed])
        for name in self.index if rebuilt else refailed:
            i = self.index.get(name)
            if i is not None:  # not a configured site: not published
                self.columns[_FAILURES_COLUMN][i] = _failure_lines(
                    name, self.failures.get(name, ())
                )
        self.rendered = len(changed)
        # Copies of the columns (the next scrape changes them in place); the text encoder
        # joins their entries once, with everything else.
        return [
            Family(SPECS[name], column.copy())
            for name, column in zip(_SITE_FAMILIES, self.columns, strict=True)
        ]

    def _render_row(self, i: int) -> None:
        row = self.rows[i]
        name, not_after = row[0], row[8]
        if not_after is not None:
            self.last_cert[name] = not_after
        lines = _site_lines(row, self.last_cert.get(name))
        for column, line in zip(_ROW_COLUMNS, lines, strict=True):
            self.columns[column][i] = line

    # ---- failure counts ---------------------------------------------------------------

    def _refresh_failures(self, reader: MetricsReader, probed: list[str]) -> set[str]:
        """Bring `failures` up to date; returns the sites whose counts changed."""
        changed = self._reread(reader, self._in_turn())
        mark = reader.failure_mark()
        if mark != self._mark and len(probed) < len(self.rows) // 2:
            # Most likely in the sites probed since the last scrape: a round writes their
            # state, rounds and failures in one transaction.
            changed |= self._reread(reader, probed)
        if mark != self._mark:
            # A change elsewhere, or most sites changed (the first scrape): read them all.
            changed |= self._reread_all(reader)
        return changed

    def _in_turn(self) -> list[str]:
        if not self.rows:
            return []
        names = []
        for _ in range(-(-len(self.rows) // HEAL_LAP)):
            self._heal_next %= len(self.rows)
            names.append(self.rows[self._heal_next][0])
            self._heal_next += 1
        return names

    def _reread(self, reader: MetricsReader, names: list[str]) -> set[str]:
        fresh: dict[str, list[tuple[str, int]]] = {}
        for site, failure_class, count in reader.failure_counts(names):
            fresh.setdefault(site, []).append((failure_class, count))
        return {name for name in names if self._keep(name, tuple(fresh.get(name, ())))}

    def _reread_all(self, reader: MetricsReader) -> set[str]:
        fresh: dict[str, list[tuple[str, int]]] = {}
        for site, failure_class, count in reader.failure_counts():
            fresh.setdefault(site, []).append((failure_class, count))
        names = set(fresh) | set(self.failures)
        return {name for name in names if self._keep(name, tuple(fresh.get(name, ())))}

    def _keep(self, name: str, failures: Failures) -> bool:
        """Store one site's counts and move the mark; returns whether they changed."""
        old = self.failures.get(name, ())
        if failures == old:
            return False
        rows, total = self._mark
        rows += len(failures) - len(old)
        total += sum(n for _, n in failures) - sum(n for _, n in old)
        self._mark = (rows, total)
        if failures:
            self.failures[name] = failures
        else:
            del self.failures[name]
        return True
