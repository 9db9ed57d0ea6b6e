"""Search word by word (`ronda.store.search`, the `ticket_search` index of migration 13).

Tickets and messages are written through the desk and the mail intake's own calls, as they
are in use; searches go through the queue the TUI reads. The index is kept by triggers, so
hand-made writes (an UPDATE of a ticket, retention's pruning) are checked too.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from clocks import Clock

from ronda.app.retention import apply_retention
from ronda.config import RetentionSettings
from ronda.model import Impact, Priority, QueueFilter, Source, Status
from ronda.store import MIGRATIONS, Store
from ronda.store.search import match_expression, search_words
from ronda.tickets import Desk

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


@pytest.fixture
def desk(store: Store) -> Desk:
    return Desk(store, clock=Clock(NOW))


def _case(desk: Desk, subject: str, **kwargs: object):
    values: dict = dict(
        source=Source.EMAIL,
        subject=subject,
        priority=Priority.MEDIUM,
        impact=Impact.MEDIUM,
        actor="mail",
    )
    values.update(kwargs)
    return desk.open_ticket(**values)


def found(desk: Desk, text: str, view: str = "all") -> list[str]:
    return [t.case_number for t in desk.queue(QueueFilter(view=view, search=text, limit=50))]


def test_words_in_any_order_case_and_accents_folded(desk: Desk) -> None:
    _case(desk, "No carga el carrito", customer="Ferretería López", site="ferrelopez")
    _case(desk, "Ferretería cerrada", customer="Bodega Núñez")
    assert found(desk, "ferreteria lopez") == ["R-1001"]
    assert found(desk, "LÓPEZ  ferre") == ["R-1001"]  # any order, a word as it is typed
    assert found(desk, "ferreteria") == ["R-1001", "R-1002"]
    assert found(desk, "nunez cerrada") == ["R-1002"]
    assert found(desk, "carrito bodega") == []  # every word must be in the same ticket
    assert found(desk, "lopez carrito") == ["R-1001"]  # customer and subject together


def test_every_field_and_the_messages_are_searched(desk: Desk) -> None:
    ticket = _case(
        desk,
        "Consulta",
        requester="ana.perez@gmail.com",
        customer="Ana Pérez",
        site="blog-ana",
        body="El formulario de contacto devuelve un error 502 desde ayer",
    )
    other = _case(desk, "Otra consulta", customer="ACME")
    desk.respond(ticket.id, "luis", "Revisamos el plugin de caché")
    desk.note(other.id, "luis", "llamar al proveedor del servidor")
    desk.record(ticket.id, "mail", "email_received", "Sigue fallando el formulario en móvil")
    assert found(desk, "ana.perez@gmail") == ["R-1001"]  # requester
    assert found(desk, "blog") == ["R-1001"]  # site
    assert found(desk, "formulario contacto") == ["R-1001"]  # the opening message
    assert found(desk, "cache plugin") == ["R-1001"]  # a reply
    assert found(desk, "movil") == ["R-1001"]  # a follow-up
    desk.phone_call(other.id, "luis", "Pregunta por la factura de diciembre")
    assert found(desk, "factura diciembre") == ["R-1002"]  # what was said on the phone
    assert found(desk, "proveedor") == ["R-1002"]  # an internal note
    assert found(desk, "502 consulta") == ["R-1001"]  # the subject and a message together
    desk.record(other.id, "probe", "recurrence", "zafiro")
    assert found(desk, "zafiro") == []  # probe notes are not messages


def test_case_numbers_as_they_are_read_out(desk: Desk) -> None:
    for n in range(17):
        _case(desk, f"caso {n}")
    for text in ("R-1016", "r 1016", "r1016", "1016", "R-1016 caso"):
        assert found(desk, text) == ["R-1016"], text
    assert found(desk, "R-101") == [f"R-{n}" for n in range(1010, 1018)]  # as typed
    # No word is in every ticket: the R of the case numbers is not indexed.
    assert found(desk, "r") == []


def test_what_the_agent_types_is_never_search_syntax(desk: Desk) -> None:
    _case(desk, 'Pedido "urgente" NEAR(fin) subject:hoy 50% off_sale')
    for text in ('"', "NEAR(", "urgente AND", "subject:hoy", "*", "-", "OR OR", "^x", "50%"):
        found(desk, text)  # no sqlite3.OperationalError
    assert found(desk, "subject:hoy") == ["R-1001"]
    assert found(desk, '"urgente"') == ["R-1001"]
    assert found(desk, "50% off") == ["R-1001"]
    assert found(desk, "¿?!") == []  # no word at all: nothing, not everything
    assert match_expression("¿?!") is None
    assert match_expression('a "bc" NEAR') == '"a" "bc"* "NEAR"*'


def test_a_one_letter_word_is_a_word_not_a_prefix(desk: Desk) -> None:
    _case(desk, "Vitamina C para la web")
    _case(desk, "Cambio de correo")
    assert found(desk, "c") == ["R-1001"]
    assert found(desk, "ca") == ["R-1002"]
    assert search_words("R-1016: vitamina C") == ["1016", "vitamina", "C"]


def test_views_and_filters_combine_with_search(desk: Desk) -> None:
    first = _case(desk, "checkout roto", customer="ACME")
    _case(desk, "checkout lento", customer="Bodega")
    desk.resolve(first.id, "ana")
    assert found(desk, "checkout", "open") == ["R-1002"]
    assert found(desk, "checkout", "resolved") == ["R-1001"]
    assert found(desk, "checkout", "all") == ["R-1002", "R-1001"]
    flt = QueueFilter(view="all", search="checkout", customer="ACME")
    assert [t.case_number for t in desk.queue(flt)] == ["R-1001"]
    assert desk.store.queue.count(QueueFilter(view="open", search="checkout"), NOW) == 1
    assert desk.store.queue.count(QueueFilter(view="all", search="checkout"), NOW) == 2


def test_the_index_follows_hand_made_writes_and_deletes(desk: Desk) -> None:
    with desk.store.write() as db:  # a ticket written by hand: no desk, no events
        db.execute(
            "INSERT INTO tickets (id, case_number, source, subject, customer, priority, "
            "impact, status, opened_at, updated_at) VALUES (1, 'R-1001', 'manual', 'Antes', "
            "'Vieja SAS', 'low', 'low', 'new', 0, 0)"
        )
    assert found(desk, "antes vieja") == ["R-1001"]
    with desk.store.write() as db:
        db.execute("UPDATE tickets SET subject = 'Después', customer = 'Nueva SAS' WHERE id = 1")
    assert found(desk, "antes") == [] and found(desk, "vieja") == []
    assert found(desk, "despues nueva") == ["R-1001"]
    with desk.store.write() as db:
        db.execute("DELETE FROM tickets WHERE id = 1")
    assert desk.store.db.execute("SELECT COUNT(*) FROM ticket_search").fetchone() == (0,)


def test_a_body_pruned_by_retention_is_no_longer_found(desk: Desk) -> None:
    clock: Clock = desk.clock  # type: ignore[assignment]
    clock.now = NOW - timedelta(days=500)
    ticket = _case(desk, "Clave del correo", body="mi clave secreta es pingüino")
    desk.record(ticket.id, "mail", "email_received", "y la otra es zanahoria")
    desk.resolve(ticket.id, "ana")
    assert found(desk, "pinguino") == [ticket.case_number]
    report = apply_retention(desk.store, RetentionSettings(mail_body_days=365), NOW)
    assert report.mail_bodies == 2
    assert found(desk, "pinguino") == [] and found(desk, "zanahoria") == []
    assert found(desk, "clave correo") == [ticket.case_number]  # the subject stays
    assert found(desk, "retention") == []  # the marker is not searched either


def test_an_earlier_desk_gets_its_tickets_and_messages_indexed(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = Store(path, migrations=MIGRATIONS[:-1])
    desk = Desk(old, clock=lambda: NOW)
    ticket = _case(desk, "Sitio lento", customer="Ferretería López", body="tarda muchísimo")
    desk.respond(ticket.id, "ana", "Activamos la caché")
    desk.set_status(ticket.id, Status.PENDING_CUSTOMER, "ana")
    old.close()
    store = Store(path)  # migrates
    desk = Desk(store, clock=lambda: NOW)
    assert found(desk, "muchisimo lopez") == ["R-1001"]
    assert found(desk, "cache") == ["R-1001"]
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
    store.close()
