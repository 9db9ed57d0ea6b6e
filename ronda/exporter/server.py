"""The exporter's HTTP endpoint: `/metrics` on a threaded server, loopback by default, and
`/healthz` for whatever watches the desk itself (a load balancer, Uptime Kuma, systemd's
neighbours): 200 when the newest stored probe result is fresh and the store takes a write,
503 otherwise, with a one-line reason either way.

`serve()` starts it in a background thread and returns a handle (`.port`, `.url`,
`.stop()`); the desk's service starts and stops it (`ronda run`, `ronda exporter`, the demo).
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import socketserver
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from ronda.exporter.collector import RondaCollector, gc_paused
from ronda.exporter.textformat import CONTENT_TYPE
from ronda.store import Store
from ronda.store.health import HealthReader
from ronda.tickets import utcnow

DEFAULT_LISTEN = "127.0.0.1:9464"
# Seconds the newest probe result may be old when nothing says better (`ronda exporter`
# alone does not know the rounds' intervals): the RondaProbesStale alert's 15 minutes.
DEFAULT_HEALTH_MAX_AGE = 900.0

_INDEX = (
    b"<!doctype html><title>Ronda exporter</title>"
    b'<h1>Ronda exporter</h1><p><a href="/metrics">/metrics</a></p>\n'
)


class ExporterError(Exception):
    """The exporter cannot start as asked; the message names the address and the cause."""


class ListenAddressError(ExporterError, ValueError):
    """A `--listen` value that is not `host:port`."""


class AddressInUse(ExporterError):
    """Something already listens on the address."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__(
            f"cannot listen on {address}: address already in use "
            "(is another exporter running? choose another with --listen)"
        )


def parse_listen(text: str) -> tuple[str, int]:
    """`127.0.0.1:9464`, `[::1]:9464`, `localhost:9464` or a bare port -> (host, port).

    A bare port (or `:port`) means loopback: the exporter publishes customers' names.
    """
    value = text.strip()
    if not value:
        raise ListenAddressError("empty listen address; expected host:port, e.g. 127.0.0.1:9464")
    if value.isdigit():
        host, port_text = "127.0.0.1", value
    elif value.startswith("["):
        end = value.find("]")
        if end < 0 or not value[end + 1 :].startswith(":"):
            raise ListenAddressError(f"{text!r}: expected [IPv6]:port, e.g. [::1]:9464")
        host, port_text = value[1:end], value[end + 2 :]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ListenAddressError(f"{text!r}: {host!r} is not an IPv6 address") from None
    else:
        host, sep, port_text = value.rpartition(":")
        if not sep:
            raise ListenAddressError(f"{text!r}: expected host:port, e.g. 127.0.0.1:9464")
        if ":" in host:
            raise ListenAddressError(f"{text!r}: write IPv6 addresses in brackets, e.g. [::1]:9464")
        host = host or "127.0.0.1"
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ListenAddressError(f"{text!r}: port must be a number from 0 to 65535")
    return host, int(port_text)


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _family_for(host: str, port: int) -> socket.AddressFamily:
    try:
        return socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:  # a name such as localhost: bind the first address it resolves to
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        return infos[0][0]


def is_loopback(host: str) -> bool:
    """Only this machine can reach `host` (the metrics name customers and sites)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def health_verdict(
    now: float, last_round_at: float | None, max_age: float | None, write_problem: str | None
) -> tuple[int, str]:
    """`/healthz`'s answer: (200 or 503, one line). `max_age` None: no rounds to judge."""
    if write_problem is not None:
        return 503, f"unhealthy: {write_problem}"
    if max_age is None:
        return 200, "ok: no sites to probe; the store takes writes"
    if last_round_at is None:
        return 503, "unhealthy: no probe result stored yet"
    age = max(0.0, now - last_round_at)
    if age > max_age:
        return 503, (
            f"unhealthy: the newest probe result is {age:.0f} s old "
            f"(more than {max_age:.0f} s): are the rounds running?"
        )
    return 200, f"ok: newest probe result {age:.0f} s old; the store takes writes"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    collector: RondaCollector
    health: HealthReader
    health_max_age: float | None
    clock: Callable[[], datetime]

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN (a DNS round trip); skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: object, client_address: object) -> None:
        # A scraper that hangs up mid-answer (timeout, restart) is routine, not a traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "ronda-exporter"
    protocol_version = "HTTP/1.1"
    # Seconds a connection may sit idle, or a client stop reading: none may hold a thread
    # (or, mid-answer, the paused garbage collector) for ever.
    timeout = 60.0

    def do_GET(self) -> None:  # http.server's naming
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def _answer(self, with_body: bool) -> None:
        path = urlsplit(self.path).path
        if path == "/metrics":
            # The garbage collection a scrape's allocations call for waits until the answer
            # is out: it is no part of the scrape's latency.
            with gc_paused():
                self._metrics(with_body)
            return
        if path == "/healthz":
            code, line = self._health()
            body, ctype = f"{line}\n".encode(), "text/plain; charset=utf-8"
        elif path == "/":
            body, ctype, code = _INDEX, "text/html; charset=utf-8", 200
        else:
            body, ctype, code = b"not found; try /metrics or /healthz\n", "text/plain", 404
        self._send(code, ctype, body, with_body)

    def _health(self) -> tuple[int, str]:
        server = self.server
        try:
            problem = server.health.write_problem()
            last = server.health.last_round_at() if problem is None else None
        except Exception as exc:  # an unreadable store is unhealthy, said in one line
            return 503, f"unhealthy: the store cannot be read ({exc})"
        return health_verdict(server.clock().timestamp(), last, server.health_max_age, problem)

    def _metrics(self, with_body: bool) -> None:
        try:
            body, ctype, code = self.server.collector.render(), CONTENT_TYPE, 200
        except Exception as exc:  # answer 500 rather than drop the scrape
            body, ctype, code = f"exporter error: {exc}\n".encode(), "text/plain", 500
        self._send(code, ctype, body, with_body)

    def _send(self, code: int, ctype: str, body: bytes, with_body: bool) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per scrape every 15 s is noise


@dataclass
class ExporterHandle:
    """A running exporter: where it listens and how to stop it."""

    host: str
    port: int
    collector: RondaCollector
    _server: _Server
    _thread: threading.Thread

    @property
    def address(self) -> str:
        return format_address(self.host, self.port)

    @property
    def url(self) -> str:
        return f"http://{self.address}/metrics"

    @property
    def health_url(self) -> str:
        return f"http://{self.address}/healthz"

    @property
    def health_max_age(self) -> float | None:
        return self._server.health_max_age

    @health_max_age.setter
    def health_max_age(self, value: float | None) -> None:
        """A reloaded config's freshness (seconds), from the next `/healthz` on."""
        self._server.health_max_age = value

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, close the socket and the store connections (idempotent)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout)
        self._server.server_close()
        self.collector.close()
        self._server.health.close()


def serve(
    store: Store,
    listen: str = DEFAULT_LISTEN,
    clock: Callable[[], datetime] = utcnow,
    *,
    collector: RondaCollector | None = None,
    health_max_age: float | None = DEFAULT_HEALTH_MAX_AGE,
) -> ExporterHandle:
    """Serve `/metrics` and `/healthz` for `store` on `listen` from a background thread.

    `health_max_age`: seconds the newest probe result may be old for `/healthz` to answer
    200 (None: the freshness is not judged, e.g. no sites). Port 0 picks a free port (see
    `.port`). Raises `AddressInUse` when the port is taken and `ExporterError` for any other
    address that cannot be bound.
    """
    host, port = parse_listen(listen)
    display = format_address(host, port)
    try:
        family = _family_for(host, port)
    except OSError as exc:
        raise ExporterError(f"cannot listen on {display}: {exc}") from None

    class Server(_Server):
        address_family = family

    try:
        server = Server((host, port), _Handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise AddressInUse(display) from None
        raise ExporterError(f"cannot listen on {display}: {exc.strerror or exc}") from None
    server.collector = collector or RondaCollector(store, clock)
    server.health = HealthReader(store.path)
    server.health_max_age = health_max_age
    server.clock = clock
    bound_port = server.server_address[1]
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.2},
        name=f"ronda-exporter-{bound_port}",
        daemon=True,
    )
    thread.start()
    return ExporterHandle(host, bound_port, server.collector, server, thread)


__all__ = [
    "DEFAULT_HEALTH_MAX_AGE",
    "DEFAULT_LISTEN",
    "AddressInUse",
    "ExporterError",
    "ExporterHandle",
    "ListenAddressError",
    "format_address",
    "health_verdict",
    "is_loopback",
    "parse_listen",
    "serve",
]
