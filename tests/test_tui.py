"""The agents' TUI driven with Textual's Pilot against a real SQLite file.

Every action is pressed as an agent would and checked in the database afterwards. The clock
is injected (frozen), TZ is pinned to UTC, and waits poll a condition with a bound: no
sleeps. Snapshot tests (pytest-textual-snapshot) picture the queue, a ticket, the sites and
the help screen; regenerate them with `--snapshot-update` after a deliberate UI change.
"""

from __future__ import annotations

import gc
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from clocks import Clock
from textual.pilot import Pilot
from textual.widgets import Input, Select, TextArea

from ronda.config import Config, Customer, Site, SlaCellConfig
from ronda.model import FailureClass, Impact, Priority, Source, Status, Ticket
from ronda.sites import sync_config
from ronda.store import Store
from ronda.tickets import Desk
from ronda.tui.app import RondaApp
from ronda.tui.idle_gc import NO_AUTOMATIC_FULL
from ronda.tui.screens.compose import ComposeScreen
from ronda.tui.screens.help import HelpScreen
from ronda.tui.screens.new_ticket import NewTicketScreen
from ronda.tui.screens.prompts import FilterPrompt, ReprioritizePrompt, TextPrompt
from ronda.tui.screens.queue import QueueScreen
from ronda.tui.screens.sites import SitesScreen
from ronda.tui.screens.ticket import TicketScreen
from ronda.tui.widgets.queue_table import QueueTable

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # Wednesday 10:00 in Bogota
SIZE = (120, 36)
MARKUP_SUBJECT = "[@click=app.quit]Gratis[/] [red]x[/red] envío"


CONFIG = Config(
    customers=(
        Customer("ACME Shop", domains=("acme.test",)),
        Customer("Ana Pérez", emails=("ana.perez@gmail.com",)),
        Customer("Bodega"),
    ),
    sites=(
        Site(
            "shop",
            "https://shop.acme.test/",
            customer="ACME Shop",
            server="web1",
            impact=Impact.HIGH,
        ),
        Site(
            "blog", "https://blog.ana.test/", customer="Ana Pérez", server="web2", impact=Impact.LOW
        ),
        Site("cafe", "https://cafe.bodega.test/", customer="Bodega", server="web2"),
    ),
)


def build_store(path: Path) -> Store:
    """A small, fixed desk: every SLA state, a resolved case, a subject full of markup."""
    store = Store(path)
    sync_config(store, CONFIG)
    clock = Clock(NOW)
    desk = Desk(store, clock=clock)

    def at(minutes_ago: float) -> datetime:
        clock.now = NOW - timedelta(minutes=minutes_ago)
        return clock.now

    at(20)
    desk.open_ticket(
        source=Source.PROBE,
        subject="shop: HTTP 500 on the home page",
        priority=Priority.HIGH,
        impact=Impact.HIGH,
        actor="probe",
        failure_class=FailureClass.HTTP_500,
        site="shop",
        customer="ACME Shop",
        dedupe_key="shop:down",
        evidence={
            "url": "https://shop.acme.test/",
            "status_code": 500,
            "phases": {"dns": 0.004, "connect": 0.012, "tls": 0.031, "first_byte": 0.412},
            "cert": {"subject": "CN=shop.acme.test", "not_after": "2027-01-09T00:00:00+00:00"},
            "headers": {"server": "nginx", "x-powered-by": "PHP/8.1"},
            "body_excerpt": "<h1>[b]Error[/b] establishing a database connection</h1>",
            "first_failure_at": (NOW - timedelta(minutes=22)).isoformat(),
            "last_failure_at": (NOW - timedelta(minutes=1)).isoformat(),
        },
    )
    desk.record(1, "probe", "recurrence", "still failing: HTTP 500")
    at(60)
    desk.open_ticket(
        source=Source.EMAIL,
        subject="No puedo entrar al panel",
        priority=Priority.LOW,
        impact=Impact.MEDIUM,
        actor="mail",
        customer="Ana Pérez",
        requester="ana.perez@gmail.com",
    )
    at(120)
    desk.open_ticket(
        source=Source.PROBE,
        subject="blog: certificate expires in 5 days",
        priority=Priority.LOW,
        impact=Impact.LOW,
        actor="probe",
        failure_class=FailureClass.SSL_EXPIRING,
        site="blog",
        customer="Ana Pérez",
    )
    at(40)
    t4 = desk.open_ticket(
        source=Source.MANUAL,
        subject="Pasarela de pago caída",
        priority=Priority.HIGH,
        impact=Impact.MEDIUM,
        actor="luis",
        customer="ACME Shop",
    )
    desk.claim(t4.id, "ana", t4.version)
    at(30)
    t5 = desk.open_ticket(
        source=Source.EMAIL,
        subject="Restaurar copia de seguridad",
        priority=Priority.MEDIUM,
        impact=Impact.LOW,
        actor="mail",
        customer="Bodega",
    )
    at(10)
    desk.set_status(t5.id, Status.PENDING_CUSTOMER, "luis", t5.version)
    at(90)
    t6 = desk.open_ticket(
        source=Source.EMAIL,
        subject="Factura de octubre",
        priority=Priority.LOW,
        impact=Impact.LOW,
        actor="mail",
        customer="ACME Shop",
    )
    at(80)
    desk.resolve(t6.id, "luis", t6.version)
    at(10)
    desk.open_ticket(
        source=Source.EMAIL,
        subject=MARKUP_SUBJECT,
        priority=Priority.MEDIUM,
        impact=Impact.MEDIUM,
        actor="mail",
        customer="Bodega",
    )
    with store.write() as db:
        for site, up, fc, code, ms, cert_days, maint in (
            ("shop", 0, "http_500", 500, 812.0, 45, 0),
            ("blog", 1, None, 200, 230.0, 5, 0),
            ("cafe", 1, None, 503, 120.0, 200, 1),
        ):
            db.execute(
                "INSERT INTO probe_state (site, checked_at, up, failure_class, status_code, "
                "elapsed_ms, cert_not_after, detail, in_maintenance) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    site,
                    (NOW - timedelta(seconds=40)).timestamp(),
                    up,
                    fc,
                    code,
                    ms,
                    (NOW + timedelta(days=cert_days)).timestamp(),
                    "[red]Error[/red] establishing a database connection" if fc else None,
                    maint,
                ),
            )
    return store


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    """Times on screen are local: pin the zone so pictures and assertions are stable."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return build_store(tmp_path / "ronda.db")


@pytest.fixture
def desk(store: Store) -> Desk:
    """The test's own view of the database (as another process would have)."""
    return Desk(store, clock=lambda: NOW)


def make_app(store: Store, agent: str = "ana", **kwargs) -> RondaApp:
    kwargs.setdefault("poll_interval", 0.05)
    return RondaApp(store, agent, clock=lambda: NOW, **kwargs)


async def settle(pilot: Pilot, until: Callable[[], bool] = lambda: True, rounds: int = 400):
    """Wait (bounded) until the app has no I/O in flight, shows the latest queue, and
    `until()` holds."""
    app: RondaApp = pilot.app  # type: ignore[assignment]
    for _ in range(rounds):
        await pilot.pause(0.01)
        if app.settled and until():
            return
    raise AssertionError(f"the app did not settle (pending={app.pending})")


async def open_case(pilot: Pilot, case: str) -> TicketScreen:
    app: RondaApp = pilot.app  # type: ignore[assignment]
    await settle(pilot)
    app.jump(case)
    await settle(
        pilot,
        lambda: (
            isinstance(app.screen, TicketScreen)
            and app.screen.loads > 0
            and app.screen.ticket.case_number == case
        ),
    )
    return app.screen  # type: ignore[return-value]


async def answer(pilot: Pilot, text: str) -> None:
    """Fill the prompt on screen and press enter. (Pilot types about 15 keys a second, so
    only the search test types key by key.)"""
    await settle(pilot, lambda: isinstance(pilot.app.screen, TextPrompt))
    pilot.app.screen.query_one("#text", Input).value = text
    await pilot.press("enter")
    await settle(pilot)


async def write(pilot: Pilot, text: str, key: str = "ctrl+s") -> None:
    """Fill the reply or note editor on screen and send it (ctrl+s) or close it (esc)."""
    await settle(pilot, lambda: isinstance(pilot.app.screen, ComposeScreen))
    pilot.app.screen.query_one("#body", TextArea).load_text(text)
    await pilot.press(key)
    await settle(pilot)


def cases(app: RondaApp) -> list[str]:
    return [t.case_number for t in app.screen.query_one(QueueTable).tickets]


def open_outage(desk: Desk) -> Ticket:
    """What a probe opens when a site refuses connections: the most urgent case."""
    return desk.open_ticket(
        source=Source.PROBE,
        subject="cafe: connection refused",
        priority=Priority.HIGH,
        impact=Impact.HIGH,
        actor="probe",
        site="cafe",
        failure_class=FailureClass.REFUSED,
        opened_at=NOW - timedelta(hours=1),
    )


def toasts(app: RondaApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


# ---- the queue ------------------------------------------------------------------------


async def test_queue_is_sorted_by_urgency_with_counts(store: Store, desk: Desk) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: bool(app.snapshot and app.snapshot.rows))
        assert cases(app) == [t.case_number for t in desk.queue()]
        assert cases(app)[0] == "R-1001"  # breached first
        assert "R-1006" not in cases(app)  # resolved
        counts = app.snapshot.counts
        assert (counts.breached, counts.warning, counts.paused, counts.open) == (1, 1, 1, 6)
        summary = str(app.screen.query_one("#summary").render())
        assert "breached 1" in summary and "6 of 6" in summary


async def test_queue_is_limited_with_a_count_of_the_rest(store: Store) -> None:
    app = make_app(store, queue_limit=3)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert cases(app) == ["R-1001", "R-1004", "R-1007"]
        assert app.snapshot.total == 6
        assert "3 of 6" in str(app.screen.query_one("#summary").render())


async def test_countdown_moves_with_the_clock(store: Store) -> None:
    clock = Clock(NOW)
    app = RondaApp(store, "ana", clock=clock, poll_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one(QueueTable)
        row = cases(app).index("R-1004")  # high/medium, 20 minutes left: warning
        sla = table.get_row_at(row)[7]
        assert sla.plain == "20m 00s" and "yellow" in str(sla.style)
        assert "20m 00s" in table.render_line(row + 1).text  # + 1: the header
        clock.now = NOW + timedelta(minutes=25)
        app.screen.tick(clock.now)  # what the app's one-second timer does
        sla = table.get_row_at(row)[7]
        assert sla.plain == "-5m 00s" and "red" in str(sla.style)
        assert "-5m 00s" in table.render_line(row + 1).text


async def test_queue_keys_move_the_cursor_which_stays_on_its_ticket(
    store: Store, desk: Desk
) -> None:
    for n in range(60):  # more than a screenful
        desk.open_ticket(
            source=Source.MANUAL,
            subject=f"consulta {n}",
            priority=Priority.LOW,
            impact=Impact.LOW,
            actor="ana",
            opened_at=NOW - timedelta(minutes=n),
        )
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one(QueueTable)
        shown = cases(app)
        assert len(shown) == 66 and table.cursor_row == 0
        await pilot.press("down", "down")
        assert table.highlighted().case_number == shown[2]
        await pilot.press("end")
        assert table.highlighted().case_number == shown[-1]
        # The last row is on screen: the table scrolled under its fixed header.
        assert table.scroll_y > 0
        last_line = table.scrollable_content_region.height - 1
        assert shown[-1] in table.render_line(last_line).text
        assert "Case" in table.render_line(0).text
        await pilot.press("home")
        assert table.cursor_row == 0 and table.scroll_y == 0
        await pilot.press("pagedown", "pagedown", "pagedown", "pagedown")
        assert table.highlighted().case_number == shown[-1]  # bounded
        await pilot.press("pageup")
        assert 0 < table.cursor_row < len(shown) - 1

        # A more urgent case arrives above it: the cursor stays on R-1002.
        assert table.select_ticket(2)
        row_before = table.cursor_row
        new = open_outage(desk)
        await settle(pilot, lambda: new.case_number in cases(app))
        assert table.highlighted().case_number == "R-1002"
        assert table.cursor_row == row_before + 1
        y = table.cursor_row + 1 - int(table.scroll_y)
        assert "R-1002" in table.render_line(y).text
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen.detail)
        assert app.screen.detail.ticket.case_number == "R-1002"


async def test_views_mine_unassigned_breached_and_all_open(store: Store) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        assert cases(app) == ["R-1004"]
        await pilot.press("2")
        await settle(pilot)
        assert "R-1004" not in cases(app) and len(cases(app)) == 5
        await pilot.press("4")
        await settle(pilot)
        assert cases(app) == ["R-1001"]
        await pilot.press("3")
        await settle(pilot)
        assert len(cases(app)) == 6


async def test_filters_by_priority_status_and_customer(store: Store) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot, lambda: isinstance(app.screen, FilterPrompt))
        app.screen.query_one("#priority", Select).value = "high"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert cases(app) == ["R-1001", "R-1004"]
        await pilot.press("f")
        await settle(pilot, lambda: isinstance(app.screen, FilterPrompt))
        app.screen.query_one("#priority", Select).value = Select.NULL
        app.screen.query_one("#customer", Select).value = "Bodega"
        app.screen.query_one("#status", Select).value = "pending_customer"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert cases(app) == ["R-1005"]
        await pilot.press("escape")  # clears the filters
        await settle(pilot)
        assert len(cases(app)) == 6


async def test_incremental_search_with_slash(store: Store) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        assert app.focused is app.screen.query_one("#search", Input)
        await pilot.press("p", "a")
        await settle(pilot)
        # "pa": panel, pasarela de pago, home page
        assert set(cases(app)) == {"R-1001", "R-1002", "R-1004"}
        await pilot.press("n")
        await settle(pilot)
        assert cases(app) == ["R-1002"]
        await pilot.press("escape", "escape")  # leave the box, then clear the search
        await settle(pilot)
        assert len(cases(app)) == 6 and app.queue_filter.search is None


async def test_jump_to_a_case_number_read_on_the_phone(store: Store) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("colon")
        await answer(pilot, "1004")
        assert isinstance(app.screen, TicketScreen)
        assert app.screen.ticket.case_number == "R-1004"
        await pilot.press("colon")
        await answer(pilot, "R-9999")
        assert app.screen.ticket.case_number == "R-1004"  # stayed
        assert any("R-9999" in text for text in toasts(app))
        await pilot.press("colon")
        await answer(pilot, "sites")
        assert isinstance(app.screen, SitesScreen)


# ---- ticket actions, checked in the database ------------------------------------------


async def test_claim_from_the_queue(store: Store, desk: Desk) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one(QueueTable)
        assert table.select_ticket(2)
        await pilot.press("c")
        await settle(pilot)
        ticket = desk.get("R-1002")
        assert ticket.assignee == "ana" and ticket.version == 2
        assert desk.events(2)[-1].kind == "claimed"


async def test_assign(store: Store, desk: Desk) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_case(pilot, "R-1002")
        await pilot.press("a")
        await answer(pilot, "luis")
        assert desk.get(2).assignee == "luis"
        assert screen.ticket.assignee == "luis"  # the screen shows the fresh state


async def test_reply_records_the_first_response(store: Store, desk: Desk) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_case(pilot, "R-1001")
        await pilot.press("r")
        await write(pilot, "Estamos revisando la base de datos")
        ticket = desk.get(1)
        assert ticket.first_response_at == NOW
        assert ticket.status == Status.OPEN
        kinds = [e.kind for e in desk.events(1)]
        assert "replied" in kinds and "first_response" in kinds
        notes = str(app.screen.query_one("#notes").render())
        assert "Estamos revisando la base de datos" in notes


async def test_empty_reply_is_refused_in_the_form(store: Store, desk: Desk) -> None:
    before = desk.get(1)
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_case(pilot, "R-1001")
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, ComposeScreen))
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, ComposeScreen)  # still asking
        assert "cannot be empty" in str(app.screen.query_one("#error").render())
        await pilot.press("escape")
        await settle(pilot)
        assert desk.get(1) == before


async def test_internal_note(store: Store, desk: Desk) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_case(pilot, "R-1003")
        await pilot.press("n")
        await write(pilot, "renovar con certbot")
        note = desk.events(3)[-1]
        assert (note.kind, note.actor, note.body) == ("note", "ana", "renovar con certbot")
        assert desk.get(3).first_response_at is None  # a note is not an answer


async def test_pending_customer_pauses_and_back_resumes(store: Store, desk: Desk) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_case(pilot, "R-1002")
        await pilot.press("w")
        await settle(pilot, lambda: screen.ticket.status == Status.PENDING_CUSTOMER)
        ticket = desk.get(2)
        assert ticket.status == Status.PENDING_CUSTOMER and ticket.paused_at == NOW
        await pilot.press("w")
        await settle(pilot, lambda: screen.ticket.status == Status.OPEN)
        ticket = desk.get(2)
        assert ticket.status == Status.OPEN and ticket.paused_at is None


async def test_reprioritize_with_a_reason_recomputes_the_sla(store: Store, desk: Desk) -> None:
    before = desk.get(2)
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_case(pilot, "R-1002")
        await pilot.press("p")
        await settle(pilot, lambda: isinstance(app.screen, ReprioritizePrompt))
        app.screen.query_one("#priority", Select).value = "high"
        app.screen.query_one("#reason", Input).focus()
        await pilot.press("enter")  # no reason yet: refused in the form
        assert isinstance(app.screen, ReprioritizePrompt)
        app.screen.query_one("#reason", Input).value = "sitio caído"
        await pilot.press("enter")
        await settle(pilot)
        after = desk.get(2)
        assert after.priority == Priority.HIGH
        assert after.sla_limit_at < before.sla_limit_at
        change = next(e for e in desk.events(2) if e.kind == "priority")
        assert (change.old, change.new, change.body) == ("low", "high", "sitio caído")
        assert any(e.kind == "sla_recomputed" for e in desk.events(2))


async def test_resolve_and_reopen(store: Store, desk: Desk) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_case(pilot, "R-1003")
        await pilot.press("x")
        await answer(pilot, "certificado renovado")
        ticket = desk.get(3)
        assert ticket.status == Status.RESOLVED and ticket.resolved_at == NOW
        await settle(pilot, lambda: screen.ticket.status == Status.RESOLVED)
        await pilot.press("o")
        await answer(pilot, "volvió a fallar")
        ticket = desk.get(3)
        assert ticket.status == Status.REOPENED and ticket.resolved_at is None
        assert desk.events(3)[-1].body == "volvió a fallar"


async def test_billable_and_log_time(store: Store, desk: Desk) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_case(pilot, "R-1004")
        await pilot.press("b")
        await settle(pilot, lambda: screen.ticket.billable)
        assert desk.get(4).billable
        await pilot.press("t")
        await settle(pilot, lambda: app.screen.query("#duration"))
        await pilot.press(*"1h30m", "enter")  # enter moves on to the note
        app.screen.query_one("#time-note", Input).value = "migración"
        await pilot.press("enter")
        await settle(pilot)
        rows = store.query("SELECT agent, seconds, note, billable FROM time_entries")
        assert rows == [{"agent": "ana", "seconds": 5400.0, "note": "migración", "billable": 1}]
        assert desk.time_spent(4) == 5400.0


async def test_link_to_a_parent_incident(store: Store, desk: Desk) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_case(pilot, "R-1004")
        await pilot.press("l")
        await settle(pilot, lambda: isinstance(app.screen, TextPrompt))
        await pilot.press(*"no", "enter")
        assert isinstance(app.screen, TextPrompt)  # not a case number: refused
        assert "not a case number" in str(app.screen.query_one("#error").render())
        await answer(pilot, "R-1001")
        assert desk.get(4).parent_id == 1
        await settle(pilot, lambda: screen.detail.parent is not None)
        assert "R-1001" in str(screen.query_one("#meta").render())


# ---- intake ---------------------------------------------------------------------------


async def _new_ticket_form(pilot: Pilot, source: str) -> NewTicketScreen:
    await settle(pilot)
    await pilot.press("N")
    await settle(pilot, lambda: isinstance(pilot.app.screen, NewTicketScreen))
    form: NewTicketScreen = pilot.app.screen  # type: ignore[assignment]
    form.query_one("#source", Select).value = source
    await pilot.pause()
    return form


async def test_new_manual_ticket(store: Store, desk: Desk) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        form = await _new_ticket_form(pilot, "manual")
        form.query_one("#site", Select).value = "shop"
        await pilot.pause()
        # The site brings its customer and impact.
        assert form.query_one("#customer", Select).value == "ACME Shop"
        assert form.query_one("#impact", Select).value == "high"
        form.query_one("#subject", Input).value = "Migrar el sitio a PHP 8.3"
        form.query_one("#category", Input).value = "migration"
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: isinstance(app.screen, TicketScreen))
        ticket = desk.get("R-1008")
        assert (ticket.source, ticket.site, ticket.customer, ticket.impact) == (
            Source.MANUAL,
            "shop",
            "ACME Shop",
            Impact.HIGH,
        )
        assert ticket.category == "migration" and ticket.touched_by_agent
        assert desk.events(ticket.id)[0].actor == "ana"
        assert app.screen.ticket.case_number == "R-1008"


async def test_new_email_ticket_validates_and_matches_the_customer(
    store: Store, desk: Desk
) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        form = await _new_ticket_form(pilot, "email")
        form.query_one("#requester", Input).value = "ana@"
        await pilot.press("ctrl+s")
        await pilot.pause()
        errors = str(form.query_one("#error").render())
        assert "subject" in errors and "e-mail" in errors
        assert store.query("SELECT COUNT(*) AS n FROM tickets")[0]["n"] == 7
        form.query_one("#requester", Input).value = "compras@acme.test"
        await pilot.pause()
        assert form.query_one("#customer", Select).value == "ACME Shop"  # by domain
        form.query_one("#subject", Input).value = "No llegan los correos de pedidos"
        form.query_one("#priority", Select).value = "medium"
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: isinstance(app.screen, TicketScreen))
        ticket = desk.get("R-1008")
        assert (ticket.source, ticket.requester, ticket.customer, ticket.priority) == (
            Source.EMAIL,
            "compras@acme.test",
            "ACME Shop",
            Priority.MEDIUM,
        )


async def test_phone_call_only_jumps_to_an_existing_case(store: Store) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        form = await _new_ticket_form(pilot, "phone")
        await pilot.press("ctrl+s")  # no case number
        await pilot.pause()
        assert "existing case" in str(form.query_one("#error").render())
        form.query_one("#case", Input).value = "r-1002"
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: isinstance(app.screen, TicketScreen))
        assert app.screen.ticket.case_number == "R-1002"
        assert store.query("SELECT COUNT(*) AS n FROM tickets")[0]["n"] == 7  # none opened


# ---- live and safe --------------------------------------------------------------------


async def test_two_agents_on_one_ticket(store: Store, desk: Desk) -> None:
    """Ana claims first; Luis, still looking at the old version, is refused and sees the
    fresh state; nothing is overwritten."""
    # Luis's poller sleeps: his screen keeps showing version 1 until he acts.
    ana, luis = make_app(store, "ana"), make_app(store, "luis", poll_interval=60)
    async with ana.run_test(size=SIZE) as pa, luis.run_test(size=SIZE) as pl:
        ana_screen = await open_case(pa, "R-1002")
        luis_screen = await open_case(pl, "R-1002")
        assert luis_screen.ticket.version == 1
        await pa.press("c")
        await settle(pa, lambda: ana_screen.ticket.assignee == "ana")
        await pl.press("c")
        await settle(pl, lambda: luis_screen.ticket.version == 2)
        ticket = desk.get(2)
        assert ticket.assignee == "ana" and ticket.version == 2
        assert luis_screen.ticket.assignee == "ana"
        assert "ana" in str(luis_screen.query_one("#meta").render())
        assert any("nothing was overwritten" in text for text in toasts(luis))
        # Now Luis sees the fresh version; his claim is refused as already claimed.
        await pl.press("c")
        await settle(pl)
        assert desk.get(2).assignee == "ana"
        assert any("already claimed by ana" in text for text in toasts(luis))
        assert ana.is_running and luis.is_running


async def test_changes_by_probes_and_other_agents_appear_live(store: Store, desk: Desk) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        new = open_outage(desk)
        await settle(pilot, lambda: new.case_number in cases(app))
        assert cases(app)[0] == new.case_number  # most overdue on top
        screen = await open_case(pilot, "R-1002")
        desk.note(2, "luis", "llamé a Ana, no contesta")
        await settle(pilot, lambda: "no contesta" in str(screen.query_one("#timeline").render()))


async def test_failing_poll_shows_a_toast_backs_off_and_recovers(store: Store) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        raw = sqlite3.connect(store.path)
        raw.execute("ALTER TABLE probe_state RENAME TO probe_state_gone")
        raw.commit()
        await settle(pilot, lambda: app.poll_failures >= 1)
        assert any("Cannot read the database" in text for text in toasts(app))
        assert app.is_running
        raw.execute("ALTER TABLE probe_state_gone RENAME TO probe_state")
        raw.commit()
        raw.close()
        await pilot.press("ctrl+r")  # wakes the poller out of its back-off
        await settle(pilot, lambda: any("answers again" in text for text in toasts(app)))


async def test_markup_in_subjects_and_pages_is_shown_literally(store: Store) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one(QueueTable)
        assert table.select_ticket(7)
        row = table.get_row_at(table.cursor_row)
        assert MARKUP_SUBJECT in row[4].plain
        # Click on the subject cell: a live [@click=app.quit] would end the app.
        region = table.region
        await pilot.click(QueueTable, offset=(50, table.cursor_row + 1 - int(table.scroll_y)))
        assert app.is_running
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen.detail)
        title = app.screen.query_one("#title")
        assert MARKUP_SUBJECT in str(title.render())
        await pilot.click("#title", offset=(12, 0))
        await pilot.click("#timeline-pane", offset=(30, 1))
        assert app.is_running and isinstance(app.screen, TicketScreen)
        assert region.width > 0
        # Evidence from a probed page: literal too.
        await pilot.press("escape")
        screen = await open_case(pilot, "R-1001")
        evidence = str(screen.query_one("#evidence").render())
        assert "[b]Error[/b] establishing" in evidence
        svg = app.export_screenshot()
        assert "&#91;b&#93;Error" in svg or "[b]Error" in svg


# ---- sites, help, palette, language ---------------------------------------------------


async def test_sites_screen_and_probe_now(store: Store) -> None:
    probed: list[str] = []
    app = make_app(store, probe_now=lambda site: probed.append(site) or "HTTP 200")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot, lambda: isinstance(app.screen, SitesScreen) and app.screen.sites)
        screen: SitesScreen = app.screen  # type: ignore[assignment]
        assert [s.name for s in screen.sites] == ["shop", "blog", "cafe"]  # down first
        await pilot.press("p")
        await settle(pilot, lambda: probed == ["shop"])
        await settle(pilot)
        assert any("Probed shop" in text for text in toasts(app))
        await pilot.press("escape")
        assert isinstance(app.screen, QueueScreen)


async def test_probe_now_without_a_prober_says_so(store: Store) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot, lambda: isinstance(app.screen, SitesScreen) and app.screen.sites)
        await pilot.press("p")
        assert any("ronda tui --config" in text for text in toasts(app))


async def test_help_and_command_palette(store: Store, desk: Desk) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark")
        assert isinstance(app.screen, QueueScreen)
        app.screen.query_one(QueueTable).select_ticket(3)
        await pilot.press("ctrl+p")
        await pilot.press(*"cla")
        for _ in range(200):  # the palette searches asynchronously
            await pilot.pause(0.01)
            if app.screen.query("CommandList Option") or app.screen.query("Option"):
                break
        await pilot.press("enter")
        await settle(pilot, lambda: desk.get(3).assignee == "ana")


async def test_spanish_interface(store: Store) -> None:
    app = make_app(store, lang="es")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        summary = str(app.screen.query_one("#summary").render())
        assert "vencido 1" in summary and "todos abiertos" in summary
        descriptions = {b.binding.description for b in app.screen.active_bindings.values()}
        assert {"Tomar", "Buscar", "Salir"} <= descriptions
        await pilot.press("c")
        await settle(pilot)
        assert any("es suyo" in text for text in toasts(app))


async def test_q_quits(store: Store) -> None:
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


def test_run_tui_wires_store_agent_language_and_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `ronda tui` calls: the agent defaults to the login name, the language and the
    SLA policy come from the config unless given."""
    from ronda.tui import app as app_module

    seen: list[RondaApp] = []
    monkeypatch.setattr(app_module.RondaApp, "run", lambda self: seen.append(self))
    monkeypatch.setattr(app_module.getpass, "getuser", lambda: "marta")
    cell = SlaCellConfig(target=timedelta(hours=1), limit=timedelta(hours=2), calendar="24x7")
    config = Config(lang="es", sla={(Priority.HIGH, Impact.HIGH): cell})
    app_module.run_tui(tmp_path / "ronda.db", None, None, config=config)
    app_module.run_tui(tmp_path / "ronda.db", "luis", "en")
    assert [(a.agent, a.lang, a.probe_now) for a in seen] == [
        ("marta", "es", None),
        ("luis", "en", None),
    ]
    assert seen[0].desk.policy.cell(Priority.HIGH, Impact.HIGH).limit == timedelta(hours=2)
    assert seen[1].desk.policy.cell(Priority.HIGH, Impact.HIGH).limit == timedelta(minutes=15)
    assert (tmp_path / "ronda.db").exists()
    assert all(a.collector is not None for a in seen)  # a real session: idle collections


def test_a_real_session_collects_when_idle_and_gives_the_collector_back(store: Store) -> None:
    thresholds = gc.get_threshold()
    app = RondaApp(store, "ana", clock=lambda: NOW, idle_gc=True)
    during: list[tuple[int, int, int]] = []
    activity: list[float] = []

    async def agent(pilot: Pilot) -> None:
        await settle(pilot, lambda: app.collector.installed)
        during.append(gc.get_threshold())
        activity.append(app.collector.last_activity)
        await pilot.press("down")  # any key defers the next full collection
        activity.append(app.collector.last_activity)
        app.exit()

    app.run(headless=True, size=SIZE, auto_pilot=agent)
    assert during == [(thresholds[0], thresholds[1], NO_AUTOMATIC_FULL)]
    assert len(activity) == 2 and activity[1] > activity[0]
    assert gc.get_threshold() == thresholds and gc.get_freeze_count() == 0


# ---- pictures -------------------------------------------------------------------------


def _snapshot_app(tmp_path: Path, lang: str = "en") -> RondaApp:
    # Poll slowly: the picture must not depend on when the poller wakes.
    return RondaApp(build_store(tmp_path / "ronda.db"), "ana", lang, clock=lambda: NOW)


async def _ready(pilot: Pilot, until: Callable[[], bool] = lambda: True) -> None:
    await settle(pilot, until)
    # Let the footer and the layout catch up with the data.
    await pilot.pause(0.1)
    await pilot.pause()


def test_snapshot_queue(snap_compare, tmp_path: Path) -> None:
    app = _snapshot_app(tmp_path)

    async def run_before(pilot: Pilot) -> None:
        await _ready(pilot, lambda: bool(app.snapshot))

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_ticket(snap_compare, tmp_path: Path) -> None:
    app = _snapshot_app(tmp_path)

    async def run_before(pilot: Pilot) -> None:
        await open_case(pilot, "R-1001")
        await _ready(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_sites(snap_compare, tmp_path: Path) -> None:
    app = _snapshot_app(tmp_path)

    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("s")
        await _ready(pilot, lambda: isinstance(app.screen, SitesScreen) and app.screen.sites)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_help(snap_compare, tmp_path: Path) -> None:
    app = _snapshot_app(tmp_path)

    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await _ready(pilot, lambda: isinstance(app.screen, HelpScreen))

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_queue_in_spanish(snap_compare, tmp_path: Path) -> None:
    app = _snapshot_app(tmp_path, "es")

    async def run_before(pilot: Pilot) -> None:
        await _ready(pilot, lambda: bool(app.snapshot))

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


class RelaySink:
    """A real SMTP server on loopback standing in for the agency's relay."""

    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001
        self.received.append(envelope.original_content)
        return "250 OK"


async def test_reply_to_an_email_case_goes_out_by_mail_and_is_recorded(
    store: Store, desk: Desk
) -> None:
    from email import message_from_bytes

    from ronda.config import MailSettings
    from ronda.intake.replies import send_reply
    from ronda.intake.server import SmtpThread

    sink = RelaySink()
    with SmtpThread(sink, "127.0.0.1") as relay:
        settings = MailSettings(
            desk_address="soporte@desk.example", relay=f"127.0.0.1:{relay.port}"
        )

        def mail_reply(d: Desk, ticket, agent: str, text: str):
            return send_reply(d, ticket.id, agent, text, settings=settings, version=ticket.version)

        app = make_app(store, mail_reply=mail_reply)
        async with app.run_test(size=SIZE) as pilot:
            await open_case(pilot, "R-1002")
            await pilot.press("r")
            await write(pilot, "Le enviamos un enlace para restablecer la clave")
            await settle(pilot, lambda: desk.get(2).first_response_at is not None)
        # Queued with the reply; the outbox's sender hands it to the relay.
        from ronda.config import Config
        from ronda.reach.sender import Sender

        assert Sender(store, lambda: Config(mail=settings), clock=lambda: NOW).drain() == 1
    assert len(sink.received) == 1
    sent = message_from_bytes(sink.received[0])
    assert sent["To"].endswith("ana.perez@gmail.com")
    assert "[R-1002]" in sent["Subject"]
    assert "restablecer la clave" in sent.get_payload(decode=True).decode()
    assert desk.get(2).first_response_at == NOW
