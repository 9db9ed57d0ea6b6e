"""The ticket screen as an agent works it: the multi-line editor with drafts kept on a
refusal and on leaving, who the reply goes to, saved replies, time spent in words and
refused naming the input, the footer's keys. Pilot against a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_tui import (  # noqa: F401 - utc: the zone pinned as in test_tui
    NOW,
    SIZE,
    build_store,
    make_app,
    open_case,
    settle,
    toasts,
    utc,
    write,
)
from textual.widgets import Collapsible, Input, OptionList, TextArea

from ronda.config import Agent, SavedReply
from ronda.model import Status
from ronda.store import Store
from ronda.tickets import Desk
from ronda.tui.app import RondaApp
from ronda.tui.screens.compose import ComposeScreen, SavedReplyPicker
from ronda.tui.screens.prompts import LogTimePrompt
from ronda.tui.screens.queue import QueueScreen
from ronda.tui.screens.ticket import TicketScreen
from ronda.when import format_when


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return build_store(tmp_path / "ronda.db")


@pytest.fixture
def desk(store: Store) -> Desk:
    return Desk(store, clock=lambda: NOW)


def editor(app: RondaApp) -> ComposeScreen:
    assert isinstance(app.screen, ComposeScreen), app.screen
    return app.screen


def shown(app: RondaApp, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


def mailer(sent: list[str]):  # noqa: ANN201
    """A mail channel standing in for the relay: records and answers like send_reply."""

    def mail_reply(d: Desk, ticket, agent: str, text: str):  # noqa: ANN001, ANN202
        sent.append(text)
        return d.respond(ticket.id, agent, text, ticket.version)

    return mail_reply


async def test_a_reply_keeps_its_lines(store: Store, desk: Desk) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_case(pilot, "R-1001")
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, ComposeScreen))
        area = app.screen.query_one("#body", TextArea)
        await pilot.press(*"Hola", "enter", "enter", *"Revisamos")  # enter is a new line
        assert area.text == "Hola\n\nRevisamos"
        assert isinstance(app.screen, ComposeScreen)
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: desk.get(1).first_response_at is not None)
        reply = next(e for e in desk.events(1) if e.kind == "replied")
        assert reply.body == "Hola\n\nRevisamos"


async def test_the_draft_is_kept_when_closing_and_leaving_the_screen(
    store: Store, desk: Desk
) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_case(pilot, "R-1002")
        await pilot.press("r")
        await write(pilot, "Buenos días, Ana:\nya casi", key="escape")
        assert not isinstance(app.screen, ComposeScreen)
        assert desk.get(2).first_response_at is None  # nothing sent
        assert "draft kept" in screen.query_one("#notes-pane").border_subtitle
        await pilot.press("escape")  # back to the queue, then to the case again
        await settle(pilot, lambda: isinstance(app.screen, QueueScreen))
        await open_case(pilot, "R-1002")
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, ComposeScreen))
        assert app.screen.query_one("#body", TextArea).text == "Buenos días, Ana:\nya casi"
        # Another case has its own (empty) draft.
        await pilot.press("escape")
        await settle(pilot)
        await open_case(pilot, "R-1003")
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, ComposeScreen))
        assert app.screen.query_one("#body", TextArea).text == ""
        # A note draft is separate from the reply's.
        assert app.drafts.keys() == {(2, "reply")}


async def test_a_stale_conflict_keeps_the_draft_says_why_and_sends_on_the_second_try(
    store: Store, desk: Desk
) -> None:
    # The poller sleeps: the screen keeps showing version 1 while another agent claims.
    app = make_app(store, poll_interval=60)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_case(pilot, "R-1002")
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, ComposeScreen))
        desk.claim(2, "luis", 1)  # meanwhile
        await write(pilot, "Le escribo con la solución:\n1. borrar caché\n2. entrar")
        await settle(pilot, lambda: screen.ticket.version == 2)
        assert desk.get(2).first_response_at is None  # refused, nothing overwritten
        assert any("kept" in text for text in toasts(app))
        assert "draft kept" in screen.query_one("#notes-pane").border_subtitle
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, ComposeScreen))
        assert app.screen.query_one("#body", TextArea).text.startswith("Le escribo")
        why = shown(app, "#why")
        assert "R-1002" in why and "version 2" in why
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: desk.get(2).first_response_at is not None)
        reply = next(e for e in desk.events(2) if e.kind == "replied")
        assert reply.body.endswith("2. entrar")
        assert app.drafts == {}
        await settle(pilot, lambda: not screen.query_one("#notes-pane").border_subtitle)


async def test_who_the_reply_goes_to_is_shown_before_sending(store: Store, desk: Desk) -> None:
    sent: list[str] = []
    agents = (Agent("ana", signature="Ana Ruiz\nSoporte"),)
    app = make_app(store, mail_reply=mailer(sent), agents=agents)
    async with app.run_test(size=SIZE) as pilot:
        await open_case(pilot, "R-1002")  # an e-mail case
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, ComposeScreen))
        assert shown(app, "#note") == "To: ana.perez@gmail.com"
        assert "Ana Ruiz" in shown(app, "#signature")
        await write(pilot, "Listo")
        assert sent == ["Listo"]
        await pilot.press("escape")
        await open_case(pilot, "R-1003")  # a probe case with no requester
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, ComposeScreen))
        assert "recorded only" in shown(app, "#note")
        assert not app.screen.query("#signature")  # no mail: nothing is signed


async def test_without_mail_the_editor_says_the_reply_is_recorded_only(store: Store) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_case(pilot, "R-1002")
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, ComposeScreen))
        assert "No e-mail is sent" in shown(app, "#note")


SAVED = (
    SavedReply("Received", "We got your message on {case} ({site}); answer by {limit}.", "en"),
    SavedReply("Recibido", "Recibimos su mensaje, {customer} ({case}).", "es"),
)


async def test_a_saved_reply_fills_the_editor_with_the_case(store: Store, desk: Desk) -> None:
    app = make_app(store, saved_replies=SAVED)
    async with app.run_test(size=SIZE) as pilot:
        await open_case(pilot, "R-1001")
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, ComposeScreen))
        await pilot.press("ctrl+t")
        await settle(pilot, lambda: isinstance(app.screen, SavedReplyPicker))
        names = [str(o.prompt) for o in app.screen.query_one(OptionList).options]
        assert names[0].startswith("Received")  # the UI's language first
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, ComposeScreen))
        text = app.screen.query_one("#body", TextArea).text
        limit = desk.get(1).sla_limit_at
        assert limit is not None
        assert text == f"We got your message on R-1001 (shop); answer by {format_when(limit)}."
        # A second one goes in at the cursor, after what is there.
        await pilot.press("ctrl+t")
        await settle(pilot, lambda: isinstance(app.screen, SavedReplyPicker))
        await pilot.press("down", "enter")
        await settle(pilot, lambda: isinstance(app.screen, ComposeScreen))
        text = app.screen.query_one("#body", TextArea).text
        assert text.endswith("-05.Recibimos su mensaje, ACME Shop (R-1001).")


async def test_saved_replies_in_spanish_come_first_in_spanish(store: Store) -> None:
    app = make_app(store, lang="es", saved_replies=SAVED)
    async with app.run_test(size=SIZE) as pilot:
        await open_case(pilot, "R-1001")
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, ComposeScreen))
        assert "Responder al cliente en R-1001" in shown(app, ".title")
        await pilot.press("ctrl+t")
        await settle(pilot, lambda: isinstance(app.screen, SavedReplyPicker))
        names = [str(o.prompt) for o in app.screen.query_one(OptionList).options]
        assert names[0].startswith("Recibido")


async def test_no_saved_replies_says_so(store: Store) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_case(pilot, "R-1001")
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, ComposeScreen))
        await pilot.press("ctrl+t")
        assert isinstance(app.screen, ComposeScreen)
        assert "No saved replies" in shown(app, "#error")


async def test_a_note_draft_is_kept_and_a_note_saved(store: Store, desk: Desk) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_case(pilot, "R-1003")
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, ComposeScreen))
        assert not app.screen.query("#note")  # a note goes to nobody
        await write(pilot, "renovar\ncon certbot", key="escape")
        assert "note draft kept" in screen.query_one("#notes-pane").border_subtitle
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, ComposeScreen))
        assert app.screen.query_one("#body", TextArea).text == "renovar\ncon certbot"
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: desk.events(3)[-1].kind == "note")
        assert desk.events(3)[-1].body == "renovar\ncon certbot"
        assert app.drafts == {}


async def test_time_spent_is_read_in_words_and_a_bad_one_refused_naming_it(
    store: Store, desk: Desk
) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_case(pilot, "R-1004")
        await pilot.press("t")
        await settle(pilot, lambda: isinstance(app.screen, LogTimePrompt))
        app.screen.query_one("#duration", Input).value = "una hora"
        app.screen.query_one("#time-note", Input).focus()
        await pilot.press("enter")
        assert isinstance(app.screen, LogTimePrompt)
        assert "'una hora' is not a time spent" in shown(app, "#error")
        app.screen.query_one("#duration", Input).value = "1:15"
        await pilot.press("enter")
        await settle(pilot, lambda: desk.time_spent(4) == 4500.0)
        await settle(pilot, lambda: "time logged: 1 h 15 min" in shown(app, "#timeline"))
        assert "Time spent: 1 h 15 min" in str(screen.query_one("#meta").render())


async def test_time_spent_refused_in_spanish(store: Store) -> None:
    app = make_app(store, lang="es")
    async with app.run_test(size=SIZE) as pilot:
        await open_case(pilot, "R-1004")
        await pilot.press("t")
        await settle(pilot, lambda: isinstance(app.screen, LogTimePrompt))
        app.screen.query_one("#duration", Input).value = "1h75"
        app.screen.query_one("#time-note", Input).focus()
        await pilot.press("enter")
        assert "'1h75' no es un tiempo: escriba 1h15, 75m, 1:15 o 1.5h." in shown(app, "#error")


async def test_the_footer_shows_billable_log_time_and_link(store: Store) -> None:
    app = make_app(store)
    async with app.run_test(size=(160, 36)) as pilot:
        await open_case(pilot, "R-1004")
        shown_keys = {b.key for b in app.screen.BINDINGS if b.show}
        assert {"t", "b", "l"} <= shown_keys
        labels = ("Billable", "Log time", "Link parent")

        def footer() -> str:
            return app.export_screenshot().replace("&#160;", " ")

        await settle(pilot, lambda: all(label in footer() for label in labels), rounds=200)


async def test_a_resolved_ticket_pending_status_in_words(store: Store, desk: Desk) -> None:
    app = make_app(store, lang="es")
    async with app.run_test(size=SIZE) as pilot:
        await open_case(pilot, "R-1005")
        text = shown(app, "#timeline")
        assert "estado: nuevo → en espera" in text
        assert desk.get(5).status == Status.PENDING_CUSTOMER


async def test_the_evidence_says_what_failed_and_folds_the_raw_facts(store: Store) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_case(pilot, "R-1001")
        summary = shown(app, "#evidence")
        assert summary.startswith("The site answers HTTP 500 · since 2026-11-25 09:38 -05")
        more = screen.query_one("#evidence-more", Collapsible)
        assert more.collapsed and not screen.query_one("#evidence-raw").region.height
        more.collapsed = False
        await pilot.pause()
        raw = shown(app, "#evidence-raw")
        assert "x-powered-by: PHP/8.1" in raw and "phases: dns 4 ms" in raw
        assert "not_after: 2027-01-08 19:00 -05" in raw  # instants in the desk's zone


async def test_the_customers_other_tickets_and_the_sites_history_open_each_ticket(
    store: Store, desk: Desk
) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_case(pilot, "R-1004")  # ACME Shop, no site
        listing = screen.query_one("#related", OptionList)
        rows = [str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)]
        assert rows[0] == "ACME Shop's other tickets"
        # Newest first, this one left out, resolved ones included.
        cases = [row.split()[0] for row in rows[1:]]
        assert cases == ["R-1001", "R-1006"]
        assert "resolved" in rows[2] and "Factura de octubre" in rows[2]
        listing.focus()
        listing.highlighted = 2
        await pilot.press("enter")
        await settle(
            pilot,
            lambda: (
                isinstance(app.screen, TicketScreen)
                and app.screen is not screen
                and app.screen.loads > 0
            ),
        )
        assert app.screen.ticket.case_number == "R-1006"
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen is screen)


async def test_a_sites_history_lists_its_tickets_newest_first(store: Store, desk: Desk) -> None:
    from test_tui import open_outage

    open_outage(desk)  # cafe: R-1008, opened an hour ago
    app = make_app(store, lang="es")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_case(pilot, "R-1008")
        listing = screen.query_one("#related", OptionList)
        rows = [str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)]
        assert rows == ["Historial de cafe", "Ninguno."]  # no customer on it; no other ticket
        await pilot.press("escape")
        screen = await open_case(pilot, "R-1001")  # shop: ACME Shop's, and the site's
        listing = screen.query_one("#related", OptionList)
        rows = [str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)]
        assert rows[0] == "Otros casos de ACME Shop"
        assert rows[-2:] == ["Historial de shop", "Ninguno."]


async def test_assigning_checks_the_declared_agents_with_a_did_you_mean(
    store: Store, desk: Desk
) -> None:
    from test_tui import answer

    from ronda.tui.screens.prompts import TextPrompt

    agents = (Agent("ana"), Agent("maria"), Agent("mateo"))
    app = make_app(store, agents=agents)
    async with app.run_test(size=SIZE) as pilot:
        await open_case(pilot, "R-1002")
        await pilot.press("a")
        await settle(pilot, lambda: isinstance(app.screen, TextPrompt))
        app.screen.query_one("#text", Input).value = "mraia"
        await pilot.press("enter")
        assert isinstance(app.screen, TextPrompt)  # refused in the form
        assert shown(app, "#error") == "'mraia' is not an agent of this desk (did you mean maria?)."
        app.screen.query_one("#text", Input).value = "zz"
        await pilot.press("enter")
        assert "agents: ana, maria, mateo" in shown(app, "#error")
        await answer(pilot, "Maria")
        await settle(pilot, lambda: desk.get(2).assignee == "maria")  # as declared
        await pilot.press("a")
        await answer(pilot, "")  # blank: nobody
        await settle(pilot, lambda: desk.get(2).assignee is None)


async def test_without_declared_agents_any_name_is_assigned(store: Store, desk: Desk) -> None:
    from test_tui import answer

    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_case(pilot, "R-1002")
        await pilot.press("a")
        await answer(pilot, "mraia")
        await settle(pilot, lambda: desk.get(2).assignee == "mraia")


# ---- pictures (pytest-textual-snapshot; `--snapshot-update` after a deliberate change) ----


def _picture_app(tmp_path: Path, lang: str = "en", **kwargs) -> RondaApp:  # noqa: ANN003
    return RondaApp(build_store(tmp_path / "ronda.db"), "ana", lang, clock=lambda: NOW, **kwargs)


async def _ready(pilot, until=lambda: True) -> None:  # noqa: ANN001
    await settle(pilot, until)
    await pilot.pause(0.1)
    await pilot.pause()


def test_snapshot_ticket_at_80x24_in_spanish(snap_compare, tmp_path: Path) -> None:  # noqa: ANN001
    app = _picture_app(tmp_path, "es")

    async def run_before(pilot) -> None:  # noqa: ANN001
        await open_case(pilot, "R-1001")
        await _ready(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_snapshot_reply_editor_with_a_refused_draft(snap_compare, tmp_path: Path) -> None:  # noqa: ANN001
    from ronda.tui.screens.compose import Draft

    sent: list[str] = []
    app = _picture_app(
        tmp_path,
        mail_reply=mailer(sent),
        agents=(Agent("ana", signature="Ana Ruiz · Soporte"),),
        saved_replies=SAVED,
    )

    async def run_before(pilot) -> None:  # noqa: ANN001
        screen = await open_case(pilot, "R-1002")
        app.drafts[(2, "reply")] = Draft(
            "Buenos días, Ana:\nle enviamos un enlace.", why="R-1002 changed meanwhile"
        )
        screen.refresh_draft()
        await pilot.press("r")
        await _ready(pilot, lambda: isinstance(app.screen, ComposeScreen))

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_snapshot_ticket_with_readable_evidence(snap_compare, tmp_path: Path) -> None:  # noqa: ANN001
    app = _picture_app(tmp_path)

    async def run_before(pilot) -> None:  # noqa: ANN001
        screen = await open_case(pilot, "R-1001")
        screen.query_one("#evidence-more", Collapsible).collapsed = False
        await _ready(pilot)
        # Unfolding may scroll the pane to show the facts: the picture starts at the top.
        screen.query_one("#evidence-pane").scroll_home(animate=False)
        await _ready(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


async def test_drafts_outlive_the_session_and_are_each_agents_own(store: Store) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_case(pilot, "R-1002")
        await pilot.press("r")
        await write(pilot, "Hola Ana,\nmañana seguimos", key="escape")
        await pilot.press("n")
        await write(pilot, "llamar a las 3", key="escape")
        await settle(pilot)
    rows = store.query("SELECT ticket_id, agent, kind, body FROM drafts ORDER BY kind")
    assert rows == [
        {"ticket_id": 2, "agent": "ana", "kind": "note", "body": "llamar a las 3"},
        {"ticket_id": 2, "agent": "ana", "kind": "reply", "body": "Hola Ana,\nmañana seguimos"},
    ]
    # The next session of the same agent finds them; another agent does not.
    again, luis = make_app(store), make_app(store, "luis")
    async with again.run_test(size=SIZE) as pilot, luis.run_test(size=SIZE) as pl:
        screen = await open_case(pilot, "R-1002")
        await settle(pilot, lambda: "draft kept" in screen.query_one("#notes-pane").border_subtitle)
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(again.screen, ComposeScreen))
        assert again.screen.query_one("#body", TextArea).text == "Hola Ana,\nmañana seguimos"
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: not store.query("SELECT 1 FROM drafts WHERE kind = 'reply'"))
        await open_case(pl, "R-1002")
        assert luis.drafts == {}
    assert [r["kind"] for r in store.query("SELECT kind FROM drafts")] == ["note"]


def test_help_lists_the_editors_keys() -> None:
    from rich.console import Console

    from ronda.tui.i18n import Catalogue
    from ronda.tui.screens.help import HelpScreen

    console = Console(width=100, record=True)
    console.print(HelpScreen()._table(Catalogue("es")))  # noqa: SLF001
    text = console.export_text()
    assert "El editor de respuestas y notas" in text
    assert "ctrl+s" in text and "Enviar la respuesta (guardar la nota)" in text
    assert "ctrl+t" in text and "Respuestas guardadas: llenar el editor con una" in text
