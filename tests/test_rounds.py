"""The round runner against a real SQLite store: tickets, events, probe state, counters."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from ronda.checks.classify import Finding
from ronda.checks.outcomes import outcome_of
from ronda.checks.probe import ProbeResult
from ronda.checks.rounds import RoundEvent, RoundItem, RoundRunner
from ronda.config import Config, IncidentSettings, MaintenanceWindow, Server, Site
from ronda.model import FailureClass as FC
from ronda.model import Impact, Priority, Source, Status
from ronda.store import Store
from ronda.tickets import Desk

T0 = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
CERT = datetime(2025, 9, 1, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def site(name: str, server: str | None = "web-04", impact: Impact = Impact.HIGH) -> Site:
    return Site(
        name=name, url=f"https://{name}.example/", customer="Ana", server=server, impact=impact
    )


SITES = (site("tienda-ana"), site("blog-ana", impact=Impact.LOW), site("shop-b"), site("shop-c"))
CONFIG = Config(sites=SITES, servers=(Server("web-04"),))


def result(
    name: str, when: datetime, cls: FC = FC.OK, *extra: Finding, status: int | None = None
) -> ProbeResult:
    findings = (
        [] if cls == FC.OK else [Finding(cls, None, f"{name}: {cls} on https://{name}.example/")]
    )
    findings += list(extra)
    if status is None:
        status = {FC.OK: 200, FC.HTTP_500: 500, FC.HTTP_502: 502, FC.HTTP_503: 503}.get(cls)
    return ProbeResult(
        site=name,
        url=f"https://{name}.example/",
        started_at=when,
        failure_class=findings[0].failure_class if findings else FC.OK,
        status_code=status,
        elapsed_ms=123.4,
        phases={"dns": 0.001, "connect": 0.002, "tls": 0.01, "first_byte": 0.1, "transfer": 0.01},
        cert_not_after=None if cls == FC.REFUSED else CERT,
        cert_subject="CN=" + name,
        cert_issuer="CN=Test CA",
        detail=findings[0].detail if findings else "",
        headers={"server": "nginx", "content-type": "text/html"},
        body_excerpt="<b>Fatal error</b>: <script>alert(1)</script>" if findings else "<html>",
        findings=findings,
    )


@pytest.fixture
def clock():
    with freeze_time(T0) as frozen:
        yield frozen


def runner_for(store: Store, config: Config = CONFIG, events: list | None = None) -> RoundRunner:
    return RoundRunner(store, config, on_event=events.append if events is not None else None)


def probe_tickets(store: Store) -> list[dict]:
    return store.query("SELECT * FROM tickets ORDER BY id")


def round_(runner: RoundRunner, clock, minute: float, *results: ProbeResult | RoundItem):
    clock.move_to(at(minute))
    return runner.apply(results)


# ---- tickets --------------------------------------------------------------------------------


def test_confirmed_failure_opens_one_ticket_carrying_the_evidence(store, clock) -> None:
    events: list[RoundEvent] = []
    runner = runner_for(store, events=events)
    no_recheck = Config(
        sites=SITES, servers=CONFIG.servers, incidents=IncidentSettings(recheck_immediately=False)
    )
    runner.update_config(no_recheck)
    round_(runner, clock, 0, result("tienda-ana", at(0), FC.HTTP_500))
    assert probe_tickets(store) == []
    round_(runner, clock, 1, result("tienda-ana", at(1), FC.HTTP_500))
    rows = probe_tickets(store)
    assert len(rows) == 1
    desk = Desk(store)
    ticket = desk.get(rows[0]["id"])
    assert ticket.subject == "tienda-ana: HTTP 500 on https://tienda-ana.example/"
    assert ticket.source == Source.PROBE and ticket.status == Status.NEW
    assert (ticket.priority, ticket.impact) == (Priority.HIGH, Impact.HIGH)
    assert ticket.dedupe_key == "tienda-ana:down" and ticket.customer == "Ana"
    assert not ticket.touched_by_agent
    ev = ticket.evidence
    assert ev["url"] == "https://tienda-ana.example/" and ev["status_code"] == 500
    assert ev["headers"]["server"] == "nginx"
    assert ev["body_excerpt"] == "<b>Fatal error</b>: <script>alert(1)</script>"  # raw
    assert ev["phases"]["first_byte"] == 0.1 and ev["elapsed_ms"] == 123.4
    assert ev["cert"] == {
        "not_after": CERT.isoformat(),
        "subject": "CN=tienda-ana",
        "issuer": "CN=Test CA",
    }
    assert ev["first_failure_at"] == at(0).isoformat()
    assert ev["last_failure_at"] == at(1).isoformat()
    assert ev["detail"].startswith("tienda-ana: http_500")
    lines = [str(e) for e in events]
    assert any(
        line.startswith(f"{ticket.case_number} opened (high priority, high impact)")
        for line in lines
    )
    assert any(e.kind == "site_down" for e in events)


def test_a_failing_reprobe_confirms_at_once(store, clock) -> None:
    runner = runner_for(store)
    first = result("tienda-ana", at(0), FC.HTTP_502)
    assert runner.needs_reprobe(first)
    assert not runner.needs_reprobe(result("tienda-ana", at(0)))
    again = result("tienda-ana", at(0.01), FC.HTTP_502)
    assert outcome_of(first, again).confirmed_families == frozenset({"down"})
    round_(runner, clock, 0, RoundItem(first, again))
    assert len(probe_tickets(store)) == 1
    # Both probes count: two rounds, two failures of the class.
    assert store.query("SELECT count FROM probe_rounds WHERE site = 'tienda-ana'") == [{"count": 2}]
    assert store.query(
        "SELECT count FROM probe_failures WHERE site = 'tienda-ana' AND failure_class = 'http_502'"
    ) == [{"count": 2}]


def test_recurrences_are_events_on_one_ticket_and_a_worse_class_raises_it(store, clock) -> None:
    runner = runner_for(store)
    slow = Finding(FC.SLOW, None, "tienda-ana: answered in 7.00 s (limit 5 s)")
    first = result("tienda-ana", at(0), FC.OK, slow, status=200)
    round_(runner, clock, 0, RoundItem(first, result("tienda-ana", at(0), FC.OK, slow, status=200)))
    ticket = Desk(store).find_open("tienda-ana:down")
    assert ticket is not None and ticket.priority == Priority.MEDIUM
    for minute in range(1, 10):
        round_(runner, clock, minute, result("tienda-ana", at(minute), FC.OK, slow, status=200))
    round_(runner, clock, 10, result("tienda-ana", at(10), FC.HTTP_500))
    assert len(probe_tickets(store)) == 1
    desk = Desk(store)
    ticket = desk.get(ticket.id)
    assert ticket.priority == Priority.HIGH and ticket.failure_class == FC.HTTP_500
    kinds = [e.kind for e in desk.events(ticket.id)]
    assert kinds.count("opened") == 1
    assert kinds.count("recurrence") == 1  # the class change; not one per slow round
    assert "priority" in kinds and "class" in kinds
    priority_event = next(e for e in desk.events(ticket.id) if e.kind == "priority")
    assert priority_event.actor == "probe" and "worse than slow" in priority_event.body


def test_recovery_resolves_untouched_tickets_and_leaves_worked_ones_open(store, clock) -> None:
    runner = runner_for(store)
    for name in ("tienda-ana", "blog-ana"):
        bad = result(name, at(0), FC.HTTP_503)
        round_(runner, clock, 0, RoundItem(bad, result(name, at(0), FC.HTTP_503)))
    desk = Desk(store)
    worked = desk.find_open("blog-ana:down")
    desk.claim(worked.id, "marta")
    for minute in (1, 2):
        round_(
            runner, clock, minute, result("tienda-ana", at(minute)), result("blog-ana", at(minute))
        )
    untouched = desk.get(desk.events(1)[0].ticket_id)
    assert untouched.status == Status.RESOLVED
    resolved = [e for e in desk.events(untouched.id) if e.kind == "status"]
    assert resolved[-1].actor == "probe" and resolved[-1].body == "site recovered"
    kept = desk.get(worked.id)
    assert kept.status.is_open
    assert [e.kind for e in desk.events(kept.id)].count("recovered") == 1


def test_maintenance_records_results_but_opens_nothing(store, clock) -> None:
    window = MaintenanceWindow(at(-5), at(30), "PHP upgrade")
    config = Config(sites=SITES, servers=(Server("web-04", (window,)),))
    runner = runner_for(store, config)
    for minute in range(5):
        item = RoundItem(result("tienda-ana", at(minute), FC.HTTP_500))
        assert not runner.needs_reprobe(item.result)
        round_(runner, clock, minute, item)
    assert probe_tickets(store) == []
    row = store.query("SELECT * FROM probe_state WHERE site = 'tienda-ana'")[0]
    assert row["in_maintenance"] == 1 and row["up"] == 0 and row["failure_class"] == "http_500"
    assert row["checked_at"] == at(4).timestamp()


def test_probe_state_and_counters_of_a_batch(store, clock) -> None:
    runner = runner_for(store)
    expiring = Finding(FC.SSL_EXPIRING, None, "shop-b: certificate expires in 5 days")
    round_(
        runner,
        clock,
        0,
        result("tienda-ana", at(0)),
        result("shop-b", at(0), FC.OK, expiring, status=200),
        result("shop-c", at(0), FC.REFUSED),
    )
    rows = {r["site"]: r for r in store.query("SELECT * FROM probe_state")}
    assert rows["tienda-ana"]["up"] == 1 and rows["tienda-ana"]["failure_class"] == "ok"
    assert rows["shop-b"]["up"] == 1  # an expiring certificate does not make a site down
    assert rows["shop-c"]["up"] == 0 and rows["shop-c"]["status_code"] is None
    assert json.loads(rows["tienda-ana"]["phases"])["tls"] == 0.01
    assert rows["tienda-ana"]["cert_not_after"] == CERT.timestamp()
    assert rows["shop-c"]["cert_not_after"] is None
    # A later result without a certificate keeps the last one seen (it must not vanish).
    round_(runner, clock, 1, result("tienda-ana", at(1), FC.REFUSED))
    again = store.query("SELECT cert_not_after FROM probe_state WHERE site = 'tienda-ana'")
    assert again[0]["cert_not_after"] == CERT.timestamp()
    failures = {
        (r["site"], r["failure_class"]): r["count"]
        for r in store.query("SELECT * FROM probe_failures")
    }
    assert failures == {
        ("shop-b", "ssl_expiring"): 1,
        ("shop-c", "refused"): 1,
        ("tienda-ana", "refused"): 1,
    }
    rounds = {r["site"]: r["count"] for r in store.query("SELECT * FROM probe_rounds")}
    assert rounds == {"tienda-ana": 2, "shop-b": 1, "shop-c": 1}


def test_a_batch_is_stored_in_one_transaction(store, clock) -> None:
    many = tuple(site(f"s{i:03d}", server=None) for i in range(150))
    runner = runner_for(store, Config(sites=many))
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)
    round_(runner, clock, 0, *(result(s.name, at(0)) for s in many))
    store.db.conn.set_trace_callback(None)
    assert sum(1 for s in statements if s.startswith("BEGIN")) == 1
    assert store.query("SELECT count(*) AS n FROM probe_state")[0]["n"] == 150


# ---- restart and crash safety ---------------------------------------------------------------


def test_a_restart_resumes_from_the_stored_memory(store, clock) -> None:
    config = Config(sites=SITES, incidents=IncidentSettings(recheck_immediately=False))
    round_(runner_for(store, config), clock, 0, result("tienda-ana", at(0), FC.TIMEOUT))
    assert probe_tickets(store) == []
    restarted = runner_for(store, config)  # a new process
    assert restarted.last_checked()["tienda-ana"] == at(0).timestamp()
    round_(restarted, clock, 1, result("tienda-ana", at(1), FC.TIMEOUT))
    assert len(probe_tickets(store)) == 1


def test_killed_after_opening_but_before_saving_memory_opens_no_duplicate(store, clock) -> None:
    config = Config(sites=SITES, incidents=IncidentSettings(recheck_immediately=False))
    runner = runner_for(store, config)
    round_(runner, clock, 0, result("tienda-ana", at(0), FC.HTTP_500))
    before = store.query("SELECT rules FROM probe_state WHERE site = 'tienda-ana'")[0]["rules"]
    round_(runner, clock, 1, result("tienda-ana", at(1), FC.HTTP_500))
    assert len(probe_tickets(store)) == 1
    # The process died after the ticket's transaction and before the batch's: the stored
    # memory is the one from before the round that opened the ticket.
    with store.write() as db:
        db.execute("UPDATE probe_state SET rules = ? WHERE site = 'tienda-ana'", (before,))
    events: list[RoundEvent] = []
    restarted = runner_for(store, config, events)
    round_(restarted, clock, 2, result("tienda-ana", at(2), FC.HTTP_502))
    rows = probe_tickets(store)
    assert len(rows) == 1
    assert not [e for e in events if e.kind == "error"]
    desk = Desk(store)
    kinds = [e.kind for e in desk.events(rows[0]["id"])]
    assert kinds.count("recurrence") == 1  # the redone round's facts are on the ticket
    assert desk.get(rows[0]["id"]).failure_class == FC.HTTP_502
    # And the memory now points at that ticket: the next rounds are plain recurrences.
    state = restarted.state_of("tienda-ana")
    assert state.families["down"].ticket_id == rows[0]["id"]


def test_a_ticket_already_open_for_the_key_is_deduped_onto(store, clock) -> None:
    desk = Desk(store)
    manual = desk.open_ticket(
        source=Source.MANUAL,
        subject="Ana says her shop is down",
        priority=Priority.MEDIUM,
        impact=Impact.HIGH,
        actor="marta",
        site="tienda-ana",
        dedupe_key="tienda-ana:down",
    )
    runner = runner_for(store)
    bad = result("tienda-ana", at(0), FC.HTTP_500)
    round_(runner, clock, 0, RoundItem(bad, result("tienda-ana", at(0), FC.HTTP_500)))
    assert [r["id"] for r in probe_tickets(store)] == [manual.id]
    updated = desk.get(manual.id)
    assert updated.priority == Priority.HIGH and updated.failure_class == FC.HTTP_500
    assert updated.evidence["status_code"] == 500


# ---- flapping and servers -------------------------------------------------------------------


def test_a_flapping_site_makes_one_ticket_in_the_store(store, clock) -> None:
    runner = runner_for(store)
    for minute in range(0, 60):
        if minute % 2 == 0:
            item = RoundItem(
                result("tienda-ana", at(minute), FC.TIMEOUT),
                result("tienda-ana", at(minute), FC.TIMEOUT),
            )
        else:
            item = RoundItem(result("tienda-ana", at(minute)))
        round_(runner, clock, minute, item)
    rows = probe_tickets(store)
    assert len(rows) == 1
    assert rows[0]["failure_class"] == "intermittent" and rows[0]["priority"] == "high"
    assert rows[0]["status"] in ("new", "reopened")


def test_a_server_outage_opens_one_parent_with_the_site_tickets_under_it(store, clock) -> None:
    events: list[RoundEvent] = []
    runner = runner_for(store, events=events)
    down = ("tienda-ana", "shop-b", "shop-c")

    def bad(name: str, minute: float) -> RoundItem:
        return RoundItem(result(name, at(minute), FC.REFUSED), result(name, at(minute), FC.REFUSED))

    round_(runner, clock, 0, *(bad(n, 0) for n in down), RoundItem(result("blog-ana", at(0))))
    desk = Desk(store)
    parent = desk.find_open("server:web-04:down")
    assert parent is not None
    assert parent.subject == "Server web-04 down: 3 of 4 sites failing"
    assert (parent.site, parent.customer, parent.failure_class) == (None, None, FC.SERVER_OUTAGE)
    assert parent.impact == Impact.HIGH
    children = desk.children(parent.id)
    assert sorted(c.site for c in children) == sorted(down)
    assert any(e.kind == "ticket_linked" for e in events)
    # Rounds go on: still one parent, no event storm.
    round_(runner, clock, 1, *(bad(n, 1) for n in down))
    assert len([r for r in probe_tickets(store) if r["dedupe_key"] == "server:web-04:down"]) == 1
    assert [e.kind for e in desk.events(parent.id)].count("recurrence") == 0
    # The server comes back: sites recover, the untouched parent is resolved.
    for minute in (2, 3):
        round_(runner, clock, minute, *(RoundItem(result(n, at(minute))) for n in down))
    assert desk.get(parent.id).status == Status.RESOLVED
    assert all(c.status == Status.RESOLVED for c in desk.children(parent.id))


def test_sites_failing_in_their_own_code_are_not_a_server_outage(store, clock) -> None:
    """A PHP fatal, a 404 and a white screen on one server are three cases: only failures a
    server causes (refused, timeout, 502, 503, database) make an outage."""
    runner = runner_for(store)
    own = {"tienda-ana": FC.PHP_FATAL, "shop-b": FC.HTTP_404, "shop-c": FC.WHITE_SCREEN}
    round_(
        runner,
        clock,
        0,
        *(RoundItem(result(n, at(0), c), result(n, at(0), c)) for n, c in own.items()),
        RoundItem(result("blog-ana", at(0))),
    )
    assert Desk(store).find_open("server:web-04:down") is None
    assert sorted(r["site"] for r in probe_tickets(store)) == sorted(own)


def test_after_a_restart_the_open_parent_is_found_and_resolved_on_recovery(store, clock) -> None:
    down = ("tienda-ana", "shop-b", "shop-c")
    runner = runner_for(store)
    round_(
        runner,
        clock,
        0,
        *(RoundItem(result(n, at(0), FC.HTTP_502), result(n, at(0), FC.HTTP_502)) for n in down),
    )
    parent = Desk(store).find_open("server:web-04:down")
    assert parent is not None
    restarted = runner_for(store)
    for minute in (1, 2):
        round_(restarted, clock, minute, *(RoundItem(result(n, at(minute))) for n in down))
    assert Desk(store).get(parent.id).status == Status.RESOLVED
    assert [r["dedupe_key"] for r in probe_tickets(store)].count("server:web-04:down") == 1
