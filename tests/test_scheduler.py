"""The scheduler: due times, limits, batches, shutdown; with a fake probe, and once with the
real prober against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from clocks import FakeClock
from polling import wait_until

from ronda.app.probe_cli import probe_once
from ronda.app.service import run_rounds
from ronda.checks.classify import Finding
from ronda.checks.probe import Prober, ProbeResult
from ronda.checks.rounds import RoundRunner
from ronda.checks.scheduler import Scheduler, spread_offset
from ronda.config import Config, ProbeSettings, Site
from ronda.model import FailureClass as FC
from ronda.sites import site_health
from ronda.store import Store
from ronda.tickets import Desk

NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)


def sites(n: int, interval: float = 60.0, servers: int = 0) -> tuple[Site, ...]:
    return tuple(
        Site(
            name=f"site{i:03d}",
            url=f"https://site{i:03d}.example/",
            server=f"web-{i % servers}" if servers else None,
            probe=ProbeSettings(interval=interval),
        )
        for i in range(n)
    )


def fake_result(site: Site, cls: FC = FC.OK) -> ProbeResult:
    findings = [] if cls == FC.OK else [Finding(cls, None, f"{site.name}: {cls}")]
    return ProbeResult(
        site=site.name,
        url=site.url,
        started_at=datetime.now(UTC),
        failure_class=cls,
        status_code=500 if cls == FC.HTTP_500 else 200,
        elapsed_ms=1.0,
        detail=findings[0].detail if findings else "",
        findings=findings,
    )


class FakeProbe:
    """Answers at once (or after `delay`), counting calls and what is in flight."""

    def __init__(self, delay: float = 0.0, failing: frozenset[str] = frozenset()) -> None:
        self.delay = delay
        self.failing = failing
        self.calls: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.per_server: Counter[str] = Counter()
        self.max_per_server = 0
        self.stuck: set[str] = set()

    async def __call__(self, site: Site) -> ProbeResult:
        self.calls[site.name] += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        if site.server:
            self.per_server[site.server] += 1
            self.max_per_server = max(self.max_per_server, self.per_server[site.server])
        try:
            if site.name in self.stuck:
                await asyncio.Event().wait()  # never answers: shutdown must cancel it
            if self.delay:
                await asyncio.sleep(self.delay)
            cls = FC.HTTP_500 if site.name in self.failing else FC.OK
            return fake_result(site, cls)
        finally:
            self.in_flight -= 1
            if site.server:
                self.per_server[site.server] -= 1


def make(store: Store, config: Config, probe, clock=None, **kw) -> Scheduler:
    runner = RoundRunner(store, config)
    extra = {"clock": clock} if clock is not None else {}
    return Scheduler(config, runner, probe, wall=lambda: NOW, **extra, **kw)


async def wait_for(condition, timeout: float = 5.0) -> None:
    """Poll a condition with a bound (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def rounds(store: Store) -> dict[str, int]:
    return {r["site"]: r["count"] for r in store.query("SELECT site, count FROM probe_rounds")}


# ---- due times ------------------------------------------------------------------------------


async def test_first_rounds_are_spread_over_the_interval_and_stable(store) -> None:
    config = Config(sites=sites(1000))
    clock = FakeClock(0.0)
    first = make(store, config, FakeProbe(), clock).due_times()
    again = make(store, config, FakeProbe(), clock).due_times()
    assert first == again  # deterministic: a restart spreads the same way
    assert all(0 <= due < 60 for due in first.values())
    per_second = Counter(int(due) for due in first.values())
    assert len(per_second) == 60 and max(per_second.values()) < 40  # ~17 a second, no burst
    assert spread_offset("site001", 60) == first["site001"]


async def test_run_due_probes_what_is_due_and_reschedules_one_interval_later(store) -> None:
    config = Config(sites=sites(20))
    clock = FakeClock(0.0)
    probe = FakeProbe()
    sched = make(store, config, probe, clock)
    due = sched.due_times()
    expected = sum(1 for d in due.values() if d <= 30)
    assert 0 < expected < 20
    assert await sched.run_due(30.0) == expected
    assert await sched.run_due(30.0) == 0  # nothing twice
    assert sum(rounds(store).values()) == expected
    after = sched.due_times()
    for name, d in due.items():
        assert after[name] == (d + 60 if d <= 30 else d)
    assert await sched.run_due(90.0) == 20
    assert sum(probe.calls.values()) == 20 + expected


async def test_a_restart_resumes_each_sites_rhythm_from_the_stored_check(store) -> None:
    config = Config(sites=sites(3))
    with store.write() as db:
        db.execute(
            "INSERT INTO probe_state (site, checked_at) VALUES (?, ?), (?, ?)",
            (
                "site000",
                (NOW - timedelta(seconds=20)).timestamp(),
                "site001",
                (NOW - timedelta(hours=3)).timestamp(),
            ),
        )
    due = make(store, config, FakeProbe(), FakeClock(500.0)).due_times()
    assert due["site000"] == pytest.approx(540.0)  # checked 20 s ago: due in 40 s
    # Long overdue: not all at once, but at its spread offset.
    assert due["site001"] == pytest.approx(500.0 + spread_offset("site001", 60.0))
    assert due["site002"] == pytest.approx(500.0 + spread_offset("site002", 60.0))


# ---- limits, reprobes, config ---------------------------------------------------------------


async def test_global_and_per_server_limits_hold(store) -> None:
    config = Config(sites=sites(30, servers=3), concurrency=5, per_server_concurrency=2)
    probe = FakeProbe(delay=0.01)
    sched = make(store, config, probe, FakeClock(0.0))
    assert await sched.run_due(100.0) == 30
    assert probe.max_in_flight == 5  # reached, never passed
    assert probe.max_per_server == 2
    assert sum(rounds(store).values()) == 30


async def test_a_new_failure_is_probed_again_at_once_and_confirmed(store) -> None:
    config = Config(sites=sites(3))
    probe = FakeProbe(failing=frozenset({"site001"}))
    sched = make(store, config, probe, FakeClock(0.0))
    await sched.run_due(100.0)
    assert probe.calls == {"site000": 1, "site001": 2, "site002": 1}
    ticket = Desk(store).find_open("site001:down")
    assert ticket is not None and ticket.subject.startswith("site001: HTTP 500")


async def test_update_config_adds_and_removes_sites(store) -> None:
    clock = FakeClock(0.0)
    probe = FakeProbe()
    sched = make(store, Config(sites=sites(3)), probe, clock)
    await sched.run_due(60.0)
    newer = Config(sites=(*sites(3)[1:], Site(name="nuevo", url="https://nuevo.example/")))
    sched.update_config(newer)
    assert "site000" not in sched.due_times() and "nuevo" in sched.due_times()
    probe.calls.clear()
    await sched.run_due(200.0)
    assert set(probe.calls) == {"site001", "site002", "nuevo"}


# ---- the loop -------------------------------------------------------------------------------


async def test_the_loop_makes_rounds_in_batches_and_stops_gracefully(store) -> None:
    config = Config(sites=sites(10, interval=0.05))
    probe = FakeProbe()
    sched = make(store, config, probe, batch_size=8, flush_interval=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(sched.run(stop))
    await wait_for(lambda: len(probe.calls) == 10 and min(probe.calls.values()) >= 3)
    stop.set()
    await asyncio.wait_for(task, 5)
    calls = sum(probe.calls.values())
    stored = rounds(store)
    assert sum(stored.values()) == calls  # the last batch was flushed at shutdown
    assert sched.stats.flushed == calls and sched.stats.started == calls
    assert max(sched.stats.lags) < 1.0


async def test_shutdown_cancels_a_stuck_probe_within_the_bound(store) -> None:
    config = Config(sites=sites(5, interval=0.05))
    probe = FakeProbe()
    probe.stuck = {"site002"}
    sched = make(store, config, probe, shutdown_grace=0.2, flush_interval=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(sched.run(stop))
    await wait_for(lambda: probe.calls["site000"] >= 2 and probe.calls["site002"] == 1)
    stop.set()
    started = time.monotonic()
    await asyncio.wait_for(task, 5)
    assert time.monotonic() - started < 2.0
    stored = rounds(store)
    assert "site002" not in stored and stored["site000"] >= 2
    assert probe.in_flight == 0


# ---- the real prober ------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    hits: Counter[str] = Counter()

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).hits[self.path] += 1
        if self.path.startswith("/broken"):
            body = b"<html><body><h1>Internal Server Error</h1></body></html>"
            self.send_response(500)
        else:
            body = b"<html><head><title>Hola</title></head><body><p>Bienvenidos</p></body></html>"
            self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def http_server():
    _Handler.hits = Counter()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_real_prober_against_a_local_server_opens_a_confirmed_ticket(
    store, http_server
) -> None:
    fast = ProbeSettings(interval=60.0, deadline=5.0)
    config = Config(
        sites=(
            Site(
                name="roto",
                url=f"{http_server}/broken",
                server="local",
                wordpress=False,
                probe=fast,
            ),
            Site(name="sano", url=f"{http_server}/ok", server="local", wordpress=False, probe=fast),
        )
    )
    prober = Prober(use_uvloop=False)
    try:
        sched = make(store, config, prober.probe_site, FakeClock(0.0))
        assert await sched.run_due(100.0) == 2
    finally:
        await prober.aclose()
    assert _Handler.hits["/broken"] == 2  # the immediate re-probe, on a fresh connection
    assert _Handler.hits["/ok"] == 1
    ticket = Desk(store).find_open("roto:down")
    assert ticket is not None
    assert ticket.subject == f"roto: HTTP 500 on {http_server}/broken"
    assert ticket.evidence["status_code"] == 500
    assert "Internal Server Error" in ticket.evidence["body_excerpt"]
    assert ticket.evidence["headers"]["content-type"].startswith("text/html")
    assert set(ticket.evidence["phases"]) >= {"connect", "first_byte"}
    assert Desk(store).find_open("sano:down") is None
    state = {r["site"]: r for r in store.query("SELECT * FROM probe_state")}
    assert state["sano"]["up"] == 1 and state["roto"]["up"] == 0
    assert state["roto"]["status_code"] == 500


# ---- the CLI's entry points -----------------------------------------------------------------


def _local_config(base: str, interval: float = 60.0) -> Config:
    fast = ProbeSettings(interval=interval, deadline=5.0)
    return Config(
        sites=(
            Site(name="roto", url=f"{base}/broken", server="local", wordpress=False, probe=fast),
            Site(name="sano", url=f"{base}/ok", server="local", wordpress=False, probe=fast),
        )
    )


def test_probe_once_prints_a_table_naming_failing_sites_and_opens_tickets(
    store, http_server
) -> None:
    out = io.StringIO()
    assert probe_once(_local_config(http_server), store, out=out) == 0  # failing is not an error
    text = out.getvalue()
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["SITE", "CLASS", "STATUS", "MS"]
    roto = next(line for line in lines if line.startswith("roto "))
    assert "http_500" in roto and " 500 " in roto
    assert next(line for line in lines if line.startswith("sano ")).split()[1] == "ok"
    assert "2 sites probed, 1 failing" in text
    assert "opened (high priority" in text  # confirmed by the immediate re-probe
    assert Desk(store).find_open("roto:down") is not None
    assert {s.name for s in site_health(store)} == {"roto", "sano"}


def test_probe_once_json_and_dry_run(store, http_server) -> None:
    out = io.StringIO()
    code = probe_once(
        _local_config(http_server), store, site_name="roto", as_json=True, dry_run=True, out=out
    )
    assert code == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(rows) == 1
    row = rows[0]
    for key in ("site", "url", "class", "status_code", "elapsed_ms", "cert_not_after", "detail"):
        assert key in row
    assert (row["site"], row["class"], row["status_code"]) == ("roto", "http_500", 500)
    assert row["findings"][0]["class"] == "http_500" and row["events"] == []
    assert store.query("SELECT count(*) AS n FROM tickets")[0]["n"] == 0  # dry run
    assert store.query("SELECT count(*) AS n FROM probe_state")[0]["n"] == 0
    assert probe_once(_local_config(http_server), store, site_name="nope", out=out) == 2


def test_run_rounds_until_stopped(store, http_server, tmp_path) -> None:
    path = tmp_path / "ronda.toml"
    path.write_text(
        "[[sites]]\n"
        f'name = "roto"\nurl = "{http_server}/broken"\nserver = "local"\n'
        "wordpress = false\ninterval = 0.1\ndeadline = 2\n"
    )
    stop, reload = threading.Event(), threading.Event()
    lines: list[str] = []
    worker = threading.Thread(
        target=run_rounds,
        args=(path, store, stop),
        kwargs={"on_event": lambda e: lines.append(str(e)), "reload_event": reload},
    )
    worker.start()
    try:
        wait_until(lambda: any("opened" in line for line in lines), "a ticket opened")
        path.write_text("this is not toml [")
        reload.set()
        wait_until(
            lambda: any("config not reloaded" in line for line in lines), "the reload refused"
        )
    finally:
        stop.set()
        worker.join(10)
    assert not worker.is_alive()
    assert len(store.query("SELECT * FROM tickets")) == 1
    assert store.query("SELECT count FROM probe_rounds WHERE site = 'roto'")[0]["count"] >= 2
