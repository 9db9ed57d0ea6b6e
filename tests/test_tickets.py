"""The ticket desk against a real SQLite file, with an injected clock."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from clocks import Clock

from ronda.model import FailureClass, Impact, Priority, SlaState, Source, Status
from ronda.store import Store
from ronda.tickets import (
    AlreadyClaimed,
    Desk,
    InvalidTransition,
    QueueFilter,
    StaleTicket,
    TicketError,
    TicketNotFound,
    ticket_id_from_case,
)

WED_10_BOGOTA = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(WED_10_BOGOTA)


@pytest.fixture
def desk(store: Store, clock) -> Desk:
    return Desk(store, clock=clock)


def open_email(desk: Desk, **kwargs) -> object:
    values = dict(
        source=Source.EMAIL,
        subject="No puedo entrar al panel",
        priority=Priority.LOW,
        impact=Impact.MEDIUM,
        actor="mail",
        customer="Ana Pérez",
    )
    values.update(kwargs)
    return desk.open_ticket(**values)


def test_open_ticket_gets_case_number_deadlines_and_event(desk: Desk, clock: Clock) -> None:
    ticket = open_email(desk, priority=Priority.HIGH, impact=Impact.HIGH)
    assert ticket.case_number == "R-1001"
    assert ticket.status == Status.NEW
    assert ticket.sla_target_at == clock.now + timedelta(minutes=5)
    assert ticket.sla_limit_at == clock.now + timedelta(minutes=15)
    second = open_email(desk)
    assert second.case_number == "R-1002"
    events = desk.events("R-1001")
    assert [e.kind for e in events] == ["opened"]
    assert events[0].actor == "mail"


def test_case_numbers_are_parsed_leniently() -> None:
    assert ticket_id_from_case("R-2481") == 1481
    assert ticket_id_from_case("r2481") == 1481
    assert ticket_id_from_case(" 2481 ") == 1481
    assert ticket_id_from_case("R-abc") is None
    assert ticket_id_from_case("R-12") is None


def test_get_unknown_case_is_a_clear_error(desk: Desk) -> None:
    with pytest.raises(TicketNotFound, match="R-9999"):
        desk.get("R-9999")


def test_stale_version_is_refused_and_nothing_is_overwritten(desk: Desk) -> None:
    ticket = open_email(desk)
    desk.claim(ticket.case_number, "maria", ticket.version)
    with pytest.raises(StaleTicket) as error:
        desk.respond(ticket.case_number, "jorge", "Hola", ticket.version)
    assert error.value.current.assignee == "maria"
    assert "changed by someone else" in str(error.value)
    fresh = desk.get(ticket.id)
    assert fresh.first_response_at is None
    assert [e.kind for e in desk.events(ticket.id)] == ["opened", "claimed"]


def test_claim_has_one_winner(desk: Desk) -> None:
    ticket = open_email(desk)
    desk.claim(ticket.id, "maria")
    with pytest.raises(AlreadyClaimed, match="maria"):
        desk.claim(ticket.id, "jorge")
    assert desk.get(ticket.id).assignee == "maria"
    # Claiming one's own ticket again is harmless.
    assert desk.claim(ticket.id, "maria").assignee == "maria"


def test_first_response_met_and_missed(desk: Desk, clock: Clock) -> None:
    quick = open_email(desk, priority=Priority.HIGH, impact=Impact.HIGH)
    late = open_email(desk, priority=Priority.HIGH, impact=Impact.HIGH)
    clock.advance(minutes=10)
    answered = desk.respond(quick.id, "maria", "Estamos revisando")
    assert answered.status == Status.OPEN
    assert answered.first_response_at == clock.now
    assert desk.sla_state(answered) == SlaState.MET
    clock.advance(minutes=10)
    assert desk.sla_state(desk.get(late.id)) == SlaState.BREACHED
    answered_late = desk.respond(late.id, "maria", "Perdón la demora")
    assert desk.sla_state(answered_late) == SlaState.MISSED
    outcomes = desk.store.query("SELECT case_number, sla_outcome FROM tickets ORDER BY id")
    assert [r["sla_outcome"] for r in outcomes] == ["met", "missed"]
    # Only the first reply is the first response.
    clock.advance(minutes=1)
    again = desk.respond(quick.id, "maria", "Listo")
    assert again.first_response_at == answered.first_response_at


def test_pending_customer_pauses_and_resume_extends_deadline(desk: Desk, clock: Clock) -> None:
    ticket = open_email(desk, priority=Priority.MEDIUM, impact=Impact.MEDIUM)
    limit_before = ticket.sla_limit_at
    clock.advance(hours=1)
    paused = desk.set_status(ticket.id, Status.PENDING_CUSTOMER, "maria", ticket.version)
    assert paused.paused_at == clock.now
    assert desk.sla_state(paused) == SlaState.PAUSED
    clock.advance(hours=2)  # two business hours waiting on the customer
    resumed = desk.set_status(ticket.id, Status.OPEN, "maria", paused.version)
    assert resumed.paused_at is None
    assert resumed.paused_seconds == pytest.approx(7200)
    assert resumed.sla_limit_at > limit_before
    policy_limit = desk.policy.deadlines(
        Priority.MEDIUM, Impact.MEDIUM, ticket.opened_at, paused_seconds=7200
    ).limit_at
    assert resumed.sla_limit_at == policy_limit
    kinds = [e.kind for e in desk.events(ticket.id)]
    assert kinds.count("status") == 2 and "sla_recomputed" in kinds


def test_reprioritize_recomputes_from_opening_with_reason(desk: Desk, clock: Clock) -> None:
    ticket = open_email(desk, priority=Priority.LOW, impact=Impact.LOW)
    clock.advance(minutes=20)
    with pytest.raises(TicketError, match="reason"):
        desk.reprioritize(ticket.id, "maria", ticket.version, priority=Priority.HIGH, reason=" ")
    changed = desk.reprioritize(
        ticket.id, "maria", ticket.version, priority=Priority.HIGH, reason="the shop is down"
    )
    assert changed.priority == Priority.HIGH
    expected = desk.policy.deadlines(Priority.HIGH, Impact.LOW, ticket.opened_at)
    assert changed.sla_limit_at == expected.limit_at
    priority_event = [e for e in desk.events(ticket.id) if e.kind == "priority"][0]
    assert (priority_event.old, priority_event.new) == ("low", "high")
    assert priority_event.body == "the shop is down"


def test_transitions_are_checked(desk: Desk) -> None:
    ticket = open_email(desk)
    with pytest.raises(InvalidTransition, match="new to reopened"):
        desk.reopen(ticket.id, "maria")
    resolved = desk.resolve(ticket.id, "maria", reason="password reset sent")
    assert resolved.status == Status.RESOLVED and resolved.resolved_at is not None
    # Resolving by an agent is the first response when none was given.
    assert resolved.first_response_at is not None
    reopened = desk.reopen(ticket.id, "maria", resolved.version, reason="still failing")
    assert reopened.status == Status.REOPENED and reopened.resolved_at is None


def test_probe_resolution_leaves_ticket_untouched_and_misses_late(desk: Desk, clock) -> None:
    ticket = desk.open_ticket(
        source=Source.PROBE,
        subject="tienda-ana: HTTP 500",
        priority=Priority.HIGH,
        impact=Impact.HIGH,
        actor="probe",
        site="tienda-ana",
        failure_class=FailureClass.HTTP_500,
        dedupe_key="tienda-ana:down",
    )
    assert not ticket.touched_by_agent
    desk.record(ticket.id, "probe", "recurrence", "still 500", evidence={"status_code": 500})
    assert not desk.get(ticket.id).touched_by_agent
    clock.advance(minutes=30)
    resolved = desk.resolve(ticket.id, "probe", reason="site recovered")
    assert resolved.first_response_at is None
    rows = desk.store.query("SELECT sla_outcome FROM tickets WHERE id = ?", (ticket.id,))
    assert rows[0]["sla_outcome"] == "missed"


def test_agent_action_marks_touched(desk: Desk) -> None:
    ticket = desk.open_ticket(
        source=Source.PROBE,
        subject="blog: slow",
        priority=Priority.MEDIUM,
        impact=Impact.LOW,
        actor="probe",
        dedupe_key="blog:down",
    )
    assert desk.note(ticket.id, "maria", "mirando").touched_by_agent


def test_one_open_ticket_per_dedupe_key(desk: Desk) -> None:
    kwargs = dict(
        source=Source.PROBE,
        subject="x",
        priority=Priority.HIGH,
        impact=Impact.LOW,
        actor="probe",
        dedupe_key="site-a:down",
    )
    first = desk.open_ticket(**kwargs)
    with pytest.raises(TicketError, match="already open"):
        desk.open_ticket(**kwargs)
    assert desk.find_open("site-a:down").id == first.id
    desk.resolve(first.id, "probe")
    # Once resolved, a new outage opens a new case.
    assert desk.open_ticket(**kwargs).id != first.id
    # The database itself refuses a second open ticket on the key.
    with pytest.raises(sqlite3.IntegrityError):
        with desk.store.write() as db:
            db.execute(
                "INSERT INTO tickets (case_number, source, subject, priority, impact, status, "
                "opened_at, dedupe_key, updated_at) VALUES "
                "('R-X', 'probe', 'x', 'high', 'low', 'new', 0, 'site-a:down', 0)"
            )


def test_events_are_append_only(desk: Desk) -> None:
    ticket = open_email(desk)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        with desk.store.write() as db:
            db.execute("UPDATE ticket_events SET body = 'x' WHERE ticket_id = ?", (ticket.id,))
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        with desk.store.write() as db:
            db.execute("DELETE FROM ticket_events")
    assert len(desk.events(ticket.id)) == 1


def test_billable_time_and_parent_link(desk: Desk) -> None:
    ticket = open_email(desk, subject="Migrar sitio desde otro hosting")
    billed = desk.set_billable(ticket.id, True, "maria", ticket.version)
    assert billed.billable
    desk.log_time(ticket.id, "maria", 1800, "migration dry run")
    desk.log_time(ticket.id, "maria", 900)
    assert desk.time_spent(ticket.id) == 2700
    with pytest.raises(TicketError, match="positive"):
        desk.log_time(ticket.id, "maria", 0)
    parent = open_email(desk, subject="Server web-03 down")
    linked = desk.link_parent(ticket.id, parent.case_number, "maria")
    assert linked.parent_id == parent.id
    assert [c.id for c in desk.children(parent.id)] == [ticket.id]
    with pytest.raises(TicketError, match="own parent"):
        desk.link_parent(parent.id, parent.id, "maria")


def test_queue_orders_by_urgency_and_filters(desk: Desk, clock: Clock) -> None:
    low = open_email(desk, priority=Priority.LOW, impact=Impact.LOW, subject="low one")
    high = open_email(desk, priority=Priority.HIGH, impact=Impact.HIGH, subject="high one")
    medium = open_email(
        desk, priority=Priority.MEDIUM, impact=Impact.HIGH, subject="medium 100%_one"
    )
    assert [t.id for t in desk.queue()] == [high.id, medium.id, low.id]
    desk.claim(medium.id, "maria")
    assert [t.id for t in desk.queue(QueueFilter(view="mine", agent="maria"))] == [medium.id]
    assert medium.id not in [t.id for t in desk.queue(QueueFilter(view="unassigned"))]
    assert [t.id for t in desk.queue(QueueFilter(priority=Priority.LOW))] == [low.id]
    # Word by word: what a search holds besides letters and digits is no syntax.
    assert [t.id for t in desk.queue(QueueFilter(search='MEDIUM "100%_'))] == [medium.id]
    assert [t.id for t in desk.queue(QueueFilter(search="R-1002"))] == [high.id]
    clock.advance(minutes=20)
    assert [t.id for t in desk.queue(QueueFilter(view="breached"))] == [high.id]
    desk.resolve(low.id, "maria")
    assert low.id not in [t.id for t in desk.queue()]
    assert low.id in [t.id for t in desk.queue(QueueFilter(view="all"))]


def test_failed_change_writes_nothing(desk: Desk) -> None:
    ticket = open_email(desk)
    with pytest.raises(InvalidTransition):
        desk.set_status(ticket.id, Status.NEW, "maria")
    assert desk.get(ticket.id).version == ticket.version
    assert len(desk.events(ticket.id)) == 1
