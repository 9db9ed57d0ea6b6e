"""The public update action: an agent writes what customers read on the status page about
the ticket in front of them (`Desk.public_update`), from the ticket screen or the queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ronda.tickets import PUBLIC_UPDATE_CHARS
from ronda.tui.screens.prompts import TextPrompt

if TYPE_CHECKING:
    from ronda.model import Ticket
    from ronda.tui.app import RondaApp
    from ronda.tui.screens.base import TicketActions


def too_long(text: str) -> str | None:
    """Refuse what the desk would refuse, before the agent leaves the prompt."""
    if len(text.strip()) > PUBLIC_UPDATE_CHARS:
        return f"{len(text.strip())} > {PUBLIC_UPDATE_CHARS}"
    return None


def ask_public_update(screen: TicketActions) -> None:
    """Prompt for the update (saying who reads it) and post it on the screen's ticket."""
    app: RondaApp = screen.ronda

    def ask(ticket: Ticket) -> None:
        def done(text: str | None) -> None:
            if text is None:
                return
            app.perform(
                lambda desk: desk.public_update(ticket.id, app.agent, text),
                app.t("done.public_update", case=ticket.case_number),
            )

        app.push_screen(
            TextPrompt(
                app.t("prompt.public_update", case=ticket.case_number),
                note=app.t("prompt.public_update_note"),
                validate=too_long,
            ),
            done,
        )

    screen._with_ticket(ask)


__all__ = ["ask_public_update"]
