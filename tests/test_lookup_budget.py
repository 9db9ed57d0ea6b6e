"""Google's Safe Browsing / Web Risk lookup spends no server's budget: while one site's
lookup waits on Google, the next site on the same server (`per_server_concurrency = 1`) is
probed; the lookups keep a bound of their own (`safe_browsing_concurrency`). Real servers
on 127.0.0.1 (a WordPress-like site, a stand-in for Google answering in the API's format),
the real prober and scheduler."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import pytest
from clocks import FakeClock

from ronda.checks.politeness import hold, leave_slot
from ronda.checks.probe import Prober
from ronda.checks.rounds import RoundRunner
from ronda.checks.scheduler import Scheduler
from ronda.checks.wordpress.health import WordPressHealth
from ronda.config import Config, ProbeSettings, Site, WordPressSettings
from ronda.store import Store

HOME = (
    b'<!DOCTYPE html><html><head><meta name="generator" content="WordPress 6.7.1" /></head>'
    b"<body><h1>Tienda</h1><p>Hola</p></body></html>"
)
RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'
ONLY_THE_LOOKUP = frozenset({"core", "safe_browsing"})  # no other turn-taking check


@dataclass
class Counting:
    """An HTTP server counting requests in flight; `gate` holds every answer until set."""

    body: bytes
    gate: asyncio.Event | None = None
    paths: list[str] = field(default_factory=list)
    in_flight: int = 0
    peak: int = 0
    server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            path = head.split(b" ", 2)[1].decode().split("?", 1)[0]
            self.paths.append(path)
            if self.gate is not None:
                await self.gate.wait()
            body = RSS if path == "/feed/" else self.body
            ctype = "application/rss+xml" if path == "/feed/" else "text/html; charset=UTF-8"
            writer.write(
                f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nContent-Type: {ctype}\r\n"
                "Connection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.in_flight -= 1
            writer.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()


async def wait_for(condition, what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.01)


def _settings(api: str, concurrency: int) -> WordPressSettings:
    return WordPressSettings(
        latest="6.7.1",
        safe_browsing="webrisk",
        safe_browsing_url=api + "/v1/uris:search",
        safe_browsing_key_env="K",
        safe_browsing_concurrency=concurrency,
        checks=ONLY_THE_LOOKUP,
    )


@pytest.mark.parametrize("lookups", [1, 2])
async def test_a_lookup_waiting_on_google_does_not_hold_the_servers_slot(
    store: Store, lookups: int
) -> None:
    google = Counting(b"{}", gate=asyncio.Event())
    web = Counting(HOME)
    api, base = await google.start(), await web.start()
    probe = ProbeSettings(interval=60.0, deadline=10.0)
    names = ("tienda-a", "tienda-b", "tienda-c")
    sites = tuple(Site(n, f"{base}/{n}/", server="srv", wordpress=True, probe=probe) for n in names)
    config = Config(sites=sites, per_server_concurrency=1, wordpress=_settings(api, lookups))
    prober = Prober(use_uvloop=False)
    health = WordPressHealth(config.wordpress, environ={"K": "k"})
    prober.wordpress = health
    scheduler = Scheduler(config, RoundRunner(store, config), prober.probe_site, clock=FakeClock(0))
    try:
        tasks = scheduler._launch_due(120.0)
        assert len(tasks) == 3
        # Every site's own requests are made while the first lookups wait on Google...
        homes = [f"/{n}/" for n in names]
        await wait_for(lambda: all(h in web.paths for h in homes), "every home page")
        await wait_for(lambda: len(google.paths) == lookups, "the lookups in flight")
        assert web.peak == 1  # ...one at a time on the shared server, as its budget says
        assert google.peak == lookups == health.lookups_peak  # the lookups' own bound
        google.gate.set()
        await asyncio.gather(*tasks)
        assert len(google.paths) == 3 and google.peak == lookups and web.peak == 1
        assert health.lookups_in_flight == 0
    finally:
        google.gate.set()
        await prober.aclose()
        await google.close()
        await web.close()


async def test_a_slot_left_is_given_back_once() -> None:
    semaphore = asyncio.Semaphore(1)
    async with hold(semaphore) as slot:
        assert slot.held and semaphore.locked()
        leave_slot()
        assert not slot.held and not semaphore.locked()
        leave_slot()  # twice: still one release
    assert not semaphore.locked() and semaphore._value == 1
    async with hold(semaphore):
        assert semaphore.locked()
    assert semaphore._value == 1
    leave_slot()  # outside any hold: nothing to give back
    async with hold(None) as none:
        leave_slot()
        assert not none.held


def test_the_lookups_bound_is_configured() -> None:
    from ronda.config import ConfigError, parse_config

    config = parse_config("[wordpress]\nsafe_browsing_concurrency = 2\n")
    assert config.wordpress.safe_browsing_concurrency == 2
    assert WordPressSettings().safe_browsing_concurrency == 4
    with pytest.raises(ConfigError) as error:
        parse_config("[wordpress]\nsafe_browsing_concurrency = 0\n")
    assert "<config>:2: wordpress.safe_browsing_concurrency" in str(error.value)
