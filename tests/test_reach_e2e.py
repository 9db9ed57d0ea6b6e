"""`ronda run` reaches people, end to end: the real daemon as a subprocess against local
failing sites (the demo fleet over HTTP and HTTPS), a real SMTP relay on 127.0.0.1 for the
customers' notices and a real HTTP server behind Apprise's `json://` for the agent on call.

What it shows: a confirmed failure tells its customer with the case number, and the agent
on call with how to open it; a server outage tells each customer once; a site in a
maintenance window tells nobody; the recovery is told once the case stayed resolved.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path

import pytest
from mailsink import Relay
from test_daemon import Daemon, wait_for
from test_outbox import Hooks

from ronda.demo.fleet import Fleet
from ronda.demo.specs import SiteSpec
from ronda.intake.parse import decode_header_value
from ronda.store import Store

pytestmark = pytest.mark.timeout(90)

DESK = "soporte@desk.example"
SPECS = (
    SiteSpec("tienda", "Tienda", "t", "Tienda Ana", "web-01", behaviour="http_500", https=False),
    SiteSpec("sano", "Sano", "t", "Tienda Ana", "web-01"),
    SiteSpec("g1", "Grupo 1", "t", "Grupo G", "web-05", behaviour="http_502"),
    SiteSpec("g2", "Grupo 2", "t", "Grupo G", "web-05", behaviour="http_502", https=False),
    SiteSpec("h1", "Hotel", "t", "Hotel H", "web-05", behaviour="http_503"),
    SiteSpec("mant", "Mantenimiento", "t", "Cliente Mant", "web-09", behaviour="http_500"),
)
CONTACTS = {
    "Tienda Ana": "ana@tienda.example",
    "Grupo G": "g@grupo.example",
    "Hotel H": "h@hotel.example",
    "Cliente Mant": "m@mant.example",
}


def config_text(fleet: Fleet, relay: Relay, hooks: Hooks) -> str:
    now = datetime.now(UTC)
    lines = [
        "[probe]\ninterval = 0.3\ndeadline = 1",
        "[incidents]\nconfirm_rounds = 2\nrecheck_immediately = false\nrecover_rounds = 2",
        f'[mail]\ndesk_address = "{DESK}"\nrelay = "{relay.address}"',
        '[notices]\ndelay = "1s"\nrecovery_after = "1s"',
        f'[[agents]]\nname = "laura"\nlang = "es"\nnotify = ["{hooks.url("/laura")}"]',
        '[oncall]\nbusiness_hours = ["laura"]\nafter_hours = ["laura"]',
    ]
    for name, contact in CONTACTS.items():
        lang = "es" if name == "Tienda Ana" else "en"
        lines.append(
            f'[[customers]]\nname = "{name}"\nemails = ["{contact}"]\nlang = "{lang}"\n'
            "notices = true"
        )
    for site in fleet.sites:
        block = (
            f'[[sites]]\nname = "{site.name}"\nurl = "{site.url}"\ncustomer = "{site.customer}"\n'
            f'server = "{site.server}"\nimpact = "high"'
        )
        if site.name == "mant":
            start, end = now - timedelta(minutes=5), now + timedelta(hours=1)
            block += (
                f'\n[[sites.maintenance]]\nstart = "{start.isoformat()}"\n'
                f'end = "{end.isoformat()}"\nreason = "plugin update"'
            )
        lines.append(block)
    lines.append(f'[tls]\nextra_ca = "{fleet.ca_pem_path}"')
    return "\n\n".join(lines) + "\n"


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[Daemon]]:
    daemons: list[Daemon] = []
    yield daemons
    for daemon in daemons:
        daemon.kill()  # by its pid


def by_recipient(relay: Relay) -> dict[str, list[Message]]:
    out: dict[str, list[Message]] = {}
    for _, rcpt, msg, _ in relay.received:
        out.setdefault(rcpt[0], []).append(msg)
    return out


def case_of(store: Store, site: str) -> str:
    [row] = store.query("SELECT case_number FROM tickets WHERE site = ?", (site,))
    return row["case_number"]


def test_ronda_run_tells_customers_and_the_agent_on_call(
    tmp_path: Path, started: list[Daemon]
) -> None:
    with Fleet(SPECS) as fleet, Relay() as relay, Hooks() as hooks:
        config = tmp_path / "ronda.toml"
        config.write_text(config_text(fleet, relay, hooks), encoding="utf-8")
        daemon = Daemon(config, tmp_path / "ronda.db", tmp_path / "run.log")
        started.append(daemon)
        wait_for(
            lambda: len(relay.received) >= 3 and len(hooks.received) >= 2,
            "the customers' notices and the agent's notifications",
            daemon=daemon,
        )
        store = Store(tmp_path / "ronda.db")
        try:
            mail = by_recipient(relay)
            # One failing site: its customer, in Spanish, with the case number.
            [tienda] = mail["ana@tienda.example"]
            case = case_of(store, "tienda")
            assert decode_header_value(tienda["Subject"]).startswith(f"[{case}] Estamos")
            assert f"Abrimos el caso {case}" in tienda.get_payload(decode=True).decode()
            # The outage of web-05: one notice per customer, each naming its own cases.
            [grupo] = mail["g@grupo.example"]
            assert "2 of your sites" in grupo["Subject"]
            assert case_of(store, "g1") in grupo.get_payload(decode=True).decode()
            assert len(mail["h@hotel.example"]) == 1
            # In maintenance: no case, and nobody told.
            assert "m@mant.example" not in mail
            assert store.query("SELECT id FROM tickets WHERE site = 'mant'") == []
            # The agent on call: the single site's case and the server's incident, once each.
            titles = [body["title"] for _, body in hooks.received]
            parent = store.query("SELECT case_number FROM tickets WHERE site IS NULL")[0]
            assert len(titles) == 2 and f"{case} nuevo (alta): Tienda Ana, tienda" in titles
            # The incident names its server and the customers failing when it opened.
            [incident] = [t for t in titles if t.startswith(f"{parent['case_number']} ")]
            assert incident.startswith(f"{parent['case_number']} nuevo (alta): ")
            assert incident.endswith(", web-05") and "Grupo G" in incident
            assert any(f":{case}" in body["message"] for _, body in hooks.received)
            # The case's history: the notice and the notification, each once.
            kinds = [
                r["kind"]
                for r in store.query(
                    "SELECT kind FROM ticket_events WHERE ticket_id = "
                    "(SELECT id FROM tickets WHERE site = 'tienda') ORDER BY id"
                )
            ]
            assert kinds.count("notice_sent") == 1 and kinds.count("notified") == 1

            # The site recovers: the case resolves, stays resolved, and the customer hears.
            fleet.set_behaviour("tienda", "ok")
            wait_for(
                lambda: len(by_recipient(relay)["ana@tienda.example"]) == 2,
                "the recovery notice",
                daemon=daemon,
            )
            recovered = by_recipient(relay)["ana@tienda.example"][1]
            assert decode_header_value(recovered["Subject"]) == (
                f"[{case}] tienda funciona de nuevo"
            )
        finally:
            store.close()
        assert len(relay.received) == 4  # nothing twice
        log = daemon.log()
        assert "outbox sender running, relay 127.0.0.1:" in log
        assert "notifier running: 1 agents, 4 customers with notices" in log
        assert "notice to ana@tienda.example sent (notice_opened:case-" in log
