"""The SLA badge: a countdown coloured by state (ok, warning, breached, paused, met, missed)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from ronda.model import SlaState, Ticket
from ronda.tui.data import format_duration, sla_view

SLA_STYLES: dict[SlaState, str] = {
    SlaState.OK: "green",
    SlaState.WARNING: "bold yellow",
    SlaState.BREACHED: "bold white on red",
    SlaState.PAUSED: "cyan",
    SlaState.MET: "dim green",
    SlaState.MISSED: "dim red",
    SlaState.NOT_DUE: "dim",
}


def sla_text(ticket: Ticket, now: datetime, t: Callable[..., str]) -> Text:
    """`42m 10s` left (green, yellow past the target, red past the limit), `paused 3h 00m`,
    or the outcome once answered."""
    state, left = sla_view(ticket, now)
    style = SLA_STYLES[state]
    if left is None:
        return Text(t(f"sla.{state}"), style=style)
    countdown = format_duration(left)
    if state is SlaState.PAUSED:
        return Text(f"‖ {countdown}", style=style)  # frozen while the customer answers
    return Text(countdown, style=style)


class SlaBadge(Static):
    """State and countdown of one ticket; `tick(now)` repaints it."""

    DEFAULT_CSS = """
    SlaBadge { width: auto; padding: 0 1; }
    """

    def __init__(self, t: Callable[..., str], **kwargs) -> None:
        super().__init__("", **kwargs)
        self._t = t
        self._ticket: Ticket | None = None

    def show(self, ticket: Ticket, now: datetime) -> None:
        self._ticket = ticket
        self.tick(now)

    def tick(self, now: datetime) -> None:
        if self._ticket is None:
            return
        state, left = sla_view(self._ticket, now)
        label = Text(f"{self._t('ticket.sla')}: {self._t(f'sla.{state}')}", style=SLA_STYLES[state])
        if left is not None:
            label.append(f"  {format_duration(left)}", style=SLA_STYLES[state])
        self.update(label)
