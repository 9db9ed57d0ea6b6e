"""Upgrades: a database of every earlier schema version, filled with a desk's worth of rows,
opens in the current Ronda with nothing lost; a newer one is refused untouched.

The fixtures are made here from the migrations themselves (`Store(path,
migrations=MIGRATIONS[:n])`), so a new migration is covered the day it is appended: each
table gets rows for every column it has at version n, and after the upgrade every one of
those values must read back the same, and what the later migrations derive (frozen labels,
totals, mail domains) must be what they promise.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ronda.exporter.collector import RondaCollector
from ronda.model import Impact, Priority, Source
from ronda.store import MIGRATIONS, Store, StoreError
from ronda.tickets import Desk

T0 = datetime(2026, 5, 4, 15, 0, tzinfo=UTC).timestamp()
STATUSES = ("new", "open", "pending_customer", "resolved", "closed", "reopened")
OUTCOMES = (None, "met", "missed", None)


def _tickets() -> list[dict]:
    rows = []
    for i in range(1, 13):
        status = STATUSES[i % len(STATUSES)]
        outcome = OUTCOMES[i % len(OUTCOMES)]
        answered = outcome is not None
        probe = i % 3 == 0
        rows.append(
            {
                "id": i,
                "case_number": f"R-{1000 + i}",
                "source": "probe" if probe else ("email" if i % 3 == 1 else "manual"),
                "subject": f"case {i}: site down",
                "category": None if probe else "wordpress",
                "failure_class": "http_500" if probe else None,
                "site": f"site-{i % 3}" if probe else None,
                "customer": f"Customer {i % 3}",
                "requester": None if probe else f"ana{i}@c{i % 3}.example",
                "priority": ("low", "medium", "high")[i % 3],
                "impact": ("high", "low", "medium", "low")[i % 4],
                "status": status,
                "assignee": f"agent-{i % 2}" if i % 2 else None,
                "opened_at": T0 + i * 60,
                "sla_target_at": T0 + i * 60 + 1800,
                "sla_limit_at": T0 + i * 60 + 3600,
                "first_response_at": T0 + i * 60 + 600 if answered else None,
                "first_response_seconds": 600.0 + i if answered else None,
                "sla_outcome": outcome,
                "paused_at": T0 + i * 60 + 900 if status == "pending_customer" else None,
                "paused_seconds": 30.0 * i,
                "resolved_at": T0 + i * 60 + 7200 if status in ("resolved", "closed") else None,
                "billable": i % 5 == 0,
                # At most one open ticket per key: only the probe tickets have one, per id.
                "dedupe_key": f"site-{i}:down" if probe else None,
                "parent_id": 3 if i in (6, 9) else None,
                "evidence": json.dumps({"status_code": 500, "n": i}),
                "touched_by_agent": i % 2,
                "version": 1 + i % 4,
                "updated_at": T0 + i * 60 + 60,
                # Migration 3: frozen labels (as written by a desk of that version).
                "opened_class": "http_502" if probe else None,
                "outcome_priority": "high" if answered else None,
                "outcome_impact": "high" if answered else None,
            }
        )
    return rows


def _rows() -> dict[str, list[dict]]:
    """Every table's rows with every column any version has (each version takes its own)."""
    tickets = _tickets()
    events = []
    for t in tickets:
        actor = "mail" if t["source"] == "email" else "probe"
        for n, (kind, body) in enumerate(
            (("opened", f"body of {t['case_number']}"), ("note", "looked"), ("status", None))
        ):
            events.append(
                {
                    "ticket_id": t["id"],
                    "at": t["opened_at"] + n,
                    "actor": actor if n == 0 else "agent-1",
                    "kind": kind,
                    "field": "status" if kind == "status" else None,
                    "old": "new" if kind == "status" else None,
                    "new": t["status"] if kind == "status" else None,
                    "body": body,
                }
            )
    return {
        "customers": [
            {
                "id": i,
                "name": f"Customer {i}",
                "emails": json.dumps([f"it@c{i}.example"]),
                "domains": json.dumps([f"c{i}.example"]),
            }
            for i in range(3)
        ],
        "sites": [
            {
                "id": i + 1,
                "name": f"site-{i}",
                "url": f"https://s{i}.example/",
                "customer": f"Customer {i}",
                "server": "web-01",
                "impact": "high",
                "wordpress": 1,
            }
            for i in range(3)
        ],
        "tickets": tickets,
        "ticket_events": events,
        "time_entries": [
            {
                "ticket_id": t,
                "agent": "agent-1",
                "at": T0 + t,
                "seconds": 900.0,
                "note": "fixed the plugin",
                "billable": t % 2,
            }
            for t in (1, 2, 5)
        ],
        "probe_state": [
            {
                "site": f"site-{i}",
                "checked_at": T0 + 90 + i,
                "up": i % 2,
                "failure_class": "ok" if i % 2 else "http_500",
                "status_code": 200 if i % 2 else 500,
                "elapsed_ms": 120.5 + i,
                "phases": json.dumps({"dns": 0.001}),
                "cert_not_after": T0 + 86400 * 40,
                "detail": "detail",
                "in_maintenance": 0,
                "rules": json.dumps({"down": {"failing": i % 2 == 0}}),
            }
            for i in range(3)
        ],
        "probe_failures": [
            {"site": "site-0", "failure_class": "http_500", "count": 7},
            {"site": "site-2", "failure_class": "refused", "count": 2},
        ],
        "probe_rounds": [{"site": f"site-{i}", "count": 40 + i} for i in range(3)],
        "mail_messages": [
            {
                "message_id": f"<m{i}@c.example>",
                "direction": "in" if i % 2 else "out",
                "kind": "opened" if i % 2 else "ack",
                "ticket_id": 1 + i % 4,
                "from_addr": f"ana{i}@C{i % 3}.Example",
                "to_addr": f"bob{i}@D{i % 2}.example",
                "subject": f"subject {i}",
                "received_at": T0 + i,
                "size": 1000 + i,
                "peer_domain": f"stored-{i}.example",
            }
            for i in range(6)
        ],
        "mail_floods": [
            {
                "ticket_id": 4,
                "flood_key": "sender:x@y.example",
                "messages": 12,
                "first_at": T0,
                "last_at": T0 + 60,
            }
        ],
    }


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def _snapshot(path: Path, columns: dict[str, list[str]]) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(path)
    try:
        return {
            table: conn.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY rowid").fetchall()
            for table, cols in columns.items()
        }
    finally:
        conn.close()


def _fixture(path: Path, version: int) -> dict[str, list[str]]:
    """A database at schema `version` holding `_rows()`; returns its tables' columns."""
    Store(path, migrations=MIGRATIONS[:version]).close()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("BEGIN")
        present = {}
        for table, rows in _rows().items():
            cols = _columns(conn, table)
            if not cols:
                continue  # the table comes with a later migration
            present[table] = cols
            for row in rows:
                keys = [k for k in row if k in cols]
                conn.execute(
                    f"INSERT INTO {table} ({', '.join(keys)}) "
                    f"VALUES ({', '.join('?' * len(keys))})",
                    [row[k] for k in keys],
                )
        conn.execute("COMMIT")
        assert conn.execute("PRAGMA user_version").fetchone() == (version,)
    finally:
        conn.close()
    return present


@pytest.mark.parametrize("version", range(1, len(MIGRATIONS) + 1))
def test_every_earlier_schema_upgrades_with_nothing_lost(tmp_path: Path, version: int) -> None:
    path = tmp_path / f"v{version}.db"
    columns = _fixture(path, version)
    before = _snapshot(path, columns)
    assert sum(len(rows) for rows in before.values()) > 60

    store = Store(path)  # what every command does on open: the forward migrations
    assert store.schema_version() == len(MIGRATIONS)
    assert _snapshot(path, columns) == before  # every value of every column it had
    conn = store.db.conn
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []

    # What the later migrations derive from the rows they found.
    tickets = store.query("SELECT * FROM tickets ORDER BY id")
    expected = {t["id"]: t for t in _tickets()}
    for t in tickets:
        if version < 3:  # the labels a ticket is counted under, frozen from its row
            assert t["opened_class"] == expected[t["id"]]["failure_class"]
            answered = t["sla_outcome"] is not None
            assert t["outcome_priority"] == (t["priority"] if answered else None)
        else:
            assert t["opened_class"] == expected[t["id"]]["opened_class"]
    opened = store.query(
        "SELECT source, COALESCE(opened_class, failure_class, '') AS class, COUNT(*) AS n "
        "FROM tickets GROUP BY 1, 2 ORDER BY 1, 2"
    )
    totals = store.query(
        "SELECT source, failure_class AS class, count AS n FROM totals_opened "
        "WHERE count != 0 ORDER BY 1, 2"
    )
    assert totals == opened  # the exporter's counters start from the history kept
    mail = store.query(
        "SELECT message_id, direction, from_addr, to_addr, peer_domain FROM "
        "mail_messages ORDER BY id"
    )
    if version >= 2:
        assert len(mail) == 6
    for m in mail:
        if version < 6:  # the peer's domain, lower-cased, from the address
            addr = m["from_addr"] if m["direction"] == "in" else m["to_addr"]
            assert m["peer_domain"] == addr.rpartition("@")[2].lower()
        else:
            assert m["peer_domain"].startswith("stored-")

    # And the desk works on it: a new case, an answer to an old one, a scrape.
    desk = Desk(store)
    new = desk.open_ticket(
        source=Source.MANUAL,
        subject="after the upgrade",
        priority=Priority.HIGH,
        impact=Impact.HIGH,
        actor="agent-1",
    )
    assert new.id == 13 and new.case_number == "R-1013"
    answered = desk.respond(2, "agent-1", "on it")
    assert answered.first_response_at is not None
    text = RondaCollector(store, lambda: datetime.fromtimestamp(T0 + 86400, UTC)).render()
    assert b"ronda_tickets_opened_total{" in text
    assert b'ronda_probe_rounds_total{site="site-2"} 42' in text
    store.close()


def test_a_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    _fixture(path, len(MIGRATIONS))
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"newer than this Ronda knows .*; upgrade Ronda"):
        Store(path)
    assert path.read_bytes() == before
