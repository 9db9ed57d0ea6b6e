"""Asking the resolvers for a domain's records (dnspython), then judging them (dns_judge).

The resolvers are the config's (`[dns] resolvers = ["127.0.0.1:5353"]`), or the system's
when none are given. Every answer is bounded: a lifetime per query, at most
`MAX_RECORDS` records of at most `MAX_RECORD_CHARS` characters each, and at most
`MAX_QUERIES` queries per domain (an SPF record that needs more is over its own limit of
10 lookups long before). The queries in flight at once to the resolvers are bounded too
(`[dns] per_resolver`, a `ResolverLimit` shared by every domain's check): dnspython asks
the configured resolvers in order, so the bound holds for each of them. dnspython writes
records in presentation form, with
non-printable bytes escaped as `\\ddd`, so no control character reaches evidence or logs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.resolver

from ronda.checks.dns_judge import (
    NODATA,
    NXDOMAIN,
    OK,
    Answer,
    DomainChecks,
    Verdict,
    first_queries,
    judge,
)
from ronda.config.domains import DnsSettings, split_resolver

MAX_RECORDS = 32
MAX_RECORD_CHARS = 2048
MAX_QUERIES = 64
MAX_PASSES = 12  # judge, fetch what it still needs, judge again: SPF includes nest


class ResolverLimit:
    """At most `per_resolver` queries in flight at once, one semaphore per event loop (a
    one-off probe runs its own loop; the process keeps one limit per resolver set)."""

    def __init__(self, per_resolver: int) -> None:
        self.per_resolver = max(1, per_resolver)
        self._semaphore: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        self.in_flight = 0
        self.peak = 0

    def _get(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._semaphore[0] is not loop:
            self._semaphore = (loop, asyncio.Semaphore(self.per_resolver))
        return self._semaphore[1]

    async def __aenter__(self) -> None:
        await self._get().acquire()
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)

    async def __aexit__(self, *exc: object) -> None:
        self.in_flight -= 1
        self._get().release()


def make_resolver(settings: DnsSettings) -> dns.asyncresolver.Resolver:
    """A resolver without a cache (each round sees the zone as it is now)."""
    if settings.resolvers:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [
            dns.nameserver.Do53Nameserver(*split_resolver(r)) for r in settings.resolvers
        ]
    else:
        resolver = dns.asyncresolver.Resolver()
    resolver.lifetime = settings.timeout
    # A lost UDP datagram is asked again (up to three tries) within the query's lifetime.
    resolver.timeout = settings.timeout / 3
    resolver.cache = None
    return resolver


async def ask(
    resolver: dns.asyncresolver.Resolver,
    name: str,
    rdtype: str,
    limit: ResolverLimit | None = None,
) -> Answer:
    """One query (within `limit`); every failure is an answer with a status, never an
    exception."""
    try:
        if limit is None:
            answer = await resolver.resolve(name, rdtype, raise_on_no_answer=False, search=False)
        else:
            async with limit:
                answer = await resolver.resolve(
                    name, rdtype, raise_on_no_answer=False, search=False
                )
    except dns.resolver.NXDOMAIN:
        return Answer(NXDOMAIN)
    except dns.resolver.NoNameservers as exc:
        return Answer("servfail", (), _short(exc))
    except dns.exception.Timeout:
        return Answer("timeout", (), f"no answer within {resolver.lifetime:g} s")
    except dns.exception.DNSException as exc:
        return Answer("error", (), _short(exc))
    if answer.rrset is None:
        return Answer(NODATA)
    records = tuple(rd.to_text()[:MAX_RECORD_CHARS] for rd in list(answer.rrset)[:MAX_RECORDS])
    return Answer(OK, records)


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


@dataclass(slots=True)
class DnsCheck:
    """One domain's verdict, the answers it rests on and what it cost."""

    verdict: Verdict
    answers: dict[tuple[str, str], Answer]
    queries: int
    seconds: float


async def check_domain_dns(
    checks: DomainChecks,
    resolver: dns.asyncresolver.Resolver,
    limit: ResolverLimit | None = None,
) -> DnsCheck:
    """Fetch what the checks need, judge, fetch what the judgement still misses, judge;
    every query within `limit` (the resolvers' bound)."""
    started = time.monotonic()
    answers: dict[tuple[str, str], Answer] = {}
    wanted: Sequence[tuple[str, str]] = first_queries(checks)
    queries = 0
    verdict = Verdict()
    for _ in range(MAX_PASSES):
        todo = [q for q in wanted if q not in answers][: MAX_QUERIES - queries]
        if todo:
            results = await asyncio.gather(*(ask(resolver, n, t, limit) for n, t in todo))
            answers.update(zip(todo, results, strict=True))
            queries += len(todo)
        verdict = judge(checks, answers)
        if not verdict.missing:
            break
        if queries >= MAX_QUERIES:
            # Out of budget: what is left reads as a failed lookup, judged as such.
            for key in verdict.missing:
                answers[key] = Answer("error", (), f"over {MAX_QUERIES} queries for one domain")
            verdict = judge(checks, answers)
            break
        wanted = sorted(verdict.missing)
    verdict.evidence["queries"] = queries
    return DnsCheck(verdict, answers, queries, time.monotonic() - started)
