"""Customers and sites as the store knows them: synced from the config, read with the latest
probe state, and the names the agents' forms offer."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ronda.store.instants import from_epoch
from ronda.store.schema import OPEN_STATUSES_SQL

if TYPE_CHECKING:
    from ronda.config import Customer, Site
    from ronda.store.db import Store


@dataclass(frozen=True, slots=True)
class SiteHealth:
    """One site and what the last round saw of it."""

    name: str
    url: str
    customer: str | None
    server: str | None
    impact: str
    checked_at: datetime | None
    up: bool | None
    failure_class: str | None
    status_code: int | None
    elapsed_ms: float | None
    cert_not_after: datetime | None
    in_maintenance: bool
    detail: str | None
    # The site's oldest open ticket (its id), if any (`Sites.open_tickets`).
    open_ticket: int | None = None

    @property
    def down(self) -> bool:
        """The last round found it failing, outside maintenance."""
        return self.up is False and not self.in_maintenance

    def cert_days_left(self, now: datetime) -> float | None:
        if self.cert_not_after is None:
            return None
        return (self.cert_not_after - now).total_seconds() / 86400


@dataclass(frozen=True, slots=True)
class CustomerRow:
    name: str
    emails: tuple[str, ...]
    domains: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SiteChoice:
    name: str
    customer: str | None
    impact: str


class SiteRecords:
    """The `customers` and `sites` tables, and each site's latest probe state."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def sync(self, customers: Iterable[Customer], sites: Iterable[Site]) -> None:
        """Make the stored customers and sites match these (sites not listed are removed;
        their tickets and history stay). One transaction."""
        sites = list(sites)
        with self.store.write() as db:
            for customer in customers:
                db.execute(
                    "INSERT INTO customers (name, emails, domains) VALUES (?, ?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET emails = excluded.emails, "
                    "domains = excluded.domains",
                    (
                        customer.name,
                        json.dumps(list(customer.emails)),
                        json.dumps(list(customer.domains)),
                    ),
                )
            for site in sites:
                db.execute(
                    "INSERT INTO sites (name, url, customer, server, impact, wordpress) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                    "url = excluded.url, customer = excluded.customer, "
                    "server = excluded.server, impact = excluded.impact, "
                    "wordpress = excluded.wordpress",
                    (
                        site.name,
                        site.url,
                        site.customer,
                        site.server,
                        str(site.impact),
                        None if site.wordpress is None else int(site.wordpress),
                    ),
                )
            names = [site.name for site in sites]
            marks = ",".join("?" * len(names))
            db.execute(f"DELETE FROM sites WHERE name NOT IN ({marks})", names)

    def health(self) -> list[SiteHealth]:
        """Every stored site with its latest probe state, by name."""
        rows = self.store.query(
            """SELECT s.name, s.url, s.customer, s.server, s.impact, p.checked_at, p.up,
            p.failure_class, p.status_code, p.elapsed_ms, p.cert_not_after, p.in_maintenance,
            p.detail FROM sites s LEFT JOIN probe_state p ON p.site = s.name ORDER BY s.name"""
        )
        return [
            SiteHealth(
                name=r["name"],
                url=r["url"],
                customer=r["customer"],
                server=r["server"],
                impact=r["impact"],
                checked_at=from_epoch(r["checked_at"]),
                up=None if r["up"] is None else bool(r["up"]),
                failure_class=r["failure_class"],
                status_code=r["status_code"],
                elapsed_ms=r["elapsed_ms"],
                cert_not_after=from_epoch(r["cert_not_after"]),
                in_maintenance=bool(r["in_maintenance"]),
                detail=r["detail"],
            )
            for r in rows
        ]

    def open_tickets(self) -> dict[str, int]:
        """Site name -> the id of its oldest open ticket (the one a probe keeps open)."""
        rows = self.store.query(
            "SELECT site, MIN(id) AS id FROM tickets WHERE site IS NOT NULL "
            f"AND status IN {OPEN_STATUSES_SQL} GROUP BY site"
        )
        return {r["site"]: r["id"] for r in rows}

    def url_of(self, site: str) -> str | None:
        rows = self.store.query("SELECT url FROM sites WHERE name = ?", (site,))
        return rows[0]["url"] if rows else None

    def choices(self) -> list[SiteChoice]:
        """Every stored site for a form, by name."""
        rows = self.store.query("SELECT name, customer, impact FROM sites ORDER BY name")
        return [SiteChoice(r["name"], r["customer"], r["impact"]) for r in rows]

    def customers(self) -> list[CustomerRow]:
        rows = self.store.query("SELECT name, emails, domains FROM customers ORDER BY name")
        return [
            CustomerRow(
                r["name"],
                tuple(str(a) for a in json.loads(r["emails"] or "[]")),
                tuple(str(d) for d in json.loads(r["domains"] or "[]")),
            )
            for r in rows
        ]

    def customers_with_open_tickets(self, limit: int = 1000) -> list[str]:
        """Customer names on open tickets (also those no longer in the config)."""
        rows = self.store.query(
            "SELECT DISTINCT customer FROM tickets WHERE customer IS NOT NULL "
            f"AND status IN {OPEN_STATUSES_SQL} LIMIT ?",
            (limit,),
        )
        return [r["customer"] for r in rows]

    def assignees(self, limit: int = 200) -> list[str]:
        """Everyone a ticket was ever assigned to, by name."""
        rows = self.store.query(
            "SELECT DISTINCT assignee FROM tickets WHERE assignee IS NOT NULL "
            "ORDER BY assignee LIMIT ?",
            (limit,),
        )
        return [r["assignee"] for r in rows]


__all__ = ["CustomerRow", "SiteChoice", "SiteHealth", "SiteRecords"]
