"""Check subjects: a registered kind's subject goes through the same rounds and incident rules
as a web site. Its check talks to a real TCP listener on 127.0.0.1; nothing is faked."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from clocks import Clock, FakeClock

from ronda.checks import subjects
from ronda.checks.classify import Finding
from ronda.checks.probe import ProbeResult
from ronda.checks.rounds import RoundRunner
from ronda.checks.scheduler import Scheduler
from ronda.checks.subjects import CheckContext, Subject
from ronda.config import Config, MaintenanceWindow, ProbeSettings, Server, Site
from ronda.model import FailureClass as FC
from ronda.model import Source, Status

START = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
KIND = "hello-test"


@dataclass(frozen=True, slots=True)
class HelloCheck:
    host: str
    port: int
    expect: str = "HELLO"


async def check_hello(subject: Subject, context: CheckContext) -> ProbeResult:
    """Connects, reads one bounded line, wants it to start with the expected word."""
    settings = subject.check
    assert isinstance(settings, HelloCheck)
    result = subjects.result(subject, subject.url, context.clock())
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(settings.host, settings.port), 2.0
        )
        try:
            line = await asyncio.wait_for(reader.readline(), 2.0)
        finally:
            writer.close()
    except (OSError, TimeoutError) as exc:
        line, why = b"", f"no answer ({type(exc).__name__})"
    else:
        why = f"greeting {line[:40]!r}"
    result.extra = {"greeting": line[:40].decode("ascii", "replace").strip()}
    if not line.startswith(settings.expect.encode()):
        result.failure_class = FC.REFUSED
        result.detail = f"{subject.name}: {why}"
        result.findings = [Finding(FC.REFUSED, None, result.detail)]
    return result


class Listener:
    """A real TCP server that greets with HELLO while healthy, BYE otherwise."""

    def __init__(self) -> None:
        self.healthy = True
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._greet, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _greet(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HELLO there\r\n" if self.healthy else b"BYE\r\n")
        await writer.drain()
        writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture(autouse=True)
def hello_kind():
    subjects.register(KIND, check_hello)
    yield
    subjects._KINDS.pop(KIND, None)


async def no_web(site: Site) -> ProbeResult:
    raise AssertionError(f"{site.name} is not a web site")


def probe_tickets(store) -> list:
    return store.tickets.by_source(Source.PROBE)


async def test_a_subject_is_scheduled_confirmed_ticketed_once_resolved_and_quiet_in_maintenance(
    store,
) -> None:
    listener = Listener()
    await listener.start()
    wall = Clock(START)
    window = MaintenanceWindow(START + timedelta(hours=2), START + timedelta(hours=3))
    subject = Site(
        name="srv-a/hello:1",
        url=f"hello://127.0.0.1:{listener.port}",
        customer="ana",
        server="srv-a",
        kind=KIND,
        check=HelloCheck("127.0.0.1", listener.port),
        probe=ProbeSettings(interval=60.0),
    )
    config = Config(servers=(Server("srv-a", maintenance=(window,)),), subjects=(subject,))
    runner = RoundRunner(store, config, clock=wall)
    clock = FakeClock(0.0)
    scheduler = Scheduler(
        config, runner, no_web, clock=clock, wall=wall, context=CheckContext(clock=wall)
    )
    assert set(scheduler.due_times()) == {subject.name}

    async def one_round() -> int:
        clock.now += 60.0
        wall.advance(seconds=60)
        return await scheduler.run_due()

    try:
        assert await one_round() == 1  # healthy: scheduled and checked
        assert probe_tickets(store) == []

        listener.healthy = False
        assert await one_round() == 1  # fails, the immediate re-check confirms it
        tickets = probe_tickets(store)
        assert len(tickets) == 1
        ticket = tickets[0]
        assert ticket.site == subject.name and ticket.customer == "ana"
        assert ticket.failure_class == FC.REFUSED
        assert ticket.evidence["extra"] == {"greeting": "BYE"}
        await one_round()
        await one_round()
        assert len(probe_tickets(store)) == 1  # still failing: the same case, no new one

        listener.healthy = True
        await one_round()
        await one_round()  # recover_rounds = 2
        assert store.tickets.get(ticket.id).status == Status.RESOLVED

        # In the server's maintenance window a failure opens nothing.
        wall.now = window.start + timedelta(minutes=1)
        listener.healthy = False
        for _ in range(4):
            await one_round()
        assert [t.id for t in probe_tickets(store)] == [ticket.id]
        assert store.tickets.get(ticket.id).status == Status.RESOLVED
        state = store.query("SELECT failure_class, in_maintenance FROM probe_state")
        assert [tuple(r.values()) for r in state] == [("refused", 1)]
    finally:
        await listener.stop()


def test_web_is_not_a_kind_and_unknown_kinds_say_so() -> None:
    with pytest.raises(ValueError):
        subjects.register("web", check_hello)
    with pytest.raises(KeyError):
        subjects.check_of("no-such-kind")
    assert KIND in subjects.kinds()
