"""The tickets around a case, on its screen: the customer's other tickets and the site's
history, newest first, one line each; choosing one opens it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text
from textual.widgets.option_list import Option

from ronda.model import Ticket
from ronda.tui.widgets.queue_table import PRIORITY_STYLES, STATUS_STYLES
from ronda.when import format_when


def related_line(ticket: Ticket, t: Callable[..., str]) -> Text:
    """`R-1004 2026-11-25 open high  Pasarela de pago caída`."""
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(ticket.case_number, style="bold")
    line.append(" ")
    line.append(format_when(ticket.opened_at, zone=False)[:10], style="dim")
    line.append(" ")
    line.append(t(f"status.{ticket.status}"), style=STATUS_STYLES.get(ticket.status, ""))
    line.append(" ")
    line.append(t(f"priority.{ticket.priority}"), style=PRIORITY_STYLES.get(ticket.priority, ""))
    line.append("  ")
    line.append(ticket.subject)
    return line


def related_options(
    customer: str | None,
    customer_tickets: Sequence[Ticket],
    site: str | None,
    site_tickets: Sequence[Ticket],
    t: Callable[..., str],
) -> list[Option]:
    """Headings (disabled) and one option per ticket, whose id is the ticket's id."""
    options: list[Option] = []

    def section(title: str, tickets: Sequence[Ticket], prefix: str) -> None:
        options.append(Option(Text(title, style="bold underline"), disabled=True))
        if not tickets:
            options.append(Option(Text(t("related.none"), style="dim"), disabled=True))
        for ticket in tickets:
            options.append(Option(related_line(ticket, t), id=f"{prefix}{ticket.id}"))

    if customer:
        section(t("related.customer", customer=customer), customer_tickets, "c")
    if site:
        section(t("related.site", site=site), site_tickets, "s")
    return options


def ticket_of(option_id: str | None) -> int | None:
    """The ticket id an option opens (None for a heading)."""
    if not option_id or option_id[0] not in "cs" or not option_id[1:].isdigit():
        return None
    return int(option_id[1:])


__all__ = ["related_line", "related_options", "ticket_of"]
