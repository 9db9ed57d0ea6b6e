"""Retention: `[retention]` read with FILE:LINE errors, and applied to a real store in small
transactions; nothing a report or an open case needs goes.

The histories are written through the Desk under a hand-moved clock, as the probes and the
mail intake write them (actors "probe" and "mail"), then pruned as of a later instant.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from clocks import Clock
from polling import wait_until
from prometheus_client.parser import text_string_to_metric_families

from ronda.app.retention import RetentionThread, apply_retention
from ronda.app.service import Service, ServiceOptions
from ronda.config import Config, ConfigError, RetentionSettings, load_config
from ronda.exporter.collector import RondaCollector
from ronda.model import Impact, Priority, Source
from ronda.store import Store
from ronda.store.schema import PRUNED_MAIL_BODY
from ronda.tickets import Desk

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
SETTINGS = RetentionSettings(probe_history_days=90, mail_body_days=365)


class CountingStore(Store):
    """A real store that counts its write transactions."""

    writes = 0

    @contextmanager
    def write(self) -> Iterator:
        self.writes += 1
        with super().write() as db:
            yield db


def probe_case(desk: Desk, clock: Clock, name: str, *, notes: int = 4, resolve: bool = True):
    ticket = desk.open_ticket(
        source=Source.PROBE,
        subject=f"{name} down",
        priority=Priority.HIGH,
        impact=Impact.HIGH,
        actor="probe",
        site=name,
        dedupe_key=f"{name}:down",
        failure_class="http_500",
    )
    for i in range(notes):
        clock.advance(minutes=15)
        desk.record(ticket.id, "probe", "recurrence", f"{name}: still failing ({i})")
    desk.record(ticket.id, "probe", "recurrence", f"{name}: now http_502", failure_class="http_502")
    desk.respond(ticket.id, "ana", "we are on it")
    if resolve:
        desk.record(ticket.id, "probe", "recovered", f"{name}: recovered")
        desk.resolve(ticket.id, "probe", reason="site recovered")
    return ticket


def mail_case(desk: Desk, name: str, *, resolve: bool = True):
    ticket = desk.open_ticket(
        source=Source.EMAIL,
        subject=f"{name}: the shop is slow",
        priority=Priority.MEDIUM,
        impact=Impact.MEDIUM,
        actor="mail",
        requester=f"{name}@customer.example",
        body=f"Hello, my card number is 4111 for {name}",
    )
    desk.record(ticket.id, "mail", "email_received", f"{name}: more private detail")
    desk.respond(ticket.id, "ana", "Fixed: the cache was off")
    if resolve:
        desk.resolve(ticket.id, "ana")
    return ticket


@pytest.fixture
def desk_at(tmp_path: Path) -> tuple[CountingStore, Desk, Clock]:
    store = CountingStore(tmp_path / "ronda.db")
    clock = Clock(NOW - timedelta(days=400))
    return store, Desk(store, clock=clock), clock


def kinds(desk: Desk, ticket_id: int) -> list[tuple[str, str, str | None]]:
    return [(e.actor, e.kind, e.body) for e in desk.events(ticket_id)]


def scrape(store: Store) -> dict:
    """Every sample of a scrape but the exporter's own timing."""
    text = RondaCollector(store, lambda: NOW).render().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        if not family.name.startswith("ronda_exporter_")
        for s in family.samples
    }


def test_prunes_only_what_long_resolved_cases_no_longer_need(desk_at) -> None:
    store, desk, clock = desk_at
    old_mail = mail_case(desk, "old-mail")  # resolved 400 days ago
    old_probes = [probe_case(desk, clock, f"site-{i}") for i in range(3)]
    clock.now = NOW - timedelta(days=200)
    parent = desk.open_ticket(  # an open server incident over an old, resolved child
        source=Source.PROBE,
        subject="web-09 down",
        priority=Priority.HIGH,
        impact=Impact.HIGH,
        actor="probe",
        dedupe_key="server:web-09:down",
    )
    child = probe_case(desk, clock, "child-of-open")
    desk.link_parent(child.id, parent.id, "probe")
    still_open = probe_case(desk, clock, "still-open", resolve=False)
    clock.now = NOW - timedelta(days=100)
    recent_mail = mail_case(desk, "recent-mail")  # resolved 100 days ago: under 365
    reopened = mail_case(desk, "reopened-mail")
    desk.reopen(reopened.id, "mail", reason="the customer wrote again")
    clock.now = NOW - timedelta(days=30)
    recent_probe = probe_case(desk, clock, "recent-probe")  # resolved 30 days ago: under 90
    untouched = [child, still_open, recent_mail, reopened, recent_probe, parent]
    before = {t.id: kinds(desk, t.id) for t in untouched}
    old_before = {t.id: kinds(desk, t.id) for t in [*old_probes, old_mail]}
    tickets_before = store.query("SELECT * FROM tickets ORDER BY id")
    scraped = scrape(store)
    status_before = {t.id: store.tickets.status_changes(t.id) for t in old_probes}
    store.writes = 0

    report = apply_retention(store, SETTINGS, NOW, batch=2)

    assert (report.probe_notes, report.probe_cases) == (15, 3)  # 4 + the class change each
    assert (report.mail_bodies, report.mail_cases) == (2, 1)
    assert report.finished
    assert store.writes == 3  # batches of two cases, each one transaction
    for ticket in old_probes:
        after = kinds(desk, ticket.id)
        assert [k for k in after if k[1] == "recurrence"] == []
        kept = [k for k in old_before[ticket.id] if k[1] != "recurrence"]
        assert after[:-1] == kept  # opened, class, replied, first response, recovered, status
        assert after[-1][:2] == ("retention", "pruned")
        day = (NOW - timedelta(days=400)).date().isoformat()
        assert after[-1][2] == (
            f"5 probe recurrence notes from {day} removed ([retention] probe_history_days)"
        )
        assert store.tickets.status_changes(ticket.id) == status_before[ticket.id]
    mail_after = kinds(desk, old_mail.id)
    assert mail_after[0] == ("mail", "opened", PRUNED_MAIL_BODY)
    assert mail_after[1] == ("mail", "email_received", PRUNED_MAIL_BODY)
    assert mail_after[2:] == old_before[old_mail.id][2:]  # the desk's reply and the rest
    for ticket in untouched:
        assert kinds(desk, ticket.id) == before[ticket.id], ticket.subject
    # The cases themselves, and every number a report or a dashboard shows, are unchanged.
    assert store.query("SELECT * FROM tickets ORDER BY id") == tickets_before
    assert scrape(store) == scraped

    again = apply_retention(store, SETTINGS, NOW)  # the next day: nothing new to prune
    assert (again.probe_notes, again.mail_bodies) == (0, 0)
    assert sum(1 for k in kinds(desk, old_probes[0].id) if k[1] == "pruned") == 1


def test_the_database_still_refuses_any_other_rewrite_of_history(desk_at) -> None:
    store, desk, clock = desk_at
    old = probe_case(desk, clock, "site-a")
    mail = mail_case(desk, "m")
    live = probe_case(desk, clock, "site-b", resolve=False)
    held = {t.id: desk.events(t.id) for t in (old, mail, live)}
    attempts = [
        ("DELETE FROM ticket_events WHERE ticket_id = ? AND kind = 'replied'", old.id),
        ("DELETE FROM ticket_events WHERE ticket_id = ? AND kind = 'recurrence'", live.id),
        (
            "UPDATE ticket_events SET body = 'edited' WHERE ticket_id = ? AND actor = 'mail'",
            mail.id,
        ),
        (
            f"UPDATE ticket_events SET body = '{PRUNED_MAIL_BODY}' WHERE ticket_id = ? "
            "AND kind = 'replied'",
            mail.id,
        ),
        (
            f"UPDATE ticket_events SET body = '{PRUNED_MAIL_BODY}', actor = 'x' "
            "WHERE ticket_id = ? AND actor = 'mail'",
            mail.id,
        ),
    ]
    for sql, ticket_id in attempts:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            with store.write() as db:
                db.execute(sql, (ticket_id,))
    assert {t: desk.events(t) for t in held} == held


def test_nothing_configured_nothing_pruned(desk_at) -> None:
    store, desk, clock = desk_at
    ticket = probe_case(desk, clock, "site-a")
    held = desk.events(ticket.id)
    keep_all = RetentionSettings(site_history_days=None)  # the site history's 400 days off
    thread = RetentionThread(store, lambda: keep_all, lambda *_: pytest.fail("reported"))
    assert thread.run_once() is None
    quiet = RetentionThread(store, RetentionSettings, lambda *_: pytest.fail("reported"))
    assert quiet.run_once() is not None  # the default prunes old site history, silently
    only_mail = apply_retention(store, RetentionSettings(mail_body_days=31), NOW)
    assert only_mail.probe_notes == 0
    assert desk.events(ticket.id) == held and len(held) > 8


def test_a_stopping_daemon_ends_the_pass_between_batches(desk_at) -> None:
    store, desk, clock = desk_at
    for i in range(3):
        probe_case(desk, clock, f"site-{i}")
    asked = []

    def should_stop() -> bool:
        asked.append(1)
        return len(asked) > 2  # stop after the second batch

    report = apply_retention(store, SETTINGS, NOW, should_stop=should_stop, batch=1)
    assert (report.probe_cases, report.finished) == (2, False)
    assert "(stopped before the end)" in report.describe(SETTINGS)


def test_the_service_applies_retention_at_start(tmp_path: Path) -> None:
    """`ronda run`'s service: a pass at start, one line for the log, the config's settings."""
    store = Store(tmp_path / "ronda.db")
    clock = Clock(NOW - timedelta(days=120))
    probe_case(Desk(store, clock=clock), clock, "site-a")
    events = []
    config = Config(retention=RetentionSettings(probe_history_days=90))
    service = Service(config, store, ServiceOptions(retention=True), on_event=events.append)
    with service:
        wait_until(lambda: events, "the first retention pass", 10)
    assert [(e.kind, str(e)) for e in events] == [
        ("retention", "retention: 5 probe notes removed from 1 case resolved over 90 days ago")
    ]
    assert service.retention is not None and service.retention.passes == 1
    store.close()


def test_retention_keys_are_checked_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "ronda.toml"
    path.write_text(
        'lang = "en"\n[retention]\nprobe_history_days = 7\nmail_body_days = "1y"\nlogs = 3\n'
    )
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert error.value.problems == [
        f"{path}:3: retention.probe_history_days: 7 is not a number of days of at least 31 "
        "(expected e.g. 90; leave the key out to keep everything)",
        f"{path}:4: retention.mail_body_days: '1y' is not a number of days of at least 31 "
        "(expected e.g. 90; leave the key out to keep everything)",
        f"{path}:5: retention.logs: unknown key (expected one of probe_history_days, "
        "mail_body_days, site_history_days)",
    ]
    path.write_text("[retention]\nmail_body_days = 400\n")
    assert load_config(path).retention == RetentionSettings(mail_body_days=400)
    assert Config().retention == RetentionSettings()  # left out: everything is kept
