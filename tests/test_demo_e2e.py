"""End to end: the headless demo on the real fleet, rounds and exporter, with the timeline's
time compressed by config (rounds of a second), not slept through."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from polling import wait_until

from ronda.demo.app import DemoDesk, DemoSettings
from ronda.demo.timeline import DEGRADING_SITE, FLAPPING_SITE, OUTAGE_SERVER, RECOVERING_SITE
from ronda.model import DEFAULT_CLASS_PRIORITY, FailureClass, Priority, Status, family_of
from ronda.tickets import Desk

ROUND = 1.0
# Classes the fleet shows with a priority other than the class default, as DESIGN.md says:
# a redirect loop on /wp-login.php is medium; a certificate within 7 days of expiry medium.
PRIORITY_EXCEPTIONS = {
    ("consultora-norte", FailureClass.REDIRECT_LOOP): Priority.MEDIUM,
    ("estudio-yoga-luz", FailureClass.SSL_EXPIRING): Priority.MEDIUM,
    # a domain registration within 7 days of expiry is high
    ("domain:hostalcandelaria.test", FailureClass.DOMAIN_EXPIRING): Priority.HIGH,
}


def wait_for(condition, timeout: float, what: str) -> None:
    wait_until(condition, what, timeout, poll=0.2)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[DemoDesk]:
    settings = DemoSettings(round_seconds=ROUND, slow_delay=0.6, deadline=0.9, listen="127.0.0.1:0")
    desk = DemoDesk(Path(tmp_path_factory.mktemp("demo")), settings)
    desk.start()
    try:
        assert desk.driver is not None
        wait_for(lambda: desk.driver.finished, 60, "the timeline to finish")
        store = desk.store

        def settled() -> bool:
            open_down = store.query(
                "SELECT COUNT(*) AS n FROM tickets WHERE status IN ('new', 'open') "
                "AND site IN (?, ?) AND failure_class != 'intermittent'",
                (DEGRADING_SITE, RECOVERING_SITE),
            )[0]["n"]
            parents = store.query(
                "SELECT status FROM tickets WHERE failure_class = 'server_outage'"
            )
            return open_down == 0 and bool(parents) and parents[0]["status"] == "resolved"

        wait_for(settled, 30, "recovered sites' tickets to be resolved")
        yield desk
    finally:
        desk.stop()


def probe_tickets(demo: DemoDesk) -> list:
    desk = Desk(demo.store)
    rows = demo.store.query("SELECT id FROM tickets WHERE source = 'probe' ORDER BY id")
    return [desk.get(r["id"]) for r in rows]


def test_a_ticket_for_every_failure_class_with_its_priority(demo: DemoDesk) -> None:
    tickets = probe_tickets(demo)
    seen = {t.failure_class for t in tickets}
    # prober_blind is the desk's own incident: a demo that can see never opens it.
    expected = set(FailureClass) - {FailureClass.OK, FailureClass.PROBER_BLIND}
    assert expected <= seen, f"no ticket for {sorted(expected - seen)}"
    assert FailureClass.PROBER_BLIND not in seen
    for ticket in tickets:
        if ticket.site == DEGRADING_SITE:
            continue  # slow then down: raised to the worse class's priority, checked below
        want = PRIORITY_EXCEPTIONS.get(
            (ticket.site, ticket.failure_class), DEFAULT_CLASS_PRIORITY[ticket.failure_class]
        )
        assert ticket.priority == want, (ticket.case_number, ticket.site, ticket.failure_class)


def test_degrading_site_is_one_ticket_raised_to_high(demo: DemoDesk) -> None:
    mine = [t for t in probe_tickets(demo) if t.site == DEGRADING_SITE]
    assert len(mine) == 1
    assert mine[0].priority == Priority.HIGH
    assert mine[0].failure_class == FailureClass.WP_DB_CONNECTION
    kinds = [e.kind for e in Desk(demo.store).events(mine[0].id)]
    assert "priority" in kinds and "recovered" in kinds
    assert mine[0].status == Status.RESOLVED


def test_server_outage_is_one_parent_with_its_sites_as_children(demo: DemoDesk) -> None:
    desk = Desk(demo.store)
    parents = [t for t in probe_tickets(demo) if t.failure_class == FailureClass.SERVER_OUTAGE]
    assert len(parents) == 1
    parent = parents[0]
    assert OUTAGE_SERVER in parent.subject
    outage_sites = {s.name for s in demo.fleet.sites if s.server == OUTAGE_SERVER}
    children = desk.children(parent.id)
    assert {c.site for c in children} == outage_sites
    assert all(c.status == Status.RESOLVED for c in children)


def test_flapping_site_makes_one_intermittent_ticket(demo: DemoDesk) -> None:
    mine = [
        t
        for t in probe_tickets(demo)
        if t.site == FLAPPING_SITE and family_of(t.failure_class) == "down"
    ]
    assert len(mine) == 1, [(t.case_number, t.failure_class) for t in mine]
    assert mine[0].failure_class == FailureClass.INTERMITTENT
    assert mine[0].priority == Priority.HIGH


def test_recovered_sites_untouched_tickets_are_resolved(demo: DemoDesk) -> None:
    tickets = probe_tickets(demo)
    recovered = [t for t in tickets if t.site == RECOVERING_SITE]
    assert recovered and all(t.status == Status.RESOLVED for t in recovered)
    assert all(not t.touched_by_agent for t in recovered)
    # Sites still failing keep their tickets open.
    still = [t for t in tickets if t.site == "colegio-san-jose"]
    assert still and still[0].status == Status.NEW


def scrape(url: str) -> dict[str, float]:
    """Sample lines of an exposition, summed by metric name and labels."""
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_exporter_reports_the_same_counts_as_the_store(demo: DemoDesk) -> None:
    samples = scrape(demo.exporter.url)
    open_in_metrics = sum(v for k, v in samples.items() if k.startswith("ronda_open_tickets{"))
    open_in_store = demo.store.query(
        "SELECT COUNT(*) AS n FROM tickets "
        "WHERE status IN ('new', 'open', 'pending_customer', 'reopened')"
    )[0]["n"]
    assert open_in_metrics == open_in_store
    opened_in_metrics = sum(
        v for k, v in samples.items() if k.startswith("ronda_tickets_opened_total{")
    )
    assert opened_in_metrics == demo.store.query("SELECT COUNT(*) AS n FROM tickets")[0]["n"]
    up = {k: v for k, v in samples.items() if k.startswith("ronda_site_up{")}
    # Every site but the one a firewall blocks from the start: never measured, no sample.
    assert len(up) == len(demo.fleet.sites) - 1
    assert 'ronda_site_up{site="notaria-segunda"}' not in up
    assert samples['ronda_site_blocked{site="notaria-segunda"}'] == 1.0
    down_in_store = demo.store.query(
        "SELECT COUNT(*) AS n FROM probe_state WHERE up = 0 AND site IN (SELECT name FROM sites)"
    )[0]["n"]
    assert sum(1 for v in up.values() if v == 0) == down_in_store


def test_the_mail_server_shows_each_service_class(demo: DemoDesk) -> None:
    from ronda.demo.mail_fleet import MAIL_SERVER, SERVICES

    assert demo.mail is not None
    want = {
        f"{MAIL_SERVER}/{svc.service}:{demo.mail.ports[svc.service]}": svc.expect_class
        for svc in SERVICES
    }
    rows = demo.store.query("SELECT site, failure_class FROM probe_state")
    seen = {r["site"]: r["failure_class"] for r in rows if r["site"] in want}
    assert seen == want
    samples = scrape(demo.exporter.url)
    up = {k: v for k, v in samples.items() if k.startswith("ronda_service_up{")}
    assert len(up) == len(SERVICES)
    assert sum(up.values()) == sum(1 for svc in SERVICES if not svc.expect_class.endswith("down"))


def test_summary_names_classes_and_down_sites(demo: DemoDesk) -> None:
    summary = demo.summary()
    assert "server_outage 1" in summary
    assert "intermittent 1" in summary
    assert "colegio-san-jose" in summary  # still down
    # A firewall blocking the desk is no outage: the site is listed as blocked, not down.
    sites = next(line for line in summary.splitlines() if line.startswith("sites: "))
    down, _, blocked = sites.partition(" down (")[2].partition("), ")
    assert "notaria-segunda" not in down and "colegio-san-jose" in down
    assert blocked.startswith("1 blocked (") and "notaria-segunda" in blocked
