"""What needs attention next month, from whatever the store knows of the customer's sites.

Each source is a function `(records, sites, start, horizon) -> items`: it reads what its
check keeps (through `ronda.store.reports.ReportRecords`) and returns `AttentionItem`s
that fall before `horizon` (the end of the month after the report's). Certificates come from
the probes' last look at each site. Checks that keep their own table (domains' expiry,
WordPress and PHP versions) are read only when the desk's database has that table with the
columns the source reads: a desk without the check simply has nothing to say there. Adding
one is a function and a line in `SOURCES`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from ronda.display import visible
from ronda.outbox import excerpt
from ronda.reports.data import AttentionItem
from ronda.store.instants import from_epoch
from ronda.store.reports import ReportRecords

Source = Callable[[ReportRecords, Sequence[str], datetime, datetime], list[AttentionItem]]
DETAIL_EXCERPT = 60


def certificates(
    records: ReportRecords, sites: Sequence[str], start: datetime, horizon: datetime
) -> list[AttentionItem]:
    """Certificates the last probe saw that expire before `horizon` (expired ones too)."""
    return [
        AttentionItem("certificate", site, at)
        for site, at in records.certificates(sites).items()
        if at < horizon
    ]


def _expiring(table: str, at_column: str, kind: str, detail_column: str | None = None) -> Source:
    """A source for a table of `site`, an expiry instant (epoch seconds) and a detail."""

    def source(
        records: ReportRecords, sites: Sequence[str], start: datetime, horizon: datetime
    ) -> list[AttentionItem]:
        columns = [at_column] + ([detail_column] if detail_column else [])
        out = []
        for row in records.rows_for_sites(table, columns, sites):
            value = row.get(at_column)
            if not isinstance(value, int | float):
                continue
            at = from_epoch(float(value))
            if at is not None and at < horizon:
                detail = row.get(detail_column) if detail_column else ""
                out.append(AttentionItem(kind, row["site"], at, excerpt(visible(detail or ""), 60)))
        return out

    return source


def _outdated(table: str, flag_column: str, kind: str, detail_column: str) -> Source:
    """A source for a table of `site`, an "outdated" flag and the version seen."""

    def source(
        records: ReportRecords, sites: Sequence[str], start: datetime, horizon: datetime
    ) -> list[AttentionItem]:
        out = []
        for row in records.rows_for_sites(table, [flag_column, detail_column], sites):
            if row.get(flag_column):
                detail = excerpt(visible(row.get(detail_column) or ""), DETAIL_EXCERPT)
                out.append(AttentionItem(kind, row["site"], None, detail))
        return out

    return source


# Read in this order; a source whose table or columns are missing yields nothing.
SOURCES: tuple[Source, ...] = (
    certificates,
    _expiring("domain_state", "expires_at", "domain", "domain"),
    _outdated("wordpress_state", "core_outdated", "wordpress", "core_version"),
    _outdated("wordpress_state", "php_outdated", "php", "php_version"),
)


def attention(
    records: ReportRecords,
    sites: Sequence[str],
    start: datetime,
    horizon: datetime,
    sources: Sequence[Source] = SOURCES,
) -> list[AttentionItem]:
    """Every source's items for `sites`."""
    out: list[AttentionItem] = []
    for source in sources:
        out += source(records, sites, start, horizon)
    return out


__all__ = ["SOURCES", "Source", "attention", "certificates"]
