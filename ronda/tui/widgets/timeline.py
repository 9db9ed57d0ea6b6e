"""A ticket's history as literal text: one line per event, newest last."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from rich.text import Text

from ronda.model import TicketEvent
from ronda.tui.data import format_when

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


def event_line(event: TicketEvent, t: Callable[..., str]) -> Text:
    line = Text(no_wrap=False)
    line.append(format_when(event.at), style="dim")
    line.append(" ")
    line.append(event.actor, style="bold")
    line.append(" ")
    line.append(t(f"event.{event.kind}", default=event.kind), style=KIND_STYLES.get(event.kind, ""))
    if event.field and (event.old is not None or event.new is not None):
        line.append(f" {event.old or '-'} → {event.new or '-'}")
    if event.body:
        line.append(": ")
        line.append(event.body)
    return line


def timeline_text(events: Iterable[TicketEvent], t: Callable[..., str]) -> Text:
    return Text("\n").join(event_line(event, t) for event in events)


def notes_text(events: Iterable[TicketEvent], t: Callable[..., str]) -> Text:
    """Internal notes and replies: the conversation, without the bookkeeping."""
    lines = [event_line(e, t) for e in events if e.kind in ("note", "replied", "message")]
    if not lines:
        return Text(t("ticket.no_notes"), style="dim")
    return Text("\n").join(lines)
