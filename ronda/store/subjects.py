"""Check subjects other than web sites as the store knows them (`check_subjects`), synced
from the config, and the services' latest probe state for the exporter."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ronda.store.db import Store


class SubjectRecords:
    """The `check_subjects` table."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def sync(self, rows: Iterable[tuple[str, str, str | None, str, str | None]]) -> None:
        """Make the table hold exactly these (name, kind, server, label, customer). One
        transaction; probe state and tickets of a removed subject stay."""
        rows = list(rows)
        with self.store.write() as db:
            db.execute("DELETE FROM check_subjects")
            for row in rows:
                db.execute(
                    "INSERT INTO check_subjects (name, kind, server, label, customer) "
                    "VALUES (?, ?, ?, ?, ?)",
                    row,
                )

    def names(self, kind: str) -> list[str]:
        rows = self.store.query(
            "SELECT name FROM check_subjects WHERE kind = ? ORDER BY name", (kind,)
        )
        return [row["name"] for row in rows]
