"""A desk with known history for the status page tests: two customers (es, en), 90 days
of site history with a gap and a maintenance day, an open incident with internal evidence,
notes and a public update, and resolved incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ronda.config import Config, Customer, Site, StatusPageSettings
from ronda.model import FailureClass, Impact, Priority, Source
from ronda.sla import SlaPolicy
from ronda.store import Store
from ronda.store.history import load_history
from ronda.store.probes import ProbeStateRow
from ronda.tickets import Desk
from ronda.uptime import Interval
from tests.clocks import Clock

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # 10:00 in Bogotá
DAY = 86400.0
T = NOW.timestamp()
M = datetime(2026, 11, 20, tzinfo=ZoneInfo("America/Bogota")).timestamp()  # local midnight
# What must never reach a customer's page: evidence, headers, addresses, notes, mail.
SECRETS = (
    "X-Internal-Trace",
    "10.20.30.40",
    "PHP Fatal error in /var/www",
    "AGENT NOTE: the customer's plugin again",
    "ana.private@cliente.example",
    "wp-admin/secret-path",
    "web-04",
)


def config(tmp_path: Path, **status: object) -> Config:
    return Config(
        path=tmp_path / "ronda.toml",
        customers=(Customer("Tienda Ana", lang="es"), Customer("Bob Ltd", lang="en")),
        sites=(
            Site(
                "tienda-ana", "https://tienda-ana.example/", customer="Tienda Ana", server="web-04"
            ),
            Site("blog-ana", "https://blog-ana.example/", customer="Tienda Ana", server="web-04"),
            Site("shop-b", "https://shop-b.example/", customer="Bob Ltd"),
        ),
        status_page=StatusPageSettings(**status),  # type: ignore[arg-type]
    )


def probe_state(store: Store, site: str, at: float, up: bool, maintenance: bool = False) -> None:
    row = ProbeStateRow(
        site, at, up, "ok" if up else "http_500", 200, 12.0, "{}", None, None, maintenance, "{}"
    )
    store.probes.write_round([row], {}, {site: 1})


def build_desk(tmp_path: Path) -> tuple[Store, Desk, Config]:
    """A store with 90 days of history, incidents, notes and public updates."""
    store = Store(tmp_path / "ronda.db")
    cfg = config(tmp_path)
    clock = Clock(NOW - timedelta(hours=3))
    desk = Desk(store, SlaPolicy.from_config(cfg), clock=clock)
    # History: tienda-ana up for 89 days, down 2 h this morning (still down), maintenance
    # one day; a gap of two days where Ronda was stopped. blog-ana up. shop-b up.
    load_history(
        store,
        [
            ("tienda-ana", Interval(T - 89 * DAY, M - 40 * DAY, "up")),
            ("tienda-ana", Interval(M - 38 * DAY, M - 10 * DAY, "up")),  # 2 days unmeasured
            ("tienda-ana", Interval(M - 10 * DAY, M - 9 * DAY, "maintenance")),
            ("tienda-ana", Interval(M - 9 * DAY, T - 3 * 3600, "up")),
            ("tienda-ana", Interval(T - 3 * 3600, T - 30, "down", "http_500")),
            ("blog-ana", Interval(T - 89 * DAY, T - 30, "up")),
            ("shop-b", Interval(T - 89 * DAY, T - 30, "up")),
        ],
    )
    probe_state(store, "tienda-ana", T - 30, False)
    probe_state(store, "blog-ana", T - 30, True)
    probe_state(store, "shop-b", T - 30, True)
    ticket = desk.open_ticket(
        source=Source.PROBE,
        subject="tienda-ana: HTTP 500 on https://tienda-ana.example/wp-admin/secret-path",
        priority=Priority.HIGH,
        impact=Impact.HIGH,
        actor="probe",
        failure_class=FailureClass.HTTP_500,
        site="tienda-ana",
        customer="Tienda Ana",
        requester="ana.private@cliente.example",
        dedupe_key="tienda-ana:down",
        evidence={
            "peer": "10.20.30.40",
            "headers": {"X-Internal-Trace": "abc"},
            "body_excerpt": "PHP Fatal error in /var/www",
        },
        body="PHP Fatal error in /var/www on web-04",
    )
    desk.note(ticket.id, "ana", "AGENT NOTE: the customer's plugin again")
    clock.advance(minutes=30)
    desk.public_update(
        ticket.id, "ana", "Estamos restaurando la base de datos.\n<script>x</script>"
    )
    # A resolved incident of shop-b last week, and an old one (out of the recent window).
    clock.now = NOW - timedelta(days=6)
    old = desk.open_ticket(
        source=Source.PROBE,
        subject="shop-b: timeout",
        priority=Priority.HIGH,
        impact=Impact.MEDIUM,
        actor="probe",
        failure_class=FailureClass.TIMEOUT,
        site="shop-b",
        customer="Bob Ltd",
        dedupe_key="shop-b:down",
    )
    desk.public_update(old.id, "bob", "The provider fixed a network fault.")
    clock.advance(minutes=75)
    desk.resolve(old.id, "probe", reason="recovered")
    clock.now = NOW - timedelta(days=60)
    ancient = desk.open_ticket(
        source=Source.PROBE,
        subject="shop-b: dns",
        priority=Priority.HIGH,
        impact=Impact.MEDIUM,
        actor="probe",
        failure_class=FailureClass.DNS,
        site="shop-b",
        customer="Bob Ltd",
        dedupe_key="shop-b:down",
    )
    clock.advance(hours=1)
    desk.resolve(ancient.id, "probe", reason="recovered")
    return store, desk, cfg
