"""The demo fleet: simulated customer WordPress sites served on 127.0.0.1.

Each site listens on its own loopback port (so redirects to "/", /wp-login.php and /feed/
live at the root, as on a real site). All listeners share one asyncio loop running in one
background thread (the connections are in `ronda.demo.serving`, the certificates in
`ronda.demo.certs`, the sites themselves in `ronda.demo.specs`).

A site's behaviour (see `BEHAVIOURS`) can be switched at runtime from any thread with
`set_behaviour()`; "refused" closes the listener and keeps the port bound but not listening,
so the kernel refuses connections and nobody else takes the port meanwhile.

`python -m ronda.demo.fleet` serves a fleet in its own process (see `main`).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from ronda.demo.certs import Certs
from ronda.demo.pages import Page
from ronda.demo.serving import (
    Connection,
    SiteRuntime,
    bind_loopback,
    encode_response,
    request_target,
)
from ronda.demo.specs import (
    BEHAVIOURS,
    CERT_OF_BEHAVIOUR,
    DEFAULT_SPECS,
    DemoCustomer,
    DemoSite,
    SiteSpec,
    customers_of,
    uniform_specs,
)

DEFAULT_SLOW_DELAY = 2.5  # seconds before the first byte; above the default 2 s threshold
DEFAULT_FLAP_PERIOD = 30.0  # seconds up, then as many down, for "intermittent"


class Fleet:
    """Demo sites on 127.0.0.1, one port each, served from one background thread.

    Use as `with Fleet() as fleet:` or `start()` / `stop()`; `async with` works too (start
    blocks for the certificates, a fraction of a second). `specs` defaults to the demo's
    sites, which cover every failure class; see `Fleet.uniform()` for a healthy fleet of
    any size. `slow_delay` is the "slow" behaviour's wait before the first byte,
    `flap_period` the half-cycle of "intermittent", `clock` its time source.
    """

    def __init__(
        self,
        specs: Sequence[SiteSpec] | None = None,
        *,
        slow_delay: float = DEFAULT_SLOW_DELAY,
        flap_period: float = DEFAULT_FLAP_PERIOD,
        clock: Callable[[], float] = time.monotonic,
        workdir: str | Path | None = None,
        customers: Sequence[DemoCustomer] | None = None,
    ) -> None:
        self._specs = tuple(DEFAULT_SPECS if specs is None else specs)
        names = [s.name for s in self._specs]
        if len(set(names)) != len(names):
            raise ValueError("site names must be unique")
        for spec in self._specs:
            self._check_behaviour(spec.behaviour, spec.https, spec.name)
        self.slow_delay = slow_delay
        self.flap_period = flap_period
        self._clock = clock
        self._t0 = clock()
        self._workdir_arg = Path(workdir) if workdir is not None else None
        self._customers = tuple(customers) if customers is not None else None
        self._states: dict[str, SiteRuntime] = {}
        self._sites: list[DemoSite] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]
        self._stopping: asyncio.Event | None = None
        self._startup_error: BaseException | None = None
        self._certs: Certs = None  # type: ignore[assignment]
        self._workdir: Path | None = None
        self._own_workdir = False
        self._stopped = False

    # -- construction helpers

    @classmethod
    def uniform(
        cls, n: int, https_share: float = 0.5, *, sites_per_server: int = 50, **kwargs: Any
    ) -> Fleet:
        """`n` healthy WordPress sites (a mix of shops, Elementor sites and blogs), the given
        share of them over HTTPS, spread over servers of `sites_per_server` sites."""
        return cls(uniform_specs(n, https_share, sites_per_server), **kwargs)

    @staticmethod
    def _check_behaviour(behaviour: str, https: bool, name: str) -> None:
        if behaviour not in BEHAVIOURS:
            raise ValueError(
                f"{name}: unknown behaviour {behaviour!r} (expected one of {', '.join(BEHAVIOURS)})"
            )
        if behaviour in CERT_OF_BEHAVIOUR and not https:
            raise ValueError(f"{name}: {behaviour!r} needs an HTTPS site")

    # -- lifecycle

    def start(self) -> Fleet:
        """Make the certificates, bind every port and start serving; returns self."""
        if self._thread is not None or self._stopped:
            raise RuntimeError("a Fleet starts once")
        if self._workdir_arg is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="ronda-demo-"))
            self._own_workdir = True
        else:
            self._workdir = self._workdir_arg
            self._workdir.mkdir(parents=True, exist_ok=True)
        try:
            self._certs = Certs(self._workdir)
            # Plain asyncio on purpose: uvloop lets the ClientHello reach the protocol
            # before pause_reading() takes effect, which breaks the start_tls() upgrade.
            self._loop = asyncio.new_event_loop()
            ready = threading.Event()
            self._thread = threading.Thread(
                target=self._run, args=(ready,), name="demo-fleet", daemon=True
            )
            self._thread.start()
            ready.wait()
            if self._startup_error is not None:
                self._thread.join()
                raise self._startup_error
        except BaseException:
            self._cleanup_files()
            self._stopped = True
            raise
        return self

    def stop(self) -> None:
        """Close every listener and connection, end the thread, remove the files."""
        if self._thread is not None and self._thread.is_alive():
            assert self._stopping is not None
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join()
        self._cleanup_files()
        self._stopped = True

    def __enter__(self) -> Fleet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Fleet:
        return self.start()

    async def __aexit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def _cleanup_files(self) -> None:
        if self._own_workdir and self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def _run(self, ready: threading.Event) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main(ready))
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            asyncio.set_event_loop(None)
            loop.close()
            ready.set()  # in case _main died before saying so

    async def _main(self, ready: threading.Event) -> None:
        self._stopping = asyncio.Event()
        try:
            for spec in self._specs:
                if spec.behaviour == "dns":
                    self._states[spec.name] = SiteRuntime(spec, 0)
                    continue
                sock = bind_loopback()
                state = SiteRuntime(spec, sock.getsockname()[1])
                self._states[spec.name] = state
                if spec.behaviour == "refused":
                    state.placeholder = sock
                else:
                    await self._serve(state, sock)
        except BaseException as exc:  # noqa: BLE001 - handed to start()'s caller
            self._startup_error = exc
            await self._shutdown()
            ready.set()
            return
        self._sites = [self._describe(s) for s in self._states.values()]
        ready.set()
        await self._stopping.wait()
        await self._shutdown()

    async def _serve(self, state: SiteRuntime, sock: socket.socket) -> None:
        state.server = await self._loop.create_server(
            lambda: Connection(state, self._loop, self._certs.contexts, self._answer),
            sock=sock,
            backlog=256,
        )

    async def _shutdown(self) -> None:
        for state in self._states.values():
            if state.server is not None:
                state.server.close()
                state.server = None
            if state.placeholder is not None:
                state.placeholder.close()
                state.placeholder = None
        # Let accepted-but-not-yet-made connections reach connection_made, then end all.
        await asyncio.sleep(0)
        for state in self._states.values():
            for conn in list(state.conns):
                conn.abort()
        for _ in range(3):  # transports close their sockets on the next loop turns
            await asyncio.sleep(0)
        rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)

    def _describe(self, state: SiteRuntime) -> DemoSite:
        spec = state.spec
        return DemoSite(
            name=spec.name,
            url=state.base,
            server=spec.server,
            impact=spec.impact,
            customer=spec.customer,
            expected_class=BEHAVIOURS[spec.behaviour],
            checks=spec.checks,
            wordpress=spec.kind != "static",
            behaviour=spec.behaviour,
            note=spec.note,
        )

    # -- answering

    def _answer(self, conn: Connection) -> None:
        state = conn.site
        state.hits += 1
        behaviour = state.behaviour
        if behaviour == "timeout":
            return  # hold the connection until the client gives up or the fleet stops
        if behaviour == "intermittent":
            phase = int((self._clock() - self._t0) // self.flap_period)
            behaviour = "http_500" if phase % 2 else "ok"
        target = request_target(conn.buf)
        if target is None:
            conn.send(encode_response(Page(400, b"Bad Request\n", "text/plain"), "GET", "nginx"))
            return
        method, path = target
        data = encode_response(state.page(behaviour, path), method, state.server_header)
        if behaviour == "slow":
            conn.timer = self._loop.call_later(self.slow_delay, conn.send, data)
        else:
            conn.send(data)

    # -- what callers read

    @property
    def sites(self) -> list[DemoSite]:
        self._require_started()
        return list(self._sites)

    def site(self, name: str) -> DemoSite:
        self._require_started()
        for site in self._sites:
            if site.name == name:
                return site
        raise KeyError(name)

    @property
    def customers(self) -> tuple[DemoCustomer, ...]:
        return self._customers if self._customers is not None else customers_of(self._specs)

    @property
    def servers(self) -> list[str]:
        return sorted({s.server for s in self._specs})

    @property
    def ca_pem_path(self) -> Path:
        """The demo CA in PEM: name it in `[tls] extra_ca` (or trust it in a client)."""
        self._require_started()
        return self._certs.ca_pem_path

    @property
    def certs(self) -> Certs:
        """The fleet's CA and server contexts (the demo's mail server issues from its CA)."""
        self._require_started()
        return self._certs

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts the fleet's CA only."""
        return ssl.create_default_context(cafile=str(self.ca_pem_path))

    def behaviour(self, name: str) -> str:
        return self._state(name).behaviour

    def hits(self, name: str) -> int:
        """Requests the site has answered (or held) since start."""
        return self._state(name).hits

    def open_connections(self, name: str | None = None) -> int:
        states = [self._state(name)] if name else list(self._states.values())
        return sum(len(s.conns) for s in states)

    def _state(self, name: str) -> SiteRuntime:
        self._require_started()
        try:
            return self._states[name]
        except KeyError:
            raise KeyError(f"no demo site named {name!r}") from None

    def _require_started(self) -> None:
        if not self._states:
            raise RuntimeError("the fleet is not started")

    # -- changing behaviour

    def set_behaviour(self, name: str, behaviour: str) -> None:
        """Switch a site's behaviour (from any thread but the fleet's own); effective for
        the next connection when this returns."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("on the fleet's loop, await fleet.apply(name, behaviour)")
        self.submit(self.apply(name, behaviour)).result(timeout=10)

    async def aset_behaviour(self, name: str, behaviour: str) -> None:
        """`set_behaviour` for asyncio code running on another loop."""
        await asyncio.wrap_future(self.submit(self.apply(name, behaviour)))

    async def apply(self, name: str, behaviour: str) -> None:
        """Switch a site's behaviour; runs on the fleet's loop (see `submit`)."""
        state = self._state(name)
        self._check_behaviour(behaviour, state.spec.https, name)
        if "dns" in (behaviour, state.spec.behaviour) and behaviour != state.behaviour:
            raise ValueError(f"{name}: a name that does not resolve is set in the specs only")
        async with state.lock:
            was_refused = state.behaviour == "refused"
            state.behaviour = behaviour
            state.cert = CERT_OF_BEHAVIOUR.get(behaviour, "valid")
            if behaviour == "refused" and not was_refused:
                # The server process dies: listener and its connections go, port stays ours.
                if state.server is not None:
                    state.server.close()
                    state.server = None
                for conn in list(state.conns):
                    conn.abort()
                state.placeholder = bind_loopback(state.port)
            elif was_refused and behaviour != "refused":
                if state.placeholder is not None:
                    state.placeholder.close()
                    state.placeholder = None
                await self._serve(state, bind_loopback(state.port))

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future:
        """Run a coroutine on the fleet's loop (the timeline driver uses this)."""
        if not self.running:
            coro.close()
            raise RuntimeError("the fleet is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def reset(self) -> None:
        """Every site back to the behaviour it started with."""
        for site in self.sites:
            if self.behaviour(site.name) != site.behaviour:
                self.set_behaviour(site.name, site.behaviour)

    # -- config

    def config_toml(self, extra: str = "") -> str:
        """The fleet as a Ronda config: customers, servers, sites with their checks, and
        `[tls] extra_ca`. `extra` goes first, so it may hold top-level keys and tables
        (`[probe]`, `[incidents]`, ...) but not `[tls]`. If the slow delay is below the
        default, each site gets `slow_first_byte` at half the delay so "slow" still shows."""
        q = _toml_str
        out = [extra.rstrip() + "\n"] if extra.strip() else []
        for customer in self.customers:
            out.append(f"[[customers]]\nname = {q(customer.name)}")
            out.append(f"emails = [{', '.join(q(e) for e in customer.emails)}]")
            out.append(f"domains = [{', '.join(q(d) for d in customer.domains)}]\n")
        for server in self.servers:
            out.append(f"[[servers]]\nname = {q(server)}\n")
        tight = self.slow_delay < DEFAULT_SLOW_DELAY
        for site in self.sites:
            out.append("[[sites]]")
            out.append(f"name = {q(site.name)}")
            out.append(f"url = {q(site.url)}")
            out.append(f"customer = {q(site.customer)}")
            out.append(f"server = {q(site.server)}")
            out.append(f"impact = {q(site.impact.value)}")
            out.append(f"wordpress = {'true' if site.wordpress else 'false'}")
            if tight:
                out.append(f"slow_first_byte = {self.slow_delay / 2:.3f}")
            for path, keyword in site.checks:
                out.append(f"[[sites.checks]]\npath = {q(path)}\nkeyword = {q(keyword)}")
            out.append("")
        out.append(f"[tls]\nextra_ca = {q(str(self.ca_pem_path))}\n")
        return "\n".join(out)

    def write_config(self, path: str | Path, extra: str = "") -> Path:
        path = Path(path)
        path.write_text(self.config_toml(extra), encoding="utf-8")
        return path


def _toml_str(value: str) -> str:
    # TOML basic strings take JSON's escapes; non-ASCII stays readable as UTF-8.
    return json.dumps(value, ensure_ascii=False)


# --------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a fleet until interrupted: `python -m ronda.demo.fleet [--uniform N] ...`.

    Prints `ready <config path>` once serving, so a benchmark can run the fleet in its own
    process (the fleet's CPU then does not count against the probes')."""
    parser = argparse.ArgumentParser(prog="python -m ronda.demo.fleet", description=main.__doc__)
    parser.add_argument("--uniform", type=int, metavar="N", help="N healthy sites instead")
    parser.add_argument("--https-share", type=float, default=0.5)
    parser.add_argument("--slow-delay", type=float, default=DEFAULT_SLOW_DELAY)
    parser.add_argument("--config", type=Path, help="where to write the config TOML")
    parser.add_argument("--timeline", action="store_true", help="play the scripted timeline")
    parser.add_argument("--round", type=float, default=60.0, help="timeline round, seconds")
    parser.add_argument("--speed", type=float, default=1.0, help="timeline speed factor")
    args = parser.parse_args(argv)
    kwargs: dict[str, Any] = {"slow_delay": args.slow_delay}
    fleet = (
        Fleet.uniform(args.uniform, args.https_share, **kwargs) if args.uniform else Fleet(**kwargs)
    )
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    with fleet:
        config = args.config or fleet.ca_pem_path.parent / "ronda-demo.toml"
        fleet.write_config(config)
        driver = None
        if args.timeline:
            from ronda.demo.timeline import TimelineDriver, default_timeline

            driver = TimelineDriver(
                default_timeline(fleet.sites, round_seconds=args.round), fleet, speed=args.speed
            )
            driver.start()
        print(f"ready {config}", flush=True)
        done.wait()
        if driver is not None:
            driver.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
