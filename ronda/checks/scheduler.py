"""Continuous rounds: every site on its own interval, within concurrency limits.

Check subjects (a server's services, a domain: `ronda.checks.subjects`) are scheduled the
same way, with their server's budget; the web prober checks sites, a subject's kind its own.

- Each site is due every `site.probe.interval` seconds. The first due time of a site with
  no stored result is a deterministic offset spread over its interval (a hash of its name),
  so 10,000 sites do not fire in the same second; a site with a stored result is due one
  interval after it (`probe_state.checked_at`), so a restart resumes the rhythm. A site
  already overdue at start falls back to its spread offset.
- A global limit (`config.concurrency`) and a per-server limit
  (`config.per_server_concurrency`, one shared host must not be hammered) bound the probes
  in flight; a site still in flight when due again skips that round. A site without a
  `server` spends the budget of the address it resolves to (`ronda.checks.politeness`).
- Results (with the immediate re-probe the rules ask for) go to the round runner in
  batches, applied on one worker thread so SQLite never blocks the event loop.
- Before a batch with a new failure is applied (and before every batch while the desk is
  blind), the canaries are asked and a sample of up sites on other servers is probed at
  once (`RoundRunner.look`): the blind guard then judges the failure on what the desk sees
  now, before any ticket opens (`ronda.checks.blind`).
- `stop` ends it gracefully: no new probes, in-flight ones get `shutdown_grace` seconds to
  finish and are cancelled after, and the last batch is flushed.

Clock and probe are injected: tests drive `run_due(now)` with a fake clock, or run the loop
with intervals of a few hundredths of a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ronda.checks.blind import CanaryResult
from ronda.checks.canaries import check_canaries
from ronda.checks.politeness import Resolve, budget_key, hold, host_of_url
from ronda.checks.rounds import RoundItem, RoundRunner
from ronda.checks.subjects import WEB, CheckContext, dispatching
from ronda.config import Config, Site

if TYPE_CHECKING:
    from ronda.checks.probe import ProbeResult

log = logging.getLogger(__name__)

ProbeFn = Callable[[Site], Awaitable["ProbeResult"]]


def spread_offset(name: str, interval: float) -> float:
    """A stable offset in [0, interval) for a site: the same after every restart."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 * interval


@dataclass(slots=True)
class SchedulerStats:
    """What the loop did; `lags` keeps the most recent start lags (actual start - due)."""

    started: int = 0
    skipped_in_flight: int = 0
    probe_errors: int = 0
    flushed: int = 0
    flush_errors: int = 0
    sampled: int = 0  # probes of a sample the blind guard asked for
    canary_checks: int = 0
    lags: deque[float] | None = None

    def __post_init__(self) -> None:
        if self.lags is None:
            self.lags = deque(maxlen=100_000)


class Scheduler:
    """Runs rounds of every configured site forever (until `stop`)."""

    def __init__(
        self,
        config: Config,
        runner: RoundRunner,
        probe: ProbeFn,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        batch_size: int = 200,
        flush_interval: float = 0.5,
        shutdown_grace: float = 5.0,
        context: CheckContext | None = None,
        resolve: Resolve | None = None,
    ) -> None:
        """`probe` checks web sites; every other subject goes to its kind's registered
        check (`ronda.checks.subjects`) with `context` (default: one from the config).
        `resolve` (host -> address, e.g. an `AddressBook`) puts web sites without a server
        under the budget of the address they resolve to; None: no such grouping."""
        self.runner = runner
        self.web_probe = probe
        self.context = context if context is not None else CheckContext.from_config(config)
        self.probe = dispatching(probe, self.context)
        self.resolve = resolve
        self.clock = clock
        self.wall = wall
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.shutdown_grace = shutdown_grace
        self.stats = SchedulerStats()
        self.config = config
        self._sites: dict[str, Site] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._due: dict[str, float] = {}  # the authoritative due time; older heap rows are stale
        self._seq = itertools.count()
        self._inflight: dict[str, asyncio.Task] = {}
        self._pending: list[RoundItem] = []
        self._global: asyncio.Semaphore | None = None
        self._servers: dict[str, asyncio.Semaphore] = {}
        self._flush_now: asyncio.Event | None = None
        self._flush_lock: asyncio.Lock | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._limits = (config.concurrency, config.per_server_concurrency)
        self._set_sites(config, initial=True)

    # ---- schedule --------------------------------------------------------------------

    def _set_sites(self, config: Config, initial: bool = False) -> None:
        now = self.clock()
        now_wall = self.wall().timestamp()
        checked = self.runner.last_checked()
        old = self._sites
        self._sites = {site.name: site for site in config.checked()}
        for name in list(self._due):
            if name not in self._sites:
                del self._due[name]  # its heap row is now stale and will be skipped
        for site in self._sites.values():
            if site.name in old and not initial:
                continue
            interval = max(site.probe.interval, 0.001)
            due = now + spread_offset(site.name, interval)
            last = checked.get(site.name)
            if last is not None:
                wait = last + interval - now_wall
                if 0 <= wait <= interval:
                    due = now + wait  # resume the rhythm it had before the restart
            self._push(site.name, due)

    def _push(self, name: str, due: float) -> None:
        self._due[name] = due
        heapq.heappush(self._heap, (due, next(self._seq), name))

    def next_due(self) -> float | None:
        """The earliest due time (clock seconds), or None with no sites."""
        while self._heap and self._due.get(self._heap[0][2]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def due_times(self) -> dict[str, float]:
        return dict(self._due)

    def set_context(self, context: CheckContext) -> None:
        """What check subjects' checks use from now on (a reload changed `[tls]`)."""
        self.context = context
        self.probe = dispatching(self.web_probe, context)

    def update_config(self, config: Config) -> None:
        """A reloaded config: new sites are scheduled, removed ones stop, new intervals
        and limits apply from each site's next round."""
        self.config = config
        self.runner.update_config(config)
        limits = (config.concurrency, config.per_server_concurrency)
        if limits != self._limits:
            # In-flight probes keep the old semaphores; new ones take the new limits.
            self._limits = limits
            self._global = None
            self._servers = {}
        self._set_sites(config)

    # ---- one launch ------------------------------------------------------------------

    def _ensure_loop_objects(self) -> None:
        if self._global is None:
            self._global = asyncio.Semaphore(max(1, self._limits[0]))
        if self._flush_now is None:
            self._flush_now = asyncio.Event()
        if self._flush_lock is None:
            self._flush_lock = asyncio.Lock()
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="ronda-rounds")

    async def _server_limit(self, site: Site) -> asyncio.Semaphore | None:
        """The per-server budget this check spends (`ronda.checks.politeness`)."""
        address = None
        if not site.server and self.resolve is not None and site.kind == WEB:
            host = host_of_url(site.url)
            address = await self.resolve(host) if host else None
        key = budget_key(site, address)
        if key is None:
            return None
        sem = self._servers.get(key)
        if sem is None:
            sem = self._servers[key] = asyncio.Semaphore(max(1, self._limits[1]))
        return sem

    def _launch_due(self, now: float) -> list[asyncio.Task]:
        """Start a probe for every site due at `now`; reschedule each one interval later."""
        self._ensure_loop_objects()
        tasks: list[asyncio.Task] = []
        while self._heap and self._heap[0][0] <= now:
            due, _, name = heapq.heappop(self._heap)
            if self._due.get(name) != due:
                continue  # stale row (rescheduled or removed)
            site = self._sites[name]
            interval = max(site.probe.interval, 0.001)
            nxt = due + interval
            if nxt <= now:
                nxt = now + spread_offset(name, interval) % interval  # far behind: re-spread
            self._push(name, nxt)
            if name in self._inflight:
                self.stats.skipped_in_flight += 1
                continue
            task = asyncio.create_task(self._probe_one(site, due), name=f"probe:{name}")
            self._inflight[name] = task
            task.add_done_callback(lambda _t, n=name: self._inflight.pop(n, None))
            tasks.append(task)
        return tasks

    async def _probe_one(self, site: Site, due: float) -> None:
        assert self._global is not None
        server_sem = await self._server_limit(site)
        try:
            reprobe = None
            async with hold(server_sem) as slot, self._global:
                self.stats.started += 1
                assert self.stats.lags is not None
                self.stats.lags.append(self.clock() - due)
                result = await self.probe(site)
                again = self.runner.needs_reprobe(result)
                if again and (slot.held or server_sem is None):
                    # A new failure: look again at once, on a fresh connection.
                    reprobe = await self.probe(site)
            if again and reprobe is None:
                # The probe gave its slot back (a lookup elsewhere): take one again.
                async with hold(server_sem), self._global:
                    reprobe = await self.probe(site)
        except asyncio.CancelledError:
            raise
        except Exception:
            self.stats.probe_errors += 1
            log.exception("probe of %s failed", site.name)
            return
        self._pending.append(RoundItem(result, reprobe))
        if len(self._pending) >= self.batch_size and self._flush_now is not None:
            self._flush_now.set()

    # ---- batches ---------------------------------------------------------------------

    async def flush(self, *, sample: bool = True) -> int:
        """Hand the pending results to the round runner (one batch per call), after the
        look the blind guard asks for (`sample=False`: the canaries only)."""
        self._ensure_loop_objects()
        assert self._flush_lock is not None and self._executor is not None
        async with self._flush_lock:
            items, self._pending = self._pending, []
            if not items:
                return 0
            loop = asyncio.get_running_loop()
            try:
                canaries, extra = await self._look_around(items, sample)
                items += extra
                apply = functools.partial(self.runner.apply, items, canaries=canaries)
                await loop.run_in_executor(self._executor, apply)
            except Exception:
                self.stats.flush_errors += 1
                log.exception("a batch of %d results could not be stored", len(items))
                if len(self._pending) < 10 * self.batch_size:
                    self._pending[:0] = items  # try again with the next batch
                return 0
            self.stats.flushed += len(items)
            return len(items)

    async def _look_around(
        self, items: list[RoundItem], sample: bool
    ) -> tuple[list[CanaryResult] | None, list[RoundItem]]:
        """The canaries' answers and the sample's results the guard asks for (see `look`)."""
        look = self.runner.look(items, busy=self._inflight)
        if look is None:
            return None, []
        settings = self.config.blind
        sites = [self._sites[n] for n in look.sample if sample and n in self._sites]
        checks = []
        if look.canaries and settings.canaries:
            extra_ca = self.config.tls.extra_ca
            checks.append(
                check_canaries(settings.canaries, settings.canary_timeout, extra_ca=extra_ca)
            )
        answers = await asyncio.gather(*checks, *(self._sample_one(site) for site in sites))
        self.stats.canary_checks += len(checks)
        results = [RoundItem(r) for r in answers[len(checks) :] if r is not None]
        self.stats.sampled += len(results)
        return (answers[0] if checks else None), results

    async def _sample_one(self, site: Site) -> ProbeResult | None:
        assert self._global is not None
        try:
            server_sem = await self._server_limit(site)
            async with hold(server_sem), self._global:
                return await self.probe(site)
        except asyncio.CancelledError:
            raise
        except Exception:
            self.stats.probe_errors += 1
            log.exception("probe of %s (a sample for the blind guard) failed", site.name)
            return None

    async def _flush_loop(self, stop: asyncio.Event) -> None:
        assert self._flush_now is not None
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush_now.wait(), self.flush_interval)
            self._flush_now.clear()
            await self.flush()

    # ---- driving -----------------------------------------------------------------------

    async def run_due(self, now: float | None = None) -> int:
        """Probe every site due at `now` (default: the clock), wait, flush. For tests and
        one-shot use; returns how many probes ran."""
        tasks = self._launch_due(self.clock() if now is None else now)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.flush()
        return len(tasks)

    async def run(self, stop: asyncio.Event) -> None:
        """Rounds until `stop` is set, then a graceful shutdown."""
        self._ensure_loop_objects()
        flusher = asyncio.create_task(self._flush_loop(stop), name="rounds-flush")
        try:
            while not stop.is_set():
                self._launch_due(self.clock())
                nxt = self.next_due()
                wait = 1.0 if nxt is None else min(max(nxt - self.clock(), 0.0), 1.0)
                if wait <= 0:
                    await asyncio.sleep(0)  # let the probes just started run
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)
        finally:
            await self._shutdown(flusher)

    async def _shutdown(self, flusher: asyncio.Task) -> None:
        inflight = list(self._inflight.values())
        if inflight:
            _, late = await asyncio.wait(inflight, timeout=self.shutdown_grace)
            for task in late:
                task.cancel()
            if late:
                await asyncio.gather(*late, return_exceptions=True)
        flusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flusher
        await self.flush(sample=False)  # no new probes while stopping; the canaries answer fast
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        self._flush_lock = None
        self._flush_now = None


__all__ = ["ProbeFn", "Scheduler", "SchedulerStats", "spread_offset"]
