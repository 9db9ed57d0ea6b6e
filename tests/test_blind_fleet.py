"""`ronda run` against a real fleet whose every listener goes away at once: the desk cannot
see, so it opens its own incident and nothing else, marks the open site ticket "not
measured", publishes `ronda_prober_blind` 1; when the listeners come back it sees again, the
incident resolves itself and the rounds resume without a burst of tickets.

Once with a canary (a loopback listener the test owns, standing for the agency's gateway,
gone with the rest), once without: then the sample of other servers' sites the scheduler
probes on a new failure decides. Waits poll the SQLite file and the exporter with a bound.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from polling import wait_until

from ronda.checks.blind import MEASURED, NOT_MEASURED
from ronda.demo.fleet import Fleet
from ronda.demo.specs import SiteSpec
from ronda.model import PROBER_BLIND_KEY
from ronda.store import Store

pytestmark = pytest.mark.timeout(120)

BOUND = 25.0  # seconds a condition may take (CI runs on 2 cores)
BROKEN = "roto"  # the one site failing on its own before, during and after
# Twelve sites on three servers; fast rounds, a failure confirmed by an immediate re-probe.
SPECS = tuple(
    SiteSpec(
        f"s{server}{i}" if (server, i) != (1, 0) else BROKEN,
        f"Sitio {server}{i}",
        "t",
        f"Cliente {server}",
        f"web-{server}",
        behaviour="http_500" if (server, i) == (1, 0) else "ok",
        https=i % 2 == 0,
    )
    for server in (1, 2, 3)
    for i in range(4)
)
EXTRA = """\
[probe]
interval = 0.3
deadline = 1
"""


class Canary:
    """A TCP listener on a port the test keeps: closed, the port refuses connections."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def go(self) -> None:
        self.sock.close()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))  # bound, not listening: refused

    def come_back(self) -> None:
        self.sock.close()
        self.sock = socket.create_server(("127.0.0.1", self.port))

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    with Fleet(SPECS) as f:
        yield f


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Callable[[Path], subprocess.Popen]]:
    procs: list[subprocess.Popen] = []
    logs = []

    def go(config: Path) -> subprocess.Popen:
        log = (tmp_path / "daemon.log").open("wb")
        logs.append(log)
        proc = subprocess.Popen(
            [sys.executable, "-m", "ronda", "run", "--config", str(config)]
            + ["--db", str(tmp_path / "ronda.db"), "--listen", "127.0.0.1:0"],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parent.parent,
        )
        procs.append(proc)
        return proc

    yield go
    for proc in procs:  # by the pid we started
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    for log in logs:
        log.close()


def every_listener(fleet: Fleet, behaviours: dict[str, str]) -> None:
    """Switch every site in one go on the fleet's loop: no connection is served between."""

    async def switch() -> None:
        for name, behaviour in behaviours.items():
            await fleet.apply(name, behaviour)

    fleet.submit(switch()).result(timeout=10)


def tickets(store: Store) -> list[dict]:
    return store.query("SELECT id, dedupe_key, status, evidence FROM tickets ORDER BY id")


def kinds(store: Store, ticket_id: int) -> list[str]:
    rows = store.query(
        "SELECT kind FROM ticket_events WHERE ticket_id = ? ORDER BY id", (ticket_id,)
    )
    return [r["kind"] for r in rows]


def rounds(store: Store) -> int:
    return store.query("SELECT COALESCE(MIN(count), 0) AS n FROM probe_rounds")[0]["n"]


def blind_metric(log: Path) -> float | None:
    found = re.search(r"exporter serving (http://\S+)", log.read_text(errors="replace"))
    if not found:
        return None
    text = httpx.get(found.group(1), timeout=5).text  # the /metrics URL the log names
    match = re.search(r"^ronda_prober_blind (\S+)$", text, flags=re.M)
    return float(match.group(1)) if match else None


@pytest.mark.parametrize("with_canary", [True, False], ids=["canary", "sample"])
def test_every_listener_gone_at_once_is_one_desk_incident(
    fleet: Fleet, run, tmp_path: Path, with_canary: bool
) -> None:
    canary = Canary()
    log = tmp_path / "daemon.log"
    extra = EXTRA
    if with_canary:
        extra += f'[blind]\ncanaries = ["tcp://127.0.0.1:{canary.port}"]\ncanary_timeout = 1\n'
    config = fleet.write_config(tmp_path / "ronda.toml", extra=extra)
    daemon = run(config)
    store: Store | None = None  # opened once the daemon has made the file

    def wait(cond: Callable[[], object], what: str) -> object:
        def alive() -> str | None:
            if daemon.poll() is not None:
                return f"daemon exited ({daemon.returncode}):\n{log.read_text()[-3000:]}"
            return None

        try:
            return wait_until(cond, what, BOUND, poll=0.05, alive=alive, ignore=(httpx.HTTPError,))
        except AssertionError as error:
            pytest.fail(f"{error}\n{log.read_text(errors='replace')[-3000:]}")

    try:
        wait(lambda: (tmp_path / "ronda.db").exists() and "rounds of" in log.read_text(), "start")
        store = Store(tmp_path / "ronda.db")
        # Healthy rounds, and the broken site's own ticket.
        wait(lambda: rounds(store) >= 3 and len(tickets(store)) == 1, "the broken site's ticket")
        (broken,) = tickets(store)
        assert broken["dedupe_key"] == f"{BROKEN}:down"
        assert wait(lambda: blind_metric(log) == 0.0, "the metric at 0")

        # Every listener goes away at once (the canary with them).
        if with_canary:
            canary.go()
        every_listener(fleet, {s.name: "refused" for s in SPECS})
        wait(lambda: any(t["dedupe_key"] == PROBER_BLIND_KEY for t in tickets(store)), "blind")
        base = rounds(store)
        wait(lambda: rounds(store) >= base + 5, "five blind rounds of every site")
        keys = [t["dedupe_key"] for t in tickets(store)]
        assert keys == [f"{BROKEN}:down", PROBER_BLIND_KEY], "no site ticket while blind"
        desk = tickets(store)[1]
        assert desk["status"] == "new"
        assert NOT_MEASURED in kinds(store, broken["id"])
        assert wait(lambda: blind_metric(log) == 1.0, "the metric at 1")
        assert "cannot see" in log.read_text()

        # They come back (the canary last): the desk sees again and the rounds resume.
        every_listener(fleet, {s.name: s.behaviour for s in SPECS})
        if with_canary:
            canary.come_back()
        wait(lambda: tickets(store)[1]["status"] == "resolved", "the desk incident resolved")
        base = rounds(store)
        wait(lambda: rounds(store) >= base + 5, "five more rounds of every site")
        after = tickets(store)
        assert [t["dedupe_key"] for t in after] == keys, "no burst of tickets afterwards"
        assert after[0]["status"] == "new"  # the broken site's ticket, the same and still open
        assert kinds(store, broken["id"]).count(MEASURED) == 1
        assert '"blind": false' in after[1]["evidence"]
        assert wait(lambda: blind_metric(log) == 0.0, "the metric back at 0")
    finally:
        canary.close()
        if store is not None:
            store.close()
