"""The queue's columns share the terminal's width, and everything an agent reads is in the
UI language (Textual's own palette commands and the ctrl+c hint too).

`fit_columns` is pure and tested directly; the pilot tests and snapshots picture the queue
at 80x24 and 160x45 in English and Spanish. Regenerate the pictures with
`--snapshot-update` after a deliberate change, and look at them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_tui import (
    NOW,
    build_store,
    settle,
    toasts,
    utc,  # noqa: F401 (the autouse fixture pinning TZ)
)
from textual.command import CommandPalette
from textual.pilot import Pilot

from ronda.checks.incident_model import subject_for
from ronda.model import FailureClass, Impact, Priority, Source
from ronda.tickets import Desk
from ronda.tui.app import RondaApp
from ronda.tui.i18n import Catalogue
from ronda.tui.widgets.queue_table import COLUMNS, QueueTable, fit_columns, natural_widths

NARROW, WIDE = (80, 24), (160, 45)
ALWAYS = ["case", "priority", "what", "sla"]


def _keys(layout: tuple[tuple[int, int], ...]) -> list[str]:
    return [COLUMNS[i].key for i, _ in layout]


def test_columns_give_way_by_rank_and_flex_ones_shrink_first() -> None:
    natural = (6, 8, 7, 30, 70, 9, 8, 9, 7)  # a long subject, a long customer
    wide = fit_columns(200, natural)
    assert [w for _, w in wide] == list(natural)  # room for all: nothing cut
    assert _keys(fit_columns(80, natural)) == ["case", "priority", "who", "what", "sla", "age"]
    shown = 0
    for width in range(40, 200):
        layout = fit_columns(width, natural)
        assert set(ALWAYS) <= set(_keys(layout)), width
        assert sum(w + 2 for _, w in layout) <= width, width
        for i, w in layout:  # a fixed column is never cut: it goes whole or not at all
            if not COLUMNS[i].flex:
                assert w == natural[i]
        assert len(layout) >= shown, width  # a wider terminal never shows fewer columns
        shown = len(layout)
    # The subject takes the room first, then the customer; the minor columns (status,
    # assignee, impact) wait until both have an ample width.
    at_90 = dict(fit_columns(90, natural))
    assert at_90[4] > COLUMNS[4].least and at_90[3] == COLUMNS[3].least
    at_120 = fit_columns(120, natural)
    assert _keys(at_120) == ["case", "priority", "who", "what", "sla", "age"]
    assert dict(at_120)[3] == COLUMNS[3].ample and dict(at_120)[4] >= COLUMNS[4].ample
    assert _keys(fit_columns(160, natural)) == [c.key for c in COLUMNS]


def test_widths_do_not_change_with_the_words_of_a_closed_set(tmp_path: Path) -> None:
    """Priorities, statuses and SLA words count all their values: those columns keep their
    width whatever the list holds; the others follow the widest text shown."""
    desk = Desk(build_store(tmp_path / "ronda.db"), clock=lambda: NOW)
    tickets = desk.queue()
    closed_sets = [
        i for i, c in enumerate(COLUMNS) if c.key in {"priority", "impact", "status", "sla", "age"}
    ]
    for lang in ("en", "es"):
        t = Catalogue(lang)
        empty, full = natural_widths((), t), natural_widths(tickets, t)
        assert [empty[i] for i in closed_sets] == [full[i] for i in closed_sets]
        assert full[4] == max(
            len(t("class." + str(x.failure_class), str(x.failure_class))) + 1 + len(x.subject)
            if x.failure_class
            else len(x.subject)
            for x in tickets
        )


def _app(tmp_path: Path, lang: str = "en") -> RondaApp:
    store = build_store(tmp_path / "ronda.db")
    desk = Desk(store, clock=lambda: NOW)
    desk.open_ticket(  # what a probe writes: its subject is translated on screen
        source=Source.PROBE,
        subject=subject_for("cafe", FailureClass.REFUSED, "https://cafe.bodega.test/"),
        priority=Priority.MEDIUM,
        impact=Impact.LOW,
        actor="probe",
        site="cafe",
        customer="Bodega",
        failure_class=FailureClass.REFUSED,
    )
    return RondaApp(store, "ana", lang, clock=lambda: NOW, poll_interval=0.05)


@pytest.mark.parametrize("lang", ["en", "es"])
async def test_at_160_columns_every_column_shows_whole(tmp_path: Path, lang: str) -> None:
    app = _app(tmp_path, lang)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot, lambda: bool(app.snapshot and app.snapshot.rows))
        await pilot.pause()
        table = app.screen.query_one(QueueTable)
        assert table.shown_columns() == [c.key for c in COLUMNS]
        text = "\n".join(table.render_line(y).text for y in range(table.row_count + 1))
        assert "…" not in text  # nothing cut
        for ticket in table.tickets:
            assert ticket.customer is None or ticket.customer in text
        widest = max(table.render_line(y).cell_length for y in range(table.row_count + 1))
        assert widest <= WIDE[0]


@pytest.mark.parametrize("lang", ["en", "es"])
async def test_at_80_columns_case_priority_sla_and_subject_show(tmp_path: Path, lang: str) -> None:
    app = _app(tmp_path, lang)
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot, lambda: bool(app.snapshot and app.snapshot.rows))
        await pilot.pause()
        table = app.screen.query_one(QueueTable)
        assert set(ALWAYS) <= set(table.shown_columns())
        header = table.render_line(0).text
        t = Catalogue(lang)
        for key in ("col.case", "col.pri", "col.sla"):
            assert t(key) in header
        row = table.render_line(1).text
        assert table.tickets[0].case_number in row and "-5m 00s" in row  # the breached clock
        assert all(table.render_line(y).cell_length <= NARROW[0] for y in range(10))


async def test_spanish_reaches_class_names_probe_subjects_and_textual(tmp_path: Path) -> None:
    app = _app(tmp_path, "es")
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot, lambda: bool(app.snapshot and app.snapshot.rows))
        table = app.screen.query_one(QueueTable)
        rows = [table.render_line(y).text for y in range(1, table.row_count + 1)]
        assert any("error HTTP 500" in row for row in rows)  # not http_500
        assert any("conexión rechazada cafe: conexión rechazada en https://" in r for r in rows)
        assert not any("refused" in row or " on https" in row for row in rows)
        # Textual's own commands in the palette.
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Tema", "Salir", "Teclas", "Captura"} <= set(titles)
        await pilot.press("ctrl+p")
        await settle(pilot, lambda: CommandPalette.is_open(app))
        assert app.screen.query_one("CommandInput").placeholder == "Buscar comandos…"
        await pilot.press("escape")
        await settle(pilot, lambda: not CommandPalette.is_open(app))
        # ctrl+c does not quit: the hint says which key does, in Spanish.
        await pilot.press("ctrl+c")
        await settle(pilot, lambda: any("para salir" in text for text in toasts(app)))
        assert app.is_running


async def test_english_keeps_the_codes_and_the_subjects_as_written(tmp_path: Path) -> None:
    app = _app(tmp_path, "en")
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot, lambda: bool(app.snapshot and app.snapshot.rows))
        table = app.screen.query_one(QueueTable)
        rows = [table.render_line(y).text for y in range(1, table.row_count + 1)]
        assert any("refused cafe: connection refused on https://" in row for row in rows)
        await pilot.press("ctrl+c")
        await settle(pilot, lambda: any("Press q to quit" in text for text in toasts(app)))


# ---- pictures -----------------------------------------------------------------------


def _picture(snap_compare, tmp_path: Path, lang: str, size: tuple[int, int]) -> bool:
    app = _app(tmp_path, lang)

    async def run_before(pilot: Pilot) -> None:
        await settle(pilot, lambda: bool(app.snapshot and app.snapshot.rows))
        await pilot.pause(0.1)
        await pilot.pause()

    return snap_compare(app, terminal_size=size, run_before=run_before)


def test_snapshot_queue_80x24(snap_compare, tmp_path: Path) -> None:
    assert _picture(snap_compare, tmp_path, "en", NARROW)


def test_snapshot_queue_80x24_in_spanish(snap_compare, tmp_path: Path) -> None:
    assert _picture(snap_compare, tmp_path, "es", NARROW)


def test_snapshot_queue_160x45(snap_compare, tmp_path: Path) -> None:
    assert _picture(snap_compare, tmp_path, "en", WIDE)


def test_snapshot_queue_160x45_in_spanish(snap_compare, tmp_path: Path) -> None:
    assert _picture(snap_compare, tmp_path, "es", WIDE)
