"""What needs attention next month, from whatever the store knows of a customer's sites and
domains.

Each source is a function `(records, scope, horizon) -> items`: it reads what its check
keeps (through `ronda.store.reports.ReportRecords`) and returns the `AttentionItem`s due
before `horizon` (the end of the month after the report's). Certificates come from the
probes' last look at each site. Domains come from the domain checks' table
(`domain_state`: each customer domain's registration expiry), read only when the desk's
database has it with the columns read: a desk without the check has nothing to say there.
An outdated WordPress or a PHP past its support is a case the WordPress checks open
(`wp_outdated`, `php_eol`): still open, it is something to do next month. Adding a source
is a function and a line in `SOURCES`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ronda.display import visible
from ronda.outbox import excerpt
from ronda.reports.data import AttentionItem
from ronda.store.instants import from_epoch
from ronda.store.reports import ReportRecords

NAME_EXCERPT = 80


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose things to look at: the sites and the customers of the reports."""

    sites: Sequence[str]
    customers: Sequence[str]


Source = Callable[[ReportRecords, Scope, datetime], list[AttentionItem]]


def certificates(records: ReportRecords, scope: Scope, horizon: datetime) -> list[AttentionItem]:
    """Certificates the last probe saw that expire before `horizon` (expired ones too)."""
    return [
        AttentionItem("certificate", site, at)
        for site, at in records.certificates(scope.sites).items()
        if at < horizon
    ]


def domains(records: ReportRecords, scope: Scope, horizon: datetime) -> list[AttentionItem]:
    """Customer domains whose registration expires before `horizon`."""
    out = []
    for row in records.rows_where_in(
        "domain_state", ("domain", "expires_at"), "customer", scope.customers
    ):
        value = row.get("expires_at")
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        at = from_epoch(float(value))
        if at is not None and at < horizon:
            name = excerpt(visible(str(row.get("domain") or "")), NAME_EXCERPT)
            out.append(AttentionItem("domain", name, at, customer=row.get("customer")))
    return out


# Failure classes of the WordPress checks that mean "to do", and the item they make.
TO_DO_CLASSES = {"wp_outdated": "wordpress", "php_eol": "php"}


def open_to_dos(records: ReportRecords, scope: Scope, horizon: datetime) -> list[AttentionItem]:
    """Open cases of the sites that are updates to make (WordPress core, PHP)."""
    return [
        AttentionItem(TO_DO_CLASSES[cls], site, None)
        for site, cls, _ in records.open_cases_of_classes(scope.sites, list(TO_DO_CLASSES))
    ]


# Read in this order; a source whose table or columns are missing yields nothing.
SOURCES: tuple[Source, ...] = (certificates, domains, open_to_dos)


def attention(
    records: ReportRecords,
    scope: Scope,
    horizon: datetime,
    sources: Sequence[Source] = SOURCES,
) -> list[AttentionItem]:
    """Every source's items for the scope."""
    out: list[AttentionItem] = []
    for source in sources:
        out += source(records, scope, horizon)
    return out


__all__ = ["SOURCES", "TO_DO_CLASSES", "Scope", "Source", "attention", "certificates", "domains"]
