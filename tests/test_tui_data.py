"""The TUI's pure parts and read queries: queue counts, SLA view, formats, forms, catalogue."""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ronda.model import Impact, Priority, SlaState, Source, Status
from ronda.store import Store
from ronda.tickets import Desk, QueueFilter
from ronda.tui.actions import ACTIONS, FOOTER, SCREEN_SCOPES, bindings
from ronda.tui.data import (
    count_queue,
    format_duration,
    load_directory,
    load_queue,
    read_stamp,
    sla_counts,
    sla_view,
)
from ronda.tui.i18n import EN, ES, Catalogue
from ronda.tui.screens.new_ticket import validate_intake
from ronda.tui.screens.prompts import parse_duration

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # Wednesday 10:00 in Bogota


@pytest.fixture
def desk(store: Store) -> Desk:
    return Desk(store, clock=lambda: NOW)


def _open(desk: Desk, minutes_ago: float, **kwargs) -> object:
    values: dict = dict(
        source=Source.EMAIL,
        subject="No puedo entrar al panel",
        priority=Priority.LOW,
        impact=Impact.MEDIUM,
        actor="mail",
        customer="Ana Pérez",
        opened_at=NOW - timedelta(minutes=minutes_ago),
    )
    values.update(kwargs)
    return desk.open_ticket(**values)


def test_count_queue_agrees_with_desk_queue_for_every_view_and_filter(desk: Desk) -> None:
    for n in range(12):
        ticket = _open(
            desk,
            minutes_ago=5 * n,
            priority=[Priority.HIGH, Priority.MEDIUM, Priority.LOW][n % 3],
            impact=Impact.HIGH,
            customer=["ACME", "Ana Pérez", "Bodega_100%"][n % 3],
            subject=f"case {n} 50% off_sale",
        )
        if n % 4 == 0:
            desk.claim(ticket.id, "ana", ticket.version)
        if n % 5 == 0:
            desk.resolve(ticket.id, "ana")
    filters = [
        QueueFilter(view=view, agent="ana")
        for view in ("open", "mine", "unassigned", "breached", "all")
    ]
    filters += [
        QueueFilter(priority=Priority.HIGH),
        QueueFilter(status=Status.NEW),
        QueueFilter(customer="Bodega_100%"),
        QueueFilter(search="50%"),
        QueueFilter(search="_100"),
        QueueFilter(search="R-100"),
    ]
    for flt in filters:
        expected = len(desk.queue(replace(flt, limit=10_000)))
        assert count_queue(desk.store, flt, NOW) == expected, flt
    # The limit cuts the rows; the total still counts them all.
    snap = load_queue(desk, QueueFilter(view="all", limit=3), NOW)
    assert len(snap.rows) == 3 and snap.total == 12


def test_sla_counts_and_view_agree_with_the_policy(desk: Desk) -> None:
    # high/high: target 5 min, limit 15 min (24x7).
    fresh = _open(desk, 2, priority=Priority.HIGH, impact=Impact.HIGH)
    warned = _open(desk, 10, priority=Priority.HIGH, impact=Impact.HIGH)
    breached = _open(desk, 20, priority=Priority.HIGH, impact=Impact.HIGH)
    paused = _open(desk, 1, priority=Priority.HIGH, impact=Impact.HIGH)
    paused = desk.set_status(paused.id, Status.PENDING_CUSTOMER, "ana", paused.version)
    answered = _open(desk, 1, priority=Priority.HIGH, impact=Impact.HIGH)
    answered = desk.respond(answered.id, "ana", "on it", answered.version)
    for ticket in (fresh, warned, breached, paused, answered):
        ticket = desk.get(ticket.id)
        state, _ = sla_view(ticket, NOW)
        assert state == desk.sla_state(ticket, NOW), ticket.case_number
    assert sla_view(desk.get(breached.id), NOW) == (SlaState.BREACHED, -5 * 60)
    # Paused: the countdown is frozen at what was left when the pause began.
    assert sla_view(desk.get(paused.id), NOW + timedelta(hours=2)) == (SlaState.PAUSED, 14 * 60)
    counts = sla_counts(desk.store, NOW)
    assert (counts.ok, counts.warning, counts.breached, counts.paused, counts.answered) == (
        1,
        1,
        1,
        1,
        1,
    )
    assert counts.open == 5


def test_stamp_moves_on_every_kind_of_change(desk: Desk) -> None:
    first = read_stamp(desk.store)
    ticket = _open(desk, 1)
    opened = read_stamp(desk.store)
    assert opened != first
    desk.note(ticket.id, "ana", "llamé al cliente")  # same clock: only the event id moves
    noted = read_stamp(desk.store)
    assert noted != opened and noted.last_event > opened.last_event
    with desk.store.write() as db:
        db.execute("INSERT INTO probe_state (site, checked_at, up) VALUES ('x', 1.0, 1)")
    assert read_stamp(desk.store).last_probe == 1.0


def test_directory_maps_senders_to_customers(desk: Desk) -> None:
    with desk.store.write() as db:
        db.execute(
            "INSERT INTO customers (name, emails, domains) VALUES (?, ?, ?)",
            ("ACME", '["boss@gmail.com"]', '["acme.test"]'),
        )
    ticket = _open(desk, 1, customer="Bodega")
    desk.claim(ticket.id, "luis", ticket.version)
    directory = load_directory(desk.store)
    assert directory.customers == ("ACME", "Bodega")
    assert directory.agents == ("luis",)
    assert directory.customer_for("Ana@ACME.test") == "ACME"
    assert directory.customer_for("boss@gmail.com") == "ACME"
    assert directory.customer_for("other@gmail.com") is None


@pytest.mark.parametrize(
    ("seconds", "precise", "text"),
    [
        (0, True, "0m 00s"),
        (42 * 60 + 10, True, "42m 10s"),
        (42 * 60 + 10, False, "42m"),
        (5 * 3600 + 7 * 60, True, "5h 07m"),
        (2 * 86400 + 3 * 3600 + 59, True, "2d 03h"),
        (-(12 * 60 + 3), True, "-12m 03s"),
    ],
)
def test_format_duration(seconds: float, precise: bool, text: str) -> None:
    assert format_duration(seconds, precise=precise) == text


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1h30m", 5400.0), ("1.5h", 5400.0), ("1,5h", 5400.0), ("45m", 2700.0), ("45", 2700.0)]
    + [("2h", 7200.0), ("", None), ("soon", None), ("h", None)],
)
def test_parse_duration(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


def test_intake_validation() -> None:
    assert validate_intake(Source.PHONE, case_number="R-1001") == []
    assert validate_intake(Source.PHONE, case_number="", subject="x") == ["intake.phone_needs_case"]
    assert (
        validate_intake(Source.EMAIL, requester="ana@acme.test", subject="No carga", customer=None)
        == []
    )
    assert validate_intake(Source.EMAIL, requester="ana@", subject="") == [
        "intake.subject_required",
        "intake.email_invalid",
    ]
    assert validate_intake(Source.MANUAL, subject="Migración") == ["intake.customer_or_site"]
    assert validate_intake(Source.MANUAL, subject="Migración", site="shop") == []


def test_catalogues_cover_every_key_the_code_uses() -> None:
    """Spanish has every English entry with the same placeholders, and every literal key
    the code asks for exists."""
    assert set(ES) == set(EN)
    for key, text in EN.items():
        assert re.findall(r"{(\w+)", text) == re.findall(r"{(\w+)", ES[key]), key
    used: set[str] = set()
    for path in Path("ronda/tui").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if re.fullmatch(
                    r"(action|help|col|form|prompt|intake|sites|ticket|queue|msg|"
                    r"done|view|sla|status|priority|impact|source)\.[a-z_]+",
                    node.value,
                ):
                    used.add(node.value)
    assert used, "found no catalogue keys in tui/"
    assert sorted(used - set(EN)) == []
    for spec in ACTIONS:
        assert spec.label_key in EN and f"help.{spec.name}" in EN
    for enum, prefix in ((Priority, "priority"), (Impact, "impact"), (Status, "status")):
        assert all(f"{prefix}.{v}" in EN for v in enum)
    assert all(f"sla.{v}" in EN for v in SlaState)
    assert all(f"source.{v}" in EN for v in Source)
    assert Catalogue("es_CO")("col.case") == "Caso"
    assert Catalogue("fr")("col.case") == "Case"
    assert Catalogue("es")("done.claim", case="R-1001") == "R-1001 es suyo."


def test_every_action_is_bound_once_per_screen_with_its_id() -> None:
    t = Catalogue("es")
    for kind in SCREEN_SCOPES:
        screen_bindings = bindings(kind, t)
        keys = [key for b in screen_bindings for key in b.key.split(",")]
        assert len(keys) == len(set(keys)), f"{kind}: a key is bound twice"
        assert {b.id for b in screen_bindings} >= FOOTER[kind]
        assert all(b.description == t(f"action.{b.id}") for b in screen_bindings)
    assert len({spec.name for spec in ACTIONS}) == len(ACTIONS)
