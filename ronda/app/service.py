"""The desk's service: the one object that starts and stops its running parts.

A `Service` is built from a config (or its file), a store and `ServiceOptions` saying which
parts run: the rounds (the scheduler on a thread of its own), the Prometheus exporter (with
`/healthz`), the SMTP intake, the outbox's sender worker (a thread per channel), the
notifier (customer notices and agents' notifications, a thread of its own), retention
(`[retention]`, once a day), the status pages (`[status_page]`, a thread of their own), the
monthly reports (mailed from the 1st) and a watch on the config file. `start()` starts them
in that order (exporter, mail, sender, notifier, rounds, retention, status pages, reports,
watch) and `stop()` stops them in reverse; `reload()` applies the config file again (a
broken one is refused and the old one runs on); `wait()` blocks until the service
has stopped or its rounds ended on their own. "Probe now" and mail replies use the running
config. Every command that runs something (`ronda run`, `exporter`, `mail`, `demo`, `tui`)
goes through it; signals and logging belong to the command line, not here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ronda.app.rounds import STOP_TIMEOUT, RoundsThread
from ronda.checks.probe_now import ProbeRun, SiteProbe, probe_now
from ronda.checks.rounds import RoundEvent
from ronda.config import Config, ConfigError, load_config
from ronda.model import Ticket
from ronda.sites import sync_config
from ronda.store import Store
from ronda.tickets import Desk, utcnow

if TYPE_CHECKING:
    from ronda.app.retention import RetentionThread
    from ronda.app.status_pages import StatusPageThread
    from ronda.exporter.server import ExporterHandle
    from ronda.intake.server import MailServer
    from ronda.reach.notifier import Notifier
    from ronda.reach.sender import Sender
    from ronda.reports.monthly import MonthlyReportsThread

log = logging.getLogger(__name__)

WATCH_INTERVAL = 2.0  # seconds between two looks at the config file's modification time
DEFAULT_EXPORTER = "127.0.0.1:9464"
MIN_FRESHNESS = 60.0  # seconds: the least age of the newest result `/healthz` calls stale


def round_freshness(config: Config) -> float | None:
    """How old the newest stored probe result may be while the rounds are well: three of
    the slowest site's interval plus deadline, and at least a minute. None without sites
    (no round to judge)."""
    if not config.sites:
        return None
    slowest = max(site.probe.interval + site.probe.deadline for site in config.sites)
    return max(MIN_FRESHNESS, 3 * slowest)


@dataclass(frozen=True, slots=True)
class ServiceEvent:
    """Something the service did that is worth a log line (a part started, the config
    reloaded or refused). `kind` is "error" for a refusal, as for round events."""

    kind: str  # exporter_started, exporter_fallback, mail_started, rounds_started,
    # sender_started, notifier_started, outbox, notify, config_reloaded, retention,
    # reports, error
    message: str

    def __str__(self) -> str:
        return self.message


Event = RoundEvent | ServiceEvent
EventSink = Callable[[Event], object]


@dataclass(frozen=True, slots=True)
class ServiceOptions:
    """Which parts a service runs. Everything is off unless asked for."""

    rounds: bool = False
    exporter: str | None = None  # listen address (host:port, port 0 = a free one), or off
    exporter_fallback: bool = False  # a taken exporter port: serve on a free one instead
    mail: bool = False
    mail_listen: str | None = None  # default: the config's [mail] listen
    watch_config: bool = False  # reload when the config file changes (needs its path)
    watch_interval: float = WATCH_INTERVAL
    retention: bool = False  # apply [retention] at start and once a day (with the rounds)
    outbox: bool = False  # deliver the outbox (the relay, Apprise) with the sender worker
    notifier: bool = False  # tell customers and agents (needs the outbox to reach anyone)
    status_page: bool = False  # keep [status_page] out fresh (when the config sets it)
    reports: bool = False  # from the 1st, queue last month's reports of opted-in customers


def file_signature(path: Path) -> tuple[int, int] | None:
    """What the watch compares: modification time (ns) and size, None when unreadable."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


class Service:
    """The running desk of one process. See the module docstring for its life cycle."""

    def __init__(
        self,
        config: Config | None,
        store: Store,
        options: ServiceOptions | None = None,
        *,
        config_path: str | Path | None = None,
        on_event: EventSink | None = None,
        clock: Callable[[], datetime] = utcnow,
        loaded_signature: tuple[int, int] | None = None,
    ) -> None:
        """`config_path` is the file `reload()` and the watch read; `loaded_signature` its
        signature taken before `config` was read from it (an edit made meanwhile is then
        seen as a change). `on_event` is called on the thread that made the event (the
        rounds' for round events), so it must be quick and must not call back into the
        service. `clock` is the exporter's and the intake's."""
        self.config = config if config is not None else Config()
        self.store = store
        self.options = options or ServiceOptions()
        self.config_path = Path(config_path) if config_path is not None else None
        self.on_event = on_event
        self.clock = clock
        self.exporter: ExporterHandle | None = None
        self.mail: MailServer | None = None
        self.rounds: RoundsThread | None = None
        self.retention: RetentionThread | None = None
        self.status_pages: StatusPageThread | None = None
        self.sender: Sender | None = None
        self.notifier: Notifier | None = None
        self.reports: MonthlyReportsThread | None = None
        self._seen = loaded_signature
        if self._seen is None and self.config_path is not None:
            self._seen = file_signature(self.config_path)
        self._lock = threading.Lock()  # start, stop and reload, one at a time
        self._started = False
        self._stopping = threading.Event()  # tells the watch to end
        self._ended = threading.Event()  # stopped, or the rounds ended on their own
        self._watch: threading.Thread | None = None

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        store: Store,
        options: ServiceOptions | None = None,
        *,
        on_event: EventSink | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> Service:
        """Load the config file (`ConfigError` when it is broken) and build on it."""
        path = Path(path)
        seen = file_signature(path)  # before reading: a later edit is a change
        config = load_config(path)
        return cls(
            config,
            store,
            options,
            config_path=path,
            on_event=on_event,
            clock=clock,
            loaded_signature=seen,
        )

    # ---- life cycle --------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._started and not self._ended.is_set()

    @property
    def error(self) -> BaseException | None:
        """What ended the rounds, when it was not `stop()`."""
        return self.rounds.error if self.rounds is not None else None

    def start(self) -> Service:
        """Start the parts the options ask for. If one cannot start, those already started
        are stopped and the error is raised (`ExporterError` for a taken or bad exporter
        address, `OSError` for the SMTP one)."""
        with self._lock:
            if self._started:
                raise RuntimeError("the service is already started")
            self._started = True
            try:
                if self.options.exporter is not None:
                    self._start_exporter(self.options.exporter)
                if self.options.mail:
                    self._start_mail()
                if self.options.outbox:
                    self._start_sender()
                if self.options.notifier:
                    self._start_notifier()
                if self.options.rounds:
                    self._start_rounds()
                if self.options.retention:
                    self._start_retention()
                if self.options.status_page:
                    self._start_status_pages()
                if self.options.reports:
                    self._start_reports()
                if self.options.watch_config and self.config_path is not None:
                    self._watch = threading.Thread(
                        target=self._watch_loop, name="ronda-config-watch", daemon=True
                    )
                    self._watch.start()
            except BaseException:
                self._stop_parts()
                self._ended.set()
                raise
        return self

    def _health_max_age(self) -> float | None:
        """The freshness `/healthz` asks of the rounds this service runs; without them
        (`ronda exporter`) the exporter's default."""
        from ronda.exporter.server import DEFAULT_HEALTH_MAX_AGE

        return round_freshness(self.config) if self.options.rounds else DEFAULT_HEALTH_MAX_AGE

    def _start_exporter(self, listen: str) -> None:
        from ronda.exporter.server import AddressInUse, serve

        max_age = self._health_max_age()
        try:
            self.exporter = serve(self.store, listen, self.clock, health_max_age=max_age)
        except AddressInUse:
            if not self.options.exporter_fallback:
                raise
            host = listen.rsplit(":", 1)[0] if ":" in listen else "127.0.0.1"
            self.exporter = serve(self.store, f"{host}:0", self.clock, health_max_age=max_age)
            self._emit(
                ServiceEvent(
                    "exporter_fallback", f"{listen} is taken; exporter on a free port instead"
                )
            )
        self._emit(ServiceEvent("exporter_started", f"exporter serving {self.exporter.url}"))

    def _start_mail(self) -> None:
        from ronda.intake.ingest import Intake
        from ronda.intake.server import MailServer

        intake = Intake.from_config(self.config, self.store, self.clock)
        intake.on_queued = self.wake_sender
        self.mail = MailServer(intake, self.options.mail_listen).start()
        host, port = self.mail.address
        relay = self.config.mail.relay or "none (no acknowledgements)"
        self._emit(ServiceEvent("mail_started", f"mail intake on {host}:{port}, relay {relay}"))

    def _start_sender(self) -> None:
        from ronda.reach.sender import Sender

        def report(text: str, failed: bool) -> None:
            self._emit(ServiceEvent("error" if failed else "outbox", text))

        self.sender = Sender(
            self.store, lambda: self.config, clock=self.clock, report=report
        ).start()
        relay = self.config.mail.relay or "none"
        self._emit(ServiceEvent("sender_started", f"outbox sender running, relay {relay}"))

    def _start_notifier(self) -> None:
        from ronda.app.reach import blind_check
        from ronda.reach.notifier import Notifier

        def report(text: str, failed: bool) -> None:
            self._emit(ServiceEvent("error" if failed else "notify", text))

        self.notifier = Notifier(
            self.store,
            lambda: self.config,
            clock=self.clock,
            is_blind=blind_check(self.store),
            queued=self.wake_sender,
            report=report,
        ).start()
        config = self.config
        self._emit(
            ServiceEvent(
                "notifier_started",
                f"notifier running: {len(config.agents)} agents, "
                f"{sum(1 for c in config.customers if c.notices)} customers with notices",
            )
        )

    def wake_sender(self) -> None:
        """Something was queued: the sender looks now (a no-op without one)."""
        if self.sender is not None:
            self.sender.wake()

    def _start_rounds(self) -> None:
        sync_config(self.store, self.config)
        notifier = self.notifier
        self.rounds = RoundsThread(
            self.config,
            self.store,
            on_event=self._emit,
            on_done=self._ended.set,
            after_batch=notifier.after_round if notifier is not None else None,
        ).start()
        source = f" from {self.config_path}" if self.config_path is not None else ""
        self._emit(
            ServiceEvent(
                "rounds_started",
                f"rounds of {len(self.config.sites)} sites{source}, database {self.store.path}",
            )
        )

    def _start_retention(self) -> None:
        from ronda.app.retention import RetentionThread

        def report(text: str, failed: bool) -> None:
            self._emit(ServiceEvent("error" if failed else "retention", text))

        self.retention = RetentionThread(self.store, lambda: self.config.retention, report).start()

    def _start_status_pages(self) -> None:
        from ronda.app.status_pages import StatusPageThread

        def report(text: str, failed: bool) -> None:
            self._emit(ServiceEvent("error" if failed else "status_page", text))

        self.status_pages = StatusPageThread(
            self.store, lambda: self.config, report, clock=self.clock
        ).start()

    def _start_reports(self) -> None:
        from ronda.reports.monthly import MonthlyReportsThread

        def report(text: str, failed: bool) -> None:
            self._emit(ServiceEvent("error" if failed else "reports", text))

        self.reports = MonthlyReportsThread(
            self.store, lambda: self.config, report, queued=self.wake_sender, clock=self.clock
        ).start()

    def rounds_responsive(self, within: float) -> bool:
        """The rounds run and their loop answered within `within` seconds (what the
        systemd watchdog is petted for)."""
        if self.rounds is None or not self.running:
            return False
        age = self.rounds.beat()
        return age is not None and age <= within

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop every part, in reverse order of starting: the watch, retention (after the
        batch in flight), the rounds (after the probes in flight and the last batch), the
        intake (after what it accepted is stored), the exporter. Idempotent; the parts'
        handles stay for inspection, and the store stays open (it is the caller's)."""
        self._stopping.set()
        self._join_watch(timeout)  # before the lock: a reload in flight needs it to finish
        with self._lock:
            self._stop_parts(timeout)
            self._ended.set()

    def _join_watch(self, timeout: float) -> None:
        watch = self._watch
        if watch is not None and watch is not threading.current_thread():
            watch.join(timeout)
            self._watch = None

    def _stop_parts(self, timeout: float = STOP_TIMEOUT) -> None:
        self._stopping.set()
        self._join_watch(timeout)
        if self.reports is not None:
            self.reports.stop(timeout)
        if self.status_pages is not None:
            self.status_pages.stop(timeout)
        if self.retention is not None:
            self.retention.stop(timeout)
        if self.rounds is not None:
            self.rounds.stop(timeout)
            if self.rounds.alive:
                log.warning("the rounds did not stop within %g s", timeout)
        if self.notifier is not None:
            self.notifier.stop(timeout)
        if self.mail is not None:
            self.mail.stop()
        if self.sender is not None:
            self.sender.stop(timeout)  # after the intake: what it stored last is queued
        if self.exporter is not None:
            self.exporter.stop()

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the service has stopped or its rounds ended on their own (see
        `error`), or `timeout` seconds pass; True when it has ended."""
        return self._ended.wait(timeout)

    # ---- the config --------------------------------------------------------------------

    def reload(self, config: Config | None = None) -> bool:
        """Apply `config`, or the config file read again: sites synced to the store and
        handed to the running rounds. A file that cannot be used is reported as an "error"
        event and changes nothing (False). The running intake keeps the config it started
        with."""
        with self._lock:
            if self._stopping.is_set() and self._started:
                return False  # stopping: nothing left to apply it to
            if config is None:
                if self.config_path is None:
                    raise ValueError("this service has no config file to reload")
                try:
                    config = load_config(self.config_path)
                except ConfigError as error:
                    self._emit(
                        ServiceEvent("error", f"config not reloaded, keeping the old one: {error}")
                    )
                    return False
            self.config = config
            if self.rounds is not None:
                sync_config(self.store, config)
                self.rounds.update_config(config)
            if self.exporter is not None:
                self.exporter.health_max_age = self._health_max_age()
            self._emit(
                ServiceEvent("config_reloaded", f"config reloaded: {len(config.sites)} sites")
            )
            return True

    def _watch_loop(self) -> None:
        assert self.config_path is not None
        while not self._stopping.wait(self.options.watch_interval):
            now = file_signature(self.config_path)
            if now == self._seen:
                continue
            self._seen = now
            try:
                self.reload()
            except Exception as error:  # the watch must outlive a failed reload
                log.exception("reloading %s failed", self.config_path)
                self._emit(ServiceEvent("error", f"config not reloaded: {error}"))

    # ---- what the TUI and the probe command ask of it ----------------------------------

    def probe(self, site: str | None = None, *, dry_run: bool = False) -> ProbeRun:
        """Probe `site` (or every site) now with the running config; tickets opened and
        updated as in a round unless `dry_run`. `UnknownSite` for a name it lacks."""
        return probe_now(self.config, self.store, site, dry_run=dry_run)

    def probe_site(self, site: str) -> SiteProbe:
        """One site probed now, tickets updated (the TUI's "probe now")."""
        return self.probe(site).sites[0]

    @property
    def replies_by_mail(self) -> bool:
        """Agents' replies can go out by mail (a relay is configured)."""
        return bool(self.config.mail.relay)

    def mail_reply(self, desk: Desk, ticket: Ticket, agent: str, text: str) -> Ticket:
        """Record an agent's reply and queue its mail to the requester, together (the TUI's
        replies), signed with the agent's `signature` from [[agents]] (else their name); the
        sender of `ronda run` or `ronda mail` delivers it."""
        from ronda.intake.replies import send_reply

        config = self.config
        declared = config.agent(agent)
        replied = send_reply(
            desk,
            ticket.id,
            agent,
            text,
            settings=config.mail,
            lang=config.lang,
            version=ticket.version,
            signature=(declared.signature if declared else None) or agent,
        )
        self.wake_sender()
        return replied

    # ---- events ------------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(event)
        except Exception:  # a logging hook must never stop the service
            log.exception("on_event hook failed")


def run_rounds(
    config_path: str | Path,
    store: Store,
    stop_event: threading.Event,
    on_event: EventSink = print,
    *,
    reload_event: threading.Event | None = None,
    poll: float = 0.1,
) -> int:
    """Rounds in the foreground until `stop_event` is set; when `reload_event` is set the
    config file is read again (a broken one is reported through `on_event`). Returns 0."""
    service = Service.from_file(config_path, store, ServiceOptions(rounds=True), on_event=on_event)
    service.start()
    try:
        while not stop_event.wait(poll) and not service.wait(0):
            if reload_event is not None and reload_event.is_set():
                reload_event.clear()
                service.reload()
    finally:
        service.stop()
    if service.error is not None:
        raise service.error
    return 0


__all__ = [
    "DEFAULT_EXPORTER",
    "Event",
    "EventSink",
    "Service",
    "ServiceEvent",
    "ServiceOptions",
    "file_signature",
    "round_freshness",
    "run_rounds",
]
