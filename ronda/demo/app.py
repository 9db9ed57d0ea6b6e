"""`ronda demo`: the whole desk on a local fleet of failing sites, from one command.

Starts the fleet (every covered failure, over HTTP and HTTPS, on 127.0.0.1), writes a demo
config and database, runs the desk's service (probe rounds and exporter) on them, and plays
the scripted timeline (a site that flaps, one that degrades, a server that falls and comes
back, one that recovers on its own). `ronda demo` opens the TUI on the live queue (quitting
it stops everything) or, headless, lets it run for a while and prints what the desk saw.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ronda.app.service import Event, Service, ServiceOptions
from ronda.config import Config
from ronda.model import FailureClass, Source
from ronda.sites import site_health
from ronda.store import Store
from ronda.tickets import Desk

if TYPE_CHECKING:
    from ronda.checks.probe_now import SiteProbe
    from ronda.exporter.server import ExporterHandle

DEFAULT_LISTEN = "127.0.0.1:9464"


def reply_channel(service: Service | None) -> tuple[object | None, str]:
    """The TUI's mail channel for the demo's service (its `mail_reply` when a relay is
    configured) and, when there is none, the catalogue key that says so: the demo has a
    config, but no relay (`ronda.tui.app.RondaApp.reply_recipient`)."""
    if service is not None and service.replies_by_mail:
        return service.mail_reply, ""
    return None, "why.demo_no_relay"


# Saved replies the demo's reply editor offers (ctrl+t), one per language.
DEMO_REPLIES = (
    "[[replies.saved]]\n"
    'name = "Estamos revisando"\n'
    'lang = "es"\n'
    'text = "Hola, {customer}: ya estamos revisando {site} (caso {case}). '
    'Le escribimos antes de {limit}."\n'
    "[[replies.saved]]\n"
    'name = "Looking into it"\n'
    'lang = "en"\n'
    'text = "Hello {customer}, we are looking into {site} (case {case}) and will write '
    'before {limit}."\n'
)


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
            f"outage_window = {3 * r}\n" + DEMO_REPLIES
        )


class DemoDesk:
    """The running demo: the fleet and its timeline around the desk's service (rounds and
    exporter), started and stopped as one."""

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
        self.service: Service | None = None
        self.fleet = None
        self.dns_fleet = None
        self.mail = None
        self.driver = None

    @property
    def config(self) -> Config | None:
        return self.service.config if self.service is not None else None

    @property
    def exporter(self) -> ExporterHandle | None:
        return self.service.exporter if self.service is not None else None

    def reply_channel(self) -> tuple[object | None, str]:
        """(how the TUI mails a reply, or None; the catalogue key of why it does not):
        the demo's config names no mail relay, so its replies are recorded only."""
        return reply_channel(self.service)

    def say(self, text: str) -> None:
        print(f"ronda demo: {text}", file=self.out, flush=True)

    def start(self) -> DemoDesk:
        from ronda.demo.dns_fleet import DnsFleet
        from ronda.demo.fleet import Fleet
        from ronda.demo.timeline import TimelineDriver, default_timeline

        s = self.settings
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.fleet = Fleet(slow_delay=s.slow_delay, workdir=self.workdir / "fleet")
        self.fleet.start()
        from ronda.demo.mail_fleet import MailFleet

        mail = MailFleet(self.fleet.certs.ca, s.round_seconds)
        self.mail = self.fleet.submit(mail.start()).result(10)
        self.dns_fleet = DnsFleet().start()
        domains = self.dns_fleet.config_toml(interval=s.round_seconds)
        extra = s.config_extra() + mail.config_toml() + domains
        self.fleet.write_config(self.config_path, extra=extra)
        self.store = Store(self.db_path)
        self.service = Service.from_file(
            self.config_path,
            self.store,
            ServiceOptions(rounds=True, exporter=s.listen, exporter_fallback=True),
            on_event=self._on_event,
        )
        self.say(
            f"{len(self.fleet.sites)} sites on {len(self.fleet.servers)} servers; "
            f"config {self.config_path}, database {self.db_path}"
        )
        self.service.start()
        assert self.service.exporter is not None
        self.say(f"exporter at {self.service.exporter.url}")
        timeline = default_timeline(
            self.fleet.sites,
            round_seconds=s.round_seconds,
            flap_rounds=s.flap_rounds,
            flap_phase_rounds=s.flap_phase_rounds,
        )
        self.driver = TimelineDriver(timeline, self.fleet, on_step=self._on_step)
        self.driver.start()
        return self

    def _on_event(self, event: Event) -> None:
        # Round events stay in the store and the TUI; a taken exporter port is worth a line.
        if event.kind == "exporter_fallback":
            self.say(str(event))

    def _on_step(self, step) -> None:
        # Narrated only without the TUI: a line printed under it would garble the screen.
        if self.narrate:
            self.say(f"timeline: {step.site} {step.note or step.behaviour}")

    def wait(self, seconds: float) -> bool:
        """Let the demo run (headless) for `seconds`, or until it is stopped or its rounds
        end; True when it has ended."""
        return self.service.wait(seconds) if self.service is not None else True

    def probe_now(self, site: str) -> SiteProbe:
        """One probe of one site, tickets updated as in a round (the TUI's "probe now")."""
        assert self.service is not None
        return self.service.probe_site(site)

    def stop(self) -> None:
        if self.driver is not None:
            self.driver.stop()
        if self.service is not None:
            self.service.stop()
        if self.fleet is not None:
            if self.mail is not None:
                self.fleet.submit(self.mail.stop()).result(10)
            self.fleet.stop()
        if self.dns_fleet is not None:
            self.dns_fleet.stop()
        if self.service is not None and self.service.error is not None:
            self.say(f"rounds stopped with an error: {self.service.error}")

    def summary(self) -> str:
        """Tickets by failure class, priority and SLA state; sites up, down and blocked."""
        assert self.store is not None
        desk = Desk(self.store)
        tickets = self.store.tickets.by_source(Source.PROBE)
        by_class = Counter(str(t.failure_class) for t in tickets)
        by_priority = Counter(str(t.priority) for t in tickets)
        by_state = Counter(str(desk.sla_state(t)) for t in tickets)
        by_status = Counter(str(t.status) for t in tickets)
        health = site_health(self.store)
        # A site a firewall blocks the desk from is not measured: neither up nor down.
        blocked = sorted(s.name for s in health if s.failure_class == str(FailureClass.BLOCKED))
        up = sum(1 for s in health if s.up and s.name not in blocked)
        down = sorted(s.name for s in health if s.up is False and s.name not in blocked)

        def line(title: str, counts: Counter) -> str:
            return f"{title}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))

        return "\n".join(
            [
                f"tickets: {len(tickets)}",
                line("by class", by_class),
                line("by priority", by_priority),
                line("by status", by_status),
                line("by SLA state", by_state),
                f"sites: {up} up, {len(down)} down ({', '.join(down)}), "
                f"{len(blocked)} blocked ({', '.join(blocked)})",
            ]
        )
