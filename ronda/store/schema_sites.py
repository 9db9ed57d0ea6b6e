"""Migrations 10, 11, 16 and 17: what the desk keeps about what it checks beyond the latest
round (the WordPress health judged, each site's history of states, the check subjects that
are not web sites, each customer domain's state).

Kept apart from `ronda.store.schema` (which lists them in `MIGRATIONS`) for its length.
Never edit a shipped migration: append a new one.
"""

from __future__ import annotations

import sqlite_utils

from ronda.store.schema_script import run_script


def m10_wordpress_health(db: sqlite_utils.Database) -> None:
    """WordPress health seen from outside, per site, as its last round saw it: the core
    version against the current release, the PHP version and the end of its security
    support, the checks that ran and those that failed (JSON lists of check names). The
    exporter publishes it; a round that did not judge WordPress leaves the row as it was."""
    run_script(
        db,
        """
        CREATE TABLE wordpress_health (
            site TEXT PRIMARY KEY,
            checked_at REAL NOT NULL,
            core_version TEXT,
            core_latest TEXT,
            core_outdated INTEGER,
            php_version TEXT,
            php_eol_at REAL,
            checks TEXT NOT NULL DEFAULT '[]',
            failing TEXT NOT NULL DEFAULT '[]'
        );
        """,
    )


def m11_site_history(db: sqlite_utils.Database) -> None:
    """Site history (`ronda.store.history`): one row per state change of a site, from the
    first probe that saw the state to the latest that still did. Time no row covers was
    not measured, as is an `unmeasured` row's (probes while the desk could not see)."""
    run_script(
        db,
        """
        CREATE TABLE site_history (
            id INTEGER PRIMARY KEY,
            site TEXT NOT NULL,
            -- unmeasured: probed while the desk could not see (every canary failing)
            state TEXT NOT NULL CHECK (state IN ('up', 'down', 'maintenance', 'unmeasured')),
            class TEXT,  -- the failure class of a down span
            started_at REAL NOT NULL,
            seen_at REAL NOT NULL,
            CHECK (seen_at >= started_at)
        );
        CREATE INDEX ix_site_history_site ON site_history(site, seen_at);
        CREATE INDEX ix_site_history_seen ON site_history(seen_at);
        """,
    )


def m16_check_subjects(db: sqlite_utils.Database) -> None:
    """The check subjects that are not web sites (a server's services, a domain), synced
    from the config like `sites`: the exporter labels their probe state by `server` and
    `label` (a service's `smtp:587`, a domain's name) without reading the config."""
    run_script(
        db,
        """
        CREATE TABLE check_subjects (
            name TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            server TEXT,
            label TEXT NOT NULL,
            customer TEXT
        );
        CREATE INDEX ix_check_subjects_kind ON check_subjects(kind, name);
        """,
    )


def m17_domain_state(db: sqlite_utils.Database) -> None:
    """Each configured customer domain (synced from the config, with its customer) and what
    the rounds last saw of it: its registration's expiry (and when the registry was last
    asked, so it is asked at most once a day whatever the rounds' pace, restarts included)
    and whether each DNS check passed, for the exporter's
    `ronda_domain_expiry_timestamp_seconds` and `ronda_dns_check_ok`."""
    run_script(
        db,
        """
        CREATE TABLE domain_state (
            domain TEXT PRIMARY KEY,
            customer TEXT,
            expires_at REAL,
            expiry_source TEXT,
            expiry_detail TEXT,
            expiry_checked_at REAL,
            dns_checked_at REAL,
            -- check name -> 1 (passed) or 0, for the checks that ran last
            dns_checks TEXT NOT NULL DEFAULT '{}'
        );
        """,
    )
