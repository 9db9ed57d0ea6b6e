"""Reports from the desk: read the store once for every customer asked for, build each
customer's month (`ronda.reports.data`), render it, write the files.

A month not over yet is reported up to now (its uptime ends at now, no limit still ahead is
counted missed). The customer's language is theirs (`[[customers]] lang`), else the desk's,
unless the caller names one.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from ronda.config import Config
from ronda.reports.attention import Scope, attention
from ronda.reports.availability import availability
from ronda.reports.data import AttentionItem, CustomerReport, build_report
from ronda.reports.period import Month
from ronda.reports.render import Renderer
from ronda.reports.words import lang_of
from ronda.sla import SlaPolicy
from ronda.store import Store
from ronda.tickets import utcnow

T = TypeVar("T")


class ReportError(Exception):
    """A report that cannot be made as asked (an unknown customer); one line."""


def file_stem(customer: str, month: Month) -> str:
    """`report-ana-perez-2026-11`: ASCII letters, digits and dashes only (a customer's name
    never reaches the file system as it is); a short digest keeps two names that fold to
    the same letters apart."""
    folded = unicodedata.normalize("NFKD", customer).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")[:40] or "customer"
    digest = hashlib.sha256(customer.encode("utf-8")).hexdigest()[:6]
    return f"report-{slug}-{digest}-{month}"


def _by_customer(rows: Iterable[T]) -> dict[str, list[T]]:
    out: dict[str, list[T]] = {}
    for row in rows:
        out.setdefault(row.customer or "", []).append(row)  # type: ignore[attr-defined]
    return out


def customer_reports(
    config: Config,
    store: Store,
    month: Month,
    customers: Sequence[str] | None = None,
    *,
    lang: str | None = None,
    now: datetime | None = None,
) -> list[CustomerReport]:
    """The month's report of each of `customers` (None: every customer of the config)."""
    now = now or utcnow()
    tz = SlaPolicy.from_config(config).timezone
    known = {c.name: c for c in config.customers}
    names = list(customers) if customers is not None else list(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ReportError(f"no customer named {unknown[0]!r} in the config")
    start, end = month.start(tz), month.end(tz)
    until = min(end, now)
    lo, hi = start.timestamp(), until.timestamp()
    sites_of: dict[str, dict[str, str]] = {n: {} for n in names}
    for site in config.sites:
        if site.customer in sites_of:
            sites_of[site.customer][site.name] = site.url
    every_site = [s for sites in sites_of.values() for s in sites]
    tickets = store.reports.month_tickets(lo, end.timestamp(), names)
    entries = store.reports.time_entries(lo, end.timestamp(), names)
    candidates = store.reports.compliance_candidates(lo, hi, names)
    intervals = store.history.sites_intervals(every_site, lo, hi) if hi > lo else {}
    horizon = month.next().end(tz)
    owner = {site: name for name, sites in sites_of.items() for site in sites}
    items: dict[str, list[AttentionItem]] = {}
    for item in attention(store.reports, Scope(every_site, names), horizon):
        whose = item.customer if item.customer is not None else owner.get(item.site)
        if whose is not None:
            items.setdefault(whose, []).append(item)
    by_ticket, by_candidate, by_entry = (
        _by_customer(tickets),
        _by_customer(candidates),
        (_by_customer(entries)),
    )
    out = []
    for name in names:
        own = by_ticket.get(name, [])
        sites, incidents = availability(sites_of[name], intervals, own, start, until, tz)
        customer = known[name]
        out.append(
            build_report(
                name,
                lang=lang_of(lang or customer.lang or config.lang),
                month=month,
                tz=tz,
                now=now,
                tickets=own,
                candidates=by_candidate.get(name, []),
                entries=by_entry.get(name, []),
                sites=sites,
                incidents=incidents,
                attention=items.get(name, []),
            )
        )
    return out


def write_reports(
    config: Config,
    store: Store,
    month: Month,
    *,
    out: Path,
    customers: Sequence[str] | None = None,
    lang: str | None = None,
    pdf: bool = False,
    now: datetime | None = None,
) -> list[Path]:
    """Write each report as `<stem>.html` (and `<stem>.pdf`) into `out`; the paths."""
    if pdf:
        from ronda.reports.pdf import require_weasyprint

        require_weasyprint()  # before any work: a missing extra is one line, at once
    renderer = Renderer(config.reports)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for report in customer_reports(config, store, month, customers, lang=lang, now=now):
        html = renderer.render(report)
        path = out / f"{file_stem(report.customer, month)}.html"
        path.write_text(html, encoding="utf-8")
        written.append(path)
        if pdf:
            from ronda.reports.pdf import html_to_pdf

            written.append(html_to_pdf(html, path.with_suffix(".pdf")))
    return written


__all__ = ["ReportError", "customer_reports", "file_stem", "write_reports"]
