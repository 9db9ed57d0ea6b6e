"""The canaries against real listeners on 127.0.0.1: a connect, a resolve, a GET over HTTP
and HTTPS; every failure is a result with a reason, within its deadline."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme

from ronda.checks.canaries import USER_AGENT, check_canaries, check_canary
from ronda.config import Canary


def tcp(port: int) -> Canary:
    return Canary(f"tcp://127.0.0.1:{port}", "tcp", "127.0.0.1", port)


def http(port: int, scheme: str = "http", host: str = "127.0.0.1", path: str = "/") -> Canary:
    return Canary(f"{scheme}://{host}:{port}{path}", "http", host, port)


class Handler(BaseHTTPRequestHandler):
    seen: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        Handler.seen.append((self.path, self.headers.get("User-Agent")))
        self.send_response(404)  # any answer: the desk reaches it
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def web() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_web(ca: trustme.CA) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def closed_port() -> socket.socket:
    """A port bound but not listening: connections to it are refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


async def test_a_listening_port_answers_and_a_closed_one_refuses() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    placeholder = closed_port()
    try:
        up = await check_canary(tcp(listener.getsockname()[1]), 2.0)
        down = await check_canary(tcp(placeholder.getsockname()[1]), 2.0)
    finally:
        listener.close()
        placeholder.close()
    assert up.ok and up.url.startswith("tcp://127.0.0.1:")
    assert not down.ok and down.detail == "connection refused"


async def test_any_http_answer_is_reachable(web: ThreadingHTTPServer) -> None:
    Handler.seen.clear()
    result = await check_canary(http(web.server_address[1], path="/ping?x=1"), 2.0)
    assert result.ok
    assert Handler.seen == [("/ping?x=1", USER_AGENT)]


async def test_https_is_verified_with_the_extra_ca(
    tls_web: ThreadingHTTPServer, ca: trustme.CA, tmp_path
) -> None:
    canary = http(tls_web.server_address[1], "https", "localhost")
    untrusted = await check_canaries([canary], 2.0)
    assert not untrusted[0].ok and untrusted[0].detail.startswith("TLS failed")
    pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    trusted = await check_canaries([canary], 2.0, extra_ca=pem)
    assert trusted[0].ok


async def test_silence_and_a_hang_up_are_failures_within_the_deadline() -> None:
    silent = socket.create_server(("127.0.0.1", 0))  # accepts (backlog), never answers
    rude = socket.create_server(("127.0.0.1", 0))

    def hang_up() -> None:
        conn, _ = rude.accept()
        conn.close()

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        results = await check_canaries(
            [http(silent.getsockname()[1]), http(rude.getsockname()[1])], 0.5
        )
        elapsed = time.monotonic() - started
    finally:
        thread.join(5)
        silent.close()
        rude.close()
    assert [r.ok for r in results] == [False, False]
    assert results[0].detail == "no answer within 0.5 s"
    assert results[1].detail in ("no HTTP answer", "connection closed without an answer")
    assert elapsed < 2.0  # together, each within its own deadline


async def test_a_name_resolves_or_does_not() -> None:
    good = Canary("dns://localhost", "dns", "localhost")
    bad = Canary("dns://nothing-here.invalid", "dns", "nothing-here.invalid")
    results = await check_canaries([good, bad], 5.0)
    assert results[0].ok
    assert not results[1].ok and results[1].detail
