"""A ticket's history as literal text: one line per event, newest last, each change said in
words in the UI language (`time logged: 1 h 15 min`, `marked billable`, `estado: nuevo →
abierto`) rather than as the stored values."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from rich.text import Text

from ronda.durations import format_spent
from ronda.model import Ticket, TicketEvent
from ronda.tui.data import format_when
from ronda.tui.probe_words import PROBE_ACTORS, event_words
from ronda.tui.words import shown_subject

KIND_STYLES = {
    "opened": "bold",
    "replied": "green",
    "first_response": "green",
    "note": "yellow",
    "status": "cyan",
    "claimed": "magenta",
    "assigned": "magenta",
    "priority": "bold red",
    "impact": "bold red",
    "sla_recomputed": "dim",
    "linked": "blue",
}


# Stored values that name a catalogue entry: field -> key prefix.
_VALUE_KEYS = {
    "status": "status",
    "priority": "priority",
    "impact": "impact",
    "failure_class": "class",
    "sla_outcome": "sla",
    "reply_outcome": "sla",
}


def _value(field: str, value: str | None, t: Callable[..., str]) -> str:
    if value is None or value == "":
        return "-"
    prefix = _VALUE_KEYS.get(field)
    if prefix is not None:
        return t(f"{prefix}.{value}", default=value)
    return value


def _instant(value: str | None) -> str:
    """A stored ISO instant in the desk's zone (`-` for none; anything else as written)."""
    if not value:
        return "-"
    try:
        return format_when(datetime.fromisoformat(value))
    except ValueError:
        return value


def _seconds(value: str | None) -> str:
    try:
        return format_spent(float(value or ""))
    except ValueError:
        return value or "-"


def change_words(event: TicketEvent, t: Callable[..., str]) -> str | None:
    """What an event changed, in words (None when it changed no field)."""
    kind, field, old, new = event.kind, event.field, event.old, event.new
    if not field or (old is None and new is None):
        return None
    if kind == "time_logged":
        return t("history.time_logged", spent=_seconds(new))
    if field == "billable":
        return t("history.billable_on" if new == "True" else "history.billable_off")
    if kind == "claimed":
        return t("history.claimed")
    if field == "assignee":
        if new:
            return t("history.assigned", who=new)
        return t("history.unassigned", who=old or "-")
    if field in ("sla_limit_at", "reply_limit_at"):
        key = "history.sla_limit" if field == "sla_limit_at" else "history.reply_limit"
        return t(key, old=_instant(old), new=_instant(new))
    if kind == "reply_due":
        return t("history.reply_due", when=_instant(new))
    if field in ("sla_outcome", "reply_outcome"):
        key = "history.first_response" if field == "sla_outcome" else "history.next_response"
        return t(key, outcome=_value(field, new, t))
    if field == "parent":
        return t("history.linked", parent=new) if new else t("history.unlinked", parent=old)
    if field in ("status", "priority", "impact", "requester"):
        return t(f"history.{field}", old=_value(field, old, t), new=_value(field, new, t))
    if field == "failure_class":
        return t("history.class", old=_value(field, old, t), new=_value(field, new, t))
    return t(
        "history.change",
        what=t(f"event.{kind}", default=kind),
        old=_value(field, old, t),
        new=_value(field, new, t),
    )


def body_words(event: TicketEvent, t: Callable[..., str], ticket: Ticket | None = None) -> str:
    """The body as stored, but what the probe rounds wrote in the UI language: the opening's
    subject line as the queue shows it, their fixed phrases (`ronda.tui.probe_words`)."""
    body = event.body or ""
    if event.actor not in PROBE_ACTORS:
        return body
    if ticket is not None and ticket.subject and body.startswith(ticket.subject):
        rest = body[len(ticket.subject) :]
        if not rest or rest.startswith("\n"):
            return shown_subject(ticket, t) + rest
    return event_words(event.actor, body, t)


def event_line(event: TicketEvent, t: Callable[..., str], ticket: Ticket | None = None) -> Text:
    line = Text(no_wrap=False)
    line.append(format_when(event.at), style="dim")
    line.append(" ")
    # The rounds' own name is a word of the UI ("sonda"); an agent's name is theirs.
    actor = t("actor.probe") if event.actor in PROBE_ACTORS else event.actor
    line.append(actor, style="bold")
    line.append(" ")
    style = KIND_STYLES.get(event.kind, "")
    words = change_words(event, t)
    if words is None:
        line.append(t(f"event.{event.kind}", default=event.kind), style=style)
    else:
        line.append(words, style=style)
    if event.body:
        line.append(": ")
        line.append(body_words(event, t, ticket))
    return line


def timeline_text(
    events: Iterable[TicketEvent], t: Callable[..., str], ticket: Ticket | None = None
) -> Text:
    return Text("\n").join(event_line(event, t, ticket) for event in events)


def notes_text(events: Iterable[TicketEvent], t: Callable[..., str]) -> Text:
    """Internal notes and replies: the conversation, without the bookkeeping."""
    lines = [event_line(e, t) for e in events if e.kind in ("note", "replied", "message")]
    if not lines:
        return Text(t("ticket.no_notes"), style="dim")
    return Text("\n").join(lines)
