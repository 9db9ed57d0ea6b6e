"""The prober against real servers on 127.0.0.1: one test per failure class, hostile servers.

Servers are small asyncio servers in the test's own loop; TLS certificates come from
trustme (valid, expired, expiring, wrong host, untrusted issuer, self-signed). Deadlines
are 1 s so the hostile cases end quickly.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import socket
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ronda.checks.classify import Observation
from ronda.checks.http1 import ProbeError, _Reader
from ronda.checks.probe import Prober, ProbeResult, body_excerpt
from ronda.config import KeywordCheck, ProbeSettings, Site
from ronda.model import FailureClass, Priority

FC = FailureClass
UTC = dt.UTC
FAST = ProbeSettings(deadline=1.0, slow_first_byte=0.5, slow_total=0.9, max_redirects=5)

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


# --- scripted servers -----------------------------------------------------------------------


def response(
    status: int = 200,
    body: bytes = b"<html><body><p>Hello</p></body></html>",
    headers: dict[str, str] | None = None,
    reason: str = "X",
) -> bytes:
    head = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}", "Connection: close"]
    for key, value in (headers or {}).items():
        head.append(f"{key}: {value}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def fixed(raw: bytes) -> Handler:
    async def handle(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(raw)
        await writer.drain()

    return handle


class Server:
    """An HTTP(S) server answering each path with a scripted handler."""

    def __init__(self, routes: dict[str, Handler], ssl_context: ssl.SSLContext | None) -> None:
        self.routes = routes
        self.ssl_context = ssl_context
        self.server: asyncio.Server | None = None
        self.requests: list[str] = []
        self.raw_requests: list[bytes] = []

    async def start(self) -> str:
        self.server = await asyncio.start_server(
            self._serve, "127.0.0.1", 0, ssl=self.ssl_context, limit=1 << 20
        )
        port = self.server.sockets[0].getsockname()[1]
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.raw_requests.append(head)
            path = head.split(b" ", 2)[1].decode()
            self.requests.append(path)
            handler = self.routes.get(path) or self.routes.get("*") or fixed(response(404))
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.transport.abort()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def prober(ca_file: Path) -> Prober:
    return Prober(extra_ca=ca_file, use_uvloop=False)


def server_context(cert: trustme.LeafCert) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    return ctx


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[str]]]:
    servers: list[Server] = []

    async def start(routes: dict[str, Handler], ssl_context: ssl.SSLContext | None = None) -> str:
        server = Server(routes, ssl_context)
        servers.append(server)
        return await server.start()

    start.servers = servers  # type: ignore[attr-defined]
    yield start
    for server in servers:
        await server.close()


def site(url: str, **kw: object) -> Site:
    settings = kw.pop("probe", FAST)
    return Site(name="acme", url=url, probe=settings, **kw)  # type: ignore[arg-type]


async def probe(prober: Prober, url: str, **kw: object) -> ProbeResult:
    return await prober.probe_site(site(url, **kw))


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


WP_HOME = (
    b"<!DOCTYPE html><html><head><link rel='stylesheet' href='/wp-content/themes/x/style.css'>"
    b"</head><body><h1>Tienda Acme</h1><p>Bienvenidos</p></body></html>"
)
RSS = (
    b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Acme</title>'
    b"<item><title>Hola</title></item></channel></rss>"
)


# --- healthy sites ----------------------------------------------------------------------------


async def test_healthy_http_site_reports_phases_and_headers(prober: Prober, serve) -> None:
    url = await serve(
        {
            "/": fixed(response(200, WP_HOME, {"Server": "nginx"})),
            "/feed/": fixed(response(200, RSS, {"Content-Type": "application/rss+xml"})),
        }
    )
    result = await probe(prober, url + "/")
    assert result.failure_class is FC.OK, result.findings
    assert result.status_code == 200
    assert result.wordpress is True
    assert set(result.phases) >= {"connect", "first_byte", "transfer"}
    assert "dns" not in result.phases  # an IP literal needs no lookup
    assert result.headers["server"] == "nginx"
    assert "Tienda Acme" in result.body_excerpt
    data = result.to_json()
    assert data["class"] == "ok" and data["site"] == "acme" and data["status_code"] == 200
    port = url.rsplit(":", 1)[1]
    assert data["final_url"] == url + "/" and data["peer"] == f"127.0.0.1:{port}"
    assert serve.servers[0].requests == ["/", "/feed/"]  # type: ignore[attr-defined]
    request = serve.servers[0].raw_requests[0]  # type: ignore[attr-defined]
    assert b"Connection: close" in request and b"Host: 127.0.0.1:" in request


async def test_each_probe_uses_a_fresh_connection(prober: Prober, serve) -> None:
    url = await serve({"/": fixed(response(200))})
    for _ in range(3):
        result = await probe(prober, url + "/", wordpress=False)
        assert result.ok
    assert len(serve.servers[0].requests) == 3  # type: ignore[attr-defined]


async def test_localhost_name_is_resolved_and_timed(prober: Prober, serve) -> None:
    url = await serve({"/": fixed(response(200))})
    result = await probe(prober, url.replace("127.0.0.1", "localhost") + "/", wordpress=False)
    assert result.ok, result.detail
    assert result.phases["dns"] >= 0.0


async def test_healthy_https_site_reads_certificate(prober: Prober, serve, ca) -> None:
    cert = ca.issue_cert("127.0.0.1", not_after=dt.datetime.now(UTC) + dt.timedelta(days=90))
    url = await serve({"/": fixed(response(200))}, server_context(cert))
    result = await probe(prober, url + "/", wordpress=False)
    assert result.failure_class is FC.OK, result.detail
    assert result.phases["tls"] > 0.0
    assert result.cert_not_after is not None
    days = (result.cert_not_after - dt.datetime.now(UTC)).days
    assert 88 <= days <= 90
    assert result.cert_issuer and "trustme" in result.cert_issuer.lower()


async def test_chunked_and_gzip_bodies_are_decoded(prober: Prober, serve) -> None:
    page = b"<html><body>" + b"<p>line</p>" * 2000 + b"</body></html>"
    packed = gzip.compress(page)
    chunks = b"".join(
        f"{len(packed[i : i + 1000]):x}\r\n".encode() + packed[i : i + 1000] + b"\r\n"
        for i in range(0, len(packed), 1000)
    )
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n"
        b"Content-Type: text/html\r\n\r\n" + chunks + b"0\r\nX-Trailer: 1\r\n\r\n"
    )
    url = await serve({"/": fixed(raw)})
    obs = await prober.probe_url(url + "/", FAST)
    assert obs.error is None, obs.error_detail
    assert obs.body == page
    assert not obs.body_truncated


# --- one test per failure class -----------------------------------------------------------------


async def test_refused(prober: Prober) -> None:
    result = await probe(prober, f"http://127.0.0.1:{free_port()}/")
    assert result.failure_class is FC.REFUSED
    assert result.detail.startswith("acme: connection refused")


async def test_dns(prober: Prober) -> None:
    result = await probe(prober, "http://no-such-site.invalid/")
    assert result.failure_class is FC.DNS
    assert "dns" in result.phases


async def test_timeout_on_port_that_accepts_and_never_answers(prober: Prober) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # the kernel completes handshakes; nobody ever reads or answers
    try:
        port = listener.getsockname()[1]
        begun = time.monotonic()
        result = await probe(prober, f"http://127.0.0.1:{port}/")
        assert result.failure_class is FC.TIMEOUT
        assert "waiting for the first byte" in result.detail
        assert time.monotonic() - begun < 1.5
    finally:
        listener.close()


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (500, FC.HTTP_500),
        (502, FC.HTTP_502),
        (503, FC.HTTP_503),
        (403, FC.HTTP_403),
        (404, FC.HTTP_404),
    ],
)
async def test_http_status_classes(prober: Prober, serve, status: int, cls: FailureClass) -> None:
    url = await serve({"/": fixed(response(status, b"<html><body>nope</body></html>"))})
    result = await probe(prober, url + "/")
    assert result.failure_class is cls
    assert result.priority is None  # the home page: the class default applies
    assert result.status_code == status


WP_DIE = (
    b"<!DOCTYPE html><html><head><title>WordPress &rsaquo; Error</title></head>"
    b'<body id="error-page"><div class="wp-die-message">%s</div></body></html>'
)


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (500, WP_DIE % b"<h1>Error establishing a database connection</h1>", FC.WP_DB_CONNECTION),
        (500, WP_DIE % b"<p>There has been a critical error on this website.</p>", FC.PHP_FATAL),
        (
            200,
            b"<html><body><br />\n<b>Fatal error</b>:  Maximum execution time of 30 seconds "
            b"exceeded in <b>/var/www/wp-includes/x.php</b> on line <b>12</b><br />",
            FC.PHP_FATAL_TIMEOUT,
        ),
        (
            500,
            b"<br />\n<b>Parse error</b>:  syntax error, unexpected '}' in "
            b"<b>/var/www/wp-content/themes/t/functions.php</b> on line <b>88</b><br />",
            FC.PHP_SYNTAX_ERROR,
        ),
        (
            503,
            b"<!DOCTYPE html><html><body><h1>Briefly unavailable for scheduled maintenance. "
            b"Check back in a minute.</h1></body></html>",
            FC.WP_MAINTENANCE,
        ),
    ],
)
async def test_wordpress_error_pages(
    prober: Prober, serve, status: int, body: bytes, cls: FailureClass
) -> None:
    url = await serve({"/": fixed(response(status, body, {"Content-Type": "text/html"}))})
    result = await probe(prober, url + "/")
    assert result.failure_class is cls, result.detail


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   \n\t ",
        b"<html><head><title>x</title><style>p{}</style></head><body>\n"
        b"<script>var a = '<p>not shown</p>';</script><div> &nbsp; </div></body></html>",
    ],
)
async def test_white_screen(prober: Prober, serve, body: bytes) -> None:
    url = await serve({"/": fixed(response(200, body, {"Content-Type": "text/html"}))})
    result = await probe(prober, url + "/")
    assert result.failure_class is FC.WHITE_SCREEN


async def test_redirect_loop(prober: Prober, serve) -> None:
    url = await serve(
        {
            "/": fixed(response(302, b"", {"Location": "/a"})),
            "/a": fixed(response(302, b"", {"Location": "/b"})),
            "/b": fixed(response(301, b"", {"Location": "/a"})),
        }
    )
    result = await probe(prober, url + "/")
    assert result.failure_class is FC.REDIRECT_LOOP
    assert "redirects back" in result.detail
    assert serve.servers[0].requests == ["/", "/a", "/b"]  # type: ignore[attr-defined]


async def test_too_many_redirects(prober: Prober, serve) -> None:
    async def onwards(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(response(302, b"", {"Location": f"/hop/{time.monotonic_ns()}"}))
        await writer.drain()

    url = await serve({"*": onwards})
    result = await probe(prober, url + "/")
    assert result.failure_class is FC.REDIRECT_LOOP
    assert "more than 5 redirects" in result.detail
    assert len(serve.servers[0].requests) == 6  # type: ignore[attr-defined]


async def test_redirect_is_followed_and_login_loop_is_medium(prober: Prober, serve) -> None:
    url = await serve(
        {
            "/": fixed(response(301, b"", {"Location": "/home/"})),
            "/home/": fixed(response(200)),
            "/wp-login.php": fixed(response(302, b"", {"Location": "/wp-login.php"})),
        }
    )
    result = await probe(
        prober, url + "/", wordpress=False, checks=(KeywordCheck("/wp-login.php", "Log In"),)
    )
    assert result.status_code == 200
    assert result.url == url + "/" and result.final_url == url + "/home/"
    loop = [f for f in result.findings if f.failure_class is FC.REDIRECT_LOOP]
    assert loop and loop[0].priority is Priority.MEDIUM
    assert result.failure_class is FC.REDIRECT_LOOP and result.priority is Priority.MEDIUM


def self_signed_context() -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    pem_cert = cert.public_bytes(serialization.Encoding.PEM)
    pem_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    import tempfile

    with tempfile.NamedTemporaryFile("wb", suffix=".pem", delete=False) as f:
        f.write(pem_cert + pem_key)
    ctx.load_cert_chain(f.name)
    Path(f.name).unlink()
    return ctx


async def test_ssl_expired_still_reports_the_date(prober: Prober, serve, ca) -> None:
    now = dt.datetime.now(UTC)
    cert = ca.issue_cert(
        "127.0.0.1", not_before=now - dt.timedelta(days=90), not_after=now - dt.timedelta(days=2)
    )
    url = await serve({"/": fixed(response(200))}, server_context(cert))
    result = await probe(prober, url + "/")
    assert result.failure_class is FC.SSL_EXPIRED, result.detail
    assert result.cert_not_after is not None and result.cert_not_after < now
    assert result.cert_subject is not None


async def test_ssl_untrusted_issuer(prober: Prober, serve) -> None:
    stranger = trustme.CA()
    url = await serve({"/": fixed(response(200))}, server_context(stranger.issue_cert("127.0.0.1")))
    result = await probe(prober, url + "/")
    assert result.failure_class is FC.SSL_UNTRUSTED
    assert result.cert_not_after is not None  # read over the second, unverified handshake


async def test_ssl_self_signed(prober: Prober, serve) -> None:
    url = await serve({"/": fixed(response(200))}, self_signed_context())
    result = await probe(prober, url + "/")
    assert result.failure_class is FC.SSL_UNTRUSTED
    assert "self" in result.detail.lower() or "self-signed" in result.detail.lower()
    assert result.cert_issuer == result.cert_subject


async def test_ssl_hostname(prober: Prober, serve, ca) -> None:
    url = await serve({"/": fixed(response(200))}, server_context(ca.issue_cert("other.example")))
    result = await probe(prober, url + "/")
    assert result.failure_class is FC.SSL_HOSTNAME
    assert result.cert_not_after is not None


@pytest.mark.parametrize(("days", "priority"), [(20, None), (3, Priority.MEDIUM)])
async def test_ssl_expiring(prober: Prober, serve, ca, days: int, priority) -> None:
    cert = ca.issue_cert("127.0.0.1", not_after=dt.datetime.now(UTC) + dt.timedelta(days=days))
    url = await serve({"/": fixed(response(200))}, server_context(cert))
    result = await probe(prober, url + "/", wordpress=False)
    assert result.failure_class is FC.SSL_EXPIRING
    assert result.priority is priority


async def test_slow_first_byte(prober: Prober, serve) -> None:
    async def late(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.6)  # the server's behaviour under test, not a wait in the test
        writer.write(response(200))
        await writer.drain()

    url = await serve({"/": late})
    result = await probe(prober, url + "/", wordpress=False)
    assert result.failure_class is FC.SLOW
    assert result.phases["first_byte"] >= 0.5


async def test_content_missing_keyword_and_path(prober: Prober, serve) -> None:
    url = await serve(
        {
            "/": fixed(response(200)),
            "/carrito/": fixed(response(200, b"<html><body>Carrito vacio</body></html>")),
            "/promo/": fixed(response(410, b"gone")),
        }
    )
    checks = (KeywordCheck("/carrito/", "Finalizar compra"), KeywordCheck("/promo/", "Oferta"))
    result = await probe(prober, url + "/", wordpress=False, checks=checks)
    classes = [f.failure_class for f in result.findings]
    assert classes.count(FC.CONTENT_MISSING) == 1 and FC.HTTP_404 in classes
    missing = next(f for f in result.findings if f.failure_class is FC.CONTENT_MISSING)
    assert missing.detail.startswith("acme:") and "Finalizar compra" in missing.detail
    gone = next(f for f in result.findings if f.failure_class is FC.HTTP_404)
    assert gone.priority is Priority.MEDIUM


async def test_keyword_found_case_insensitively(prober: Prober, serve) -> None:
    page = "<html><body>AÑADIR AL CARRITO</body></html>".encode()
    url = await serve(
        {
            "/": fixed(response(200)),
            "/tienda/": fixed(response(200, page, {"Content-Type": "text/html; charset=utf-8"})),
        }
    )
    checks = (KeywordCheck("/tienda/", "Añadir al carrito"),)
    result = await probe(prober, url + "/", wordpress=False, checks=checks)
    assert result.failure_class is FC.OK, result.findings


async def test_rss_invalid(prober: Prober, serve) -> None:
    url = await serve(
        {
            "/": fixed(response(200, WP_HOME)),
            "/feed/": fixed(response(200, b"<br />\n<b>Warning</b>: x<?xml version='1.0'?><rss>")),
        }
    )
    result = await probe(prober, url + "/")
    assert result.wordpress is True
    assert result.failure_class is FC.RSS_INVALID
    assert "not well-formed" in result.detail


async def test_checks_skipped_when_home_is_down(prober: Prober, serve) -> None:
    url = await serve({"/": fixed(response(500, WP_HOME))})
    result = await probe(prober, url + "/", checks=(KeywordCheck("/cart/", "Cart"),))
    assert [f.failure_class for f in result.findings] == [FC.HTTP_500]
    assert serve.servers[0].requests == ["/"]  # type: ignore[attr-defined]


# --- hostile servers ----------------------------------------------------------------------------


async def test_slow_drip_is_cut_by_the_deadline(prober: Prober, serve) -> None:
    async def drip(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for byte in response(200, b"x" * 100):
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.2)

    url = await serve({"/": drip})
    begun = time.monotonic()
    result = await probe(prober, url + "/", wordpress=False)
    assert result.failure_class is FC.TIMEOUT
    assert time.monotonic() - begun < 1.5


async def endless(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><body>")
    chunk = b"<p>more</p>" * 6000
    while True:
        writer.write(chunk)
        await writer.drain()


async def test_endless_body_is_capped(prober: Prober, serve) -> None:
    url = await serve({"/": endless})
    settings = ProbeSettings(deadline=1.0, max_body_bytes=200_000)
    obs = await prober.probe_url(url + "/", settings)
    assert obs.error is None
    assert obs.body is not None and len(obs.body) == 200_000
    assert obs.body_truncated


async def test_gzip_bomb_is_capped(prober: Prober, serve) -> None:
    bomb = gzip.compress(b"\0" * 50_000_000, compresslevel=9)  # ~50 KB on the wire
    raw = response(200, bomb, {"Content-Encoding": "gzip", "Content-Type": "text/html"})
    url = await serve({"/": fixed(raw)})
    settings = ProbeSettings(deadline=1.0, max_body_bytes=100_000)
    obs = await prober.probe_url(url + "/", settings)
    assert obs.error is None, obs.error_detail
    assert obs.body is not None and len(obs.body) <= 100_000
    assert obs.body_truncated


async def test_invalid_utf8_body_is_reported_safely(prober: Prober, serve) -> None:
    body = b"<html><body>caf\xe9 \xff\xfe\x80 \x1b[31mred\x07</body></html>"
    url = await serve({"/": fixed(response(200, body))})
    result = await probe(prober, url + "/", wordpress=False)
    assert result.failure_class is FC.OK
    assert "\ufffd" in result.body_excerpt
    assert "\x1b" not in result.body_excerpt and "\x07" not in result.body_excerpt


async def test_thousands_of_headers_is_a_protocol_error(prober: Prober, serve) -> None:
    many = {f"X-H{i}": "v" for i in range(5000)}
    url = await serve({"/": fixed(response(200, b"hi", many))})
    result = await probe(prober, url + "/")
    assert result.failure_class is FC.HTTP_502
    assert "header" in result.detail


async def test_garbage_instead_of_http(prober: Prober, serve) -> None:
    url = await serve({"/": fixed(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")})
    result = await probe(prober, url + "/")
    assert result.failure_class is FC.HTTP_502
    assert "status line" in result.detail


async def test_close_without_answer(prober: Prober, serve) -> None:
    async def hang_up(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    url = await serve({"/": hang_up})
    result = await probe(prober, url + "/")
    assert result.failure_class is FC.HTTP_502
    assert "closed before any response" in result.detail


async def test_plain_http_on_a_tls_url(prober: Prober) -> None:
    async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)  # a ClientHello; answer it like nginx answers garbage
        writer.write(response(400, b"Bad Request"))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(plain, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        result = await probe(prober, f"https://127.0.0.1:{port}/")
    finally:
        server.close()
    assert result.failure_class is FC.SSL_UNTRUSTED
    assert "TLS handshake failed" in result.detail


# --- the reader alone ---------------------------------------------------------------------------


def read(raw: bytes, max_body: int = 1 << 20, split: int = 0) -> _Reader:
    loop = asyncio.new_event_loop()
    try:
        reader = _Reader(loop.create_future(), max_body, stop_at_redirect=True)
        pieces = [raw] if not split else [raw[i : i + split] for i in range(0, len(raw), split)]
        for piece in pieces:
            reader.data_received(piece)
        reader.eof_received()
        return reader
    finally:
        loop.close()


@pytest.mark.parametrize("split", [0, 1, 7])
def test_reader_handles_any_split(split: int) -> None:
    raw = (
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
        b"X-Long: a\r\n  b\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    )
    reader = read(raw, split=split)
    assert reader.waiter.result() is None
    assert reader.status == 200 and bytes(reader.body) == b"hello world"
    assert reader.headers["x-long"] == "a b"


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nnope",
    ],
)
def test_reader_rejects_malformed_responses(raw: bytes) -> None:
    reader = read(raw)
    exc = reader.waiter.exception()
    assert isinstance(exc, ProbeError) and exc.kind == "protocol"


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS])
def test_reader_inflates_zlib_and_raw_deflate(wbits: int) -> None:
    packer = zlib.compressobj(wbits=wbits)
    packed = packer.compress(b"<p>hola</p>" * 100) + packer.flush()
    head = f"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: {len(packed)}"
    reader = read(head.encode() + b"\r\n\r\n" + packed, split=5)
    assert reader.waiter.result() is None
    assert bytes(reader.body) == b"<p>hola</p>" * 100


def test_body_excerpt_strips_controls_and_keeps_markup() -> None:
    text = body_excerpt(b"<b>ok</b>\x00\x1b[2J" + b"x" * 1000)
    assert text.startswith("<b>ok</b>[2J") and len(text) == 500


def test_observation_defaults_are_a_home_probe() -> None:
    obs = Observation(url="https://x/")
    assert obs.kind == "home" and obs.error is None and obs.redirects == 0


# --- the same prober on uvloop ------------------------------------------------------------------


def test_uvloop_probes_tls_caps_and_deadlines(ca: trustme.CA, ca_file: Path) -> None:
    policy = asyncio.get_event_loop_policy()
    prober = Prober(extra_ca=ca_file)  # use_uvloop defaults to True
    assert asyncio.get_event_loop_policy() is policy  # the constructor leaves policy alone
    now = dt.datetime.now(UTC)
    good = ca.issue_cert("127.0.0.1", not_after=now + dt.timedelta(days=60))
    expired = ca.issue_cert(
        "127.0.0.1", not_before=now - dt.timedelta(days=60), not_after=now - dt.timedelta(days=1)
    )

    async def drip(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for byte in response(200):
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.2)

    async def main() -> tuple[str, list[ProbeResult], Observation]:
        servers = [
            Server(
                {"/": fixed(response(200)), "/drip": drip, "/endless": endless},
                server_context(good),
            ),
            Server({"/": fixed(response(200))}, server_context(expired)),
        ]
        urls = [await s.start() for s in servers]
        try:
            results = [
                await probe(prober, urls[0] + "/", wordpress=False),
                await probe(prober, urls[1] + "/", wordpress=False),
                await probe(prober, urls[0] + "/drip", wordpress=False),
            ]
            capped = await prober.probe_url(
                urls[0] + "/endless", ProbeSettings(deadline=1.0, max_body_bytes=50_000)
            )
        finally:
            for s in servers:
                await s.close()
        return type(asyncio.get_running_loop()).__module__, results, capped

    module, (healthy, stale, dripping), capped = prober.run(main())
    assert module.startswith("uvloop")
    assert healthy.ok and healthy.phases["tls"] > 0
    assert healthy.cert_not_after is not None and healthy.cert_not_after > now
    assert stale.failure_class is FC.SSL_EXPIRED and stale.cert_not_after < now
    assert dripping.failure_class is FC.TIMEOUT and dripping.elapsed_ms < 1500
    assert capped.body is not None and len(capped.body) == 50_000 and capped.body_truncated


async def test_feed_of_a_site_in_a_subdirectory(prober: Prober, serve) -> None:
    url = await serve(
        {"/blog/": fixed(response(200, WP_HOME)), "/blog/feed/": fixed(response(200, RSS))}
    )
    result = await probe(prober, url + "/blog/")
    assert result.ok, result.findings
    assert serve.servers[0].requests == ["/blog/", "/blog/feed/"]  # type: ignore[attr-defined]
