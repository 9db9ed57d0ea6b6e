"""The resolvers' concurrency bound (`[dns] per_resolver`): a fleet's domains checked at
once never have more queries in flight at the resolver than the bound. The resolver is a
real UDP DNS listener on 127.0.0.1 (answers built with dnspython) that holds every query
until told, and counts the queries it holds at once."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import dns.message
import dns.rcode
import dns.rrset
import pytest

from ronda.checks import domains
from ronda.checks.subjects import CheckContext
from ronda.config import parse_config
from ronda.config.domains import DnsSettings


class HoldingResolver(asyncio.DatagramProtocol):
    """Answers every A query with 127.0.0.10 and the rest with no data, once `open`; until
    then it keeps the queries (the ones in flight at the resolver)."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.held: list[tuple[bytes, tuple]] = []
        self.received = 0
        self.peak = 0
        self.open = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self.received += 1
        if self.open:
            self._answer(data, addr)
            return
        self.held.append((data, addr))
        self.peak = max(self.peak, len(self.held))

    def release(self) -> None:
        self.open = True
        held, self.held = self.held, []
        for data, addr in held:
            self._answer(data, addr)

    def _answer(self, data: bytes, addr: tuple) -> None:
        query = dns.message.from_wire(data)
        answer = dns.message.make_response(query)
        question = query.question[0]
        if question.rdtype == dns.rdatatype.A:
            answer.answer.append(dns.rrset.from_text(question.name, 60, "IN", "A", "127.0.0.10"))
        assert self.transport is not None
        self.transport.sendto(answer.to_wire(), addr)


async def turns(n: int = 50) -> None:
    """Let the loop run `n` times: loopback datagrams already sent are received meanwhile."""
    for _ in range(n):
        await asyncio.sleep(0)


async def wait_for(condition, what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.01)


def _fleet(port: int, n: int, per_resolver: int | None):
    bound = f"per_resolver = {per_resolver}\n" if per_resolver is not None else ""
    entries = "".join(
        f'[[domains]]\nname = "tienda{i}.test"\n[domains.checks]\nexpiry = false\n'
        for i in range(n)
    )
    return parse_config(
        f'[dns]\nresolvers = ["127.0.0.1:{port}"]\ntimeout = "9s"\n{bound}{entries}'
    )


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(domains, "STATE", domains.DomainState())


@pytest.mark.parametrize("bound", [1, 3])
async def test_domains_checked_at_once_keep_within_the_resolvers_bound(bound: int) -> None:
    loop = asyncio.get_running_loop()
    transport, resolver = await loop.create_datagram_endpoint(
        HoldingResolver, local_addr=("127.0.0.1", 0)
    )
    port = transport.get_extra_info("sockname")[1]
    config = _fleet(port, 8, bound)
    assert len(config.subjects) == 8 and config.subjects[0].check.dns.per_resolver == bound
    context = CheckContext()
    try:
        checks = [asyncio.ensure_future(domains.check_domain(s, context)) for s in config.subjects]
        await wait_for(lambda: resolver.received >= bound, "the first queries")
        await turns()  # anything else sent at once arrives meanwhile
        assert resolver.received == len(resolver.held) == bound  # the rest wait their turn
        resolver.release()
        results = await asyncio.wait_for(asyncio.gather(*checks), 20)
    finally:
        transport.close()
    assert resolver.peak == bound
    assert resolver.received > 8 * 4  # every domain asked its first queries, and more
    assert all(r.extra["checks"]["resolves"] for r in results)
    limit = domains.STATE.limit(config.subjects[0].check.dns)
    assert limit.peak == bound and limit.in_flight == 0


async def test_without_a_bound_in_the_config_the_default_holds() -> None:
    loop = asyncio.get_running_loop()
    transport, resolver = await loop.create_datagram_endpoint(
        HoldingResolver, local_addr=("127.0.0.1", 0)
    )
    port = transport.get_extra_info("sockname")[1]
    config = _fleet(port, 10, None)  # ten domains' first queries: over 20 at once
    default = DnsSettings().per_resolver
    assert config.subjects[0].check.dns.per_resolver == default == 20
    context = CheckContext()
    try:
        checks = [asyncio.ensure_future(domains.check_domain(s, context)) for s in config.subjects]
        await wait_for(lambda: resolver.received >= default, "the first queries")
        await turns()
        assert resolver.received == default
        resolver.release()
        await asyncio.wait_for(asyncio.gather(*checks), 20)
    finally:
        transport.close()
    assert resolver.peak == default


def test_per_resolver_is_validated_and_shared_by_resolver_set() -> None:
    from ronda.config import ConfigError

    with pytest.raises(ConfigError) as error:
        parse_config('[dns]\nresolvers = ["127.0.0.1:53"]\nper_resolver = 0\n')
    assert "<config>:3: dns.per_resolver" in str(error.value)
    state = domains.DomainState()
    a = DnsSettings(resolvers=("127.0.0.1:53",), per_resolver=2)
    assert state.limit(a) is state.limit(replace(a, timeout=1.0))  # one bound per resolvers
    assert state.limit(a) is not state.limit(replace(a, resolvers=("127.0.0.2:53",)))
