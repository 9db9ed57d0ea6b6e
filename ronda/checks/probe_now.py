"""Probe now: one site or check subject, or all of them, outside the scheduler's rhythm.

What `ronda probe` prints and what the TUI's "probe now" shows: each site and each check
subject (a server's mail or access service, a customer's domain: `ronda.checks.subjects`),
by name (`srv-a/smtp:587`, `domain:tienda.co`), is checked (and
probed again at once when the incident rules ask, as in a round), the round is applied
through `RoundRunner` unless it is a dry run, and the answer is plain objects, one per site.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from ronda.checks.incidents import Failure
from ronda.checks.outcomes import failures_of
from ronda.checks.politeness import hold
from ronda.checks.probe import Prober, ProbeResult, run
from ronda.checks.rounds import RoundEvent, RoundItem, RoundRunner
from ronda.checks.subjects import WEB, CheckContext, dispatching
from ronda.checks.wordpress.health import WordPressHealth
from ronda.config import Config, Site
from ronda.sites import sync_config
from ronda.store import Store

KNOWN_SITES_SHOWN = 10  # names an unknown-site error lists


class UnknownSite(LookupError):
    """A name the config has neither as a site nor as a check subject; the message lists
    some that it has (sites first)."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        self.name = name
        self.known = tuple(known)
        listed = ", ".join(self.known[:KNOWN_SITES_SHOWN]) or "none configured"
        more = len(self.known) - KNOWN_SITES_SHOWN
        listed += f", and {more} more" if more > 0 else ""
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
    kind: str = WEB  # a check subject's kind ("service", "domain") for anything not a site

    @property
    def site(self) -> str:
        return self.result.site

    @property
    def subject(self) -> bool:
        """A check subject rather than a web site."""
        return self.kind != WEB

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
    """The site or check subject named, or everything the rounds check (the sites, then
    the subjects); `UnknownSite` for a name the config lacks."""
    if name is None:
        return list(config.checked())
    site = config.site(name)
    if site is None:
        raise UnknownSite(name, [s.name for s in config.checked()])
    return [site]


def probe_now(
    config: Config,
    store: Store | None,
    site: str | None = None,
    *,
    dry_run: bool = False,
    prober: Prober | None = None,
) -> ProbeRun:
    """Probe `site` (a site's or a check subject's name; None: all of them) now, within
    the config's concurrency limits.

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
    kinds = {s.name: s.kind for s in sites}
    probed = []
    for item in items:
        final = item.reprobe if item.reprobe is not None else item.result
        mine = tuple(e for e in events if e.site == final.site)
        kind = kinds.get(final.site, WEB)
        probed.append(SiteProbe(final, failures_of(final), mine, kind))
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
        server = None
        if site.server:
            server = per_server.setdefault(
                site.server, asyncio.Semaphore(max(1, config.per_server_concurrency))
            )
        reprobe = None
        async with hold(server) as slot, limit:
            result = await check(site)
            again = runner is not None and runner.needs_reprobe(result)
            if again and (slot.held or server is None):
                reprobe = await check(site)  # a new failure: look again at once
        if again and reprobe is None:  # the probe gave its slot back (a lookup elsewhere)
            async with hold(server), limit:
                reprobe = await check(site)
        return RoundItem(result, reprobe)

    try:
        return list(await asyncio.gather(*(one(s) for s in sites)))
    finally:
        if prober is None:
            await active.aclose()


__all__ = ["ProbeRun", "SiteProbe", "UnknownSite", "probe_now", "select_sites"]
