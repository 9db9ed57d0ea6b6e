"""Agents' unsent replies and notes, per case: what the ticket screen's editor kept when
the agent closed it or the desk refused the change, so quitting the TUI loses nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ronda.store.db import Store

KINDS = ("reply", "note")
MAX_BODY = 20_000  # characters: the editor's own bound


@dataclass(frozen=True, slots=True)
class StoredDraft:
    ticket_id: int
    kind: str
    body: str
    why: str | None
    updated_at: float


class DraftRecords:
    """The `drafts` table: one row per (case, agent, reply or note)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def save(
        self, ticket_id: int, agent: str, kind: str, body: str, why: str | None, *, now: float
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown draft kind {kind!r}")
        with self.store.write() as db:
            db.execute(
                "INSERT INTO drafts (ticket_id, agent, kind, body, why, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (ticket_id, agent, kind) DO UPDATE SET "
                "body = excluded.body, why = excluded.why, updated_at = excluded.updated_at",
                (ticket_id, agent, kind, body[:MAX_BODY], why, now),
            )

    def drop(self, ticket_id: int, agent: str, kind: str) -> None:
        with self.store.write() as db:
            db.execute(
                "DELETE FROM drafts WHERE ticket_id = ? AND agent = ? AND kind = ?",
                (ticket_id, agent, kind),
            )

    def of_agent(self, agent: str) -> list[StoredDraft]:
        rows = self.store.query(
            "SELECT ticket_id, kind, body, why, updated_at FROM drafts WHERE agent = ? "
            "ORDER BY updated_at",
            (agent,),
        )
        return [StoredDraft(**row) for row in rows]


__all__ = ["DraftRecords", "StoredDraft"]
