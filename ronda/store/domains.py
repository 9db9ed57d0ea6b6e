"""Each customer domain's last facts: the registration's expiry and its DNS checks."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from ronda.store.db import Store


class DomainRow(NamedTuple):
    domain: str
    expires_at: float | None  # Unix seconds; None: unknown
    expiry_source: str | None  # rdap | whois
    expiry_detail: str | None
    expiry_checked_at: float | None
    dns_checked_at: float | None
    dns_checks: dict[str, bool]


_COLUMNS = (
    "domain, expires_at, expiry_source, expiry_detail, expiry_checked_at, dns_checked_at, "
    "dns_checks"
)


def _row(r: Mapping) -> DomainRow:
    try:
        checks = json.loads(r["dns_checks"] or "{}")
    except ValueError:
        checks = {}
    return DomainRow(
        r["domain"],
        r["expires_at"],
        r["expiry_source"],
        r["expiry_detail"],
        r["expiry_checked_at"],
        r["dns_checked_at"],
        {str(k): bool(v) for k, v in checks.items()} if isinstance(checks, dict) else {},
    )


class DomainRecords:
    """The `domain_state` table."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, domain: str) -> DomainRow | None:
        rows = self.store.query(f"SELECT {_COLUMNS} FROM domain_state WHERE domain = ?", (domain,))
        return _row(rows[0]) if rows else None

    def all(self) -> list[DomainRow]:
        return [
            _row(r)
            for r in self.store.query(f"SELECT {_COLUMNS} FROM domain_state ORDER BY domain")
        ]

    def save_expiry(
        self,
        domain: str,
        expires_at: float | None,
        source: str,
        detail: str,
        checked_at: float,
    ) -> None:
        """A registry lookup. A lookup that found no date keeps the last date found."""
        with self.store.write() as db:
            db.execute(
                "INSERT INTO domain_state (domain, expires_at, expiry_source, expiry_detail, "
                "expiry_checked_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(domain) DO UPDATE SET "
                "expires_at = COALESCE(excluded.expires_at, domain_state.expires_at), "
                "expiry_source = COALESCE(excluded.expiry_source, domain_state.expiry_source), "
                "expiry_detail = excluded.expiry_detail, "
                "expiry_checked_at = excluded.expiry_checked_at",
                (domain, expires_at, source or None, detail, checked_at),
            )

    def save_dns(self, domain: str, checks: Mapping[str, bool], checked_at: float) -> None:
        with self.store.write() as db:
            db.execute(
                "INSERT INTO domain_state (domain, dns_checked_at, dns_checks) VALUES (?, ?, ?) "
                "ON CONFLICT(domain) DO UPDATE SET dns_checked_at = excluded.dns_checked_at, "
                "dns_checks = excluded.dns_checks",
                (domain, checked_at, json.dumps({k: int(v) for k, v in checks.items()})),
            )

    def sync(self, domains: list[tuple[str, str | None]]) -> None:
        """Make the stored domains the configured ones, (domain, customer) each; a domain
        no longer configured is forgotten (its metrics go with it)."""
        with self.store.write() as db:
            for domain, customer in domains:
                db.execute(
                    "INSERT INTO domain_state (domain, customer) VALUES (?, ?) "
                    "ON CONFLICT(domain) DO UPDATE SET customer = excluded.customer",
                    (domain, customer),
                )
            names = [d for d, _ in domains]
            marks = ",".join("?" * len(names))
            db.execute(f"DELETE FROM domain_state WHERE domain NOT IN ({marks})", names)
