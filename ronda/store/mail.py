"""The mail log: every message the desk received or sent, by Message-ID.

One table serves four purposes: dedupe (a duplicated delivery finds its Message-ID taken),
threading (a reply's In-Reply-To / References name a message of a case, incoming or one of
the desk's own acknowledgements and replies), loop protection and rate limits (new cases
and acknowledgements per sender, per sender domain and for the desk in a sliding window).
`mail_floods` counts the messages a flood put on its one ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from ronda.store.db import Store

# A claim older than this belongs to a process that died mid-message: it may be taken over.
STALE_CLAIM_SECONDS = 120.0

Claim = Literal["claimed", "reclaimed", "duplicate", "busy", "own"]


def domain_of(address: str | None) -> str | None:
    """The lower-case domain of an address (after its last `@`), or None."""
    if not address or "@" not in address:
        return None
    return address.rpartition("@")[2].strip().lower().rstrip(".") or None


@dataclass(frozen=True, slots=True)
class LoggedMessage:
    message_id: str
    direction: str
    kind: str
    ticket_id: int | None
    from_addr: str | None
    to_addr: str | None
    subject: str | None
    received_at: float
    size: int


class MailLog:
    """Reads and writes `mail_messages`; every write is one short transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def claim(
        self,
        message_id: str,
        *,
        now: float,
        from_addr: str | None,
        to_addr: str | None,
        subject: str,
        size: int,
    ) -> Claim:
        """Reserve an incoming Message-ID before storing it, so that two deliveries of one
        message (even from two processes) make one ticket.

        `duplicate`: already stored. `busy`: another worker is storing it right now (the
        caller answers 451 and the sending MTA retries). `own`: one of the desk's own
        messages came back. `reclaimed`: a stale claim of a crashed worker was taken over
        (the ticket may exist already: look for it before opening one).
        """
        with self.store.write() as db:
            row = db.execute(
                "SELECT direction, kind, received_at FROM mail_messages WHERE message_id = ?",
                (message_id,),
            ).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO mail_messages (message_id, direction, kind, from_addr, "
                    "peer_domain, to_addr, subject, received_at, size) "
                    "VALUES (?, 'in', 'pending', ?, ?, ?, ?, ?, ?)",
                    (message_id, from_addr, domain_of(from_addr), to_addr, subject, now, size),
                )
                return "claimed"
            direction, kind, claimed_at = row
            if direction == "out":
                return "own"
            if kind != "pending":
                return "duplicate"
            if now - claimed_at < STALE_CLAIM_SECONDS:
                return "busy"
            db.execute(
                "UPDATE mail_messages SET received_at = ? "
                "WHERE message_id = ? AND kind = 'pending'",
                (now, message_id),
            )
            return "reclaimed"

    def finish(self, message_id: str, kind: str, ticket_id: int | None) -> None:
        with self.store.write() as db:
            db.execute(
                "UPDATE mail_messages SET kind = ?, ticket_id = ? WHERE message_id = ?",
                (kind, ticket_id, message_id),
            )

    def release(self, message_id: str) -> None:
        """Give a claim back after a failure, so the sender's retry is not taken for a
        duplicate."""
        with self.store.write() as db:
            db.execute(
                "DELETE FROM mail_messages WHERE message_id = ? AND kind = 'pending'",
                (message_id,),
            )

    def record_dropped(
        self, message_id: str, *, now: float, from_addr: str | None, subject: str, size: int
    ) -> None:
        with self.store.write() as db:
            db.execute(
                "INSERT OR IGNORE INTO mail_messages (message_id, direction, kind, from_addr, "
                "peer_domain, subject, received_at, size) VALUES (?, 'in', 'dropped', ?, ?, ?, "
                "?, ?)",
                (message_id, from_addr, domain_of(from_addr), subject, now, size),
            )

    def record_outgoing(
        self,
        message_id: str,
        *,
        ticket_id: int,
        kind: str,
        from_addr: str,
        to_addr: str,
        subject: str,
        now: float,
        size: int = 0,
    ) -> None:
        with self.store.write() as db:
            db.execute(
                "INSERT INTO mail_messages (message_id, direction, kind, ticket_id, from_addr, "
                "to_addr, peer_domain, subject, received_at, size) "
                "VALUES (?, 'out', ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    message_id,
                    kind,
                    ticket_id,
                    from_addr,
                    to_addr,
                    domain_of(to_addr),
                    subject,
                    now,
                    size,
                ),
            )

    def ticket_for(self, message_ids: list[str]) -> int | None:
        """The case of the first of `message_ids` the desk knows (in the order given)."""
        for message_id in message_ids:
            rows = self.store.query(
                "SELECT ticket_id FROM mail_messages WHERE message_id = ? "
                "AND ticket_id IS NOT NULL",
                (message_id,),
            )
            if rows:
                return rows[0]["ticket_id"]
        return None

    def is_outgoing(self, message_id: str) -> bool:
        rows = self.store.query(
            "SELECT 1 FROM mail_messages WHERE message_id = ? AND direction = 'out'",
            (message_id,),
        )
        return bool(rows)

    # The counts below name `kind` literally: SQLite uses a partial index (migration 5) only
    # for a query whose WHERE repeats the index's. 'opened' rows are all incoming, 'ack'
    # rows all outgoing.

    def acks_since(
        self, since: float, *, to_addr: str | None = None, domain: str | None = None
    ) -> int:
        """Acknowledgements sent since `since` (epoch seconds): to one address, to one
        domain, or (neither given) by the whole desk."""
        if to_addr is not None:
            # `+kind`: read ix_mail_out_to (this address's rows), not every ack of the desk.
            sql = (
                "SELECT COUNT(*) AS n FROM mail_messages WHERE to_addr = ? "
                "AND received_at >= ? AND direction = 'out' AND +kind = 'ack'"
            )
            params: tuple = (to_addr, since)
        elif domain is not None:
            sql = (
                "SELECT COUNT(*) AS n FROM mail_messages WHERE kind = 'ack' "
                "AND peer_domain = ? AND received_at >= ?"
            )
            params = (domain, since)
        else:
            sql = "SELECT COUNT(*) AS n FROM mail_messages WHERE kind = 'ack' AND received_at >= ?"
            params = (since,)
        return int(self.store.query(sql, params)[0]["n"])

    def new_cases_since(
        self, since: float, *, sender: str | None = None, domain: str | None = None
    ) -> int:
        """Incoming messages that opened a case since `since`: from one address, from one
        domain, or (neither given) for the whole desk."""
        if sender is not None:
            sql = (
                "SELECT COUNT(*) AS n FROM mail_messages WHERE kind = 'opened' "
                "AND from_addr = ? AND received_at >= ?"
            )
            params: tuple = (sender, since)
        elif domain is not None:
            sql = (
                "SELECT COUNT(*) AS n FROM mail_messages WHERE kind = 'opened' "
                "AND peer_domain = ? AND received_at >= ?"
            )
            params = (domain, since)
        else:
            sql = (
                "SELECT COUNT(*) AS n FROM mail_messages WHERE kind = 'opened' AND received_at >= ?"
            )
            params = (since,)
        return int(self.store.query(sql, params)[0]["n"])

    def count_flood(self, ticket_id: int, flood_key: str, *, now: float) -> int:
        """One more message on the flood ticket `ticket_id`; returns how many it has now."""
        with self.store.write() as db:
            db.execute(
                "INSERT INTO mail_floods (ticket_id, flood_key, messages, first_at, last_at) "
                "VALUES (?, ?, 1, ?, ?) ON CONFLICT (ticket_id) DO UPDATE SET "
                "messages = messages + 1, last_at = excluded.last_at",
                (ticket_id, flood_key, now, now),
            )
            row = db.execute(
                "SELECT messages FROM mail_floods WHERE ticket_id = ?", (ticket_id,)
            ).fetchone()
        return int(row[0])

    def flood_messages(self, ticket_id: int) -> int:
        """How many messages the flood ticket `ticket_id` gathered (0: not a flood's)."""
        rows = self.store.query(
            "SELECT messages FROM mail_floods WHERE ticket_id = ?", (ticket_id,)
        )
        return int(rows[0]["messages"]) if rows else 0

    def thread(self, ticket_id: int) -> list[LoggedMessage]:
        """The case's messages, oldest first (for References of a reply)."""
        rows = self.store.query(
            "SELECT message_id, direction, kind, ticket_id, from_addr, to_addr, subject, "
            "received_at, size FROM mail_messages WHERE ticket_id = ? ORDER BY id",
            (ticket_id,),
        )
        return [LoggedMessage(**row) for row in rows]

    def opened_ticket(self, message_id: str) -> int | None:
        """The e-mail ticket opened for this Message-ID (its evidence names the message),
        found when a worker died between opening the case and finishing its claim."""
        rows = self.store.query(
            "SELECT id FROM tickets WHERE source = 'email' "
            "AND json_extract(evidence, '$.mail.message_id') = ?",
            (message_id,),
        )
        return rows[0]["id"] if rows else None

    def get(self, message_id: str) -> LoggedMessage | None:
        rows = self.store.query(
            "SELECT message_id, direction, kind, ticket_id, from_addr, to_addr, subject, "
            "received_at, size FROM mail_messages WHERE message_id = ?",
            (message_id,),
        )
        return LoggedMessage(**rows[0]) if rows else None


__all__ = [
    "LoggedMessage",
    "domain_of",
    "MailLog",
    "STALE_CLAIM_SECONDS",
]
