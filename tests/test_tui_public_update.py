"""The TUI's public update: `u` on the ticket screen (or the queue's highlighted row)
prompts, says who reads it, and posts a `public_update` event; the timeline shows it."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_tui import NOW, SIZE, answer, build_store, make_app, open_case, settle
from textual.widgets import Input, Static

from ronda.store import Store
from ronda.tickets import Desk
from ronda.tui.screens.prompts import TextPrompt


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return build_store(tmp_path / "ronda.db")


async def test_u_posts_a_public_update_from_the_ticket_screen(store: Store) -> None:
    desk = Desk(store, clock=lambda: NOW)
    app = make_app(store, lang="es")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_case(pilot, "R-1002")
        await pilot.press("u")
        await settle(pilot, lambda: isinstance(app.screen, TextPrompt))
        note = str(app.screen.query_one("#note", Static).render())
        assert "página de estado" in note
        await answer(pilot, "Restauramos el sitio; vuelve en minutos.")
        event = desk.events(2)[-1]
        assert (event.kind, event.actor, event.body) == (
            "public_update",
            "ana",
            "Restauramos el sitio; vuelve en minutos.",
        )
        assert desk.get(2).first_response_at is None  # not a reply to the customer
        await settle(
            pilot, lambda: "novedad pública" in str(screen.query_one("#timeline", Static).render())
        )
        # Too long: the prompt refuses it and nothing is stored.
        await pilot.press("u")
        await settle(pilot, lambda: isinstance(app.screen, TextPrompt))
        app.screen.query_one("#text", Input).value = "x" * 2001
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TextPrompt)
        await pilot.press("escape")
        await settle(pilot)
        assert [e.kind for e in desk.events(2)].count("public_update") == 1
