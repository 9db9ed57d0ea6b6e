"""The ticket screen's history in words, in the UI language, from events a real desk wrote."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from clocks import Clock

from ronda.model import Impact, Priority, Source, Status
from ronda.store import Store
from ronda.tickets import Desk
from ronda.tui.i18n import Catalogue
from ronda.tui.widgets.timeline import event_line, timeline_text
from ronda.when import use_zone

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # Wednesday 10:00 in Bogota


@pytest.fixture
def history(tmp_path: Path) -> Desk:
    use_zone("America/Bogota")
    store = Store(tmp_path / "ronda.db")
    clock = Clock(NOW)
    desk = Desk(store, clock=clock)
    tk = desk.open_ticket(
        source=Source.EMAIL,
        subject="No carga la tienda",
        priority=Priority.LOW,
        impact=Impact.MEDIUM,
        actor="mail",
        customer="Ana",
    )
    clock.advance(minutes=5)
    tk = desk.set_status(tk.id, Status.OPEN, "laura", tk.version)
    tk = desk.claim(tk.id, "laura", tk.version)
    tk = desk.assign(tk.id, "mateo", "laura", tk.version)
    tk = desk.assign(tk.id, None, "mateo", tk.version)
    tk = desk.set_billable(tk.id, True, "laura", tk.version)
    tk = desk.set_billable(tk.id, False, "laura", tk.version)
    tk = desk.log_time(tk.id, "laura", 4500.0, "migración")
    tk = desk.reprioritize(
        tk.id, "laura", tk.version, priority=Priority.HIGH, reason="la tienda no vende"
    )
    tk = desk.respond(tk.id, "laura", "Estamos en ello", tk.version)
    yield desk
    store.close()


def lines(desk: Desk, lang: str) -> list[str]:
    return timeline_text(desk.events(1), Catalogue(lang)).plain.splitlines()


def test_history_in_english_words(history: Desk) -> None:
    text = "\n".join(lines(history, "en"))
    assert "status: new → open" in text
    assert "laura claimed" in text
    assert "assigned to mateo" in text
    assert "unassigned (was mateo)" in text
    billable = [line for line in lines(history, "en") if "billable" in line]
    assert [line.split("laura ")[1] for line in billable] == [
        "marked billable",
        "marked not billable",
    ]
    assert "time logged: 1 h 15 min: migración" in text
    assert "priority: low → high: la tienda no vende" in text
    # The recomputed limit, both instants in the desk's zone with the offset.
    assert "SLA limit: 2026-" in text and " -05 → 2026-" in text
    assert "first response: met" in text
    # No stored value shows as code.
    for raw in ("4500.0", "False", "True", "T15:", "+00:00", "sla_outcome"):
        assert raw not in text


def test_history_in_spanish_words(history: Desk) -> None:
    text = "\n".join(lines(history, "es"))
    assert "estado: nuevo → abierto" in text
    assert "asignado a mateo" in text
    assert "marcado facturable" in text and "marcado no facturable" in text
    assert "tiempo registrado: 1 h 15 min" in text
    assert "prioridad: baja → alta" in text
    assert "límite ANS: " in text
    assert "primera respuesta: cumplido" in text
    assert "new" not in text.replace("nuevo", "")


def test_every_line_starts_with_the_local_time_and_who(history: Desk) -> None:
    first = lines(history, "en")[0]
    assert first.startswith("2026-11-25 10:00 -05 mail opened")


def test_an_unknown_change_still_reads_old_and_new(history: Desk) -> None:
    history.store  # noqa: B018 - the same desk, one more event of a kind not listed
    from ronda.model import TicketEvent

    event = TicketEvent(
        id=0, ticket_id=1, at=NOW, actor="x", kind="colour", field="colour", old="red", new=None
    )
    assert event_line(event, Catalogue("en")).plain.endswith("x colour: red → -")
