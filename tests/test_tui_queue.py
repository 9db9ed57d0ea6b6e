"""The queue screen as an agent works it: the order of what needs them now, views, the
jump box, search word by word (Textual's Pilot against a real SQLite file).

The small desk of `test_tui` is reused; waits poll a condition with a bound, no sleeps.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from clocks import Clock
from test_tui import (
    NOW,
    SIZE,
    answer,
    build_store,
    cases,
    make_app,
    settle,
    toasts,
    utc,  # noqa: F401 (the autouse fixture pinning TZ)
)
from textual.widgets import Input, Select

from ronda.model import Impact, Priority, QueueFilter, SlaState, Source, Status
from ronda.store import Store
from ronda.tickets import Desk
from ronda.tui.screens.prompts import FilterPrompt
from ronda.tui.screens.queue import QueueScreen
from ronda.tui.screens.sites import SitesScreen
from ronda.tui.screens.ticket import TicketScreen
from ronda.tui.widgets.queue_table import QueueTable
from ronda.tui.widgets.sla import SLA_STYLES


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return build_store(tmp_path / "ronda.db")


@pytest.fixture
def desk(store: Store) -> Desk:
    return Desk(store, clock=lambda: NOW)


def _desk_of_clocks(path: Path) -> Store:
    """Three cases as the afternoon left them: one answered in time (opened first, so an
    order by the first response's deadline put it on top), one never answered and past its
    limit, and one whose customer wrote again after the answer (a next reply is owed)."""
    store = Store(path)
    clock = Clock(NOW - timedelta(hours=1))
    desk = Desk(store, clock=clock)

    def case(subject: str) -> int:
        return desk.open_ticket(
            source=Source.EMAIL,
            subject=subject,
            priority=Priority.HIGH,
            impact=Impact.HIGH,  # first response within 15 min
            actor="mail",
            customer="Ferretería López",
        ).id

    met = case("answered in time")
    desk.respond(met, "ana", "on it")
    clock.advance(minutes=20)
    case("never answered")
    followed = case("wrote again")
    desk.respond(followed, "ana", "looking")
    clock.advance(minutes=30)
    desk.customer_wrote(followed, "mail", "email_received", "still broken")
    return store


async def test_the_cursor_lands_on_what_needs_the_agent_now(tmp_path: Path) -> None:
    """R-1001 (met) sat on the top row with the cursor on it while R-1002 breached below."""
    store = _desk_of_clocks(tmp_path / "ronda.db")
    mine = Desk(store, clock=lambda: NOW)
    states = {t.case_number: mine.sla_state(t, NOW) for t in mine.queue(QueueFilter())}
    assert states == {
        "R-1001": SlaState.MET,
        "R-1002": SlaState.BREACHED,  # its limit passed 25 min ago
        "R-1003": SlaState.WARNING,  # the next reply: owed for 10 min, limit in 5 min
    }
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: bool(app.snapshot and app.snapshot.rows))
        assert cases(app) == ["R-1002", "R-1003", "R-1001"]
        table = app.screen.query_one(QueueTable)
        assert table.highlighted().case_number == "R-1002"
        sla = [table.get_row_at(row)[7] for row in range(3)]
        assert [cell.plain for cell in sla] == ["-25m 00s", "5m 00s", "met"]
        assert [str(cell.style) for cell in sla] == [
            SLA_STYLES[SlaState.BREACHED],
            SLA_STYLES[SlaState.WARNING],  # the next reply's clock, shown like the first
            SLA_STYLES[SlaState.MET],
        ]
    store.close()


async def test_views_resolved_and_all_and_the_status_filter(store: Store) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        assert cases(app) == ["R-1006"]
        assert "resolved" in str(app.screen.query_one("#summary").render())
        await pilot.press("6")
        await settle(pilot)
        assert len(cases(app)) == 7 and cases(app)[-1] == "R-1006"  # open ones first
        await pilot.press("3")
        await settle(pilot)
        assert "R-1006" not in cases(app)
        # Asking for resolved tickets from an open view shows the view that holds them.
        await pilot.press("f")
        await settle(pilot, lambda: isinstance(app.screen, FilterPrompt))
        app.screen.query_one("#status", Select).value = "resolved"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.queue_filter.view == "resolved" and cases(app) == ["R-1006"]
        await pilot.press("f")
        await settle(pilot, lambda: isinstance(app.screen, FilterPrompt))
        app.screen.query_one("#status", Select).value = "new"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.queue_filter.view == "open" and "R-1006" not in cases(app)
        assert cases(app) and all(
            t.status is Status.NEW for t in app.screen.query_one(QueueTable).tickets
        )


async def test_the_jump_box_takes_a_case_number_as_read_over_the_phone(store: Store) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for text in ("r 1004", "1004", "R1004", "r-1004", " R - 1004 "):
            await pilot.press("colon")
            await answer(pilot, text)
            await settle(pilot, lambda: isinstance(app.screen, TicketScreen))
            assert app.screen.ticket.case_number == "R-1004", text
            await pilot.press("escape")
            await settle(pilot, lambda: not isinstance(app.screen, TicketScreen))
        await pilot.press("colon")
        await answer(pilot, "r 9999")
        assert any("R-9999" in text for text in toasts(app))  # named as it is written
        await pilot.press("colon")
        await answer(pilot, "resueltos")
        assert app.queue_filter.view == "resolved"


async def test_search_word_by_word_ignoring_accents_and_case(store: Store) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        search = app.screen.query_one("#search", Input)
        search.value = "PEREZ panel"  # customer "Ana Pérez", subject "... panel"
        await settle(pilot, lambda: app.queue_filter.search == "PEREZ panel")
        assert cases(app) == ["R-1002"]
        search.value = "pago acme"
        await settle(pilot, lambda: app.queue_filter.search == "pago acme")
        assert cases(app) == ["R-1004"]


async def test_hostile_text_found_by_search_is_shown_escaped(store: Store, desk: Desk) -> None:
    desk.open_ticket(
        source=Source.EMAIL,
        subject="Pago \x1b]52;c;b3duZWQ=\x07 rechazado \u202eodazahcer",
        priority=Priority.LOW,
        impact=Impact.LOW,
        actor="mail",
        customer="Bodega",
    )
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.set_filter(search="rechazado")
        await settle(pilot, lambda: app.queue_filter.search == "rechazado")
        table = app.screen.query_one(QueueTable)
        assert cases(app) == ["R-1008"]
        shown = table.get_row_at(0)[4].plain
        assert "\\x1b]52" in shown and "<U+202E>" in shown
        assert "\x1b" not in shown and "\u202e" not in shown


async def test_sites_down_first_and_enter_opens_the_case_or_the_history(
    store: Store, desk: Desk
) -> None:
    old = desk.open_ticket(
        source=Source.PROBE,
        subject="cafe: slow",
        priority=Priority.LOW,
        impact=Impact.LOW,
        actor="probe",
        site="cafe",
        opened_at=NOW - timedelta(days=3),
    )
    desk.resolve(old.id, "luis")
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot, lambda: isinstance(app.screen, SitesScreen) and app.screen.sites)
        screen: SitesScreen = app.screen  # type: ignore[assignment]
        assert [(s.name, s.down) for s in screen.sites] == [
            ("shop", True),  # HTTP 500 on the last round
            ("blog", False),
            ("cafe", False),  # failing, but in maintenance
        ]
        await pilot.press("enter")  # shop: its open case
        await settle(pilot, lambda: isinstance(app.screen, TicketScreen))
        assert app.screen.ticket.case_number == "R-1001"
        await pilot.press("escape")
        await settle(pilot, lambda: isinstance(app.screen, SitesScreen))
        await pilot.press("down", "down", "enter")  # cafe: no open case, its history
        await settle(pilot, lambda: isinstance(app.screen, QueueScreen))
        assert app.queue_filter.site == "cafe" and app.queue_filter.view == "all"
        await settle(pilot, lambda: cases(app) == [old.case_number])
        assert "cafe" in str(app.screen.query_one("#summary").render())
        await pilot.press("escape")  # clears the filters, the site's too
        await settle(pilot, lambda: app.queue_filter.site is None)
