"""What the rounds keep between them: each site's latest probe state, the incident rules'
memory, and the monotonic failure and round counts the exporter publishes."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ronda.store.history import HistoryRow, record

if TYPE_CHECKING:
    from ronda.store.db import Store

_SITES_PER_QUERY = 500


@dataclass(frozen=True, slots=True)
class ProbeStateRow:
    """One site's latest probe result as stored (instants as epoch seconds)."""

    site: str
    checked_at: float
    up: bool | None  # None: not measured (a firewall blocked it); the last measured one stays
    failure_class: str
    status_code: int | None
    elapsed_ms: float
    phases_json: str
    cert_not_after: float | None  # None keeps the last certificate seen
    detail: str | None
    in_maintenance: bool
    rules_json: str
    # The round's WordPress-health facts (ronda.checks.wordpress.health); None: not judged.
    wordpress: Mapping[str, Any] | None = None


class ProbeRecords:
    """The `probe_state`, `probe_failures` and `probe_rounds` tables."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def memory(self) -> list[tuple[str, float | None, str]]:
        """(site, last checked at, rules memory as JSON) of every site ever probed."""
        rows = self.store.query("SELECT site, checked_at, rules FROM probe_state")
        return [(r["site"], r["checked_at"], r["rules"]) for r in rows]

    def sights(self) -> list[tuple[str, float, bool, bool]]:
        """(site, last checked at, up, in maintenance) of every site ever measured: what the
        blind guard last saw of each (a site whose probes were only ever blocked, none)."""
        rows = self.store.query(
            "SELECT site, checked_at, up, in_maintenance FROM probe_state "
            "WHERE checked_at IS NOT NULL AND up IS NOT NULL"
        )
        return [
            (r["site"], r["checked_at"], bool(r["up"]), bool(r["in_maintenance"])) for r in rows
        ]

    def memory_of(self, sites: Sequence[str]) -> dict[str, str]:
        """Site -> rules memory (JSON) of these sites, as stored now."""
        out: dict[str, str] = {}
        names = list(sites)
        for start in range(0, len(names), _SITES_PER_QUERY):
            chunk = names[start : start + _SITES_PER_QUERY]
            marks = ",".join("?" * len(chunk))
            for row in self.store.query(
                f"SELECT site, rules FROM probe_state WHERE site IN ({marks})", tuple(chunk)
            ):
                out[row["site"]] = row["rules"]
        return out

    def write_round(
        self,
        states: Iterable[ProbeStateRow],
        failures: Mapping[tuple[str, str], int],
        rounds: Mapping[str, int],
        history: Sequence[HistoryRow] = (),
    ) -> None:
        """A batch of results: latest states, failure counts (site, class), round counts
        added, the WordPress health judged and the sites' history (`ronda.store.history`),
        in ONE transaction."""
        states = list(states)
        rows = [
            (
                s.site,
                s.checked_at,
                None if s.up is None else int(s.up),
                s.failure_class,
                s.status_code,
                s.elapsed_ms,
                s.phases_json,
                s.cert_not_after,
                s.detail,
                int(s.in_maintenance),
                s.rules_json,
            )
            for s in states
        ]
        with self.store.write() as db:
            db.conn.executemany(
                """INSERT INTO probe_state (site, checked_at, up, failure_class, status_code,
                elapsed_ms, phases, cert_not_after, detail, in_maintenance, rules)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(site) DO UPDATE SET checked_at = excluded.checked_at,
                up = COALESCE(excluded.up, probe_state.up), failure_class = excluded.failure_class,
                status_code = excluded.status_code, elapsed_ms = excluded.elapsed_ms,
                phases = excluded.phases,
                cert_not_after = COALESCE(excluded.cert_not_after, probe_state.cert_not_after),
                detail = excluded.detail, in_maintenance = excluded.in_maintenance,
                rules = excluded.rules""",
                rows,
            )
            db.conn.executemany(
                "INSERT INTO probe_failures (site, failure_class, count) VALUES (?, ?, ?) "
                "ON CONFLICT(site, failure_class) DO UPDATE SET count = count + excluded.count",
                [(site, cls, n) for (site, cls), n in failures.items()],
            )
            db.conn.executemany(
                "INSERT INTO probe_rounds (site, count) VALUES (?, ?) "
                "ON CONFLICT(site) DO UPDATE SET count = count + excluded.count",
                list(rounds.items()),
            )
            db.conn.executemany(
                """INSERT OR REPLACE INTO wordpress_health (site, checked_at, core_version,
                core_latest, core_outdated, php_version, php_eol_at, checks, failing)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [_wordpress_row(s) for s in states if s.wordpress],
            )
            record(db, history)


def _wordpress_row(state: ProbeStateRow) -> tuple:
    facts = state.wordpress or {}
    outdated = facts.get("core_outdated")

    def names(key: str) -> str:
        return json.dumps([str(n) for n in facts.get(key, ()) if isinstance(n, str)])

    return (
        state.site,
        state.checked_at,
        facts.get("core_version"),
        facts.get("core_latest"),
        None if outdated is None else int(bool(outdated)),
        facts.get("php_version"),
        facts.get("php_eol"),
        names("checks"),
        names("failing"),
    )


__all__ = ["ProbeRecords", "ProbeStateRow"]
