"""A server's mail services through the rounds, against a real Postfix on 127.0.0.1: cases
open once confirmed (e-mail category), a Postfix that stops is one server incident with the
services' cases under it, and the exporter publishes each service's state and certificate."""

from __future__ import annotations

from datetime import UTC, datetime

import mailservers
from clocks import Clock, FakeClock
from mailservers import MAIL_HOST
from prometheus_client.parser import text_string_to_metric_families

from ronda.checks.rounds import RoundRunner
from ronda.checks.scheduler import Scheduler
from ronda.checks.subjects import CheckContext
from ronda.config import Config, IncidentSettings
from ronda.config.services import ServiceCheck, service_subject
from ronda.exporter import RondaCollector
from ronda.model import FailureClass as FC
from ronda.model import Source
from ronda.sites import sync_config

LISTENERS = {
    "smtp": ("valid", "starttls"),
    "submission": ("valid", "encrypt"),
    "smtps": ("valid", "wrapper"),
    "expired": ("expired", "starttls"),
}


def subjects_for(ports: dict[str, int]) -> tuple:
    def one(name: str, service: str, tls: str):
        check = ServiceCheck(
            server="mail-1",
            service=service,
            host="127.0.0.1",
            port=ports[name],
            tls=tls,
            tls_name=MAIL_HOST,
            deadline=3.0,
        )
        return service_subject(check, customer="Acme", interval=60.0)

    return (
        one("smtp", "smtp", "starttls"),
        one("submission", "submission", "starttls"),
        one("smtps", "smtps", "implicit"),
        one("expired", "smtp", "starttls"),
    )


def scrape(store, clock) -> dict:
    collector = RondaCollector(store, clock)
    try:
        text = collector.render().decode()
    finally:
        collector.close()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, s.labels.get("service"))] = (s.value, s.labels)
    return out


async def test_mail_services_through_rounds_cases_server_incident_and_metrics(
    store, tmp_path
) -> None:
    certs = mailservers.make_certs(tmp_path / "certs")
    wall = Clock(datetime.now(UTC))
    clock = FakeClock(0.0)
    with mailservers.postfix(tmp_path / "postfix", certs, LISTENERS) as ports:
        subjects = subjects_for(ports)
        config = Config(
            subjects=subjects,
            incidents=IncidentSettings(outage_min_sites=3),
        )
        sync_config(store, config)
        runner = RoundRunner(store, config, clock=wall)
        scheduler = Scheduler(
            config,
            runner,
            lambda site: None,
            clock=clock,
            wall=wall,
            context=CheckContext(extra_ca=certs.ca_file, clock=wall),
        )

        async def one_round() -> None:
            clock.now += 60.0
            wall.advance(seconds=60)
            assert await scheduler.run_due() == len(subjects)

        await one_round()  # the expired certificate: confirmed by the immediate re-check
        tickets = store.tickets.by_source(Source.PROBE)
        assert [(t.site, t.failure_class, t.category) for t in tickets] == [
            (f"mail-1/smtp:{ports['expired']}", FC.MAIL_TLS_EXPIRED, "email")
        ]
        assert tickets[0].evidence["extra"]["cert"]["days_left"] < 0
        assert tickets[0].customer == "Acme"

        metrics = scrape(store, wall)
        up = metrics[("ronda_service_up", f"smtp:{ports['smtp']}")]
        assert up[0] == 1.0 and up[1]["server"] == "mail-1"
        assert metrics[("ronda_service_up", f"smtps:{ports['smtps']}")][0] == 1.0
        expiry = metrics[("ronda_service_cert_expiry_timestamp_seconds", f"smtp:{ports['smtp']}")]
        assert expiry[0] > wall.now.timestamp() + 300 * 86400
        expired = f"smtp:{ports['expired']}"
        assert metrics[("ronda_service_cert_expiry_timestamp_seconds", expired)][0] < (
            wall.now.timestamp()
        )

    # Postfix stopped: every service down at once is one incident of the server's mail.
    await one_round()
    await one_round()
    tickets = store.tickets.by_source(Source.PROBE)
    parents = [t for t in tickets if t.failure_class == FC.SERVER_OUTAGE]
    assert len(parents) == 1
    assert parents[0].dedupe_key == "server:mail-1/mail:down"
    downs = [t for t in tickets if t.failure_class == FC.MAIL_DOWN]
    assert len(downs) == 4 and all(t.parent_id == parents[0].id for t in downs)
    assert all(t.category == "email" for t in downs)
    metrics = scrape(store, wall)
    assert metrics[("ronda_service_up", f"smtp:{ports['smtp']}")][0] == 0.0
