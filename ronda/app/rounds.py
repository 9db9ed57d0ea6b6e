"""The rounds on a thread of their own: the scheduler's event loop, started and stopped
from the service, with a new config handed in while it runs."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ronda.checks.blind import CanaryResult
from ronda.checks.politeness import AddressBook
from ronda.checks.probe import Prober, ProbeResult, run
from ronda.checks.rounds import EventSink, RoundEvent, RoundItem, RoundRunner
from ronda.checks.scheduler import Scheduler
from ronda.checks.subjects import CheckContext
from ronda.checks.wordpress.health import WordPressHealth
from ronda.config import Config, Site
from ronda.store import Store

log = logging.getLogger(__name__)

START_TIMEOUT = 10.0  # seconds for the loop to come up
APPLY_TIMEOUT = 10.0  # seconds for the loop to take a new config
# Seconds to wait for the rounds to end: the scheduler's grace for probes in flight (5 s),
# then the last batch's write.
STOP_TIMEOUT = 15.0


def make_prober(config: Config, wordpress: WordPressHealth | None = None) -> Prober:
    """The probes' client; it holds the SSL context built from `[tls]`, and the WordPress
    checks' memory between rounds (`wordpress`: a previous prober's, kept over a reload)."""
    prober = Prober(extra_ca=config.tls.extra_ca, use_uvloop=False)
    if wordpress is None:
        wordpress = WordPressHealth(config.wordpress, verify=prober.ssl_context)
    else:
        wordpress.update(config.wordpress, {s.name for s in config.sites})
        wordpress.verify = prober.ssl_context
    prober.wordpress = wordpress
    return prober


class HookedRunner(RoundRunner):
    """The round runner, with one hook on the outcome of every batch: `after_batch` gets
    the batch's events once they are stored (on the rounds' store thread: it must be quick;
    the notifier only wakes up). The rules and the runner's own work stay as they are."""

    def __init__(
        self,
        store: Store,
        config: Config,
        *,
        on_event: EventSink | None = None,
        after_batch: Callable[[list[RoundEvent]], object] | None = None,
    ) -> None:
        super().__init__(store, config, on_event=on_event)
        self.after_batch = after_batch

    def apply(
        self,
        items: Iterable[RoundItem | ProbeResult],
        canaries: Sequence[CanaryResult] | None = None,
    ) -> list[RoundEvent]:
        events = super().apply(items, canaries)
        if events and self.after_batch is not None:
            try:
                self.after_batch(events)
            except Exception:  # a hook must never stop the rounds
                log.exception("after-batch hook failed")
        return events


class RoundsThread:
    """Rounds of every configured site until `stop()`.

    `start()` builds the round runner and the scheduler on the caller's thread (so a store
    that cannot be read fails there), then runs the scheduler's loop on a thread named
    `ronda-rounds-loop`. What ended the loop other than `stop()` is kept in `error`.
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        on_event: EventSink | None = None,
        on_done: Callable[[], object] | None = None,
        after_batch: Callable[[list[RoundEvent]], object] | None = None,
    ) -> None:
        """`on_done` is called on the loop's thread once the rounds have ended;
        `after_batch` with each stored batch's events (see `HookedRunner`)."""
        self.config = config
        self.store = store
        self.on_event = on_event
        self.on_done = on_done
        self.after_batch = after_batch
        self.error: BaseException | None = None
        self.done = threading.Event()  # set when the loop has ended, however it ended
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._scheduler: Scheduler | None = None
        # A reload that changes [tls] swaps in a new prober; probes in flight finish on the
        # old one, so every prober made is closed at the end.
        self._probers: list[Prober] = []
        self._answered = time.monotonic()  # when the loop last ran a callback of ours

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def beat(self) -> float | None:
        """Seconds since the loop last answered, and a new question asked of it; None
        when the rounds are not running. A loop stuck in a call never answers, so a
        growing value means stuck rounds (the watchdog stops being petted)."""
        if not self.alive or not self._call(self._answer):
            return None
        return time.monotonic() - self._answered

    def _answer(self) -> None:
        self._answered = time.monotonic()

    def start(self) -> RoundsThread:
        runner = HookedRunner(
            self.store, self.config, on_event=self.on_event, after_batch=self.after_batch
        )
        self._probers = [make_prober(self.config)]
        context = CheckContext.from_config(self.config, self._probers[0])
        context.store = self.store
        self._scheduler = Scheduler(
            self.config,
            runner,
            self._probe,
            context=context,
            resolve=AddressBook() if self.config.group_by_address else None,
        )
        self._thread = threading.Thread(target=self._run, name="ronda-rounds-loop", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise RuntimeError("the rounds' event loop did not start")
        if self.error is not None:
            raise RuntimeError(f"the rounds could not start: {self.error}") from self.error
        return self

    async def _probe(self, site: Site) -> ProbeResult:
        return await self._probers[-1].probe_site(site)

    def _run(self) -> None:
        try:
            run(self._main())
        except BaseException as error:  # noqa: BLE001 - kept for the service to report
            self.error = error
        finally:
            self._ready.set()
            self.done.set()
            if self.on_done is not None:
                self.on_done()

    async def _main(self) -> None:
        assert self._scheduler is not None
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._answer()
        self._ready.set()
        try:
            await self._scheduler.run(self._stop)
        finally:
            for prober in self._probers:
                await prober.aclose()

    def update_config(self, config: Config) -> None:
        """Hand a reloaded config to the running scheduler (from any thread but the loop's
        own); returns once the loop has taken it. New sites are scheduled, removed ones
        stop."""
        future: concurrent.futures.Future[None] = concurrent.futures.Future()

        def apply() -> None:
            try:
                self._apply(config)
            except BaseException as error:  # noqa: BLE001 - raised in the caller
                future.set_exception(error)
            else:
                future.set_result(None)

        if not self._call(apply):
            self.config = config  # not running: the next start takes it
            return
        try:
            future.result(APPLY_TIMEOUT)
        except concurrent.futures.TimeoutError:
            if not self.done.is_set():
                raise
            self.config = config  # the loop ended before it got there

    def _apply(self, config: Config) -> None:
        assert self._scheduler is not None
        if config.tls != self.config.tls:
            self._probers.append(make_prober(config, self._probers[-1].wordpress))
            # Service checks build their SSL contexts afresh too (checks in flight keep theirs).
            self._scheduler.set_context(CheckContext.from_config(config, self._probers[-1]))
        elif (health := self._probers[-1].wordpress) is not None:
            health.update(config.wordpress, {s.name for s in config.sites})
        self.config = config
        self._scheduler.update_config(config)

    def _call(self, fn: Any) -> bool:
        """Run `fn` on the loop; False when the loop is not running."""
        loop = self._loop
        if loop is None or self.done.is_set():
            return False
        try:
            loop.call_soon_threadsafe(fn)
        except RuntimeError:  # closed meanwhile
            return False
        return True

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop after the probes in flight (a grace period) and the last batch; idempotent."""
        stop = self._stop
        if stop is not None:
            self._call(stop.set)
        if self._thread is not None:
            self._thread.join(timeout)


__all__ = ["HookedRunner", "RoundsThread", "make_prober"]
