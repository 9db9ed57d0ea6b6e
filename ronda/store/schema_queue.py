"""Migration 13: the queue's order as an index, and search word by word (FTS5).

Kept apart from `ronda.store.schema` (which lists it in `MIGRATIONS`) for its length.
Never edit it once shipped: append a new migration.
"""

from __future__ import annotations

import sqlite_utils

# The queue's order as this migration froze it in `ix_tickets_urgency` (`ronda.sla_order`'s
# `queue_order_sql` at the time): a query orders by the index only with these very
# expressions, so when the rule changes, a new migration recreates the index with the new
# ones (a test fails until then).
_M10_CLOSED = "status IN ('closed', 'resolved')"
_M10_LIMIT = (
    f"CASE WHEN {_M10_CLOSED} THEN NULL WHEN reply_due_at IS NOT NULL THEN reply_limit_at "
    "WHEN first_response_at IS NOT NULL OR sla_outcome IS NOT NULL THEN NULL "
    "ELSE sla_limit_at END"
)
_M10_RANK = (
    f"CASE WHEN {_M10_CLOSED} OR paused_at IS NOT NULL THEN 2 "
    f"WHEN ({_M10_LIMIT}) IS NOT NULL THEN 0 ELSE 1 END"
)
M10_TIER = (
    f"CASE ({_M10_RANK}) WHEN 0 THEN 0 "
    f"WHEN 2 THEN (CASE WHEN {_M10_CLOSED} THEN 3 ELSE 2 END) ELSE 1 END"
)
M10_WITHIN = (
    f"CASE ({M10_TIER}) WHEN 0 THEN ({_M10_LIMIT}) "
    "WHEN 1 THEN (CASE priority WHEN 'high' THEN 0 WHEN 'medium' THEN 1 WHEN 'low' THEN 2 END) "
    f"WHEN 2 THEN COALESCE(({_M10_LIMIT}) - paused_at, 1e+18) "
    "ELSE -COALESCE(resolved_at, updated_at) END"
)
# The events whose bodies search reads: what the customer wrote or said on the phone, the
# replies, the notes.
SEARCHED_EVENT_KINDS = ("opened", "email_received", "phone_call", "replied", "note")


def m13_queue_order_and_search(db: sqlite_utils.Database) -> None:
    """The queue in the order of what needs the agent now, and search word by word.

    `ix_tickets_urgency` holds every ticket's place in the queue (`ronda.sla_order`): a
    view's first rows are the first entries of the index, whatever the desk's size.

    `ticket_search` is an FTS5 index with one row per ticket (rowid = the ticket's id): its
    number (the digits of the case number, so that no word is in every ticket), subject,
    site, customer, requester, and the bodies of its messages (`SEARCHED_EVENT_KINDS`), one
    after the other. The unicode61 tokenizer folds case and, with `remove_diacritics 2`,
    accents: `ferreteria lopez` finds "Ferretería López". Prefix indexes of 2 and 3
    characters answer a word being typed. Triggers keep it in step with any write: a new or
    changed ticket, a new message, a body pruned by retention (its text is not searched)."""
    from ronda.store.schema import PRUNED_MAIL_BODY, run_script  # schema lists this one

    kinds = "(" + ",".join(f"'{k}'" for k in SEARCHED_EVENT_KINDS) + ")"
    number = "ltrim({r}.case_number, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ-')"
    fields = "{number}, {r}.subject, {r}.site, {r}.customer, {r}.requester"
    searched = f"kind IN {kinds} AND body IS NOT NULL AND body IS NOT '{PRUNED_MAIL_BODY}'"

    def messages(ticket_id: str) -> str:
        return (
            "COALESCE((SELECT group_concat(body, char(10)) FROM (SELECT body FROM ticket_events "
            f"WHERE ticket_id = {ticket_id} AND {searched} ORDER BY id)), '')"
        )

    def ticket_fields(r: str) -> str:
        return fields.format(number=number.format(r=r), r=r)

    run_script(
        db,
        f"""
        CREATE INDEX ix_tickets_urgency ON tickets(({M10_TIER}), ({M10_WITHIN}), opened_at);
        CREATE VIRTUAL TABLE ticket_search USING fts5(
            number, subject, site, customer, requester, messages,
            tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3',
            detail = none, columnsize = 0
        );
        INSERT INTO ticket_search (rowid, number, subject, site, customer, requester, messages)
            SELECT t.id, {ticket_fields("t")}, {messages("t.id")} FROM tickets t;
        CREATE TRIGGER ticket_search_insert AFTER INSERT ON tickets BEGIN
            INSERT INTO ticket_search (rowid, number, subject, site, customer, requester,
                messages)
            VALUES (NEW.id, {ticket_fields("NEW")}, '');
        END;
        CREATE TRIGGER ticket_search_update
            AFTER UPDATE OF case_number, subject, site, customer, requester ON tickets BEGIN
            UPDATE ticket_search SET (number, subject, site, customer, requester) =
                ({ticket_fields("NEW")}) WHERE rowid = NEW.id;
        END;
        CREATE TRIGGER ticket_search_delete AFTER DELETE ON tickets BEGIN
            DELETE FROM ticket_search WHERE rowid = OLD.id;
        END;
        CREATE TRIGGER ticket_search_message AFTER INSERT ON ticket_events
            WHEN NEW.kind IN {kinds} AND NEW.body IS NOT NULL BEGIN
            UPDATE ticket_search SET messages = messages || char(10) || NEW.body
                WHERE rowid = NEW.ticket_id;
        END;
        CREATE TRIGGER ticket_search_message_pruned AFTER UPDATE OF body ON ticket_events
            WHEN NEW.kind IN {kinds} BEGIN
            UPDATE ticket_search SET messages = {messages("NEW.ticket_id")}
                WHERE rowid = NEW.ticket_id;
        END;
        CREATE TRIGGER ticket_search_message_deleted AFTER DELETE ON ticket_events
            WHEN OLD.kind IN {kinds} BEGIN
            UPDATE ticket_search SET messages = {messages("OLD.ticket_id")}
                WHERE rowid = OLD.ticket_id;
        END;
        """,
    )
