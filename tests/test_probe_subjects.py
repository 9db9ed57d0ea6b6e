"""`ronda probe` and the TUI's "probe now" take every check subject, not only web sites:
a server's service (`srv-a/ssh:PORT`) and a customer's domain (`domain:tienda.test`) by
name, and `ronda probe --once` checks them all with the sites; the table and `--json`
show them. Real servers on 127.0.0.1: an HTTP site, OpenSSH's sshd, NSD."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import mailservers
import pytest

from ronda.app.probe_cli import probe_once
from ronda.app.service import Service
from ronda.checks import domains
from ronda.checks.probe_now import UnknownSite, probe_now, select_sites
from ronda.config import parse_config
from ronda.tui.probing import probe_summary
from tests.nsd_server import NsdServer, zone

HEALTHY = """
@ IN A 127.0.0.10
@ IN MX 10 mail
mail IN A 127.0.0.11
@ IN TXT "v=spf1 mx -all"
_dmarc IN TXT "v=DMARC1; p=reject"
"""


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = b"<html><body>hola</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(domains, "STATE", domains.DomainState())


@pytest.fixture(scope="module")
def web() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def sshd(tmp_path_factory) -> Iterator[int]:
    with mailservers.sshd(tmp_path_factory.mktemp("sshd")) as port:
        yield port


@pytest.fixture
def nsd(tmp_path: Path) -> Iterator[NsdServer]:
    server = NsdServer(tmp_path / "nsd", {"tienda.test": zone("tienda.test", HEALTHY)})
    yield server
    server.stop()


def _text(web: str, sshd: int, nsd: NsdServer) -> str:
    return f"""
[[customers]]
name = "Ana"
[dns]
resolvers = ["{nsd.resolver}"]
timeout = "2s"
interval = "5m"
[[servers]]
name = "srv-a"
host = "127.0.0.1"
[[servers.services]]
service = "ssh"
port = {sshd}
[[sites]]
name = "tienda"
url = "{web}"
server = "srv-a"
wordpress = false
[[domains]]
name = "tienda.test"
customer = "Ana"
[domains.checks]
expiry = false
"""


def _config(web: str, sshd: int, nsd: NsdServer):
    return parse_config(_text(web, sshd, nsd))


def test_select_sites_takes_subjects_by_name_and_all_of_them(web, sshd, nsd) -> None:
    config = _config(web, sshd, nsd)
    ssh = f"srv-a/ssh:{sshd}"
    assert [s.name for s in select_sites(config, None)] == ["tienda", ssh, "domain:tienda.test"]
    assert [s.kind for s in select_sites(config, ssh)] == ["service"]
    assert [s.kind for s in select_sites(config, "domain:tienda.test")] == ["domain"]
    with pytest.raises(UnknownSite) as error:
        select_sites(config, "domain:otra.test")
    assert ssh in str(error.value) and "domain:tienda.test" in str(error.value)


def test_probe_once_checks_the_subjects_with_the_sites(web, sshd, nsd) -> None:
    config = _config(web, sshd, nsd)
    out = io.StringIO()
    assert probe_once(config, None, dry_run=True, out=out) == 0
    text = out.getvalue()
    lines = text.splitlines()
    ssh = f"srv-a/ssh:{sshd}"
    for name in ("tienda", ssh, "domain:tienda.test"):
        row = next(line for line in lines if line.startswith(name + " "))
        assert row.split()[1] == "ok", row
    assert "1 sites and 2 other checks probed, 0 failing" in text

    out = io.StringIO()
    assert probe_once(config, None, as_json=True, dry_run=True, out=out) == 0
    rows = {r["site"]: r for r in map(json.loads, out.getvalue().splitlines())}
    assert set(rows) == {"tienda", ssh, "domain:tienda.test"}
    assert (rows["tienda"]["kind"], rows[ssh]["kind"]) == ("web", "service")
    assert rows["domain:tienda.test"]["kind"] == "domain"
    assert rows[ssh]["class"] == "ok" and rows[ssh]["url"].startswith("ssh://")


def test_probe_once_of_one_domain_by_name_records_it(web, sshd, nsd, store) -> None:
    config = _config(web, sshd, nsd)
    out = io.StringIO()
    assert probe_once(config, store, site_name="domain:tienda.test", out=out) == 0
    assert "0 sites and 1 other checks probed, 0 failing" in out.getvalue()
    state = store.query("SELECT site, up FROM probe_state")
    assert [(r["site"], r["up"]) for r in state] == [("domain:tienda.test", 1)]


def test_the_tuis_probe_now_takes_a_subjects_name(web, sshd, nsd, store, tmp_path) -> None:
    """The TUI's "probe now" is `Service.probe_site`: a service and a domain by name."""
    path = tmp_path / "ronda.toml"
    path.write_text(_text(web, sshd, nsd))
    service = Service.from_file(path, store).start()
    try:
        probed = service.probe_site(f"srv-a/ssh:{sshd}")
        assert probed.subject and probed.result.ok
        assert probed.result.extra["banner"].startswith("SSH-2.0-")
        assert probe_summary(probed).startswith(f"ok (ssh://127.0.0.1:{sshd}, ")
        domain = service.probe_site("domain:tienda.test")
        assert domain.kind == "domain" and domain.result.ok
        assert probe_summary(domain).startswith("ok (tienda.test, ")
    finally:
        service.stop()


def test_probe_now_of_everything_applies_the_subjects_round(web, nsd, store) -> None:
    closed = mailservers.free_ports(1)[0]  # nothing listens: the service is down
    config = _config(web, closed, nsd)
    run = probe_now(config, store)
    assert [p.site for p in run.sites] == ["tienda", f"srv-a/ssh:{closed}", "domain:tienda.test"]
    down = run.site(f"srv-a/ssh:{closed}")
    assert down.failing and down.subject
    assert any(e.kind == "ticket_opened" for e in down.events)  # confirmed by the re-probe
