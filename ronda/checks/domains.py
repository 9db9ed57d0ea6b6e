"""The "domain" check subject: a customer domain's DNS each round, its registration's
expiry at most once a day, one `ProbeResult` for the incident rules.

Registered at import (`ronda.checks.subjects.KIND_MODULES`). The DNS checks run on every
round of the subject (`[dns] interval`, 15 minutes by default); the registry is asked when
the last lookup is older than `[expiry] lookup_every` (a day), or an hour after a lookup
that found no date. The last date and each check's pass or fail go to the store's
`domain_state` when the context has a store (the exporter reads them there), which also
keeps a restart from asking every registry again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from ronda.checks import subjects
from ronda.checks.classify import worst
from ronda.checks.dns_fetch import ResolverLimit, check_domain_dns, make_resolver
from ronda.checks.dns_judge import Verdict
from ronda.checks.expiry import Expiry, expiry_finding, lookup_due
from ronda.checks.expiry_fetch import BootstrapCache, lookup_expiry, make_client
from ronda.config.domains import DOMAIN_KIND, IANA_BOOTSTRAP, DnsSettings, DomainSubject
from ronda.display import visible, visible_tree

if TYPE_CHECKING:
    import dns.asyncresolver

    from ronda.checks.probe import ProbeResult
    from ronda.config import Site
    from ronda.store import Store

log = logging.getLogger(__name__)

RETRY_FAILED_LOOKUP = 3600.0  # seconds: a registry that did not answer is asked again later
EXPIRY_BUDGET = 3  # registry timeouts one lookup may take in all
BOOTSTRAP_FILE = "rdap-dns.json"  # IANA's; another bootstrap URL gets a file of its own


@dataclass(slots=True)
class _Known:
    expiry: Expiry
    checked_at: float  # Unix seconds of the lookup
    answered: bool = True  # False: the registry gave no date this time (asked again sooner)


class DomainState:
    """What one process remembers between rounds: resolvers, the bootstrap, lookups."""

    def __init__(self) -> None:
        self.resolvers: dict[DnsSettings, dns.asyncresolver.Resolver] = {}
        self.limits: dict[tuple[tuple[str, ...], int], ResolverLimit] = {}
        self.bootstraps: dict[tuple[Path, str], BootstrapCache] = {}
        self.expiries: dict[str, _Known] = {}
        self.locks: dict[str, asyncio.Lock] = {}

    def resolver(self, settings: DnsSettings) -> dns.asyncresolver.Resolver:
        if settings not in self.resolvers:
            self.resolvers[settings] = make_resolver(settings)
        return self.resolvers[settings]

    def limit(self, settings: DnsSettings) -> ResolverLimit:
        """The bound of these resolvers, shared by every domain that asks them (whatever
        their other settings)."""
        key = (settings.resolvers, settings.per_resolver)
        if key not in self.limits:
            self.limits[key] = ResolverLimit(settings.per_resolver)
        return self.limits[key]


STATE = DomainState()


def data_dir(store: Store | None) -> Path:
    """Where the bootstrap is kept: beside the database, else the user's data directory."""
    if store is not None:
        return Path(store.path).parent
    return Path(platformdirs.user_data_dir("ronda"))


def _store_of(context: subjects.CheckContext) -> Store | None:
    return getattr(context, "store", None)


async def _expiry(settings: DomainSubject, store: Store | None, now: float) -> Expiry | None:
    """The registration's expiry: remembered, stored, or looked up when due."""
    domain = settings.domain
    every = settings.expiry_settings.lookup_every
    known = STATE.expiries.get(domain)
    if known is None and store is not None:
        row = await asyncio.to_thread(store.domains.get, domain)
        if row is not None and row.expiry_checked_at is not None:
            expires = datetime.fromtimestamp(row.expires_at, UTC) if row.expires_at else None
            known = _Known(
                Expiry(domain, expires, row.expiry_source or "", row.expiry_detail or ""),
                row.expiry_checked_at,
                answered=not row.expiry_detail,
            )
            STATE.expiries[domain] = known
    wait = every if known is None or known.answered else min(every, RETRY_FAILED_LOOKUP)
    if known is not None and not lookup_due(known.checked_at, now, wait):
        return known.expiry
    lock = STATE.locks.setdefault(domain, asyncio.Lock())
    async with lock:  # a re-probe right behind a round must not ask the registry twice
        fresh = STATE.expiries.get(domain)
        if fresh is not None and fresh is not known:
            return fresh.expiry
        found = await _look_up(settings, store)
        answered = found.expires_at is not None
        if not answered and known is not None and known.expiry.expires_at:
            # The registry did not answer this time: the last date still holds.
            found = Expiry(domain, known.expiry.expires_at, known.expiry.source, found.detail)
        STATE.expiries[domain] = _Known(found, now, answered)
        if store is not None:
            stamp = found.expires_at.timestamp() if found.expires_at else None
            await asyncio.to_thread(
                store.domains.save_expiry, domain, stamp, found.source, found.detail, now
            )
        if found.expires_at is None:
            log.info("domain %s: expiry unknown: %s", visible(domain), visible(found.detail))
        return found


def bootstrap_file(url: str) -> str:
    """The bootstrap's file name: a copy fetched from one URL never answers for another."""
    if url == IANA_BOOTSTRAP:
        return BOOTSTRAP_FILE
    return f"rdap-dns-{hashlib.sha256(url.encode()).hexdigest()[:12]}.json"


def _timed_out(domain: str, now: float) -> Expiry:
    """A lookup that ran out of time: the last date found still holds, and the registry is
    asked again an hour on (not every round)."""
    known = STATE.expiries.get(domain)
    last = known.expiry if known is not None else Expiry(domain, None, "")
    expiry = Expiry(domain, last.expires_at, last.source, "the registry lookup timed out")
    STATE.expiries[domain] = _Known(expiry, now, answered=False)
    return expiry


async def _look_up(settings: DomainSubject, store: Store | None) -> Expiry:
    ex = settings.expiry_settings
    key = (data_dir(store) / bootstrap_file(ex.bootstrap_url), ex.bootstrap_url)
    if key not in STATE.bootstraps:
        STATE.bootstraps[key] = BootstrapCache(key[0], ex.bootstrap_url, ex.bootstrap_max_age)
    async with make_client(ex) as client:
        return await lookup_expiry(settings.domain, ex, STATE.bootstraps[key], client)


async def check_domain(subject: Site, context: subjects.CheckContext) -> ProbeResult:
    """One round of a domain: its DNS checks, then its registration's expiry."""
    settings = subject.check
    assert isinstance(settings, DomainSubject)
    started = context.clock()
    clock = time.monotonic()
    store = _store_of(context)
    if settings.checks.enabled():
        resolver, limit = STATE.resolver(settings.dns), STATE.limit(settings.dns)
        verdict = (await check_domain_dns(settings.checks, resolver, limit)).verdict
    else:
        verdict = Verdict()  # only the registration is watched
    findings = list(verdict.findings)
    extra: dict[str, object] = {
        "domain": settings.domain,
        "dns": visible_tree(verdict.evidence),
        "checks": dict(verdict.checks),
    }
    if settings.registrar:
        extra["registrar"] = visible(settings.registrar)
    if settings.expiry:
        try:
            # Each registry answer has its own timeout; this bounds them all together
            # (bootstrap, RDAP servers, WHOIS), and the next round asks again.
            async with asyncio.timeout(EXPIRY_BUDGET * settings.expiry_settings.timeout):
                expiry = await _expiry(settings, store, started.timestamp())
        except TimeoutError:
            expiry = _timed_out(settings.domain, started.timestamp())
        if expiry is not None:
            extra["expiry"] = {
                "expires_at": expiry.expires_at.isoformat() if expiry.expires_at else None,
                "source": expiry.source,
                "detail": visible(expiry.detail),
            }
            ex = settings.expiry_settings
            finding = expiry_finding(
                expiry, started, warning_days=ex.warning_days, critical_days=ex.critical_days
            )
            if finding is not None:
                findings.append(finding)
    if store is not None and verdict.checks:
        await asyncio.to_thread(
            store.domains.save_dns, settings.domain, verdict.checks, started.timestamp()
        )
    # Details quote what the zone holds (an SPF term, a record): shown safe everywhere.
    findings = [replace(f, detail=visible(f.detail)) for f in findings]
    top = worst(findings)
    result = subjects.result(
        subject, subject.url, started, top.failure_class, top.detail, priority=top.priority
    )
    result.findings = findings
    result.elapsed_ms = (time.monotonic() - clock) * 1000.0
    result.extra = extra
    return result


subjects.register(DOMAIN_KIND, check_domain)
