"""The bundled dashboards and rules against a real Prometheus scraping a real exporter.

A store is built with the Desk under an injected clock (and probe state written as the
rounds write it); `serve()` publishes it; a Prometheus (Debian package, /usr/bin) scrapes it
every second and evaluates grafana/rules.yml. Then every target of every panel of every
dashboard runs through Prometheus's HTTP API, with the template variables substituted, and
must return series; a few values are checked against the store.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from polling import wait_until

from ronda.config import Config, Customer, Site
from ronda.config.services import ServiceCheck, service_subject
from ronda.exporter.metrics import METRIC_NAMES, METRICS
from ronda.exporter.server import ExporterHandle, serve
from ronda.model import FailureClass, Impact, Priority, Source, Status
from ronda.sites import subject_label, sync_config
from ronda.sla import compliance
from ronda.store import Store
from ronda.tickets import Desk, QueueFilter

ROOT = Path(__file__).resolve().parent.parent
GRAFANA = ROOT / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
RULES = GRAFANA / "rules.yml"
PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
WAIT = 60.0  # seconds: the bound on every wait for Prometheus (a loaded CI machine)

# Wednesday 2026-11-25 10:00 in Bogota (UTC-5): inside business hours.
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def wait_for(condition: Callable[[], object], what: str, timeout: float = WAIT) -> object:
    """Poll Prometheus (or the exporter) until `condition` holds; HTTP errors mean not yet."""
    return wait_until(condition, what, timeout, poll=0.1, ignore=(httpx.HTTPError, OSError))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- the store --------------------------------------------------------------------------


def build_store(path: Path) -> tuple[Store, Desk]:
    """Known tickets and probe states: customer Acme has data for every panel."""
    clock_now = [NOW]
    store = Store(path)
    desk = Desk(store, clock=lambda: clock_now[0])
    sync_config(
        store,
        Config(
            customers=(Customer("Acme"), Customer("Bodega")),
            sites=(
                Site(
                    "tienda.acme.example",
                    "https://tienda.acme.example/",
                    "Acme",
                    "srv-1",
                    Impact.HIGH,
                ),
                Site(
                    "blog.acme.example", "https://blog.acme.example/", "Acme", "srv-1", Impact.LOW
                ),
                Site(
                    "shop.bodega.example",
                    "https://shop.bodega.example/",
                    "Bodega",
                    "srv-2",
                    Impact.HIGH,
                ),
                Site(
                    "old.bodega.example",
                    "https://old.bodega.example/",
                    "Bodega",
                    "srv-2",
                    Impact.MEDIUM,
                ),
            ),
        ),
    )

    def at(when: datetime) -> None:
        clock_now[0] = when

    def ticket(opened: datetime, **kwargs):
        values = dict(
            source=Source.EMAIL,
            subject="Caso",
            priority=Priority.HIGH,
            impact=Impact.HIGH,
            actor="mail",
            customer="Acme",
        )
        values.update(kwargs)
        at(opened)
        return desk.open_ticket(**values)

    # Open, unanswered: one breached (30 min into a 15 min limit), one fresh.
    ticket(NOW - timedelta(minutes=30))
    ticket(NOW - timedelta(minutes=1))
    # Answered: met and missed, within 7 days.
    met = ticket(NOW - timedelta(days=2), impact=Impact.MEDIUM)
    at(NOW - timedelta(days=2) + timedelta(minutes=10))
    desk.respond(met.id, "ana", "Revisando")
    # ...and its customer wrote again two hours ago: the next reply is past its 1 h limit.
    at(NOW - timedelta(hours=2))
    desk.customer_wrote(met.id, "mail", "email_received", "¿Alguna novedad?")
    missed = ticket(NOW - timedelta(days=3))
    at(NOW - timedelta(days=3) + timedelta(hours=1))
    desk.respond(missed.id, "ana", "Perdón la demora")
    # Waiting on the customer.
    paused = ticket(
        NOW - timedelta(hours=2), priority=Priority.MEDIUM, impact=Impact.MEDIUM, customer="Bodega"
    )
    at(NOW - timedelta(hours=1))
    desk.set_status(paused.id, Status.PENDING_CUSTOMER, "ana")
    # No customer.
    ticket(NOW - timedelta(hours=1), priority=Priority.LOW, impact=Impact.LOW, customer=None)
    # Probe tickets: one the probe resolved past its limit, one still open.
    down = ticket(
        NOW - timedelta(hours=5),
        source=Source.PROBE,
        actor="probe",
        failure_class=FailureClass.HTTP_500,
        site="tienda.acme.example",
    )
    at(NOW - timedelta(hours=4))
    desk.resolve(down.id, "probe")
    ticket(
        NOW - timedelta(hours=3),
        source=Source.PROBE,
        actor="probe",
        priority=Priority.LOW,
        failure_class=FailureClass.SSL_EXPIRING,
        site="shop.bodega.example",
        customer="Bodega",
    )
    at(NOW)

    now = NOW.timestamp()
    phases = {"dns": 0.003, "connect": 0.01, "tls": 0.04, "first_byte": 0.3, "transfer": 0.02}
    with store.write() as db:
        for site, up, code, cert_days, maintenance in (
            ("tienda.acme.example", 0, 500, 20, 0),
            ("blog.acme.example", 1, 200, 200, 0),
            ("shop.bodega.example", 1, 200, -2, 0),
            ("old.bodega.example", 0, None, None, 1),
        ):
            db.execute(
                "INSERT INTO probe_state (site, checked_at, up, failure_class, status_code, "
                "elapsed_ms, phases, cert_not_after, in_maintenance) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    site,
                    now - 20,
                    up,
                    None if up else "http_500",
                    code,
                    sum(phases.values()) * 1000,
                    json.dumps(phases),
                    None if cert_days is None else now + cert_days * 86400,
                    maintenance,
                ),
            )
            db.execute("INSERT INTO probe_rounds VALUES (?, 120)", (site,))
        db.execute("INSERT INTO probe_failures VALUES ('tienda.acme.example', 'http_500', 6)")
        db.execute("INSERT INTO probe_failures VALUES ('blog.acme.example', 'slow', 2)")
        db.execute("INSERT INTO probe_failures VALUES ('old.bodega.example', 'refused', 9)")
        every = json.dumps(["core", "php", "mixed_content", "php_warnings", "images", "rest_api"])
        for site, outdated, eol_days, failing in (
            ("tienda.acme.example", 1, -300, ["core", "rest_api"]),
            ("blog.acme.example", 0, 20, ["php"]),
            ("shop.bodega.example", 0, 400, []),
        ):
            db.execute(
                "INSERT INTO wordpress_health (site, checked_at, core_version, core_latest, "
                "core_outdated, php_version, php_eol_at, checks, failing) "
                "VALUES (?,?,?,?,?,?,?,?,?)",
                (site, now - 20, "6.5.5" if outdated else "6.7.1", "6.7.1", outdated,
                 "8.1.2", now + eol_days * 86400, every, json.dumps(failing)),
            )  # fmt: skip
    # Customer domains: one healthy and far from expiry, one expiring with its mail broken.
    store.domains.sync([("acme.example", "Acme"), ("bodega.example", "Bodega")])
    store.domains.save_expiry("acme.example", now + 200 * 86400, "rdap", "", now - 60)
    store.domains.save_expiry("bodega.example", now + 5 * 86400, "whois", "", now - 60)
    store.domains.save_dns("acme.example", dict.fromkeys(("resolves", "mx", "spf"), True), now)
    store.domains.save_dns("bodega.example", {"resolves": True, "mx": False, "dmarc": False}, now)
    # A mail server's services as the rounds store them: one down, one certificate expiring,
    # an SSH banner; one server in maintenance.
    subjects = tuple(
        service_subject(ServiceCheck(server, service, "mail.example", port))
        for server, service, port in (
            ("mail-1", "smtp", 25),
            ("mail-1", "submission", 587),
            ("mail-1", "imaps", 993),
            ("mail-1", "ssh", 22),
            ("mail-2", "smtp", 25),
        )
    )
    store.subjects.sync((s.name, s.kind, s.server, subject_label(s), None) for s in subjects)
    with store.write() as db:
        for subject, up, cert_days, maintenance in zip(
            subjects, (1, 0, 1, 1, 0), (200, 200, 5, None, 90), (0, 0, 0, 0, 1), strict=True
        ):
            db.execute(
                "INSERT INTO probe_state (site, checked_at, up, failure_class, elapsed_ms, "
                "cert_not_after, in_maintenance) VALUES (?,?,?,?,?,?,?)",
                (
                    subject.name,
                    now - 30,
                    up,
                    None if up else "mail_down",
                    12.0,
                    None if cert_days is None else now + cert_days * 86400,
                    maintenance,
                ),
            )
    return store, desk


# ---- Prometheus -------------------------------------------------------------------------


@dataclass
class World:
    store: Store
    desk: Desk
    exporter: ExporterHandle
    api: str

    def query(self, expr: str) -> list[dict]:
        response = httpx.get(f"{self.api}/api/v1/query", params={"query": expr}, timeout=30)
        body = response.json()
        assert response.status_code == 200 and body["status"] == "success", (expr, body)
        return body["data"]["result"]

    def scalar(self, expr: str) -> float:
        result = self.query(expr)
        assert len(result) == 1, (expr, result)
        return float(result[0]["value"][1])


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    wait_for(lambda: Path(PROMETHEUS).exists() and Path(PROMTOOL).exists(), "prometheus package")
    tmp = tmp_path_factory.mktemp("prometheus")
    store, desk = build_store(tmp / "ronda.db")
    exporter = serve(store, "127.0.0.1:0", clock=lambda: NOW)
    port = free_port()
    config = tmp / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files:\n  - {json.dumps(str(RULES))}\n"
        "scrape_configs:\n  - job_name: ronda\n    scrape_interval: 1s\n"
        f"    scrape_timeout: 1s\n    static_configs:\n      - targets: ['{exporter.address}']\n"
    )
    log = (tmp / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    world = World(store, desk, exporter, f"http://127.0.0.1:{port}")
    try:
        wait_for(
            lambda: (
                process.poll() is None
                and httpx.get(f"{world.api}/-/ready", timeout=2).status_code == 200
            ),
            "Prometheus to be ready (see prometheus.log)",
        )
        # Enough scrapes for rate() over any window, and the rules evaluated on them.
        wait_for(
            lambda: world.query("count_over_time(ronda_exporter_scrape_errors_total[1m]) >= 3"),
            "three scrapes of the exporter",
        )
        wait_for(
            lambda: world.query("ronda:first_response_misses:ratio_rate5m"),
            "the recording rules",
        )
        yield world
    finally:
        process.terminate()  # by its pid, the one we started
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
        exporter.stop()
        store.close()


# ---- the panels -------------------------------------------------------------------------


def panel_targets() -> list[tuple[str, str, str, str]]:
    """(dashboard file, panel title, refId, expr) of every target of every panel."""
    out = []
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                out.append((path.name, panel["title"], target["refId"], target["expr"]))
    return out


TARGETS = panel_targets()
VARIABLES = {
    "all": {"customer": ".*", "priority": ".*"},
    "Acme/high": {"customer": "Acme", "priority": "high"},
}
GRAFANA_VALUES = {
    "datasource": "ronda-prometheus",
    "slo": "0.95",
    "__rate_interval": "1m",
    "__interval": "1m",
    "__range": "1h",
}


def substitute(expr: str, values: dict[str, str]) -> str:
    """Grafana's variable syntaxes ($var, ${var}, ${var:fmt}) -> values; unknown ones fail."""

    def replace(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        assert name in values, f"unknown template variable ${name} in {expr}"
        return values[name]

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", replace, expr)


def test_the_dashboards_have_targets() -> None:
    assert {p.name for p in DASHBOARDS} == {
        "sla-compliance.json",
        "site-health.json",
        "mail-and-domains.json",
    }
    assert len(TARGETS) >= 30


@pytest.mark.parametrize("variant", sorted(VARIABLES))
@pytest.mark.parametrize(
    ("dashboard", "title", "ref", "expr"), TARGETS, ids=[f"{d}:{t}:{r}" for d, t, r, _ in TARGETS]
)
def test_every_panel_query_returns_series(
    world: World, dashboard: str, title: str, ref: str, expr: str, variant: str
) -> None:
    query = substitute(expr, {**GRAFANA_VALUES, **VARIABLES[variant]})
    result = world.query(query)
    assert result, f"{dashboard} / {title} / {ref}: no series for {query}"


# ---- values against the store -----------------------------------------------------------


def test_open_ticket_count_matches_the_store(world: World) -> None:
    open_tickets = world.desk.queue(QueueFilter(view="open", limit=1000))
    assert world.scalar("sum(ronda_open_tickets)") == len(open_tickets) == 7
    by_state: dict[str, int] = {}
    for t in open_tickets:
        state = str(world.desk.sla_state(t, NOW))
        by_state[state] = by_state.get(state, 0) + 1
    for row in world.query("sum by (sla_state) (ronda_open_tickets)"):
        assert float(row["value"][1]) == by_state.pop(row["metric"]["sla_state"])
    assert not by_state
    assert world.scalar('sum(ronda_open_tickets{customer="Acme"})') == 4


def test_compliance_ratio_matches_the_store(world: World) -> None:
    tickets = world.desk.queue(QueueFilter(view="all", limit=1000))
    # The probe resolved its own ticket past the limit: a miss the records must show too.
    records = [
        (t.priority, t.impact, t.sla_limit_at, t.first_response_at)
        for t in tickets
        if t.status in (Status.NEW, Status.OPEN, Status.REOPENED)
        or t.first_response_at is not None
        or (t.source == Source.PROBE and t.status == Status.RESOLVED)
    ]
    for window, days in (("7d", 7), ("30d", 30)):
        expected = compliance(records, NOW - timedelta(days=days), NOW)
        for (priority, impact), result in expected.items():
            got = world.scalar(
                f'ronda_sla_compliance_ratio{{priority="{priority}", impact="{impact}", '
                f'window="{window}"}}'
            )
            assert got == pytest.approx(result.ratio), (priority, impact, window)
    # high/high over 30 days: the breached one and the late answer missed, the probe's too.
    assert world.scalar(
        'ronda_sla_compliance_ratio{priority="high", impact="high", window="30d"}'
    ) == pytest.approx(0.0)
    assert world.scalar(
        'ronda_sla_compliance_ratio{priority="high", impact="medium", window="30d"}'
    ) == pytest.approx(1.0)
    # The recording rule over the same gauges: 1 met of 4 due.
    assert world.scalar("ronda:first_response_compliance:ratio30d") == pytest.approx(0.25)


def test_next_replies_are_their_own_series(world: World) -> None:
    assert world.scalar('sum(ronda_open_tickets{clock="next_response"})') == 1
    breached = 'sum(ronda_open_tickets{clock="next_response", sla_state="breached"})'
    assert world.scalar(breached) == 1
    assert world.scalar("ronda:next_response_compliance:ratio30d") == pytest.approx(0.0)
    assert world.scalar(
        'ronda_sla_next_response_compliance_ratio{priority="high", impact="medium", window="30d"}'
    ) == pytest.approx(0.0)
    # Every customer with a site has a compliance, from the start.
    customers = {
        row["metric"]["customer"]
        for row in world.query('ronda_sla_customer_compliance_ratio{window="30d"}')
    }
    assert {"Acme", "Bodega"} <= customers


def test_site_values_match_the_probe_state(world: World) -> None:
    assert world.scalar("count(ronda_site_up == 0)") == 2
    assert world.scalar('ronda_site_http_status_code{site="tienda.acme.example"}') == 500
    days_left = world.scalar(
        '(ronda_site_cert_expiry_timestamp_seconds{site="shop.bodega.example"} '
        f"- {NOW.timestamp()}) / 86400"
    )
    assert days_left == pytest.approx(-2)  # expired, and still reported
    acme = 'ronda_site_info{customer="Acme"}'
    assert world.scalar(f"sum(ronda_probe_failures_total * on (site) group_left () {acme})") == 8


def test_domain_values_match_the_store(world: World) -> None:
    days = world.query(f"(ronda_domain_expiry_timestamp_seconds - {NOW.timestamp()}) / 86400")
    assert {r["metric"]["domain"]: round(float(r["value"][1])) for r in days} == {
        "acme.example": 200,
        "bodega.example": 5,
    }
    failing = world.query("min by (domain) (ronda_dns_check_ok) == 0")
    assert [r["metric"]["domain"] for r in failing] == ["bodega.example"]
    assert world.scalar('count(ronda_dns_check_ok{domain="bodega.example"} == 0)') == 2


# ---- rules ------------------------------------------------------------------------------


def recorded_names() -> list[str]:
    return re.findall(r"^\s*- record:\s*(\S+)\s*$", RULES.read_text(), flags=re.M)


def test_wordpress_values_match_the_store(world: World) -> None:
    assert world.scalar('ronda_wordpress_outdated{site="tienda.acme.example"}') == 1.0
    assert world.scalar("count(ronda_wordpress_outdated == 1)") == 1
    eol = world.scalar('ronda_php_eol_timestamp_seconds{site="blog.acme.example"}')
    assert eol == NOW.timestamp() + 20 * 86400
    failing = {
        (r["metric"]["site"], r["metric"]["check"])
        for r in world.query("ronda_wordpress_check_failing == 1")
    }
    assert failing == {
        ("tienda.acme.example", "core"),
        ("tienda.acme.example", "rest_api"),
        ("blog.acme.example", "php"),
    }
    assert world.scalar("count(ronda_wordpress_check_failing)") == 18  # 3 sites x 6 checks


def test_recording_rules_produce_series(world: World) -> None:
    names = recorded_names()
    assert "ronda:first_response_misses:ratio_rate1h" in names
    for name in names:
        assert re.fullmatch(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", name), name  # level:metric:op
        wait_for(lambda name=name: world.query(name), f"recording rule {name}")
    assert world.scalar("ronda:first_response_error_budget:remaining30d") == pytest.approx(-14)
    assert math.isnan(world.scalar("ronda:first_response_misses:ratio_rate1h"))  # no change


def test_server_rules_count_down_sites_outside_maintenance(world: World) -> None:
    """What RondaServerDown (and Alertmanager's inhibition) reads: srv-1 has one of two
    sites down; srv-2's down site is in maintenance, so srv-2 has none."""
    wait_for(lambda: world.query("server:sites_down:count"), "server:sites_down:count")
    down = {
        r["metric"]["server"]: float(r["value"][1]) for r in world.query("server:sites_down:count")
    }
    assert down == {"srv-1": 1.0}
    sites = {r["metric"]["server"]: float(r["value"][1]) for r in world.query("server:sites:count")}
    assert sites == {"srv-1": 2.0, "srv-2": 2.0}
    assert world.scalar("ronda_prober_blind") == 0  # the desk sees


def test_alert_rules_are_loaded(world: World) -> None:
    body = httpx.get(f"{world.api}/api/v1/rules", timeout=10).json()
    alerts = {
        rule["name"]
        for group in body["data"]["groups"]
        for rule in group["rules"]
        if rule["type"] == "alerting"
    }
    assert {
        "RondaFirstResponseMissed",
        "RondaNextRepliesBreached",
        "RondaErrorBudgetBurnFast",
        "RondaErrorBudgetBurnSlow",
        "RondaSiteDown",
        "RondaCertificateExpiringSoon",
        "RondaCertificateExpired",
        "RondaServerDown",
        "RondaProberBlind",
        "RondaSiteFlaggedUnsafe",
        "RondaProbesBlocked",
        "RondaDomainExpiring",
        "RondaMailDown",
    } <= alerts
    assert all(
        rule.get("health") == "ok" for group in body["data"]["groups"] for rule in group["rules"]
    ), body
    # The site-down alert's expression finds the down site outside maintenance only.
    down = world.query(
        "(ronda_site_up == 0 unless on (site) ronda_site_in_maintenance == 1) "
        "* on (site) group_left (customer, server, impact) ronda_site_info"
    )
    assert [row["metric"]["site"] for row in down] == ["tienda.acme.example"]
    # The mail-down alert's expression: the down service outside maintenance only (mail-2's
    # is in a window; SSH is not mail).
    mail = world.query(
        '(ronda_service_up{service=~"(smtp|submission|smtps|imap|imaps|pop3|pop3s|webmail)'
        ':[0-9]+"} == 0) unless on (server, service) ronda_service_in_maintenance == 1'
    )
    assert [(r["metric"]["server"], r["metric"]["service"]) for r in mail] == [
        ("mail-1", "submission:587")
    ]


def test_service_values_match_the_probe_state(world: World) -> None:
    up = {
        r["metric"]["service"]: float(r["value"][1])
        for r in world.query('ronda_service_up{server="mail-1"}')
    }
    assert up == {"smtp:25": 1.0, "submission:587": 0.0, "imaps:993": 1.0, "ssh:22": 1.0}
    days = world.scalar("min((ronda_service_cert_expiry_timestamp_seconds - time()) / 86400)")
    assert days < 5  # imaps' certificate, five days left at NOW (Prometheus runs later)


def test_promtool_checks_rules_and_config() -> None:
    for args in (
        ["check", "rules", str(RULES)],
        ["check", "config", str(GRAFANA / "prometheus.yml")],
    ):
        result = subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "SUCCESS" in result.stdout + result.stderr


# ---- the files as Grafana and ops read them ---------------------------------------------


def test_queries_use_only_contract_metrics_and_recorded_rules() -> None:
    histograms = {s.name for s in METRICS if s.kind == "histogram"}
    allowed = set(METRIC_NAMES) | {
        f"{h}{suffix}" for h in histograms for suffix in ("_bucket", "_count", "_sum")
    }
    recorded = set(recorded_names())
    texts = [expr for *_, expr in TARGETS] + [RULES.read_text()]
    for text in texts:
        for name in re.findall(r"\bronda_[a-z0-9_]+", text):
            assert name in allowed, f"{name} is not an exporter metric"
        for name in re.findall(r"\bronda:[a-z0-9_]+:[a-z0-9_]+", text):
            assert name in recorded or text is texts[-1], f"{name} is not recorded"


def test_dashboards_are_well_formed_for_grafana() -> None:
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"].startswith("ronda-") and dashboard["title"]
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        if path.name == "sla-compliance.json":
            assert dashboard["title"] == "SLA compliance"
            assert variables["priority"]["allValue"] == ".*"
        elif path.name == "mail-and-domains.json":
            assert dashboard["title"] == "Mail and domains"  # servers' and domains' own
            # Each row keeps to its own ids and rows (the domains' from 100).
            domain_panels = [p for p in dashboard["panels"] if p["id"] >= 100]
            assert domain_panels and all(p["gridPos"]["y"] >= 100 for p in domain_panels)
        else:
            assert dashboard["title"] == "Site health"
        assert variables["customer"]["allValue"] == ".*"
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids))
        cells: set[tuple[int, int]] = set()
        for panel in dashboard["panels"]:
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            defaults = panel["fieldConfig"]["defaults"]
            assert defaults.get("unit"), f"{panel['title']}: no unit"
            assert defaults["thresholds"]["steps"][0]["value"] is None  # a base colour
            assert panel.get("description"), panel["title"]
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == "${datasource}"
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24
            mine = {
                (x, y)
                for x in range(grid["x"], grid["x"] + grid["w"])
                for y in range(grid["y"], grid["y"] + grid["h"])
            }
            assert not cells & mine, f"{panel['title']} overlaps another panel"
            cells |= mine


def test_compose_and_provisioning_stay_on_loopback() -> None:
    compose = (GRAFANA / "docker-compose.yml").read_text()
    assert "--web.listen-address=127.0.0.1:9090" in compose
    assert "GF_SERVER_HTTP_ADDR: 127.0.0.1" in compose
    assert "0.0.0.0" not in compose
    for line in re.findall(r"^\s*-\s*\"?(\d[\d.:]*)\"?\s*$", compose, flags=re.M):
        assert line.startswith("127.0.0.1:"), f"port published beyond loopback: {line}"
    assert "./rules.yml:/etc/prometheus/rules.yml" in compose
    assert 'targets: ["127.0.0.1:9464"]' in (GRAFANA / "prometheus.yml").read_text()
    datasource = (GRAFANA / "provisioning/datasources/prometheus.yml").read_text()
    assert "url: http://127.0.0.1:9090" in datasource and "uid: ronda-prometheus" in datasource
    provider = (GRAFANA / "provisioning/dashboards/ronda.yml").read_text()
    assert "path: /var/lib/grafana/dashboards/ronda" in provider
    assert "./dashboards:/var/lib/grafana/dashboards/ronda" in compose
    assert shutil.which("promtool") or Path(PROMTOOL).exists()
