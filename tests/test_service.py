"""The desk's service: its parts start and stop as one on loopback ports, a reload applies a
new site list, and "probe now" answers with objects (what `ronda probe` and the TUI show).

Real parts throughout: a real HTTP server for the sites, the real prober, a real SMTP
session, a real scrape of the exporter, a real SQLite file; waits poll with a bound.
"""

from __future__ import annotations

import os
import re
import signal
import smtplib
import socket
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from polling import wait_until

from ronda.app.runtime import SignalInbox, log_event
from ronda.app.service import Service, ServiceEvent, ServiceOptions
from ronda.checks.probe_now import ProbeRun, SiteProbe, UnknownSite, probe_now
from ronda.config import load_config
from ronda.exporter.server import AddressInUse
from ronda.model import FailureClass
from ronda.store import Store
from ronda.tickets import Desk
from ronda.tui.app import probe_summary

BOUND = 20.0  # seconds a condition may take (2 shared cores)


class _Site(BaseHTTPRequestHandler):
    hits: Counter[str] = Counter()

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).hits[self.path] += 1
        if self.path.startswith("/broken"):
            body, code = b"<html><body><h1>Internal Server Error</h1></body></html>", 500
        else:
            body, code = b"<html><head><title>Hola</title></head><body>Bienvenidos</body>", 200
        self.send_response(code)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    _Site.hits = Counter()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "ronda.db")
    yield s
    s.close()


def site_block(name: str, url: str, interval: float = 0.2) -> str:
    return (
        f'[[sites]]\nname = "{name}"\nurl = "{url}"\nserver = "local"\n'
        f"wordpress = false\ninterval = {interval}\ndeadline = 2\n"
    )


MAIL = """
[[customers]]
name = "Ana Pérez"
emails = ["ana@tienda-ana.example"]

[mail]
desk_address = "soporte@desk.example"
"""


def write_config(path: Path, base: str, names: tuple[str, ...] = ("roto",)) -> Path:
    urls = {"roto": f"{base}/broken", "sano": f"{base}/ok", "nuevo": f"{base}/ok?nuevo"}
    path.write_text(MAIL + "\n" + "\n".join(site_block(n, urls[n]) for n in names))
    return path


def rounds_of(store: Store) -> dict[str, int]:
    return {r["site"]: r["count"] for r in store.query("SELECT site, count FROM probe_rounds")}


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return True
    return False


def new_threads(baseline: set[threading.Thread]) -> list[str]:
    return sorted(t.name for t in threading.enumerate() if t not in baseline and t.is_alive())


# ---- start and stop -------------------------------------------------------------------------


def test_rounds_exporter_and_mail_start_and_stop_as_one(
    tmp_path: Path, store: Store, http_server: str
) -> None:
    config = write_config(tmp_path / "ronda.toml", http_server)
    events: list[object] = []
    options = ServiceOptions(
        rounds=True, exporter="127.0.0.1:0", mail=True, mail_listen="127.0.0.1:0"
    )
    baseline = set(threading.enumerate())
    service = Service.from_file(config, store, options, on_event=events.append)
    service.start()
    try:
        assert service.running
        assert service.exporter is not None and service.mail is not None
        exporter_port = service.exporter.port
        host, mail_port = service.mail.address
        assert host == "127.0.0.1" and mail_port != 0 and exporter_port != 0
        started = [e.kind for e in events if isinstance(e, ServiceEvent)]
        assert started == ["exporter_started", "mail_started", "rounds_started"]

        # The rounds: the broken site gets its ticket, as in a daemon.
        desk = Desk(store)
        wait_until(lambda: desk.find_open("roto:down"), "the rounds' ticket", BOUND)
        assert any(getattr(e, "kind", None) == "ticket_opened" for e in events)

        # The exporter: a real scrape sees the ticket.
        with urllib.request.urlopen(service.exporter.url, timeout=5) as response:
            body = response.read().decode()
        assert response.status == 200 and "ronda_open_tickets" in body

        # The intake: a real SMTP session becomes an e-mail case.
        message = EmailMessage()
        message["From"] = "Ana Pérez <ana@tienda-ana.example>"
        message["To"] = "soporte@desk.example"
        message["Subject"] = "La tienda no carga"
        message["Message-ID"] = "<service-1@tienda-ana.example>"
        message.set_content("Desde esta mañana la tienda no carga.")
        with smtplib.SMTP(host, mail_port, timeout=10) as client:
            client.send_message(message)
        rows = store.query("SELECT source, customer FROM tickets WHERE source = 'email'")
        assert rows == [{"source": "email", "customer": "Ana Pérez"}]  # stored before the 250
    finally:
        service.stop()

    assert service.wait(0) and not service.running and service.error is None
    service.stop()  # idempotent
    assert refused(exporter_port) and refused(mail_port)
    wait_until(lambda: not new_threads(baseline), "the service's threads to end", BOUND)
    assert new_threads(baseline) == []


def test_a_part_that_cannot_start_stops_those_started_before_it(
    tmp_path: Path, store: Store, http_server: str
) -> None:
    config = load_config(write_config(tmp_path / "ronda.toml", http_server))
    baseline = set(threading.enumerate())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        options = ServiceOptions(
            rounds=True, exporter="127.0.0.1:0", mail=True, mail_listen=f"127.0.0.1:{port}"
        )
        service = Service(config, store, options)
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
            service.start()
        assert service.exporter is not None
        assert refused(service.exporter.port)  # started first, stopped with the failure
        assert service.rounds is None and service.wait(0)
    wait_until(lambda: not new_threads(baseline), "no thread left", BOUND)
    assert rounds_of(store) == {}


def test_a_taken_exporter_port_falls_back_only_when_asked(store: Store) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        with pytest.raises(AddressInUse, match=re.escape(address)):
            Service(None, store, ServiceOptions(exporter=address)).start()
        events: list[object] = []
        options = ServiceOptions(exporter=address, exporter_fallback=True)
        service = Service(None, store, options, on_event=events.append).start()
        try:
            assert service.exporter is not None
            assert service.exporter.address != address
            with urllib.request.urlopen(service.exporter.url, timeout=5) as response:
                assert response.status == 200
        finally:
            service.stop()
    assert [e.kind for e in events] == ["exporter_fallback", "exporter_started"]
    assert str(events[0]) == f"{address} is taken; exporter on a free port instead"


# ---- reload -----------------------------------------------------------------------------


def test_reload_applies_a_new_site_list_and_refuses_a_broken_file(
    tmp_path: Path, store: Store, http_server: str
) -> None:
    path = write_config(tmp_path / "ronda.toml", http_server, ("roto", "sano"))
    events: list[object] = []
    service = Service.from_file(path, store, ServiceOptions(rounds=True), on_event=events.append)
    service.start()
    try:
        wait_until(lambda: rounds_of(store).get("sano", 0) >= 1, "rounds of sano", BOUND)
        write_config(path, http_server, ("roto", "nuevo"))
        assert service.reload() is True
        assert [s.name for s in service.config.sites] == ["roto", "nuevo"]
        assert {r["name"] for r in store.query("SELECT name FROM sites")} == {"roto", "nuevo"}
        wait_until(lambda: rounds_of(store).get("nuevo", 0) >= 2, "rounds of nuevo", BOUND)
        stopped_at = rounds_of(store)["sano"]
        wait_until(lambda: rounds_of(store)["nuevo"] >= 4, "more rounds of nuevo", BOUND)
        assert rounds_of(store)["sano"] <= stopped_at + 1  # one may have been in flight

        path.write_text("this is not toml [")
        assert service.reload() is False
        assert [s.name for s in service.config.sites] == ["roto", "nuevo"]
        base = rounds_of(store)["nuevo"]
        wait_until(lambda: rounds_of(store)["nuevo"] >= base + 2, "rounds after a refusal", BOUND)
    finally:
        service.stop()
    kinds = [e.kind for e in events if isinstance(e, ServiceEvent)]
    assert kinds == ["rounds_started", "config_reloaded", "error"]
    refusal = next(e for e in events if isinstance(e, ServiceEvent) and e.kind == "error")
    assert str(refusal).startswith("config not reloaded, keeping the old one: ")


def test_the_watch_reloads_a_changed_file(tmp_path: Path, store: Store, http_server: str) -> None:
    path = write_config(tmp_path / "ronda.toml", http_server, ("roto",))
    events: list[object] = []
    options = ServiceOptions(rounds=True, watch_config=True, watch_interval=0.05)
    service = Service.from_file(path, store, options, on_event=events.append).start()
    try:
        write_config(path, http_server, ("roto", "sano"))
        wait_until(
            lambda: any(str(e) == "config reloaded: 2 sites" for e in events), "the reload", BOUND
        )
        wait_until(lambda: rounds_of(store).get("sano", 0) >= 1, "rounds of sano", BOUND)
    finally:
        service.stop()
    assert not any(t.name == "ronda-config-watch" for t in threading.enumerate())


def test_reload_without_rounds_swaps_the_config_only(tmp_path: Path, store: Store) -> None:
    path = write_config(tmp_path / "ronda.toml", "http://127.0.0.1:9", ("roto",))
    service = Service.from_file(path, store).start()  # nothing runs
    try:
        write_config(path, "http://127.0.0.1:9", ("roto", "sano"))
        assert service.reload() and len(service.config.sites) == 2
        assert store.query("SELECT name FROM sites") == []  # no rounds: nothing synced
    finally:
        service.stop()


# ---- probe now ----------------------------------------------------------------------------


def test_probe_now_answers_one_object_per_site_and_applies_the_round(
    tmp_path: Path, store: Store, http_server: str
) -> None:
    config = load_config(write_config(tmp_path / "ronda.toml", http_server, ("roto", "sano")))
    run = probe_now(config, store)
    assert isinstance(run, ProbeRun)
    assert [p.site for p in run.sites] == ["roto", "sano"]  # config order
    roto, sano = run.site("roto"), run.site("sano")
    assert isinstance(roto, SiteProbe) and roto.failing and not sano.failing
    assert roto.result.status_code == 500 and roto.result.failure_class == FailureClass.HTTP_500
    assert [f.failure_class for f in roto.failures] == [FailureClass.HTTP_500]
    assert sano.failures == () and sano.events == ()
    assert _Site.hits["/broken"] == 2  # a new failure is probed again at once
    opened = [e for e in roto.events if e.kind == "ticket_opened"]
    assert len(opened) == 1 and "opened (high priority" in str(opened[0])
    assert set(run.events) >= set(roto.events)
    assert Desk(store).find_open("roto:down") is not None
    assert probe_summary(roto) == f"http_500 (HTTP 500, {roto.result.elapsed_ms:.0f} ms)"
    assert re.fullmatch(r"ok \(HTTP 200, \d+ ms\)", probe_summary(sano))


def test_probe_now_dry_run_and_unknown_site(tmp_path: Path, store: Store, http_server: str) -> None:
    config = load_config(write_config(tmp_path / "ronda.toml", http_server, ("roto", "sano")))
    run = probe_now(config, store, "roto", dry_run=True)
    assert [p.site for p in run.sites] == ["roto"] and run.events == ()
    assert run.sites[0].failing and run.sites[0].events == ()
    assert _Site.hits["/broken"] == 1  # no re-probe without rules to ask for it
    assert store.query("SELECT count(*) AS n FROM tickets")[0]["n"] == 0
    with pytest.raises(UnknownSite) as error:
        probe_now(config, store, "nope")
    assert str(error.value) == "no site named 'nope' (sites: roto, sano)"


def test_the_tuis_probe_now_through_the_service(
    tmp_path: Path, store: Store, http_server: str
) -> None:
    """What `ronda tui --config` wires: an object per probe, one line of text from it."""
    path = write_config(tmp_path / "ronda.toml", "http://127.0.0.1:1", ("roto",))
    service = Service.from_file(path, store).start()
    try:
        probed = service.probe_site("roto")  # nothing listens on port 1
        assert probed.result.failure_class == FailureClass.REFUSED
        assert re.fullmatch(r"refused \(no answer, \d+ ms\)", probe_summary(probed))
        write_config(path, http_server, ("roto",))
        service.reload()  # "probe now" uses the running config
        assert probe_summary(service.probe_site("roto")).startswith("http_500 (HTTP 500, ")
        assert not service.replies_by_mail
    finally:
        service.stop()


# ---- the command line's part --------------------------------------------------------------


def test_signals_are_queued_for_the_main_thread_and_handlers_restored() -> None:
    before = signal.getsignal(signal.SIGHUP)
    with SignalInbox((signal.SIGHUP,)) as inbox:
        os.kill(os.getpid(), signal.SIGHUP)
        got: list[signal.Signals] = []
        wait_until(lambda: got.extend(inbox.drain()) or got, "the signal")
        assert got == [signal.SIGHUP] and inbox.drain() == []
    assert signal.getsignal(signal.SIGHUP) is before


def test_an_event_of_several_lines_is_several_log_lines(caplog) -> None:
    caplog.set_level("INFO", logger="ronda")
    log_event(ServiceEvent("error", "config not reloaded, keeping the old one: a:1: x\na:2: y"))
    log_event(ServiceEvent("config_reloaded", "config reloaded: 3 sites"))
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("ERROR", "config not reloaded, keeping the old one: a:1: x"),
        ("ERROR", "a:2: y"),
        ("INFO", "config reloaded: 3 sites"),
    ]


def test_tui_with_a_config_gets_probe_now_and_mail_replies_from_the_service(
    tmp_path: Path, http_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ronda tui --config`: "probe now" answers objects the TUI turns into its line, and
    replies go out by mail only when a relay is configured."""
    from ronda.app.cli import main
    from ronda.tui import app as app_module

    seen: list[tuple[str, bool]] = []

    def run(app: app_module.RondaApp) -> None:  # instead of taking the terminal
        probed = app.probe_now("roto")
        seen.append((probe_summary(probed), app.mail_reply is not None))

    monkeypatch.setattr(app_module.RondaApp, "run", run)
    path = write_config(tmp_path / "ronda.toml", http_server, ("roto",))
    db = str(tmp_path / "ronda.db")
    Store(db).close()  # the TUI reads a desk; it does not start one
    assert main(["tui", "--db", db, "--agent", "ana", "--config", str(path)]) == 0
    path.write_text(path.read_text().replace("[mail]\n", '[mail]\nrelay = "127.0.0.1:2526"\n'))
    assert main(["tui", "--db", db, "--agent", "ana", "--config", str(path)]) == 0
    assert [mail for _, mail in seen] == [False, True]
    assert all(text.startswith("http_500 (HTTP 500, ") for text, _ in seen), seen
