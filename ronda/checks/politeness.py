"""Politeness toward shared servers: whose concurrency budget a check spends.

Many customer sites share one hosting server. A site (or check subject) with a `server`
spends that server's budget (`per_server_concurrency` checks in flight at once); its mail
and access services are subjects of the same server and share it. A web site without a
`server` spends the budget of the address its host resolves to, so thirteen sites on one
php-fpm are not probed all at once on a cold round. Addresses come from an `AddressBook`:
resolved once per host and kept `ttl` seconds, looked up with a bound, lookups of one host
coalesced, and an IP literal taken as it is.

A check holds its budget's slot through a `Slot` (`hold`), which the code it runs can see
(`leave_slot`): a request that goes elsewhere than the customer's server (Google's Safe
Browsing lookup) gives the slot back first, once the site's own requests are done, so the
server's budget is not spent waiting on Google.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import ipaddress
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

from ronda.config import Site

Resolve = Callable[[str], Awaitable[str | None]]

ADDRESS_TTL = 300.0  # seconds an address is kept (a site moving server is seen within this)
LOOKUP_TIMEOUT = 2.0  # seconds: a slow resolver delays a probe this long at most
MAX_HOSTS = 100_000  # addresses kept at once (a bound on memory, far above any fleet)


def host_of_url(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def budget_key(site: Site, address: str | None) -> str | None:
    """The budget a check of `site` spends: its server's, else its address's (web sites)."""
    if site.server:
        return site.server
    if address is not None:
        return f"address:{address}"
    return None


class Slot:
    """One check's hold on its budget's semaphore (None: a check with no budget)."""

    __slots__ = ("held", "semaphore")

    def __init__(self, semaphore: asyncio.Semaphore | None) -> None:
        self.semaphore = semaphore
        self.held = False

    def leave(self) -> None:
        """Give the slot back before the check ends (nothing more goes to its server)."""
        if self.held and self.semaphore is not None:
            self.held = False
            self.semaphore.release()


_SLOT: contextvars.ContextVar[Slot | None] = contextvars.ContextVar("ronda_slot", default=None)


@contextlib.asynccontextmanager
async def hold(semaphore: asyncio.Semaphore | None) -> AsyncIterator[Slot]:
    """Take a slot of `semaphore` for the block (visible to `leave_slot` inside it); give
    it back at the end unless the block left it already."""
    slot = Slot(semaphore)
    if semaphore is not None:
        await semaphore.acquire()
        slot.held = True
    token = _SLOT.set(slot)
    try:
        yield slot
    finally:
        _SLOT.reset(token)
        slot.leave()


def leave_slot() -> None:
    """Give back the budget slot the running check holds, if any: what follows goes to
    another host than the customer's server."""
    slot = _SLOT.get()
    if slot is not None:
        slot.leave()


class AddressBook:
    """Host -> the first address it resolves to, cached and bounded (see the module doc)."""

    def __init__(
        self,
        ttl: float = ADDRESS_TTL,
        timeout: float = LOOKUP_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.timeout = timeout
        self.clock = clock
        self._known: dict[str, tuple[str | None, float]] = {}
        self._pending: dict[str, asyncio.Future[str | None]] = {}
        self.lookups = 0

    async def __call__(self, host: str) -> str | None:
        return await self.address(host)

    async def address(self, host: str) -> str | None:
        host = host.strip("[]").lower()
        try:
            return str(ipaddress.ip_address(host))
        except ValueError:
            pass
        known = self._known.get(host)
        if known is not None and known[1] > self.clock():
            return known[0]
        pending = self._pending.get(host)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._pending[host] = future
        try:
            address = await self._lookup(host)
            self.learn(host, address)
            future.set_result(address)
            return address
        finally:
            del self._pending[host]
            if not future.done():
                future.set_result(None)

    async def _lookup(self, host: str) -> str | None:
        self.lookups += 1
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), self.timeout
            )
        except (OSError, TimeoutError, UnicodeError):
            return None  # the probe itself will say what is wrong with the name
        return str(infos[0][4][0]) if infos else None

    def learn(self, host: str, address: str | None) -> None:
        """Keep an address (a lookup's, or the one a probe connected to)."""
        if len(self._known) >= MAX_HOSTS:
            self._known.clear()
        self._known[host.lower()] = (address, self.clock() + self.ttl)


__all__ = [
    "ADDRESS_TTL",
    "AddressBook",
    "Resolve",
    "Slot",
    "budget_key",
    "hold",
    "host_of_url",
    "leave_slot",
]
