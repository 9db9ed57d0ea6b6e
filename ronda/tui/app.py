"""The agents' TUI: the queue by SLA urgency, tickets, intake, site health.

All I/O runs in thread workers; the UI thread only paints. A poller reads a cheap change
stamp of the store every second and loads a fresh queue snapshot when it moved (or when the
agent changed the view), so probes' and other agents' changes appear without a restart.
Every change goes through `ronda.tickets.Desk` with the version on screen: a stale change is
refused and the fresh state shown.

Entry points: `RondaApp(store, agent, ...)` and `run_tui(db_path, agent, lang, config)`.
"""

from __future__ import annotations

import getpass
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from textual import events, work
from textual.app import App
from textual.css.query import NoMatches
from textual.notifications import SeverityLevel
from textual.worker import Worker, get_current_worker

from ronda.agents import UnknownAgent, check_agent
from ronda.config import Agent, Config, SavedReply
from ronda.display import visible
from ronda.model import Ticket
from ronda.saved_replies import offered
from ronda.sla import SlaPolicy
from ronda.store import Store
from ronda.tickets import (
    AlreadyClaimed,
    Desk,
    QueueFilter,
    StaleTicket,
    TicketError,
    TicketNotFound,
    case_number_for,
    ticket_id_from_case,
    utcnow,
)
from ronda.tui.commands import RondaCommands
from ronda.tui.counting import HeaderCounts
from ronda.tui.data import (
    QUEUE_LIMIT,
    Directory,
    QueueSnapshot,
    TicketDetail,
    load_detail,
    load_directory,
    load_queue,
    read_stamp,
)
from ronda.tui.i18n import Catalogue
from ronda.tui.idle_gc import IdleCollector
from ronda.tui.messages import CountsLoaded, PollFailed, PollRecovered, TicketsChanged
from ronda.tui.palette import TextualWords
from ronda.tui.probing import ProbedSite, ProbeNow, probe_summary
from ronda.tui.screens.base import RondaScreen, localized
from ronda.tui.screens.compose import Draft
from ronda.tui.screens.help import HelpScreen
from ronda.tui.screens.new_ticket import Intake, NewTicketScreen, PhoneCall
from ronda.tui.screens.prompts import TextPrompt
from ronda.tui.screens.queue import QueueScreen
from ronda.tui.screens.sites import SitesScreen
from ronda.tui.screens.ticket import TicketScreen
from ronda.when import use_zone

POLL_SECONDS = 1.0
# Even when nothing changed, reload now and then: SLA states move with time (ok -> warning).
FULL_REFRESH_SECONDS = 15.0
MAX_BACKOFF_SECONDS = 30.0

# `:` understands case numbers and these words (English and Spanish).
JUMP_COMMANDS: dict[str, str] = {
    "help": "app.help",
    "ayuda": "app.help",
    "sites": "app.sites",
    "sitios": "app.sites",
    "new": "app.new_ticket",
    "nuevo": "app.new_ticket",
    "refresh": "app.refresh",
    "recargar": "app.refresh",
    "quit": "app.quit",
    "q": "app.quit",
    "salir": "app.quit",
    "mine": "view:mine",
    "mios": "view:mine",
    "míos": "view:mine",
    "unassigned": "view:unassigned",
    "libres": "view:unassigned",
    "open": "view:open",
    "abiertos": "view:open",
    "breached": "view:breached",
    "vencidos": "view:breached",
    "resolved": "view:resolved",
    "resueltos": "view:resolved",
    "all": "view:all",
    "todos": "view:all",
}


# (desk, ticket as shown, agent, text) -> the ticket after the reply was recorded and its
# mail queued.
MailReply = Callable[[Desk, Ticket, str, str], Ticket]


class RondaApp(HeaderCounts, TextualWords, App[None]):
    """The desk for one agent. `clock` and `probe_now` are injected (tests, the CLI)."""

    CSS_PATH = "app.tcss"
    TITLE = "Ronda"
    COMMANDS = App.COMMANDS | {RondaCommands}

    def __init__(
        self,
        store: Store,
        agent: str,
        lang: str = "en",
        clock: Callable[[], datetime] | None = None,
        probe_now: ProbeNow | None = None,
        policy: SlaPolicy | None = None,
        *,
        mail_reply: MailReply | None = None,
        mail_off_reason: str = "why.no_config",
        poll_interval: float = POLL_SECONDS,
        queue_limit: int = QUEUE_LIMIT,
        idle_gc: bool = False,
        agents: tuple[Agent, ...] = (),
        saved_replies: tuple[SavedReply, ...] = (),
        config_source: str | None = "",
    ) -> None:
        super().__init__()
        # Only for a real session (run_tui): tests start many apps in one process.
        self.collector = IdleCollector() if idle_gc else None
        self.store = store
        self.agent = agent
        self.t = Catalogue(lang)
        self.lang = self.t.lang
        self._localize_palette_key()
        self.clock: Callable[[], datetime] = clock or utcnow
        self.desk = Desk(store, policy=policy, clock=self.clock)
        use_zone(self.desk.policy.timezone)  # every instant on screen is in the desk's zone
        self.probe_now = probe_now
        # Replies go out by mail (recorded, and queued for the relay) through this, when the
        # CLI wires the mail channel; otherwise a reply is recorded only, and
        # `mail_off_reason` (a catalogue key) says why.
        self.mail_reply = mail_reply
        self.mail_off_reason = mail_off_reason
        self.poll_interval = poll_interval
        # The config's [[agents]] (empty: names are free text) and saved replies.
        self.agents = agents
        self._saved_replies = saved_replies
        # The config file in use (None: the defaults; "": not said), said at start and in
        # the queue's header.
        self.config_source = config_source
        # Unsent replies and notes, per (ticket id, "reply" | "note"): read from the store
        # at start, written through on every change (`keep_draft`).
        self.drafts: dict[tuple[int, str], Draft] = {}
        self._draft_seq: dict[tuple[int, str], int] = {}
        self._draft_lock = threading.Lock()
        # (generation, filter): replaced as one tuple so the poller reads a consistent
        # pair. `_fresh_generation` is the latest request that must re-read the store in
        # full (after a change made here), not just fetch rows for a new filter.
        self._request: tuple[int, QueueFilter] = (
            0,
            QueueFilter(view="open", agent=agent, limit=queue_limit),
        )
        self._fresh_generation = 0
        self._wake = threading.Event()
        self._count_lock = threading.Lock()
        self._counting: sqlite3.Connection | None = None
        self.snapshot: QueueSnapshot | None = None
        self.pending = 0  # I/O started from the UI and not finished: tests wait on it
        self.poll_failures = 0
        self.sub_title = agent

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """`App.run`, giving the garbage collector its own schedule back afterwards."""
        try:
            return super().run(*args, **kwargs)
        finally:
            if self.collector is not None:
                self.collector.uninstall()

    async def on_event(self, event: events.Event) -> None:
        if self.collector is not None and isinstance(event, (events.Key, events.MouseDown)):
            self.collector.activity()  # the agent is at the keys: no full collection now
        await super().on_event(event)

    # ---- the queue's data ------------------------------------------------------------

    @property
    def queue_filter(self) -> QueueFilter:
        return self._request[1]

    def set_filter(self, **changes: object) -> None:
        """Change the view or filters; the poller loads the new snapshot at once."""
        generation, flt = self._request
        self._request = (generation + 1, replace(flt, **changes))
        with self._count_lock:
            # A count for the previous filter is moot: stop it so this one starts now.
            if self._counting is not None:
                self._counting.interrupt()
        self._wake.set()

    def request_reload(self) -> None:
        """Re-read the store now (after a change made here)."""
        generation, flt = self._request
        self._fresh_generation = generation + 1
        self._request = (generation + 1, flt)
        self._wake.set()

    @property
    def settled(self) -> bool:
        """No I/O in flight and the queue on screen answers the latest request."""
        return (
            self.pending == 0
            and self.snapshot is not None
            and self.snapshot.generation == self._request[0]
            and self.snapshot.total is not None
            and self.snapshot.counts is not None
        )

    def on_mount(self) -> None:
        self.run_io(lambda: self.store.drafts.of_agent(self.agent), self._drafts_loaded)
        self.push_screen(localized(QueueScreen, self.lang)())
        if self.config_source:
            self.say(self.t("msg.config_in_use", path=self.config_source))
        elif self.config_source is None:
            self.say(self.t("msg.config_none"), "warning")
        self.set_interval(1.0, self._tick)
        self._poll()

    def _tick(self) -> None:
        if self.collector is not None:
            self.collector.tick()
        screen = self.screen
        if isinstance(screen, RondaScreen):
            try:
                screen.tick(self.clock())
            except NoMatches:
                pass  # the screen is being taken down (quitting): nothing to repaint

    @work(thread=True, exclusive=True, group="poll", name="store poll")
    def _poll(self) -> None:
        """Reload the queue when the store's stamp or the request changed. A failed read
        shows a toast and the next attempt waits twice as long (up to 30 s)."""
        worker = get_current_worker()
        last_stamp, last_generation, last_full = None, -1, 0.0
        served_fresh = -1
        wait = self.poll_interval
        failing = False
        while not worker.is_cancelled:
            # In this order: request_reload sets the fresh mark before the request.
            generation, flt = self._request
            fresh_generation = self._fresh_generation
            fresh = fresh_generation > served_fresh
            try:
                due = time.monotonic() - last_full >= FULL_REFRESH_SECONDS
                keystroke = generation != last_generation and not fresh and not due
                # A new filter on an unchanged store: answer at once with the rows; the
                # next tick re-reads the stamp (and the header counts) as usual.
                stamp = last_stamp if keystroke and last_stamp else read_stamp(self.store)
                if stamp != last_stamp or generation != last_generation or due:
                    same_store = stamp == last_stamp and not fresh and not due
                    snapshot = load_queue(
                        self.desk,
                        flt,
                        self.clock(),
                        stamp=stamp,
                        generation=generation,
                        counts=self.counts_for(stamp) if same_store else None,
                        count=False,
                        with_counts=False,  # the rows paint first; the counts follow
                    )
                    self.post_message(TicketsChanged(snapshot))
                    if not same_store:
                        self.load_counts(stamp, snapshot.loaded_at)
                    # Rows first, then the total (a COUNT that may scan): unless the
                    # agent already typed on, in which case the next load counts.
                    if snapshot.total is None and self._request[0] == generation:
                        counted = self.count_total(snapshot)
                        if counted is not None:
                            snapshot = counted
                            self.post_message(TicketsChanged(snapshot))
                    last_stamp = stamp
                    last_generation = generation
                    if not same_store:
                        last_full = time.monotonic()
                    served_fresh = fresh_generation
                if failing:
                    failing = False
                    self.post_message(PollRecovered())
                wait = self.poll_interval
            except Exception as exc:  # any failing read: toast and retry, never end the loop
                failing = True
                wait = min(max(wait * 2, self.poll_interval * 2), MAX_BACKOFF_SECONDS)
                self.post_message(PollFailed(str(exc), wait))
            self._sleep(wait, worker)

    def _sleep(self, seconds: float, worker: Worker) -> None:
        """Wait for `seconds`, a wake-up (filter changed, action done) or cancellation."""
        deadline = time.monotonic() + seconds
        while not worker.is_cancelled:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            # Short slices so quitting never waits on a long back-off.
            if self._wake.wait(min(left, 0.2)):
                self._wake.clear()
                return

    def on_tickets_changed(self, message: TicketsChanged) -> None:
        if self.snapshot is None and self.collector is not None:
            # After start-up: the app's long-lived objects (widgets, styles, caches) leave
            # the collector's reach, and full collections wait for a pause in typing.
            self.call_after_refresh(self.collector.install)
        self._show_snapshot(self.with_counts(message.snapshot))

    def on_counts_loaded(self, message: CountsLoaded) -> None:
        self.header_counts = (message.stamp, message.counts)
        if self.snapshot is not None and self.snapshot.stamp == message.stamp:
            self._show_snapshot(replace(self.snapshot, counts=message.counts))

    def _show_snapshot(self, snapshot: QueueSnapshot) -> None:
        self.snapshot = snapshot
        for screen in self.screen_stack:
            if isinstance(screen, RondaScreen):
                try:
                    screen.data_changed(snapshot)
                except NoMatches:
                    pass  # the screen is being taken down (quitting): nothing to repaint

    def on_poll_failed(self, message: PollFailed) -> None:
        self.poll_failures += 1
        self.say(
            self.t("msg.poll_failed", error=message.error, seconds=f"{message.retry_in:.0f}"),
            "error",
        )

    def on_poll_recovered(self, message: PollRecovered) -> None:
        self.say(self.t("msg.poll_recovered"))

    # ---- feedback and I/O helpers ----------------------------------------------------

    def say(self, text: str, severity: SeverityLevel = "information") -> None:
        """A toast. Never markup, and controls shown (`ronda.display`): messages quote case
        subjects, names and errors."""
        self.notify(visible(text, lines=True), severity=severity, markup=False)

    def run_io(
        self,
        fn: Callable[[], Any],
        then: Callable[[Any], None],
        errors: Callable[[Exception], None] | None = None,
    ) -> None:
        """Run `fn` in a thread worker, then `then(result)` on the UI thread."""
        self.pending += 1
        self._io(fn, then, errors)

    @work(thread=True, group="io")
    def _io(
        self,
        fn: Callable[[], Any],
        then: Callable[[Any], None],
        errors: Callable[[Exception], None] | None,
    ) -> None:
        try:
            result = fn()
        except Exception as exc:  # reported on the UI thread, never lost
            self.call_from_thread(self._io_failed, exc, errors)
        else:
            self.call_from_thread(self._io_done, then, result)

    def _io_done(self, then: Callable[[Any], None], result: Any) -> None:
        self.pending -= 1
        then(result)

    def _io_failed(self, exc: Exception, errors: Callable[[Exception], None] | None) -> None:
        self.pending -= 1
        if errors is not None:
            errors(exc)
        else:
            self.say(str(exc), "error")

    def perform(
        self,
        change: Callable[[Desk], Ticket],
        done: str,
        then: Callable[[Ticket], None] | None = None,
        failed: Callable[[Exception], None] | None = None,
    ) -> None:
        """Make a change through the desk off the UI thread; report and refresh after.
        `failed` hears of a refusal after the agent was told (a draft to keep)."""

        def succeeded(ticket: Ticket) -> None:
            self.say(done)
            self._show_fresh(ticket)
            if then is not None:
                then(ticket)

        def refused(exc: Exception) -> None:
            self._change_failed(exc)
            if failed is not None:
                failed(exc)

        self.run_io(lambda: change(self.desk), succeeded, refused)

    def _drafts_loaded(self, stored: list) -> None:
        for draft in stored:
            # A draft written in this session already is newer than the stored one.
            self.drafts.setdefault((draft.ticket_id, draft.kind), Draft(draft.body, draft.why))
        for screen in self.screen_stack:
            if isinstance(screen, TicketScreen):
                screen.refresh_draft()

    def keep_draft(self, key: tuple[int, str], draft: Draft | None) -> None:
        """Keep (or, with None, drop) a case's draft: at once on screen, and in the store
        off the UI thread, the latest change winning (so quitting the TUI loses nothing)."""
        if draft is None:
            self.drafts.pop(key, None)
        else:
            self.drafts[key] = draft
        seq = self._draft_seq.get(key, 0) + 1
        self._draft_seq[key] = seq
        ticket_id, kind = key
        now = self.clock().timestamp()

        def write() -> None:
            # Writes run in a pool: under the lock, one overtaken by a newer change is
            # skipped, so an older text never lands over a newer one.
            with self._draft_lock:
                if self._draft_seq.get(key) != seq:
                    return
                if draft is None:
                    self.store.drafts.drop(ticket_id, self.agent, kind)
                else:
                    self.store.drafts.save(
                        ticket_id, self.agent, kind, draft.text, draft.why, now=now
                    )

        self.run_io(write, lambda _: None)

    def refusal(self, exc: Exception) -> str:
        """Why the desk refused a change, in one line for the editor's draft."""
        if isinstance(exc, StaleTicket):
            fresh = exc.current
            return self.t("msg.stale", case=fresh.case_number, version=fresh.version)
        if isinstance(exc, TicketError):
            return str(exc)
        return self.t("msg.failed", error=str(exc))

    def unknown_agent(self, name: str) -> str | None:
        """Why `name` cannot be assigned (not one of the config's [[agents]], with a
        did-you-mean), or None; blank (unassign) and any name without [[agents]] pass."""
        if not name.strip():
            return None
        try:
            check_agent(name, [a.name for a in self.agents])
        except UnknownAgent as exc:
            hint = (
                self.t("msg.did_you_mean", name=exc.close)
                if exc.close
                else self.t("msg.agents_are", names=", ".join(exc.known))
            )
            return self.t("msg.unknown_agent", name=exc.name, hint=hint)
        return None

    def declared_agent(self, name: str) -> str:
        """`name` as the config spells it (letter case), or as typed without [[agents]]."""
        try:
            return check_agent(name, [a.name for a in self.agents])
        except UnknownAgent:
            return name.strip()

    @property
    def agent_profile(self) -> Agent | None:
        """The agent at the keys as the config declares them (None: not declared)."""
        return next((a for a in self.agents if a.name == self.agent), None)

    def saved_replies(self) -> list[SavedReply]:
        """The config's saved replies, those in the UI's language first."""
        return offered(self._saved_replies, self.lang)

    def reply_recipient(self, ticket: Ticket) -> tuple[str | None, str]:
        """(the address a reply on `ticket` is mailed to, or None and the catalogue key of
        why not)."""
        if self.mail_reply is None:
            return None, self.mail_off_reason
        if not ticket.requester or "@" not in ticket.requester:
            return None, "why.no_requester"
        return ticket.requester, ""

    def _change_failed(self, exc: Exception) -> None:
        if isinstance(exc, StaleTicket):
            fresh = exc.current
            self.say(self.t("msg.stale", case=fresh.case_number, version=fresh.version), "warning")
            self._show_fresh(fresh)
        elif isinstance(exc, AlreadyClaimed):
            fresh = exc.current
            self.say(
                self.t("msg.already_claimed", case=fresh.case_number, who=fresh.assignee or "-"),
                "warning",
            )
            self._show_fresh(fresh)
        elif isinstance(exc, TicketError):
            self.say(str(exc), "error")
        else:
            self.say(self.t("msg.failed", error=str(exc)), "error")

    def _show_fresh(self, ticket: Ticket) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, TicketScreen) and screen.ticket and screen.ticket.id == ticket.id:
                screen.show_ticket(ticket)
        self.request_reload()

    def with_directory(self, then: Callable[[Directory], None]) -> None:
        """Load the names the forms offer (customers, sites, agents), then open the form."""
        self.run_io(lambda: load_directory(self.store), then)

    def valid_case_or_empty(self, text: str) -> str | None:
        if text.strip() and ticket_id_from_case(text) is None:
            return self.t("msg.not_case", text=text.strip())
        return None

    # ---- navigation ------------------------------------------------------------------

    def open_ticket(self, ref: int | str, detail: TicketDetail | None = None) -> None:
        self.push_screen(localized(TicketScreen, self.lang)(ref, detail))

    def jump(self, text: str) -> None:
        """A case number read out on the phone (`R-2481`, `2481`, `r 2481`), or a command
        word."""
        text = text.strip()
        if not text:
            return
        command = JUMP_COMMANDS.get(text.lower())
        if command is not None:
            if command.startswith("view:"):
                self.set_filter(view=command.removeprefix("view:"))
                self._back_to_queue()
            else:
                self.call_later(self.run_action, command)
            return
        ticket_id = ticket_id_from_case(text)
        if ticket_id is None:
            self.say(self.t("msg.not_case", text=text), "warning")
            return
        case = case_number_for(ticket_id)

        def missing(exc: Exception) -> None:
            if isinstance(exc, TicketNotFound):
                self.say(self.t("msg.no_case", case=case), "warning")
            else:
                self.say(str(exc), "error")

        self.run_io(
            lambda: load_detail(self.desk, case),
            lambda detail: self.open_ticket(detail.ticket.id, detail),
            missing,
        )

    def _back_to_queue(self) -> None:
        while len(self.screen_stack) > 2 and not isinstance(self.screen, QueueScreen):
            self.pop_screen()

    # ---- app-wide actions (bound on every screen, see ronda.tui.actions) -------------------

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
        else:
            self.push_screen(HelpScreen())

    def action_jump(self) -> None:
        def done(text: str | None) -> None:
            if text:
                self.jump(text)

        self.push_screen(
            TextPrompt(
                self.t("prompt.jump"),
                placeholder=self.t("prompt.jump_hint"),
                suggestions=JUMP_COMMANDS,
            ),
            done,
        )

    def action_sites(self) -> None:
        if not isinstance(self.screen, SitesScreen):
            self.push_screen(localized(SitesScreen, self.lang)())

    def action_refresh(self) -> None:
        self.request_reload()
        if isinstance(self.screen, (TicketScreen, SitesScreen)):
            self.screen.reload()

    def action_new_ticket(self) -> None:
        self.with_directory(
            lambda d: self.push_screen(NewTicketScreen(d, self.t), self._intake_done)
        )

    def _intake_done(self, answer: Intake | PhoneCall | None) -> None:
        if isinstance(answer, PhoneCall):
            self.jump(answer.case_number)
        elif isinstance(answer, Intake):
            self.perform(
                lambda desk: desk.open_ticket(
                    source=answer.source,
                    subject=answer.subject,
                    priority=answer.priority,
                    impact=answer.impact,
                    actor=self.agent,
                    category=answer.category,
                    site=answer.site,
                    customer=answer.customer,
                    requester=answer.requester,
                    body=answer.body,
                ),
                self.t("done.opened"),
                then=lambda ticket: self.open_ticket(ticket.id),
            )

    def probe_site(self, site: str, then: Callable[[], None] | None = None) -> None:
        """Probe one site now through the injected `probe_now` (the service's)."""
        probe = self.probe_now
        if probe is None:
            self.say(self.t("sites.no_probe"), "warning")
            return
        self.say(self.t("sites.probing", site=site))

        def finished(probed: ProbedSite | str | None) -> None:
            self.say(self.t("sites.probed", site=site, result=probe_summary(probed)))
            if then is not None:
                then()

        self.run_io(lambda: probe(site), finished)


def run_tui(
    db_path: str | Path | None = None,
    agent: str | None = None,
    lang: str | None = None,
    config: Config | None = None,
    probe_now: ProbeNow | None = None,
    mail_reply: MailReply | None = None,
    mail_off_reason: str = "why.no_config",
    config_source: str | None = None,
) -> None:
    """What `ronda tui [--db PATH] [--agent NAME] [--lang es]` runs.

    `agent` defaults to the login name; `lang` to the config's, else English; the SLA
    policy comes from the config when one is given.
    """
    store = Store(db_path)
    policy = SlaPolicy.from_config(config) if config is not None else None
    app = RondaApp(
        store,
        agent or getpass.getuser(),
        lang or (config.lang if config is not None else "en"),
        probe_now=probe_now,
        policy=policy,
        mail_reply=mail_reply,
        mail_off_reason=mail_off_reason,
        idle_gc=True,
        agents=config.agents if config is not None else (),
        saved_replies=config.replies if config is not None else (),
        config_source=config_source,
    )
    try:
        app.run()
    finally:
        store.close()
