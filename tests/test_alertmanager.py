"""grafana/alertmanager.yml with a real Alertmanager (Debian package prometheus-alertmanager):
amtool checks the file and its routes; then an Alertmanager on 127.0.0.1, fed alerts through
its v2 API, must notify a local webhook once per server outage and once per (server,
customer) of lone sites, and hold back site alerts while their server's alert, or the
desk's blindness, fires.

The running copy differs from the file only in its receivers' URLs (the test's own webhook)
and its group_wait (1 s instead of 30 s), so nothing waits long.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from polling import wait_until

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "grafana" / "alertmanager.yml"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
AMTOOL = "/usr/bin/amtool"
WAIT = 30.0  # seconds: the bound on every wait (a loaded CI machine)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def amtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([AMTOOL, *args], capture_output=True, text=True, timeout=60)


# ---- the file, as amtool reads it ---------------------------------------------------------


def test_amtool_accepts_the_config() -> None:
    result = amtool("check-config", str(CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout and "2 inhibit rules" in result.stdout


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["severity=page", "alertname=RondaSiteDown", "server=web-1", "customer=Acme"], "page"),
        (["severity=page", "alertname=RondaServerDown", "server=web-1"], "page"),
        (["severity=page", "alertname=RondaProberBlind"], "page"),
        (["severity=ticket", "alertname=RondaTicketsBreached"], "ticket"),
        (["alertname=SomethingElse"], "ticket"),
    ],
)
def test_routes_send_pages_and_tickets_to_their_receivers(labels: list[str], receiver: str) -> None:
    result = amtool("config", "routes", "test", f"--config.file={CONFIG}", *labels)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [receiver]


def test_compose_runs_it_on_loopback_and_prometheus_sends_to_it() -> None:
    compose = (ROOT / "grafana" / "docker-compose.yml").read_text()
    assert "--web.listen-address=127.0.0.1:9093" in compose
    assert "--cluster.listen-address=\n" in compose  # no gossip port on every interface
    assert "./alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro" in compose
    prometheus = (ROOT / "grafana" / "prometheus.yml").read_text()
    assert 'alertmanagers:\n    - static_configs:\n        - targets: ["127.0.0.1:9093"]' in (
        prometheus
    )


# ---- a real Alertmanager ------------------------------------------------------------------


class Sink:
    """A webhook receiver on 127.0.0.1 keeping every notification (path, JSON body)."""

    def __init__(self) -> None:
        self.got: list[tuple[str, dict]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                sink.got.append((self.path, json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def firing(self, path: str) -> list[dict]:
        return [body for p, body in list(self.got) if p == path and body["status"] == "firing"]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def running_copy(sink: Sink) -> str:
    """The file with the test's webhook and a short group_wait; everything else as written."""
    text = CONFIG.read_text()
    text, urls = re.subn(r"http://127\.0\.0\.1:9099/", sink.url, text)
    text, waits = re.subn(r"group_wait: 30s", "group_wait: 1s", text)
    assert (urls, waits) == (2, 1), "alertmanager.yml changed shape: update this test"
    return text


class Alertmanager:
    def __init__(self, api: str, post: Callable[[list[dict]], None]) -> None:
        self.api = api
        self.post = post

    def alerts(self, alertname: str) -> dict[str, dict]:
        """label `site` (or `server`) -> the alert's status, as Alertmanager has it."""
        response = httpx.get(
            f"{self.api}/api/v2/alerts", params={"filter": f'alertname="{alertname}"'}, timeout=5
        )
        response.raise_for_status()
        return {
            a["labels"].get("site") or a["labels"].get("server", ""): a["status"]
            for a in response.json()
        }


@pytest.fixture
def sink() -> Iterator[Sink]:
    sink = Sink()
    yield sink
    sink.close()


@pytest.fixture
def alertmanager(tmp_path: Path, sink: Sink) -> Iterator[Alertmanager]:
    wait_until(lambda: Path(ALERTMANAGER).exists(), "the prometheus-alertmanager package", 1)
    config = tmp_path / "alertmanager.yml"
    config.write_text(running_copy(sink))
    port = free_port()
    log = (tmp_path / "alertmanager.log").open("wb")
    process = subprocess.Popen(
        [
            ALERTMANAGER,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # one instance: no gossip port
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    api = f"http://127.0.0.1:{port}"

    def post(alerts: list[dict]) -> None:
        now = datetime.now(UTC)
        body = [
            {
                "labels": labels,
                "annotations": {"summary": labels["alertname"]},
                "startsAt": now.isoformat(),
                "endsAt": (now + timedelta(hours=1)).isoformat(),
            }
            for labels in alerts
        ]
        httpx.post(f"{api}/api/v2/alerts", json=body, timeout=5).raise_for_status()

    try:
        wait_until(
            lambda: process.poll() is None and httpx.get(f"{api}/-/ready", timeout=2).is_success,
            "Alertmanager to be ready (see alertmanager.log)",
            WAIT,
            poll=0.1,
            ignore=(httpx.HTTPError,),
        )
        yield Alertmanager(api, post)
    finally:
        process.terminate()  # by the pid we started
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def site_down(site: str, server: str, customer: str) -> dict:
    return {
        "alertname": "RondaSiteDown",
        "severity": "page",
        "site": site,
        "server": server,
        "customer": customer,
        "impact": "high",
    }


def server_down(server: str) -> dict:
    return {"alertname": "RondaServerDown", "severity": "page", "server": server}


def groups(notifications: list[dict]) -> dict[tuple[str, ...], list[str]]:
    """Group labels -> the sites (or servers) of each notification."""
    return {
        tuple(sorted(n["groupLabels"].values())): sorted(
            a["labels"].get("site") or a["labels"]["server"] for a in n["alerts"]
        )
        for n in notifications
    }


def test_one_notification_per_server_outage_and_per_customer_of_lone_sites(
    alertmanager: Alertmanager, sink: Sink
) -> None:
    alertmanager.post(
        [
            server_down("web-1"),
            site_down("a1", "web-1", "Acme"),
            site_down("a2", "web-1", "Acme"),
            site_down("b1", "web-1", "Bodega"),
            site_down("c1", "web-2", "Cafe"),
            site_down("d1", "web-3", "Dental"),
            site_down("d2", "web-3", "Dental"),
            {"alertname": "RondaTicketsBreached", "severity": "ticket", "priority": "medium"},
        ]
    )
    wait_until(
        lambda: len(sink.firing("/alerts/page")) >= 3 and sink.firing("/alerts/ticket"),
        "the page and ticket notifications",
        WAIT,
        poll=0.05,
    )
    # The web-1 sites are held back by their server's alert, which Alertmanager says too.
    held = wait_until(
        lambda: (
            (s := alertmanager.alerts("RondaSiteDown"))
            and all(s[n]["state"] == "suppressed" for n in ("a1", "a2", "b1"))
            and s
        ),
        "web-1's site alerts suppressed",
        WAIT,
        poll=0.05,
    )
    assert all(held[n]["inhibitedBy"] for n in ("a1", "a2", "b1"))
    assert held["c1"]["state"] == "active" and not held["c1"]["inhibitedBy"]
    assert groups(sink.firing("/alerts/page")) == {
        ("RondaServerDown", "web-1"): ["web-1"],
        ("Cafe", "RondaSiteDown", "web-2"): ["c1"],
        ("Dental", "RondaSiteDown", "web-3"): ["d1", "d2"],
    }
    (ticket,) = sink.firing("/alerts/ticket")
    assert ticket["receiver"] == "ticket" and ticket["groupLabels"]["alertname"] == (
        "RondaTicketsBreached"
    )


def test_while_the_desk_is_blind_no_site_or_server_alert_goes_out(
    alertmanager: Alertmanager, sink: Sink
) -> None:
    alertmanager.post(
        [
            {"alertname": "RondaProberBlind", "severity": "page"},
            server_down("web-5"),
            site_down("e1", "web-6", "Estudio"),
            {
                "alertname": "RondaMailDown",
                "severity": "page",
                "server": "mail-1",
                "service": "smtp:25",
            },
        ]
    )
    wait_until(lambda: sink.firing("/alerts/page"), "the blind page", WAIT, poll=0.05)
    wait_until(
        lambda: (
            alertmanager.alerts("RondaSiteDown")["e1"]["inhibitedBy"]
            and alertmanager.alerts("RondaServerDown")["web-5"]["inhibitedBy"]
            and alertmanager.alerts("RondaMailDown")["mail-1"]["inhibitedBy"]
        ),
        "site and server alerts held back",
        WAIT,
        poll=0.05,
    )
    # One page, the desk's own: nothing about the server or the site it cannot see.
    (page,) = sink.firing("/alerts/page")
    assert page["groupLabels"] == {"alertname": "RondaProberBlind"}
    assert [a["labels"]["alertname"] for a in page["alerts"]] == ["RondaProberBlind"]
