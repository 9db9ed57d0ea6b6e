"""How a migration runs its SQL: statement by statement, inside the caller's transaction."""

from __future__ import annotations

import sqlite3

import sqlite_utils


class SchemaError(Exception):
    """A migration that cannot run as written (a bug of Ronda's, not of the file)."""


def run_script(db: sqlite_utils.Database, script: str) -> None:
    """Run SQL statements one by one inside the caller's transaction (executescript would
    commit it first)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            db.execute(pending)
            pending = ""
    if pending.strip():
        raise SchemaError(f"incomplete SQL statement in migration: {pending.strip()[:60]}")


__all__ = ["SchemaError", "run_script"]
