"""`ronda demo`: the whole desk on a local fleet of failing sites, from one command.

Starts the fleet (every covered failure, over HTTP and HTTPS, on 127.0.0.1), writes a demo
config and database, runs the probe rounds and the exporter, plays the scripted timeline
(a site that flaps, one that degrades, a server that falls and comes back, one that recovers
on its own), and opens the TUI on the live queue; quitting the TUI stops everything.
Headless, it runs for a while and prints what the desk saw.
"""

from __future__ import annotations

import getpass
import sys
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ronda.config import Config, load_config
from ronda.sites import site_health, sync_config
from ronda.store import Store
from ronda.tickets import Desk

DEFAULT_LISTEN = "127.0.0.1:9464"


@dataclass(frozen=True, slots=True)
class DemoSettings:
    """How fast the demo runs. Tests compress time here instead of sleeping through it."""

    round_seconds: float = 5.0  # probe interval, and one step of the timeline
    slow_delay: float = 2.5  # the slow site's first byte
    deadline: float = 4.0  # one probe's overall deadline (the hanging site costs this)
    flap_rounds: int = 8  # state changes of the flapping site...
    flap_phase_rounds: int = 2  # ...each lasting this many rounds
    listen: str = DEFAULT_LISTEN  # exporter; a taken port falls back to a free one

    def config_extra(self) -> str:
        r = self.round_seconds
        return (
            "[probe]\n"
            f"interval = {r}\n"
            f"deadline = {self.deadline}\n"
            "[incidents]\n"
            # Windows scaled to the demo's rounds, so the script plays out in minutes.
            f"flap_window = {20 * r}\n"
            f"outage_window = {3 * r}\n"
        )


class DemoDesk:
    """The running demo: fleet, rounds, exporter and timeline, started and stopped as one."""

    def __init__(
        self, workdir: Path, settings: DemoSettings | None = None, out: TextIO | None = None
    ) -> None:
        self.workdir = workdir
        self.settings = settings or DemoSettings()
        self.out = out or sys.stderr
        self.narrate = False
        self.config_path = workdir / "ronda.toml"
        self.db_path = workdir / "ronda.db"
        self.store: Store | None = None
        self.config: Config | None = None
        self.exporter = None
        self.fleet = None
        self.driver = None
        self._stop = threading.Event()
        self._rounds: threading.Thread | None = None
        self._round_error: BaseException | None = None

    def say(self, text: str) -> None:
        print(f"ronda demo: {text}", file=self.out, flush=True)

    def start(self) -> DemoDesk:
        from ronda.demo.fleet import Fleet
        from ronda.demo.timeline import TimelineDriver, default_timeline

        s = self.settings
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.fleet = Fleet(slow_delay=s.slow_delay, workdir=self.workdir / "fleet")
        self.fleet.start()
        self.fleet.write_config(self.config_path, extra=s.config_extra())
        self.config = load_config(self.config_path)
        self.store = Store(self.db_path)
        sync_config(self.store, self.config)
        self.say(
            f"{len(self.fleet.sites)} sites on {len(self.fleet.servers)} servers; "
            f"config {self.config_path}, database {self.db_path}"
        )
        self._start_exporter()
        self._rounds = threading.Thread(target=self._run_rounds, name="ronda-rounds", daemon=True)
        self._rounds.start()
        timeline = default_timeline(
            self.fleet.sites,
            round_seconds=s.round_seconds,
            flap_rounds=s.flap_rounds,
            flap_phase_rounds=s.flap_phase_rounds,
        )
        self.driver = TimelineDriver(timeline, self.fleet, on_step=self._on_step)
        self.driver.start()
        return self

    def _start_exporter(self) -> None:
        from ronda.exporter.server import AddressInUse, serve

        try:
            self.exporter = serve(self.store, self.settings.listen)
        except AddressInUse:
            host = self.settings.listen.rsplit(":", 1)[0]
            self.exporter = serve(self.store, f"{host}:0")
            self.say(f"{self.settings.listen} is taken; exporter on a free port instead")
        self.say(f"exporter at {self.exporter.url}")

    def _run_rounds(self) -> None:
        from ronda.checks.cli import run_rounds

        try:
            run_rounds(self.config_path, self.store, self._stop, on_event=lambda e: None)
        except BaseException as error:  # reported by stop(); the TUI must not die with it
            self._round_error = error

    def _on_step(self, step) -> None:
        # Narrated only without the TUI: a line printed under it would garble the screen.
        if self.narrate:
            self.say(f"timeline: {step.site} {step.note or step.behaviour}")

    def wait(self, seconds: float) -> None:
        """Let the demo run (headless) for `seconds`, or until it is stopped."""
        self._stop.wait(seconds)

    def probe_now(self, site: str) -> str:
        """One probe of one site, tickets updated as in a round (the TUI's "probe now")."""
        from ronda.checks.cli import probe_summary

        return probe_summary(self.config, self.store, site)

    def stop(self) -> None:
        self._stop.set()
        if self.driver is not None:
            self.driver.stop()
        if self._rounds is not None:
            self._rounds.join(timeout=15)
        if self.exporter is not None:
            self.exporter.stop()
        if self.fleet is not None:
            self.fleet.stop()
        if self._round_error is not None:
            self.say(f"rounds stopped with an error: {self._round_error}")

    def summary(self) -> str:
        """Tickets by failure class, priority and SLA state; sites up and down."""
        assert self.store is not None
        desk = Desk(self.store)
        rows = self.store.query("SELECT id FROM tickets WHERE source = 'probe' ORDER BY id")
        tickets = [desk.get(r["id"]) for r in rows]
        by_class = Counter(str(t.failure_class) for t in tickets)
        by_priority = Counter(str(t.priority) for t in tickets)
        by_state = Counter(str(desk.sla_state(t)) for t in tickets)
        by_status = Counter(str(t.status) for t in tickets)
        health = site_health(self.store)
        up = sum(1 for s in health if s.up)
        down = sorted(s.name for s in health if s.up is False)

        def line(title: str, counts: Counter) -> str:
            return f"{title}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))

        return "\n".join(
            [
                f"tickets: {len(tickets)}",
                line("by class", by_class),
                line("by priority", by_priority),
                line("by status", by_status),
                line("by SLA state", by_state),
                f"sites: {up} up, {len(down)} down ({', '.join(down)})",
            ]
        )


def run_demo(
    *,
    headless: bool = False,
    duration: float = 60.0,
    workdir: Path | None = None,
    listen: str = DEFAULT_LISTEN,
    agent: str | None = None,
    lang: str = "en",
    settings: DemoSettings | None = None,
    out: TextIO | None = None,
) -> int:
    """`ronda demo [--headless --duration S]`. Returns the exit code."""
    out = out or sys.stdout
    settings = settings or DemoSettings(listen=listen)
    workdir = workdir or Path(tempfile.mkdtemp(prefix="ronda-demo-"))
    demo = DemoDesk(workdir, settings, out=sys.stderr)
    demo.narrate = headless
    try:
        demo.start()
        if headless:
            demo.say(f"running headless for {duration:g} s (Ctrl-C stops early)")
            try:
                demo.wait(duration)
            except KeyboardInterrupt:
                demo.say("interrupted")
        else:
            from ronda.sla import SlaPolicy
            from ronda.tui.app import RondaApp

            app = RondaApp(
                demo.store,
                agent or getpass.getuser(),
                lang,
                probe_now=demo.probe_now,
                policy=SlaPolicy.from_config(demo.config),
                idle_gc=True,
            )
            app.run()
    finally:
        demo.stop()
    if demo.store is not None:
        print(demo.summary(), file=out)
        print(f"demo files kept in {workdir}", file=out)
    return 0
