"""Politeness toward shared servers: sites without a `server` share the budget of the address
they resolve to; a server's service checks share its budget. A real HTTP listener counts
the connections open at once."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

from clocks import FakeClock

from ronda.checks.politeness import AddressBook, budget_key
from ronda.checks.probe import Prober
from ronda.checks.rounds import RoundRunner
from ronda.checks.scheduler import Scheduler
from ronda.checks.subjects import CheckContext
from ronda.config import Config, ProbeSettings, Site
from ronda.config.services import ServiceCheck, service_subject

NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)


class CountingListener:
    """Answers HTTP after a short hold (a busy php-fpm), and a greeting for SMTP-like
    clients; counts the connections open at once."""

    def __init__(self, greeting: bytes | None = None) -> None:
        self.greeting = greeting
        self.open = 0
        self.most = 0
        self.served = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open += 1
        self.most = max(self.most, self.open)
        try:
            await asyncio.sleep(0.05)  # the server's own slowness, not the test waiting
            if self.greeting is not None:
                writer.write(self.greeting)
            else:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            await writer.drain()
            self.served += 1
        finally:
            self.open -= 1
            writer.close()

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()


async def one_round(store, config: Config, resolve) -> None:
    prober = Prober(use_uvloop=False)
    scheduler = Scheduler(
        config,
        RoundRunner(store, config),
        prober.probe_site,
        clock=FakeClock(0.0),
        wall=lambda: NOW,
        resolve=resolve,
        context=CheckContext(prober=prober),
    )
    assert await scheduler.run_due(1e9) == len(config.checked())


async def test_sites_without_a_server_share_their_address_budget(store) -> None:
    listener = CountingListener()
    port = await listener.start()
    sites = tuple(
        Site(name=f"s{i}", url=f"http://127.0.0.1:{port}/s{i}/", probe=ProbeSettings(60))
        for i in range(8)
    )
    try:
        config = Config(sites=sites, per_server_concurrency=2)
        await one_round(store, config, AddressBook())
        assert listener.served == 8
        assert listener.most <= 2  # one address, one budget
        listener.most = 0
        await one_round(store, config, None)  # no grouping: all at once
        assert listener.most > 2
    finally:
        await listener.stop()


async def test_service_checks_share_their_servers_budget(store) -> None:
    listener = CountingListener(b"220 mail ESMTP\r\n")
    port = await listener.start()
    smtp = service_subject(
        ServiceCheck(server="srv-a", service="smtp", host="127.0.0.1", port=port, tls="none"),
        interval=60.0,
    )
    # Six services of one server (all answered by the same listener here).
    subjects = tuple(replace(smtp, name=f"srv-a/smtp:{i}") for i in range(6))
    try:
        await one_round(store, Config(subjects=subjects, per_server_concurrency=2), None)
        assert listener.served == 6
        assert listener.most <= 2
    finally:
        await listener.stop()


async def test_the_address_book_resolves_once_and_takes_literals() -> None:
    book = AddressBook()
    first = await asyncio.gather(*(book.address("localhost") for _ in range(5)))
    assert len(set(first)) == 1 and first[0] in ("127.0.0.1", "::1")
    assert book.lookups == 1  # coalesced, then cached
    assert await book.address("192.0.2.7") == "192.0.2.7" and book.lookups == 1
    assert await book.address("no-such-host.invalid") is None


def test_budget_key() -> None:
    assert budget_key(Site("a", "https://a.example/", server="web-1"), "192.0.2.1") == "web-1"
    assert budget_key(Site("a", "https://a.example/"), "192.0.2.1") == "address:192.0.2.1"
    assert budget_key(Site("a", "https://a.example/"), None) is None
