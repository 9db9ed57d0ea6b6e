"""The outbox: every message the desk sends, from the change that caused it to the relay's or
the channel's answer.

A message is enqueued inside the caller's transaction (`Store.write()`), so it commits with
the ticket change it belongs to. A sender then claims due messages of one channel for a
lease, delivers them outside any transaction, and marks each sent, due again later (a
temporary failure) or failed. A claim whose lease ran out, or whose owner is known to be
dead, is taken over: delivery is at least once, and the message key (unique) keeps one
logical message one row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from ronda.store.db import Store

Channel = Literal["mail", "apprise"]
STATES = ("queued", "sending", "sent", "failed")
KINDS = ("ack", "reply", "notice", "notification")
# What a listing reads: a message's text is read only by the sender.
_LIST_COLUMNS = (
    "id, key, ticket_id, kind, channel, recipient, target, envelope_from, subject, "
    "message_id, state, attempts, created_at, due_at, owner, sent_at, last_error"
)


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to enqueue. `key` names it for good: enqueueing the same key again is a
    no-op. Mail carries the whole RFC 5322 text in `body`; Apprise its plain text, with the
    agent's name as `recipient` and which of their URLs as `target`."""

    key: str
    kind: str
    channel: Channel
    recipient: str
    body: bytes
    ticket_id: int | None = None
    target: str | None = None
    envelope_from: str | None = None
    subject: str = ""
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One row of the outbox. `body` is empty in listings (`for_ticket`)."""

    id: int
    key: str
    ticket_id: int | None
    kind: str
    channel: str
    recipient: str
    target: str | None
    envelope_from: str | None
    subject: str
    message_id: str | None
    state: str
    attempts: int
    created_at: float
    due_at: float
    owner: str | None
    sent_at: float | None
    last_error: str | None
    body: bytes = b""


def _message(row: dict) -> OutboxMessage:
    body = row.pop("body", b"")
    if isinstance(body, str):
        body = body.encode("utf-8")
    return OutboxMessage(**row, body=body or b"")


class Outbox:
    """Reads and writes `outbox`. Writes join the caller's transaction when there is one."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ---- enqueueing -----------------------------------------------------------------

    def enqueue(self, message: NewMessage, *, now: float) -> bool:
        """Queue `message`, due now; False when its key was queued before (nothing changes)."""
        if message.kind not in KINDS:
            raise ValueError(f"unknown outbox kind {message.kind!r}")
        with self.store.write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO outbox (key, ticket_id, kind, channel, recipient, target, "
                "envelope_from, subject, body, message_id, state, attempts, created_at, due_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?)",
                (
                    message.key,
                    message.ticket_id,
                    message.kind,
                    message.channel,
                    message.recipient,
                    message.target,
                    message.envelope_from,
                    message.subject,
                    message.body,
                    message.message_id,
                    now,
                    now,
                ),
            )
            return cursor.rowcount == 1

    # ---- the sender's side ----------------------------------------------------------

    def claim(
        self,
        channel: Channel,
        *,
        now: float,
        owner: str,
        lease: float,
        limit: int = 50,
        dead: Iterable[str] = (),
    ) -> list[OutboxMessage]:
        """Take up to `limit` due messages of `channel` for `lease` seconds: queued ones
        whose time has come, and claims of others whose lease ran out or whose owner is in
        `dead` (a process known to have died mid-send). Oldest first."""
        dead = sorted(set(dead))
        marks = ",".join("?" * len(dead))
        takeover = f" OR owner IN ({marks})" if dead else ""
        with self.store.write() as db:
            ids = [
                row[0]
                for row in db.execute(
                    "SELECT id FROM outbox WHERE channel = ? AND state IN ('queued', 'sending') "
                    f"AND (due_at <= ?{takeover}) ORDER BY due_at, id LIMIT ?",
                    (channel, now, *dead, limit),
                ).fetchall()
            ]
            if not ids:
                return []
            id_marks = ",".join("?" * len(ids))
            db.execute(
                f"UPDATE outbox SET state = 'sending', owner = ?, due_at = ? "
                f"WHERE id IN ({id_marks})",
                (owner, now + lease, *ids),
            )
            rows = self.store.query(
                f"SELECT * FROM outbox WHERE id IN ({id_marks}) ORDER BY id", ids
            )
        by_id = {row["id"]: _message(row) for row in rows}
        return [by_id[i] for i in ids]

    def sending_owners(self, channel: Channel) -> set[str]:
        """Who holds claims on `channel` now (the sender checks whether they still live)."""
        rows = self.store.query(
            "SELECT DISTINCT owner FROM outbox WHERE channel = ? AND state = 'sending' "
            "AND owner IS NOT NULL",
            (channel,),
        )
        return {row["owner"] for row in rows}

    def _finish(self, message_id: int, owner: str, sets: str, params: tuple) -> bool:
        with self.store.write() as db:
            cursor = db.execute(
                f"UPDATE outbox SET {sets} WHERE id = ? AND state = 'sending' AND owner = ?",
                (*params, message_id, owner),
            )
            return cursor.rowcount == 1

    def mark_sent(self, message_id: int, owner: str, *, now: float) -> bool:
        """The relay or channel took it. False when the claim is no longer ours."""
        return self._finish(
            message_id,
            owner,
            "state = 'sent', sent_at = ?, owner = NULL, attempts = attempts + 1, last_error = NULL",
            (now,),
        )

    def mark_retry(self, message_id: int, owner: str, *, due_at: float, error: str) -> bool:
        """A temporary failure: due again at `due_at`, with the answer kept."""
        return self._finish(
            message_id,
            owner,
            "state = 'queued', due_at = ?, owner = NULL, attempts = attempts + 1, last_error = ?",
            (due_at, error),
        )

    def mark_failed(self, message_id: int, owner: str, *, error: str) -> bool:
        """A permanent failure (refused, or too many attempts): not tried again."""
        return self._finish(
            message_id,
            owner,
            "state = 'failed', owner = NULL, attempts = attempts + 1, last_error = ?",
            (error,),
        )

    def release(self, owner: str, *, now: float) -> int:
        """Give back every claim of `owner` that it did not try (a sender stopping)."""
        with self.store.write() as db:
            cursor = db.execute(
                "UPDATE outbox SET state = 'queued', owner = NULL, due_at = ? "
                "WHERE state = 'sending' AND owner = ?",
                (now, owner),
            )
            return cursor.rowcount

    def next_due(self, channel: Channel) -> float | None:
        """When the next message of `channel` is due (a claim: when its lease ends)."""
        rows = self.store.query(
            "SELECT MIN(due_at) AS due FROM outbox WHERE channel = ? "
            "AND state IN ('queued', 'sending')",
            (channel,),
        )
        return rows[0]["due"] if rows else None

    # ---- reading --------------------------------------------------------------------

    def get(self, key: str) -> OutboxMessage | None:
        rows = self.store.query("SELECT * FROM outbox WHERE key = ?", (key,))
        return _message(rows[0]) if rows else None

    def for_ticket(self, ticket_id: int) -> list[OutboxMessage]:
        """The case's messages, oldest first, without their text."""
        rows = self.store.query(
            f"SELECT {_LIST_COLUMNS} FROM outbox WHERE ticket_id = ? ORDER BY id", (ticket_id,)
        )
        return [_message(row) for row in rows]

    def routed_since(self, recipient: str, target: str | None, since: float) -> int:
        """Notifications queued for one agent's channel since `since` (the rate limit)."""
        rows = self.store.query(
            "SELECT COUNT(*) AS n FROM outbox WHERE recipient = ? AND target IS ? "
            "AND created_at >= ? AND kind = 'notification'",
            (recipient, target, since),
        )
        return int(rows[0]["n"])

    def pending(self) -> int:
        """Messages queued or being sent, all channels."""
        rows = self.store.query(
            "SELECT COUNT(*) AS n FROM outbox WHERE state IN ('queued', 'sending')"
        )
        return int(rows[0]["n"])

    def latencies(self) -> list[float]:
        """Seconds from queued to sent of every sent message (benches)."""
        rows = self.store.query(
            "SELECT sent_at - created_at AS s FROM outbox WHERE state = 'sent' ORDER BY id"
        )
        return [float(row["s"]) for row in rows]

    def totals(self) -> dict[tuple[str, str], int]:
        """(kind, state) -> messages, from the totals the triggers keep."""
        rows = self.store.query("SELECT kind, state, count FROM totals_outbox")
        return {(row["kind"], row["state"]): int(row["count"]) for row in rows}


__all__ = ["KINDS", "STATES", "Channel", "NewMessage", "Outbox", "OutboxMessage"]
