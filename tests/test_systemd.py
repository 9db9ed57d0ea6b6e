"""Running under systemd: the units in contrib/systemd/ pass `systemd-analyze verify`, and
`ronda run` and `ronda mail` speak sd_notify to a real `$NOTIFY_SOCKET` (a datagram socket
the test binds, as systemd does): READY=1, WATCHDOG=1 while the rounds' loop answers,
RELOADING=1 on SIGHUP, STOPPING=1 on SIGTERM. Logs: plain or JSON, no secret in either.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from clocks import FakeClock
from polling import wait_until

from ronda.app.notify import Notifier, Watchdog
from ronda.app.rounds import RoundsThread
from ronda.config import Config
from ronda.demo.fleet import Fleet
from ronda.demo.specs import SiteSpec
from ronda.store import Store

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parent.parent
UNITS = ROOT / "contrib" / "systemd"
BOUND = 20.0  # seconds a condition may take (CI runs on 2 cores)
SECRET = "s3cr3t-pw-9f2"
EXTRA = """\
[probe]
interval = 0.3
deadline = 1
[incidents]
confirm_rounds = 2
recheck_immediately = false
[retention]
probe_history_days = 31
"""


# ---------------------------------------------------------------------------- the units


def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    """The shipped units as systemd reads them: no error and no warning. ExecStart's
    /usr/local/bin/ronda is pointed at an executable that exists here."""
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: scripts/test installs the systemd package"
    ronda = tmp_path / "bin" / "ronda"
    ronda.parent.mkdir()
    ronda.write_text(f'#!/bin/sh\nexec {sys.executable} -m ronda "$@"\n')
    ronda.chmod(0o755)
    names = sorted(p.name for p in UNITS.iterdir() if p.suffix in (".service", ".timer"))
    assert names == [
        "ronda-backup.service",
        "ronda-backup.timer",
        "ronda-mail.service",
        "ronda.service",
    ]
    for name in names:
        text = (UNITS / name).read_text().replace("/usr/local/bin/ronda", str(ronda))
        (tmp_path / name).write_text(text)
    done = subprocess.run(
        [analyze, "verify", *names], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")
    # And it does report what is wrong, so the empty answer above means something.
    (tmp_path / "ronda.service").write_text(
        (tmp_path / "ronda.service").read_text().replace("Type=notify", "Type=notifyy")
    )
    done = subprocess.run(
        [analyze, "verify", "ronda.service"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Failed to parse service type" in done.stderr  # a warning, with exit code 0


def _settings(name: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in (UNITS / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key, []).append(value)
    return out


@pytest.mark.parametrize("name", ["ronda.service", "ronda-mail.service"])
def test_daemons_run_confined_as_their_own_user(name: str) -> None:
    unit = _settings(name)
    for key, value in {
        "Type": "notify",
        "User": "ronda",
        "StateDirectory": "ronda",
        "ProtectSystem": "strict",
        "NoNewPrivileges": "yes",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "Restart": "on-failure",
    }.items():
        assert unit[key] == [value], key
    command = unit["ExecStart"][0].split()
    assert command[:2] == ["/usr/local/bin/ronda", "run" if name == "ronda.service" else "mail"]
    assert "/var/lib/ronda/ronda.db" in command
    if name == "ronda.service":
        assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
        assert unit["WatchdogSec"] == ["60s"]
    backup = _settings("ronda-backup.service")["ExecStart"][0].split()
    assert backup[1:3] == ["backup", "--db"]


# ---------------------------------------------------------------------------- sd_notify


class NotifySocket:
    """What systemd listens on: a datagram socket in a short folder (a socket path has at
    most 107 bytes)."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="ronda-notify-"))
        self.path = self.folder / "notify"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.sock.settimeout(0.1)
        self.messages: list[str] = []

    def wait_for(
        self,
        field: str,
        bound: float = BOUND,
        proc: subprocess.Popen | None = None,
        log: Path | None = None,
    ) -> str:
        """The first message (from now on) holding `field` as one of its lines."""
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline:
            try:
                message = self.sock.recv(4096).decode()
            except TimeoutError:
                if proc is not None and proc.poll() is not None:
                    tail = log.read_text() if log is not None else ""
                    pytest.fail(f"exited ({proc.returncode}) before {field}:\n{tail}")
                continue
            self.messages.append(message)
            if field in message.splitlines():
                return message
        pytest.fail(f"no {field} in {bound:g} s; got {self.messages}")

    def close(self) -> None:
        self.sock.close()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def notify_socket() -> Iterator[NotifySocket]:
    sock = NotifySocket()
    yield sock
    sock.close()


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    specs = (
        SiteSpec("healthy", "Sano", "t", "Cliente Sano", "web-01"),
        SiteSpec(
            "e500", "Error 500", "t", "Cliente 500", "web-01", behaviour="http_500", https=False
        ),
    )
    with Fleet(specs) as f:
        yield f


def config_with_secret(fleet: Fleet, path: Path) -> Path:
    """The fleet's config, the healthy site's URL carrying Basic-auth credentials."""
    text = fleet.config_toml(EXTRA).replace(
        "https://127.0.0.1:", f"https://ana:{SECRET}@127.0.0.1:"
    )
    assert SECRET in text
    path.write_text(text)
    return path


class Process:
    """A `ronda` subprocess with its output in a file; killed by pid if a test leaves it."""

    def __init__(self, argv: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.log_path = log
        self._out = open(log, "wb")  # noqa: SIM115 (closed in kill())
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ronda", *argv],
            stdout=self._out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(BOUND)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._out.close()


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in started:
        process.kill()


def test_run_tells_systemd_ready_watchdog_reloading_stopping(
    fleet: Fleet, tmp_path: Path, notify_socket: NotifySocket, processes: list[Process]
) -> None:
    config = config_with_secret(fleet, tmp_path / "ronda.toml")
    log = tmp_path / "run.log"
    daemon = Process(
        [
            "run",
            "--config",
            str(config),
            "--db",
            str(tmp_path / "ronda.db"),
            "--listen",
            "127.0.0.1:0",
        ],
        log,
        {"NOTIFY_SOCKET": str(notify_socket.path), "WATCHDOG_USEC": "1000000"},
    )
    processes.append(daemon)
    ready = notify_socket.wait_for("READY=1", proc=daemon.proc, log=log)
    # Ready once the first rounds are scheduled and the exporter serves.
    assert "rounds of 2 sites" in daemon.log()
    status = re.fullmatch(
        r"READY=1\nSTATUS=rounds of 2 sites, exporter (http://127\.0\.0\.1:\d+)/metrics", ready
    )
    assert status, ready
    for _ in range(2):  # petted at half of WATCHDOG_USEC while the rounds' loop answers
        assert notify_socket.wait_for("WATCHDOG=1", proc=daemon.proc) == "WATCHDOG=1"
    health = f"{status.group(1)}/healthz"
    answer = wait_until(
        lambda: (r := httpx.get(health, timeout=5)).status_code == 200 and r, "/healthz 200"
    )
    assert answer.text.startswith("ok: newest probe result")

    daemon.proc.send_signal(signal.SIGHUP)
    reloading = notify_socket.wait_for("RELOADING=1", proc=daemon.proc)
    assert re.fullmatch(r"RELOADING=1\nMONOTONIC_USEC=\d+", reloading)
    assert notify_socket.wait_for("READY=1", proc=daemon.proc).startswith("READY=1\nSTATUS=")
    assert daemon.stop() == 0
    notify_socket.wait_for("STOPPING=1")
    assert "Traceback" not in daemon.log()


def test_mail_tells_systemd_it_listens(
    tmp_path: Path, notify_socket: NotifySocket, processes: list[Process]
) -> None:
    config = tmp_path / "ronda.toml"
    config.write_text('[mail]\ndesk_address = "soporte@desk.example"\n')
    log = tmp_path / "mail.log"
    intake = Process(
        [
            "mail",
            "--config",
            str(config),
            "--db",
            str(tmp_path / "ronda.db"),
            "--listen",
            "127.0.0.1:0",
        ],
        log,
        {"NOTIFY_SOCKET": str(notify_socket.path)},
    )
    processes.append(intake)
    ready = notify_socket.wait_for("READY=1", proc=intake.proc, log=log)
    port = int(re.fullmatch(r"READY=1\nSTATUS=listening on 127\.0\.0\.1:(\d+)", ready).group(1))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as smtp:
        assert smtp.recv(100).startswith(b"220")  # it does listen when it says so
    assert intake.stop() == 0
    notify_socket.wait_for("STOPPING=1")


def test_logs_plain_and_json_carry_no_secret(
    fleet: Fleet, tmp_path: Path, processes: list[Process]
) -> None:
    """Both formats at once, one daemon each: the site's password appears in neither; JSON
    lines are objects with the documented keys, events with their site and case."""
    config = config_with_secret(fleet, tmp_path / "ronda.toml")
    daemons = {}
    for fmt in ("plain", "json"):
        folder = tmp_path / fmt
        folder.mkdir()
        daemons[fmt] = Process(
            [
                "run",
                "--config",
                str(config),
                "--db",
                str(folder / "ronda.db"),
                "--listen",
                "off",
                "--log-format",
                fmt,
            ],
            folder / "run.log",
        )
        processes.append(daemons[fmt])
    for daemon in daemons.values():
        wait_until(
            lambda d=daemon: "R-1001 opened" in d.log() or d.proc.poll() is not None,
            "a ticket opened",
            BOUND,
        )
        assert daemon.stop() == 0, daemon.log()
    plain, as_json = daemons["plain"].log(), daemons["json"].log()
    assert SECRET not in plain and SECRET not in as_json
    assert re.search(
        r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}-05:00 INFO R-1001 opened", plain, re.M
    )  # the desk's zone (Bogota by default), with its offset
    records = [json.loads(line) for line in as_json.splitlines()]
    assert all(
        set(r) >= {"time", "level", "logger", "message"}
        and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["time"])
        for r in records
    )
    opened = next(r for r in records if r.get("event") == "ticket_opened")
    assert (opened["level"], opened["site"], opened["case"]) == ("info", "e500", "R-1001")
    assert opened["message"].startswith("R-1001 opened (high priority")
    retention = next(r for r in records if r.get("event") == "retention")
    assert retention["message"].startswith("retention: 0 probe notes removed")
    assert records[-1]["message"] == "stopped"


# ---------------------------------------------------------------------------- the parts


def test_notifier_speaks_the_protocol(notify_socket: NotifySocket) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(notify_socket.path), "WATCHDOG_USEC": "30000000"})
    assert notifier.enabled and notifier.watchdog_interval == 30.0
    assert notifier.ready("rounds of 3 sites\nand more")
    assert notify_socket.wait_for("READY=1") == "READY=1\nSTATUS=rounds of 3 sites and more"
    assert notifier.stopping()
    assert notify_socket.wait_for("STOPPING=1") == "STOPPING=1"
    notifier.close()
    abstract = Notifier({"NOTIFY_SOCKET": "@ronda-test"})
    assert abstract.address == "\0ronda-test"
    assert not Notifier({}).enabled and not Notifier({}).ready()
    other_pid = {"WATCHDOG_USEC": "5000000", "WATCHDOG_PID": str(os.getpid() + 1)}
    assert Notifier(other_pid).watchdog_interval is None  # meant for another process


def test_watchdog_pets_at_half_its_interval_and_only_while_healthy(
    notify_socket: NotifySocket,
) -> None:
    clock = FakeClock()
    watchdog = Watchdog(
        Notifier({"NOTIFY_SOCKET": str(notify_socket.path), "WATCHDOG_USEC": "10000000"}), clock
    )
    assert watchdog.tick(healthy=True)
    clock.now += 4.9
    assert not watchdog.tick(healthy=True)
    clock.now += 0.2
    assert not watchdog.tick(healthy=False)  # stuck rounds: systemd will restart us
    assert watchdog.tick(healthy=True)
    assert Watchdog(Notifier({})).tick(healthy=True) is False


def test_a_stuck_rounds_loop_stops_answering(tmp_path: Path) -> None:
    """What the watchdog is petted for: the rounds' loop answers within a tick, and stops
    answering while something blocks it."""
    store = Store(tmp_path / "ronda.db")
    rounds = RoundsThread(Config(), store).start()
    release = threading.Event()
    try:
        wait_until(lambda: (age := rounds.beat()) is not None and age < 0.5, "an answer")
        loop = rounds._loop
        assert isinstance(loop, asyncio.AbstractEventLoop)
        loop.call_soon_threadsafe(release.wait, BOUND)  # a call that blocks the loop
        wait_until(lambda: (rounds.beat() or 0) > 0.5, "a growing silence", BOUND)
        release.set()
        wait_until(lambda: (rounds.beat() or 9) < 0.5, "answers again", BOUND)
    finally:
        release.set()
        rounds.stop()
        store.close()
    assert rounds.beat() is None
