"""Probe now: one site or every site, outside the scheduler's rhythm.

What `ronda probe` prints and what the TUI's "probe now" shows: each site is probed (and
probed again at once when the incident rules ask, as in a round), the round is applied
through `RoundRunner` unless it is a dry run, and the answer is plain objects, one per site.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ronda.checks.incidents import Failure
from ronda.checks.outcomes import failures_of
from ronda.checks.probe import Prober, ProbeResult, run
from ronda.checks.rounds import RoundEvent, RoundItem, RoundRunner
from ronda.checks.subjects import CheckContext, dispatching
from ronda.checks.wordpress.health import WordPressHealth
from ronda.config import Config, Site
from ronda.sites import sync_config
from ronda.store import Store

KNOWN_SITES_SHOWN = 10  # names an unknown-site error lists


class UnknownSite(LookupError):
    """A site name the config does not have; the message lists some that it does."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        self.name = name
        self.known = tuple(known)
        listed = ", ".join(self.known[:KNOWN_SITES_SHOWN]) or "none configured"
        super().__init__(f"no site named {name!r} (sites: {listed})")

    def __str__(self) -> str:  # LookupError would quote the message
        return str(self.args[0])


@dataclass(frozen=True, slots=True)
class SiteProbe:
    """One site probed now: what was seen (the re-probe when the rules asked for one), its
    failing checks, and the round's events about it (none in a dry run)."""

    result: ProbeResult
    failures: tuple[Failure, ...]
    events: tuple[RoundEvent, ...] = ()

    @property
    def site(self) -> str:
        return self.result.site

    @property
    def failing(self) -> bool:
        return bool(self.failures)


@dataclass(frozen=True, slots=True)
class ProbeRun:
    """Every site probed now, in config order, and every event of the round in the order
    the round made them (server incidents included, which name no probed site)."""

    sites: tuple[SiteProbe, ...]
    events: tuple[RoundEvent, ...] = ()

    def site(self, name: str) -> SiteProbe:
        for probed in self.sites:
            if probed.site == name:
                return probed
        raise KeyError(name)


def select_sites(config: Config, name: str | None) -> list[Site]:
    """The site (or other check subject) named, or every site; `UnknownSite` for a name the
    config lacks."""
    if name is None:
        return list(config.sites)
    site = config.site(name)
    if site is None:
        raise UnknownSite(name, [s.name for s in config.sites])
    return [site]


def probe_now(
    config: Config,
    store: Store | None,
    site: str | None = None,
    *,
    dry_run: bool = False,
    prober: Prober | None = None,
) -> ProbeRun:
    """Probe `site` (or every site) now, within the config's concurrency limits.

    Unless `dry_run`, the config's sites are synced to the store and the round is applied
    as the scheduler would (tickets opened, updated, resolved). `prober` replaces the real
    one (its owner closes it). Blocks: it runs its own event loop.
    """
    sites = select_sites(config, site)
    runner: RoundRunner | None = None
    if not dry_run:
        if store is None:
            raise ValueError("probe_now writes the round into a store: give one, or dry_run")
        sync_config(store, config)
        runner = RoundRunner(store, config)
    items = run(_probe_all(config, sites, runner, prober))
    events = tuple(runner.apply(items)) if runner is not None else ()
    probed = []
    for item in items:
        final = item.reprobe if item.reprobe is not None else item.result
        mine = tuple(e for e in events if e.site == final.site)
        probed.append(SiteProbe(final, failures_of(final), mine))
    return ProbeRun(tuple(probed), events)


async def _probe_all(
    config: Config, sites: list[Site], runner: RoundRunner | None, prober: Prober | None
) -> list[RoundItem]:
    if prober is not None:
        active = prober
    else:
        active = Prober(extra_ca=config.tls.extra_ca, use_uvloop=False)
        active.wordpress = WordPressHealth(
            config.wordpress, verify=active.ssl_context, every_turn=True
        )
    check = dispatching(active.probe_site, CheckContext.from_config(config, active))
    limit = asyncio.Semaphore(max(1, config.concurrency))
    per_server: dict[str, asyncio.Semaphore] = {}

    async def one(site: Site) -> RoundItem:
        server: Any = contextlib.nullcontext()
        if site.server:
            server = per_server.setdefault(
                site.server, asyncio.Semaphore(max(1, config.per_server_concurrency))
            )
        async with server, limit:
            result = await check(site)
            reprobe = None
            if runner is not None and runner.needs_reprobe(result):
                reprobe = await check(site)  # a new failure: look again at once
            return RoundItem(result, reprobe)

    try:
        return list(await asyncio.gather(*(one(s) for s in sites)))
    finally:
        if prober is None:
            await active.aclose()


__all__ = ["ProbeRun", "SiteProbe", "UnknownSite", "probe_now", "select_sites"]
