"""The desk's two SLA clocks against a real SQLite file, with an injected clock: pauses that
add up, replies while paused, cell changes after a pause, the next-reply clock, and resolved
cases that never show a running countdown.

Business hours are the contract's: Monday to Friday 08:00-18:00 in Bogota (UTC-5), so
13:00 UTC is 08:00 there.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from clocks import Clock

from ronda.model import Impact, Priority, SlaState, Source, Status
from ronda.sla import SlaPolicy
from ronda.store import Store
from ronda.tickets import Desk

H = 3600.0
# Wednesday 2026-11-25 09:00 in Bogota; Thursday and Friday are working days too.
WED_9 = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)


def bogota(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant of November 2026 given in Bogota's wall-clock time."""
    return datetime(2026, 11, day, hour + 5, minute, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(WED_9)


@pytest.fixture
def desk(store: Store, clock: Clock) -> Desk:
    return Desk(store, clock=clock)


def open_case(desk: Desk, priority=Priority.MEDIUM, impact=Impact.HIGH, **kwargs):  # noqa: ANN001, ANN201
    values = dict(
        source=Source.EMAIL,
        subject="La tienda no carga",
        priority=priority,
        impact=impact,
        actor="mail",
        customer="Ferretería López",
        requester="compras@ferreteria.test",
    )
    values.update(kwargs)
    return desk.open_ticket(**values)


def pause(desk: Desk, ticket_id: int, clock: Clock, at: datetime) -> None:
    clock.now = at
    desk.set_status(ticket_id, Status.PENDING_CUSTOMER, "maria")


def resume(desk: Desk, ticket_id: int, clock: Clock, at: datetime) -> None:
    clock.now = at
    desk.set_status(ticket_id, Status.OPEN, "maria")


def totals(store: Store, table: str) -> list[tuple]:
    rows = store.db.execute(
        f"SELECT priority, impact, outcome, count FROM {table} ORDER BY 1, 2, 3"
    )
    return [tuple(r) for r in rows.fetchall() if r[3]]


# ---- pauses -------------------------------------------------------------------------------


def test_pauses_add_up_over_the_tickets_life(desk: Desk, clock: Clock) -> None:
    ticket = open_case(desk)  # medium/high: 4 h target, 6 h limit, business hours
    assert ticket.sla_limit_at == bogota(25, 15)
    pause(desk, ticket.id, clock, bogota(25, 10))
    resume(desk, ticket.id, clock, bogota(25, 12))  # 2 business hours
    pause(desk, ticket.id, clock, bogota(25, 16))
    resume(desk, ticket.id, clock, bogota(26, 9))  # 3 business hours (16-18, 08-09)
    pause(desk, ticket.id, clock, bogota(26, 9, 15))
    resume(desk, ticket.id, clock, bogota(26, 9, 45))  # half an hour
    fresh = desk.get(ticket.id)
    assert fresh.paused_seconds == pytest.approx(5.5 * H)
    # 6 h of business time from Wednesday 09:00 plus 5.5 h paused: Thursday 10:30.
    assert fresh.sla_limit_at == bogota(26, 10, 30)
    assert fresh.sla_target_at == bogota(26, 8, 30)
    assert desk.sla_state(fresh) == SlaState.WARNING
    assert desk.time_left(fresh) == pytest.approx(45 * 60)
    recomputed = [e for e in desk.events(ticket.id) if e.kind == "sla_recomputed"]
    assert datetime.fromisoformat(recomputed[-1].new) == bogota(26, 10, 30)
    assert len(recomputed) == 3


def test_a_pause_over_closed_hours_moves_nothing(desk: Desk, clock: Clock) -> None:
    clock.now = bogota(27, 17)  # Friday 17:00
    ticket = open_case(desk, Priority.HIGH, Impact.LOW)  # 3 h / 4 h, business hours
    pause(desk, ticket.id, clock, bogota(27, 18))
    resume(desk, ticket.id, clock, bogota(30, 8))  # the weekend: no business time
    fresh = desk.get(ticket.id)
    assert fresh.paused_seconds == 0
    assert fresh.sla_limit_at == ticket.sla_limit_at == bogota(30, 11)


def test_a_reply_while_paused_is_judged_with_the_clock_stopped(
    desk: Desk, store: Store, clock: Clock
) -> None:
    ticket = open_case(desk)  # opened Wednesday 09:00, limit 15:00
    pause(desk, ticket.id, clock, bogota(25, 10))  # one business hour of six has run
    clock.now = bogota(26, 8, 30)  # the next morning, still paused
    answered = desk.respond(ticket.id, "maria", "Ya revisamos la tienda")
    assert answered.status == Status.PENDING_CUSTOMER
    assert answered.sla_outcome == "met"
    assert desk.sla_state(answered) == SlaState.MET
    assert desk.time_left(answered) is None
    row = store.query("SELECT first_response_seconds FROM tickets WHERE id = ?", (ticket.id,))
    assert row[0]["first_response_seconds"] == pytest.approx(H)  # the pause is left out
    assert totals(store, "totals_first_responses") == [("medium", "high", "met", 1)]
    # The histogram holds it in the bucket of one hour, well within the 6-hour limit.
    buckets = store.db.execute("SELECT bucket FROM totals_response_times").fetchall()
    assert buckets == [(3,)]


def test_a_reply_while_paused_after_the_limit_still_misses(desk: Desk, clock: Clock) -> None:
    ticket = open_case(desk, Priority.HIGH, Impact.HIGH)  # 15 min, 24x7
    pause(desk, ticket.id, clock, WED_9 + timedelta(minutes=20))  # breached, then paused
    clock.now = WED_9 + timedelta(hours=2)
    answered = desk.respond(ticket.id, "maria", "Perdón la demora")
    assert answered.sla_outcome == "missed"
    assert desk.sla_state(answered) == SlaState.MISSED


def test_the_clock_paused_on_its_limit_is_met(desk: Desk, clock: Clock) -> None:
    ticket = open_case(desk, Priority.HIGH, Impact.HIGH)
    pause(desk, ticket.id, clock, ticket.sla_limit_at)  # the boundary is in
    clock.now = ticket.sla_limit_at + timedelta(hours=5)
    assert desk.respond(ticket.id, "maria", "Hola").sla_outcome == "met"


def test_resolving_while_paused_judges_at_the_pause(desk: Desk, clock: Clock) -> None:
    ticket = open_case(desk)
    pause(desk, ticket.id, clock, bogota(25, 10))
    clock.now = bogota(27, 12)  # well past the limit the ticket had at the pause
    resolved = desk.resolve(ticket.id, "maria", reason="the customer fixed it")
    assert resolved.sla_outcome == "met"
    assert resolved.paused_seconds == pytest.approx(8 * H + 10 * H + 4 * H)


def test_a_priority_change_after_a_pause_remeasures_it_in_the_new_cell(
    desk: Desk, clock: Clock
) -> None:
    clock.now = bogota(27, 16)  # Friday 16:00
    ticket = open_case(desk, Priority.MEDIUM, Impact.MEDIUM)  # 6 h / 8 h, business hours
    pause(desk, ticket.id, clock, bogota(27, 17))
    resume(desk, ticket.id, clock, bogota(30, 8))  # one business hour, over the weekend
    assert desk.get(ticket.id).paused_seconds == pytest.approx(H)
    clock.now = bogota(30, 8, 30)
    changed = desk.reprioritize(
        ticket.id, "maria", None, priority=Priority.HIGH, reason="the shop is down"
    )
    # high/medium counts wall-clock time (24x7): the same pause is 63 hours long there.
    assert changed.paused_seconds == pytest.approx(63 * H)
    assert changed.sla_limit_at == bogota(27, 16) + timedelta(hours=1 + 63)
    assert changed.sla_target_at == bogota(27, 16) + timedelta(hours=0.5 + 63)


def test_an_impact_change_while_paused_counts_the_pause_in_the_new_cell(
    desk: Desk, clock: Clock
) -> None:
    clock.now = bogota(27, 16)
    ticket = open_case(desk, Priority.HIGH, Impact.LOW)  # business hours
    pause(desk, ticket.id, clock, bogota(27, 16, 30))
    clock.now = bogota(28, 10)
    desk.reprioritize(ticket.id, "maria", None, impact=Impact.MEDIUM, reason="a shop")
    resumed = desk.set_status(ticket.id, Status.OPEN, "maria")
    clock.now = bogota(28, 11)
    resumed = desk.get(ticket.id)
    # The running pause, Friday 16:30 to Saturday 10:00, measured on the 24x7 cell.
    assert resumed.paused_seconds == pytest.approx(17.5 * H)
    assert resumed.sla_limit_at == bogota(27, 16) + timedelta(hours=1 + 17.5)


def test_a_judged_first_response_keeps_its_limit(desk: Desk, clock: Clock) -> None:
    ticket = open_case(desk)
    clock.now = bogota(25, 10)
    answered = desk.respond(ticket.id, "maria", "Hola")
    pause(desk, ticket.id, clock, bogota(25, 11))
    resume(desk, ticket.id, clock, bogota(26, 11))
    clock.now = bogota(26, 12)
    desk.reprioritize(ticket.id, "maria", None, priority=Priority.LOW, reason="minor")
    fresh = desk.get(ticket.id)
    assert fresh.sla_limit_at == answered.sla_limit_at
    assert fresh.sla_outcome == "met" and desk.sla_state(fresh) == SlaState.MET


# ---- the next-reply clock -----------------------------------------------------------------


def answered_case(desk: Desk, clock: Clock, **kwargs):  # noqa: ANN001, ANN201
    ticket = open_case(desk, **kwargs)
    clock.now = bogota(25, 9, 30)
    return desk.respond(ticket.id, "maria", "Estamos revisando")


def test_the_customer_writing_again_starts_a_next_reply_clock(
    desk: Desk, store: Store, clock: Clock
) -> None:
    ticket = answered_case(desk, clock)
    assert desk.sla_state(ticket) == SlaState.MET and desk.time_left(ticket) is None
    clock.now = bogota(25, 14)
    wrote = desk.customer_wrote(ticket.id, "mail", "email_received", "¿Alguna novedad?")
    assert wrote.reply_due_at == clock.now
    # The cell's own times from the message: 4 h target, 6 h limit in business hours.
    assert wrote.reply_target_at == bogota(25, 18)
    assert wrote.reply_limit_at == bogota(26, 10)
    assert desk.sla_state(wrote) == SlaState.OK
    assert desk.time_left(wrote) == pytest.approx((bogota(26, 10) - clock.now).total_seconds())
    clock.now = bogota(26, 9)
    assert desk.sla_state(desk.get(ticket.id)) == SlaState.WARNING
    # A second message while the reply is owed keeps the first one's clock.
    again = desk.customer_wrote(ticket.id, "mail", "email_received", "¿Hola?")
    assert again.reply_limit_at == bogota(26, 10)
    clock.now = bogota(26, 9, 30)
    replied = desk.respond(ticket.id, "jorge", "Ya quedó")
    assert replied.reply_due_at is None and replied.reply_limit_at is None
    assert desk.sla_state(replied) == SlaState.MET
    [clock_row] = desk.next_responses(ticket.id)
    assert (clock_row.outcome, clock_row.answered_at) == ("met", clock.now)
    assert clock_row.business_seconds == pytest.approx(5.5 * H)
    assert clock_row.customer == "Ferretería López"
    assert totals(store, "totals_next_responses") == [("medium", "high", "met", 1)]
    # The first response's counts are the contract's, apart.
    assert totals(store, "totals_first_responses") == [("medium", "high", "met", 1)]
    kinds = [e.kind for e in desk.events(ticket.id)]
    assert kinds.count("reply_due") == 1 and kinds.count("next_response") == 1


def test_a_late_next_reply_is_missed(desk: Desk, store: Store, clock: Clock) -> None:
    ticket = answered_case(desk, clock, priority=Priority.HIGH, impact=Impact.HIGH)
    clock.now = bogota(25, 10)
    desk.customer_wrote(ticket.id, "mail", "email_received", "Sigue caída")
    clock.now = bogota(25, 10, 16)
    assert desk.sla_state(desk.get(ticket.id)) == SlaState.BREACHED
    assert desk.time_left(desk.get(ticket.id)) == pytest.approx(-60)
    desk.respond(ticket.id, "maria", "Perdón")
    assert desk.next_responses(ticket.id)[0].outcome == "missed"
    assert totals(store, "totals_next_responses") == [("high", "high", "missed", 1)]


def test_a_message_before_the_first_response_starts_no_second_clock(
    desk: Desk, clock: Clock
) -> None:
    ticket = open_case(desk)
    clock.now = bogota(25, 10)
    wrote = desk.customer_wrote(ticket.id, "mail", "email_received", "¿Me leyeron?")
    assert wrote.reply_due_at is None
    assert wrote.sla_limit_at == ticket.sla_limit_at
    assert desk.next_responses(ticket.id) == []


def test_the_next_reply_clock_can_be_turned_off(store: Store, clock: Clock) -> None:
    base = SlaPolicy.default()
    policy = SlaPolicy(
        {(p, i): base.cell(p, i) for p in Priority for i in Impact},
        base.business,
        base.always,
        next_response=False,
    )
    desk = Desk(store, policy, clock=clock)
    ticket = answered_case(desk, clock)
    clock.now = bogota(25, 14)
    wrote = desk.customer_wrote(ticket.id, "mail", "email_received", "¿Novedades?")
    assert wrote.reply_due_at is None and desk.sla_state(wrote) == SlaState.MET


def test_a_customer_answer_resumes_a_paused_case_and_starts_the_clock(
    desk: Desk, clock: Clock
) -> None:
    ticket = answered_case(desk, clock)
    pause(desk, ticket.id, clock, bogota(25, 10))
    clock.now = bogota(25, 15)
    wrote = desk.customer_wrote(
        ticket.id, "mail", "email_received", "Aquí va la captura", resume_reason="answered"
    )
    assert wrote.status == Status.OPEN and wrote.paused_at is None
    assert wrote.paused_seconds == pytest.approx(5 * H)
    # The pause before the message does not move the new clock.
    assert wrote.reply_limit_at == bogota(26, 11)


def test_a_paused_next_reply_stops_and_moves_out(desk: Desk, clock: Clock) -> None:
    ticket = answered_case(desk, clock)
    clock.now = bogota(25, 10)
    desk.customer_wrote(ticket.id, "mail", "email_received", "¿Novedades?")  # limit 16:00
    pause(desk, ticket.id, clock, bogota(25, 11))
    clock.now = bogota(25, 17)
    paused = desk.get(ticket.id)
    assert desk.sla_state(paused) == SlaState.PAUSED
    assert desk.time_left(paused) == pytest.approx(5 * H)  # frozen at the pause
    assert desk.next_responses(ticket.id)[0].paused_at == bogota(25, 11)
    resume(desk, ticket.id, clock, bogota(25, 13))
    resumed = desk.get(ticket.id)
    assert resumed.reply_limit_at == bogota(25, 18)  # two business hours later
    assert desk.next_responses(ticket.id)[0].limit_at == bogota(25, 18)
    assert desk.next_responses(ticket.id)[0].paused_at is None
    # A second pause adds up, and a reply while paused is judged at its start.
    pause(desk, ticket.id, clock, bogota(25, 17, 30))
    clock.now = bogota(26, 12)
    desk.respond(ticket.id, "maria", "Listo")
    [row] = desk.next_responses(ticket.id)
    assert row.outcome == "met"
    assert row.business_seconds == pytest.approx(5.5 * H)  # 10:00-17:30 minus 2 h paused


def test_a_cell_change_moves_the_owed_reply_too(desk: Desk, store: Store, clock: Clock) -> None:
    ticket = answered_case(desk, clock, priority=Priority.LOW, impact=Impact.LOW)
    clock.now = bogota(25, 10)
    desk.customer_wrote(ticket.id, "mail", "email_received", "¡Se cayó todo!")
    changed = desk.reprioritize(
        ticket.id, "maria", None, priority=Priority.HIGH, impact=Impact.HIGH, reason="down"
    )
    assert changed.reply_limit_at == bogota(25, 10, 15)
    row = desk.next_responses(ticket.id)[0]
    assert (row.priority, row.impact, row.limit_at) == ("high", "high", bogota(25, 10, 15))
    clock.now = bogota(25, 10, 5)
    desk.respond(ticket.id, "maria", "En eso estamos")
    assert totals(store, "totals_next_responses") == [("high", "high", "met", 1)]


def test_a_phone_call_wants_a_reply_unless_answered_on_the_phone(desk: Desk, clock: Clock) -> None:
    ticket = answered_case(desk, clock)
    clock.now = bogota(25, 11)
    called = desk.phone_call(ticket.id, "jorge", "Pregunta si ya hay respaldo")
    assert called.reply_due_at == clock.now and called.touched_by_agent
    clock.now = bogota(25, 11, 30)
    answered = desk.phone_call(ticket.id, "jorge", "Volvió a llamar; le confirmé", answered=True)
    assert answered.reply_due_at is None
    assert desk.next_responses(ticket.id)[0].outcome == "met"
    # A call answered on the spot on a new case is its first response.
    fresh = open_case(desk)
    clock.now = bogota(25, 12)
    on_phone = desk.phone_call(fresh.id, "jorge", "Le expliqué", answered=True)
    assert on_phone.first_response_at == clock.now and on_phone.status == Status.OPEN
    assert [e.kind for e in desk.events(fresh.id)][-3:] == [
        "phone_call",
        "first_response",
        "status",
    ]


# ---- resolved cases -----------------------------------------------------------------------


def test_resolved_cases_show_no_running_clock(desk: Desk, clock: Clock) -> None:
    early = open_case(desk, Priority.HIGH, Impact.HIGH, source=Source.PROBE, actor="probe")
    late = open_case(desk, Priority.HIGH, Impact.HIGH, source=Source.PROBE, actor="probe")
    clock.now = WED_9 + timedelta(minutes=7)  # past the 5-minute target: warning
    assert desk.sla_state(desk.get(early.id)) == SlaState.WARNING
    resolved = desk.resolve(early.id, "probe", reason="site recovered")
    assert desk.sla_state(resolved) == SlaState.NOT_DUE
    assert resolved.sla_outcome == "not_due" and desk.time_left(resolved) is None
    clock.now = WED_9 + timedelta(minutes=20)
    late_resolved = desk.resolve(late.id, "probe", reason="site recovered")
    assert desk.sla_state(late_resolved) == SlaState.MISSED
    # Reopened by the customer: nothing stale runs; the customer's message wants a reply.
    clock.now = WED_9 + timedelta(hours=1)
    reopened = desk.customer_wrote(
        early.id, "mail", "email_received", "Se volvió a caer", reopen_reason="wrote again"
    )
    assert reopened.status == Status.REOPENED
    assert reopened.reply_due_at == clock.now
    assert desk.sla_state(reopened) == SlaState.OK
    clock.now += timedelta(minutes=5)
    answered = desk.respond(early.id, "maria", "Lo revisamos")
    assert answered.sla_outcome == "not_due" and answered.first_response_at is None
    assert desk.next_responses(early.id)[0].outcome == "met"


def test_an_agent_resolving_answers_the_owed_reply(desk: Desk, clock: Clock) -> None:
    ticket = answered_case(desk, clock)
    clock.now = bogota(25, 10)
    desk.customer_wrote(ticket.id, "mail", "email_received", "Gracias, ¿cierran el caso?")
    clock.now = bogota(25, 11)
    resolved = desk.resolve(ticket.id, "maria", reason="confirmed")
    assert resolved.reply_due_at is None and desk.sla_state(resolved) == SlaState.MET
    assert desk.next_responses(ticket.id)[0].outcome == "met"


def test_a_probe_resolving_with_a_reply_owed_misses_it_only_past_the_limit(
    desk: Desk, store: Store, clock: Clock
) -> None:
    kept = answered_case(desk, clock, priority=Priority.HIGH, impact=Impact.HIGH)
    dropped = open_case(desk, Priority.HIGH, Impact.HIGH)
    clock.now = bogota(25, 9, 40)
    desk.respond(dropped.id, "maria", "Hola")
    clock.now = bogota(25, 10)
    desk.customer_wrote(kept.id, "mail", "email_received", "¿Y?")
    desk.customer_wrote(dropped.id, "mail", "email_received", "¿Y?")
    clock.now = bogota(25, 10, 10)
    desk.resolve(dropped.id, "probe", reason="site recovered")
    clock.now = bogota(25, 10, 30)
    desk.resolve(kept.id, "probe", reason="site recovered")
    assert desk.next_responses(dropped.id)[0].outcome == "not_due"
    assert desk.next_responses(kept.id)[0].outcome == "missed"
    assert totals(store, "totals_next_responses") == [("high", "high", "missed", 1)]


def test_a_case_resolved_before_judging_unanswered_cases_reopens_with_nothing_owed(
    desk: Desk, store: Store, clock: Clock
) -> None:
    ticket = open_case(desk, Priority.HIGH, Impact.HIGH)
    desk.resolve(ticket.id, "probe", reason="recovered")
    with store.write() as db:  # as an earlier version left it: no outcome
        db.execute("UPDATE tickets SET sla_outcome = NULL WHERE id = ?", (ticket.id,))
    assert desk.sla_state(desk.get(ticket.id)) == SlaState.NOT_DUE
    clock.now = WED_9 + timedelta(days=1)
    reopened = desk.reopen(ticket.id, "maria", reason="not fixed")
    assert reopened.sla_outcome == "not_due"
    assert desk.sla_state(reopened) == SlaState.NOT_DUE and desk.time_left(reopened) is None
