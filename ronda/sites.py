"""Sites and customers as the store knows them: synced from the config, read with their
latest probe state."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from ronda.config import Config
from ronda.store import Store, from_epoch


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

    def cert_days_left(self, now: datetime) -> float | None:
        if self.cert_not_after is None:
            return None
        return (self.cert_not_after - now).total_seconds() / 86400


def sync_config(store: Store, config: Config) -> None:
    """Make the store's customers and sites match the config (sites removed from the
    config are removed from the store; their tickets and history stay)."""
    with store.write() as db:
        for customer in config.customers:
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
        names = [site.name for site in config.sites]
        for site in config.sites:
            db.execute(
                "INSERT INTO sites (name, url, customer, server, impact, wordpress) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET url = excluded.url, "
                "customer = excluded.customer, server = excluded.server, "
                "impact = excluded.impact, wordpress = excluded.wordpress",
                (
                    site.name,
                    site.url,
                    site.customer,
                    site.server,
                    str(site.impact),
                    None if site.wordpress is None else int(site.wordpress),
                ),
            )
        placeholders = ",".join("?" * len(names))
        db.execute(f"DELETE FROM sites WHERE name NOT IN ({placeholders})", names)


def site_health(store: Store) -> list[SiteHealth]:
    """Every configured site with its latest probe state, by name."""
    rows = store.query(
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
