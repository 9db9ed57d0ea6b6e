"""WordPress health against real servers on 127.0.0.1: each class raised by a page that has
the problem, and none by a healthy WordPress page; the extra requests take turns.

The servers are small asyncio HTTP(S) servers in the test's loop (certificates from
trustme); the version-check API and Google's lookup are local servers answering in those
APIs' JSON formats. Time is an injected clock.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trustme

from ronda.checks.incident_model import FamilyState, Outcome, SiteState, TicketView
from ronda.checks.incidents import Resolve, evaluate
from ronda.checks.outcomes import evidence_of, outcome_of
from ronda.checks.probe import Prober, ProbeResult
from ronda.checks.rounds import RoundItem, RoundRunner
from ronda.checks.wordpress.health import WordPressHealth, _Memory
from ronda.config import (
    Config,
    IncidentSettings,
    KeywordCheck,
    ProbeSettings,
    Site,
    WordPressSettings,
)
from ronda.exporter.collector import RondaCollector
from ronda.model import FailureClass, Priority
from ronda.sites import sync_config
from ronda.store import Store

FC = FailureClass
FAST = ProbeSettings(deadline=2.0, slow_first_byte=1.5, slow_total=1.9, max_redirects=5)
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
LATEST = WordPressSettings(latest="6.7.1")

Route = tuple[int, dict[str, str], bytes]


def home_page(
    version: str = "6.7.1",
    extra: str = "",
    images: tuple[str, ...] = ("/wp-content/uploads/a.jpg",),
) -> bytes:
    imgs = "".join(f'<img src="{src}" alt="x">' for src in images)
    return (
        "<!DOCTYPE html><html><head>"
        f'<meta name="generator" content="WordPress {version}" />'
        "<link rel='stylesheet' href='/wp-content/themes/t/style.css'>"
        f"</head><body><h1>Tienda</h1>{imgs}{extra}</body></html>"
    ).encode()


RSS = (
    b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>T</title>'
    b"<generator>https://wordpress.org/?v=6.7.1</generator></channel></rss>"
)
REST_INDEX = b'{"name":"Tienda","namespaces":["oembed/1.0","wp/v2"],"routes":{}}'
LOGIN = b"<html><body><form id='loginform'><input id='user_login'></form></body></html>"
HTML = {"Content-Type": "text/html; charset=UTF-8", "X-Powered-By": "PHP/8.3.14"}


def healthy_routes(**overrides: Route) -> dict[str, Route]:
    routes: dict[str, Route] = {
        "/": (200, dict(HTML), home_page()),
        "/feed/": (200, {"Content-Type": "application/rss+xml"}, RSS),
        "/wp-json/": (200, {"Content-Type": "application/json"}, REST_INDEX),
        "/wp-login.php": (200, dict(HTML), LOGIN),
        "/wp-content/uploads/a.jpg": (200, {"Content-Type": "image/jpeg"}, b"\xff\xd8jpeg"),
    }
    routes.update(overrides)
    return routes


@dataclass
class Server:
    """An HTTP(S) server answering scripted routes; it records every path asked for."""

    routes: dict[str, Route]
    ssl_context: ssl.SSLContext | None = None
    requests: list[str] = field(default_factory=list)
    heads: list[bytes] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl_context)
        port = self.server.sockets[0].getsockname()[1]
        return f"{'https' if self.ssl_context else 'http'}://127.0.0.1:{port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.heads.append(head)
            target = head.split(b" ", 2)[1].decode()
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            self.bodies.append(await reader.readexactly(length) if length else b"")
            path = target.split("?", 1)[0]
            self.requests.append(path)
            status, headers, body = self.routes.get(path, (404, dict(HTML), b"<p>Not found</p>"))
            lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", "Connection: close"]
            lines += [f"{k}: {v}" for k, v in headers.items()]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

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
async def serve(ca: trustme.CA) -> AsyncIterator[Callable]:
    servers: list[Server] = []

    async def start(routes: dict[str, Route], https: bool = False) -> tuple[str, Server]:
        context = None
        if https:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert("127.0.0.1").configure_cert(context)
        server = Server(routes, context)
        servers.append(server)
        return await server.start(), server

    yield start
    for server in servers:
        await server.close()


class Clock:
    def __init__(self, at: float = NOW.timestamp()) -> None:
        self.now = at

    def __call__(self) -> float:
        return self.now


def make_prober(
    ca_file: Path, settings: WordPressSettings = LATEST, **kw: object
) -> tuple[Prober, WordPressHealth]:
    prober = Prober(extra_ca=ca_file, use_uvloop=False)
    health = WordPressHealth(settings, verify=prober.ssl_context, **kw)  # type: ignore[arg-type]
    prober.wordpress = health
    return prober, health


def site(url: str, **kw: object) -> Site:
    return Site(name="tienda", url=url + "/", probe=FAST, **kw)  # type: ignore[arg-type]


async def rounds(prober: Prober, s: Site, n: int) -> list[ProbeResult]:
    return [await prober.probe_site(s, NOW) for _ in range(n)]


def classes(result: ProbeResult) -> set[FailureClass]:
    return {f.failure_class for f in result.findings}


# --- a healthy WordPress site ----------------------------------------------------------------


async def test_healthy_wordpress_site_raises_nothing_and_extra_requests_take_turns(
    ca_file: Path, serve
) -> None:
    url, server = await serve(healthy_routes(), https=True)
    prober, _health = make_prober(ca_file)
    results = await rounds(prober, site(url), 6)
    for result in results:
        assert result.ok and result.findings == [], result.findings
    extra = [p for p in server.requests if p not in ("/", "/feed/")]
    # One extra check per round, in turns: images, REST root, login page, and again.
    assert extra == ["/wp-content/uploads/a.jpg", "/wp-json/", "/wp-login.php"] * 2
    assert results[0].unchecked == frozenset({"rest_api", "login"})
    assert results[2].unchecked == frozenset()
    facts = results[-1].extra["wordpress"]
    assert facts["core_version"] == "6.7.1" and facts["core_outdated"] is False
    assert facts["php_version"] == "8.3.14" and facts["php_eol"] > NOW.timestamp()


async def test_without_wordpress_health_a_round_is_home_and_feed(ca_file: Path, serve) -> None:
    url, server = await serve(healthy_routes())
    prober = Prober(extra_ca=ca_file, use_uvloop=False)
    await rounds(prober, site(url), 2)
    assert server.requests == ["/", "/feed/"] * 2


async def test_not_wordpress_gets_no_wordpress_checks(ca_file: Path, serve) -> None:
    url, server = await serve({"/": (200, dict(HTML), b"<html><body><p>Hola</p></body></html>")})
    prober, _ = make_prober(ca_file)
    await rounds(prober, site(url), 3)
    assert server.requests == ["/"] * 3


# --- core version ----------------------------------------------------------------------------


async def test_outdated_core_from_the_generator_and_from_the_feed(ca_file: Path, serve) -> None:
    url, _ = await serve(healthy_routes(**{"/": (200, dict(HTML), home_page("6.5.5"))}))
    prober, _ = make_prober(ca_file)
    (result,) = await rounds(prober, site(url), 1)
    assert classes(result) == {FC.WP_OUTDATED}
    assert result.failure_class is FC.WP_OUTDATED and result.priority is None
    assert "6.5.5 is 2 feature releases behind 6.7.1" in result.detail
    assert result.extra["wordpress"]["core_outdated"] is True

    no_meta = home_page().replace(b'<meta name="generator" content="WordPress 6.7.1" />', b"")
    old_feed = RSS.replace(b"v=6.7.1", b"v=6.7")
    url, _ = await serve(
        healthy_routes(
            **{"/": (200, dict(HTML), no_meta), "/feed/": (200, {}, old_feed)},
        )
    )
    (result,) = await rounds(prober, site(url), 1)
    assert classes(result) == {FC.WP_OUTDATED} and "misses 6.7.1" in result.detail


async def test_version_check_api_is_fetched_once_a_day(ca_file: Path, serve) -> None:
    api = {
        "offers": [
            {"response": "upgrade", "version": "6.7.1"},
            {"response": "autoupdate", "version": "6.6.2"},
        ],
        "translations": [],
    }
    api_url, api_server = await serve(
        {
            "/core/version-check/1.7/": (
                200,
                {"Content-Type": "application/json"},
                json.dumps(api).encode(),
            )
        },
        https=True,
    )
    url, _ = await serve(healthy_routes(**{"/": (200, dict(HTML), home_page("6.6.1"))}))
    clock = Clock()
    settings = WordPressSettings(version_check_url=api_url + "/core/version-check/1.7/")
    prober, health = make_prober(ca_file, settings, clock=clock)
    results = await rounds(prober, site(url), 3)
    assert all("misses 6.6.2, the security release" in r.detail for r in results)
    assert api_server.requests == ["/core/version-check/1.7/"] and health.fetches == 1
    clock.now += 86400 + 1
    await rounds(prober, site(url), 1)
    assert health.fetches == 2


async def test_version_check_api_down_keeps_quiet(ca_file: Path, serve) -> None:
    api_url, _ = await serve({}, https=True)  # 404 for everything
    url, _ = await serve(healthy_routes(**{"/": (200, dict(HTML), home_page("5.0"))}))
    settings = WordPressSettings(version_check_url=api_url + "/nope/")
    prober, health = make_prober(ca_file, settings)
    (result,) = await rounds(prober, site(url), 1)
    assert FC.WP_OUTDATED not in classes(result)  # nothing known to compare with
    await rounds(prober, site(url), 1)
    assert health.fetches == 1  # a failed fetch is retried after an hour, not every probe


# --- PHP end of life -------------------------------------------------------------------------


async def test_php_end_of_life_from_x_powered_by(ca_file: Path, serve) -> None:
    headers = {**HTML, "X-Powered-By": "PHP/8.1.31"}
    url, _ = await serve(healthy_routes(**{"/": (200, headers, home_page())}))
    prober, _ = make_prober(ca_file)
    (result,) = await rounds(prober, site(url), 1)
    assert classes(result) == {FC.PHP_EOL}
    assert "PHP 8.1 has had no security support since 2025-12-31" in result.detail
    assert (
        result.extra["wordpress"]["php_eol"]
        == datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()
    )


# --- mixed content ---------------------------------------------------------------------------


async def test_mixed_content_on_https_not_on_http(ca_file: Path, serve) -> None:
    insecure = '<script src="http://cdn.example/jquery.js"></script>'
    routes = healthy_routes(**{"/": (200, dict(HTML), home_page(extra=insecure))})
    url, _ = await serve(routes, https=True)
    prober, _ = make_prober(ca_file)
    (result,) = await rounds(prober, site(url), 1)
    assert classes(result) == {FC.MIXED_CONTENT}
    assert "http://cdn.example/jquery.js" in result.detail
    url, _ = await serve(routes)
    (result,) = await rounds(prober, site(url), 1)
    assert result.findings == []


# --- broken images ---------------------------------------------------------------------------


async def test_broken_images_are_rechecked_then_held_between_turns(ca_file: Path, serve) -> None:
    images = tuple(f"/wp-content/uploads/{n}.jpg" for n in "abcde")
    routes = healthy_routes(**{"/": (200, dict(HTML), home_page(images=images))})
    routes["/wp-content/uploads/a.jpg"] = (404, dict(HTML), b"<p>Not found</p>")
    routes["/wp-content/uploads/b.jpg"] = (200, {}, b"jpeg")
    url, server = await serve(routes)
    prober, _ = make_prober(ca_file, replace(LATEST, images_per_round=2))
    results = await rounds(prober, site(url), 4)
    assert [classes(r) for r in results] == [{FC.BROKEN_IMAGES}] * 4
    assert (
        "1 of 2 sampled images fail" in results[0].detail
        and "a.jpg (HTTP 404)" in results[0].detail
    )
    extra = [p for p in server.requests if p not in ("/", "/feed/")]
    # A new failure is looked at again on the next probe; then the turns go on, the
    # verdict held; only the page's first two images are sampled.
    assert extra == ["/wp-content/uploads/a.jpg", "/wp-content/uploads/b.jpg"] * 2 + [
        "/wp-json/",
        "/wp-login.php",
    ]


async def test_images_on_other_hosts_are_not_fetched(ca_file: Path, serve) -> None:
    page_ = home_page(images=("http://127.0.0.2:9/x.jpg",))
    url, server = await serve(healthy_routes(**{"/": (200, dict(HTML), page_)}))
    prober, _ = make_prober(ca_file)
    (result,) = await rounds(prober, site(url), 1)
    assert result.findings == [] and server.requests == ["/", "/feed/"]


# --- PHP warnings ----------------------------------------------------------------------------


async def test_php_warnings_in_a_working_page(ca_file: Path, serve) -> None:
    warning = (
        '<br />\n<b>Warning</b>:  Undefined array key "precio" in '
        "<b>/home/tienda/public_html/wp-content/themes/tema/functions.php</b> on line <b>88</b>"
        "<br />\n"
    )
    url, _ = await serve(healthy_routes(**{"/": (200, dict(HTML), home_page(extra=warning))}))
    prober, _ = make_prober(ca_file)
    (result,) = await rounds(prober, site(url), 1)
    assert classes(result) == {FC.PHP_WARNING}, result.findings
    assert "wp-content/themes/tema/functions.php on line 88" in result.detail
    assert "/home/tienda" not in result.detail
    # The ticket's body excerpt shows the page, without the account's home directory.
    assert "/home/tienda" not in result.body_excerpt
    assert "<b>wp-content/themes/tema/functions.php</b> on line" in result.body_excerpt


# --- REST API --------------------------------------------------------------------------------


async def test_rest_api_answering_html_is_broken(ca_file: Path, serve) -> None:
    routes = healthy_routes(**{"/wp-json/": (403, dict(HTML), b"<p>REST disabled</p>")})
    url, _ = await serve(routes)
    prober, _ = make_prober(ca_file)
    results = await rounds(prober, site(url), 4)
    assert [classes(r) for r in results] == [
        set(),
        {FC.WP_REST_BROKEN},
        {FC.WP_REST_BROKEN},
        {FC.WP_REST_BROKEN},
    ]
    assert "HTTP 403 is not JSON (text/html)" in results[1].detail
    assert results[1].priority is None and results[1].failure_class is FC.WP_REST_BROKEN


async def test_rest_root_from_the_link_header(ca_file: Path, serve) -> None:
    headers = {**HTML, "Link": '<{base}/?rest_route=/>; rel="https://api.w.org/"'}
    routes = healthy_routes(**{"/": (200, headers, home_page())})
    routes["/"] = (200, headers, home_page())
    url, server = await serve(routes)
    routes["/"][1]["Link"] = f'<{url}/index.php?rest_route=/>; rel="https://api.w.org/"'
    routes["/index.php"] = (200, {"Content-Type": "application/json"}, REST_INDEX)
    prober, _ = make_prober(ca_file)
    results = await rounds(prober, site(url), 2)
    assert results[1].findings == [] and "/index.php" in server.requests


# --- the login page --------------------------------------------------------------------------


async def test_login_redirect_loop_without_configuration(ca_file: Path, serve) -> None:
    routes = healthy_routes(
        **{
            "/wp-login.php": (302, {"Location": "/wp-admin/"}, b""),
            "/wp-admin/": (302, {"Location": "/wp-login.php?reauth=1"}, b""),
        }
    )
    url, _ = await serve(routes)
    prober, _ = make_prober(ca_file)
    results = await rounds(prober, site(url), 3)
    assert FC.LOGIN_REDIRECT_LOOP in classes(results[2])
    assert results[2].failure_class is FC.LOGIN_REDIRECT_LOOP
    assert "wp-login.php redirects in a loop" in results[2].detail
    # A site that configures its own check on the login page is not probed twice for it.
    configured = site(url, checks=(KeywordCheck("/wp-login.php", "user_login"),))
    prober, _ = make_prober(ca_file)
    results = await rounds(prober, configured, 3)
    assert all(FC.LOGIN_REDIRECT_LOOP not in classes(r) for r in results)


# --- blocked ---------------------------------------------------------------------------------


async def test_firewall_block_page_is_blocked_not_http_403(ca_file: Path, serve) -> None:
    wordfence = (
        b"<html><head><title>Your access to this site has been limited</title></head><body>"
        b"<p>Your access to this site has been limited by the site owner</p>"
        b"<p>Generated by Wordfence at Wed, 2 Dec 2026</p></body></html>"
    )
    url, server = await serve(healthy_routes(**{"/": (503, dict(HTML), wordfence)}))
    prober, _ = make_prober(ca_file)
    (result,) = await rounds(prober, site(url), 1)
    assert result.failure_class is FC.BLOCKED and classes(result) == {FC.BLOCKED}
    assert "Wordfence blocks the desk's probes (HTTP 503)" in result.detail
    assert server.requests == ["/"]  # blocked: nothing else is asked or judged


async def test_reset_right_after_connect_is_blocked(ca_file: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    loop = asyncio.get_running_loop()

    async def reset_all() -> None:
        while True:
            conn, _ = await loop.sock_accept(listener)
            await asyncio.sleep(0.05)  # the request is in; then a RST, as a firewall does
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    task = asyncio.create_task(reset_all())
    try:
        prober, _ = make_prober(ca_file)
        result = await prober.probe_site(site(f"http://127.0.0.1:{port}"), NOW)
    finally:
        task.cancel()
        listener.close()
    assert result.failure_class is FC.BLOCKED, result.detail
    assert "reset right after connecting" in result.detail


# --- Google's lookup -------------------------------------------------------------------------


async def test_safe_browsing_flags_a_listed_site_key_in_a_header_never_logged(
    ca_file: Path, serve, caplog: pytest.LogCaptureFixture
) -> None:
    listed = {
        "matches": [
            {
                "threatType": "MALWARE",
                "platformType": "ANY_PLATFORM",
                "threat": {"url": "x"},
                "cacheDuration": "300s",
                "threatEntryType": "URL",
            }
        ]
    }
    json_ct = {"Content-Type": "application/json"}
    api_url, api = await serve(
        {"/v4/threatMatches:find": (200, json_ct, json.dumps(listed).encode())}, https=True
    )
    url, _ = await serve(healthy_routes())
    settings = replace(
        LATEST,
        safe_browsing="safebrowsing",
        safe_browsing_url=api_url + "/v4/threatMatches:find",
        safe_browsing_key_env="TEST_SB_KEY",
    )
    clock = Clock()
    prober, _ = make_prober(ca_file, settings, clock=clock, environ={"TEST_SB_KEY": "sekret-123"})
    caplog.set_level(logging.DEBUG)
    results = await rounds(prober, site(url), 4)
    assert FC.FLAGGED_UNSAFE in classes(results[3])
    assert results[3].failure_class is FC.FLAGGED_UNSAFE  # high: it leads
    assert "Safe Browsing lists" in results[3].detail and "MALWARE" in results[3].detail
    assert results[3].priority is None
    assert api.requests == ["/v4/threatMatches:find"]  # its turn came once in four rounds
    assert b"x-goog-api-key: sekret-123" in api.heads[0].lower()
    assert b"sekret" not in api.heads[0].split(b"\r\n", 1)[0]  # not in the request line
    request = json.loads(api.bodies[0])
    assert request["threatInfo"]["threatEntries"] == [{"url": url + "/"}]
    assert "sekret" not in caplog.text
    assert all("sekret" not in json.dumps(r.to_json()) for r in results)


async def test_web_risk_clean_site_is_not_flagged(ca_file: Path, serve) -> None:
    api_url, api = await serve(
        {"/v1/uris:search": (200, {"Content-Type": "application/json"}, b"{}")}, https=True
    )
    url, _ = await serve(healthy_routes())
    settings = replace(
        LATEST,
        safe_browsing="webrisk",
        safe_browsing_url=api_url + "/v1/uris:search",
        safe_browsing_key_env="K",
    )
    prober, _ = make_prober(ca_file, settings, environ={"K": "k"})
    results = await rounds(prober, site(url), 8)
    assert all(r.findings == [] for r in results)
    assert len(api.requests) == 1  # at most every safe_browsing_every (24 h) per site


# --- per-site switches ----------------------------------------------------------------------------


async def test_a_site_turns_checks_off(ca_file: Path, serve) -> None:
    headers = {**HTML, "X-Powered-By": "PHP/7.4.33"}
    url, server = await serve(healthy_routes(**{"/": (200, headers, home_page("6.0"))}))
    prober, _ = make_prober(ca_file)
    quiet = site(url, wordpress_checks=(("images", False), ("php", False), ("core", False)))
    results = await rounds(prober, quiet, 4)
    assert all(r.findings == [] for r in results)
    assert "/wp-content/uploads/a.jpg" not in server.requests
    loud = site(url)
    (result,) = await rounds(prober, loud, 1)
    assert classes(result) == {FC.PHP_EOL, FC.WP_OUTDATED}


# --- unchecked families get no news ----------------------------------------------------------


def test_an_unchecked_family_is_neither_failing_nor_passing() -> None:
    s = Site(name="tienda", url="https://t.example/")
    ticket = TicketView(
        id=7,
        case_number="R-7",
        is_open=True,
        priority=Priority.MEDIUM,
        failure_class=FC.BROKEN_IMAGES,
    )
    t0 = NOW.timestamp() - 600
    family = FamilyState(
        failing=True,
        confirmed=True,
        reported=True,
        ticket_id=7,
        consecutive_failures=3,
        failure_class="broken_images",
        first_failure_at=t0,
        last_failure_at=t0,
    )
    state = SiteState(families={"images": family}, up=True)
    settings = IncidentSettings(recover_rounds=1)
    at = NOW
    quiet = Outcome(site="tienda", at=at, url=s.url, unchecked=frozenset({"images"}))
    decision = evaluate(s, quiet, state, {7: ticket}, settings)
    assert not [a for a in decision.actions if isinstance(a, Resolve)]
    passing = Outcome(site="tienda", at=at, url=s.url)
    decision = evaluate(s, passing, state, {7: ticket}, settings)
    assert [a for a in decision.actions if isinstance(a, Resolve)]


def test_outcome_of_carries_unchecked() -> None:
    result = ProbeResult(site="t", url="u", started_at=NOW, unchecked=frozenset({"login"}))
    assert outcome_of(result).unchecked == frozenset({"login"})


# --- metrics -------------------------------------------------------------------------------


async def test_a_round_publishes_the_wordpress_metrics(ca_file: Path, serve, tmp_path) -> None:
    headers = {**HTML, "X-Powered-By": "PHP/8.1.31"}
    routes = healthy_routes(**{"/": (200, headers, home_page("6.5.5"))})
    routes["/wp-json/"] = (500, dict(HTML), b"<p>critical error</p>")
    url, _ = await serve(routes)
    prober, _ = make_prober(ca_file)
    s = site(url)
    config = Config(sites=(s,))
    store = Store(tmp_path / "ronda.db")
    try:
        sync_config(store, config)
        runner = RoundRunner(store, config)
        for result in await rounds(prober, s, 2):  # images, then the REST root
            runner.apply([RoundItem(result)])
        collector = RondaCollector(store, lambda: NOW)
        try:
            text = collector.render().decode()
        finally:
            collector.close()
    finally:
        store.close()
    assert 'ronda_wordpress_outdated{site="tienda"} 1.0' in text
    eol = datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()
    assert f'ronda_php_eol_timestamp_seconds{{site="tienda"}} {eol!r}' in text
    assert 'ronda_wordpress_check_failing{site="tienda",check="rest_api"} 1.0' in text
    assert 'ronda_wordpress_check_failing{site="tienda",check="images"} 0.0' in text
    assert 'ronda_wordpress_check_failing{site="tienda",check="core"} 1.0' in text
    assert 'check="login"' not in text  # its turn has not come: nothing said about it


async def test_a_one_off_probe_runs_every_turn_at_once(ca_file: Path, serve) -> None:
    routes = healthy_routes(**{"/wp-json/": (404, dict(HTML), b"<p>Not found</p>")})
    url, server = await serve(routes)
    prober, _ = make_prober(ca_file, every_turn=True)
    (result,) = await rounds(prober, site(url), 1)
    assert classes(result) == {FC.WP_REST_BROKEN} and result.unchecked == frozenset()
    extra = [p for p in server.requests if p not in ("/", "/feed/")]
    assert extra == ["/wp-content/uploads/a.jpg", "/wp-json/", "/wp-login.php"]


def test_evidence_carries_what_the_wordpress_checks_saw() -> None:
    facts = {"core_version": "6.5.5", "core_latest": "6.7.1", "failing": ["core"]}
    result = ProbeResult(site="t", url="u", started_at=NOW, extra={"wordpress": facts})
    assert evidence_of(result)["extra"]["wordpress"] == facts
    assert "extra" not in evidence_of(ProbeResult(site="t", url="u", started_at=NOW))


def test_a_reload_keeps_the_turns_and_verdicts_of_configured_sites() -> None:
    from ronda.app.rounds import make_prober

    a, b = Site("a", "https://a.example/"), Site("b", "https://b.example/")
    config = Config(sites=(a, b))
    first = make_prober(config)
    health = first.wordpress
    assert health is not None
    health._memory["a"] = health._memory["b"] = _Memory(turn=2)
    reloaded = replace(config, sites=(a,), wordpress=WordPressSettings(latest="6.7.1"))
    second = make_prober(reloaded, health)
    assert second.wordpress is health and health.settings.latest == "6.7.1"
    assert set(health._memory) == {"a"} and health._memory["a"].turn == 2


async def test_a_blocked_site_is_published_as_blocked(ca_file: Path, serve, tmp_path) -> None:
    page_ = b"<html><body><h1>Access denied by Imunify360 bot-protection.</h1></body></html>"
    url, _ = await serve(healthy_routes(**{"/": (403, dict(HTML), page_)}))
    healthy, _ = await serve(healthy_routes())
    prober, _ = make_prober(ca_file)
    blocked, fine = site(url), replace(site(healthy), name="sana")
    config = Config(sites=(blocked, fine))
    store = Store(tmp_path / "ronda.db")
    try:
        sync_config(store, config)
        runner = RoundRunner(store, config)
        runner.apply([RoundItem(await prober.probe_site(s, NOW)) for s in (blocked, fine)])
        collector = RondaCollector(store, lambda: NOW)
        try:
            text = collector.render().decode()
        finally:
            collector.close()
    finally:
        store.close()
    assert 'ronda_site_blocked{site="tienda"} 1.0' in text
    assert 'ronda_site_blocked{site="sana"}' not in text


async def test_probes_do_not_wait_for_a_slow_version_check(ca_file: Path, serve) -> None:
    answered = asyncio.Event()

    async def slow_api(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await answered.wait()  # held until the probes are done
        writer.close()

    api = await asyncio.start_server(slow_api, "127.0.0.1", 0)
    port = api.sockets[0].getsockname()[1]
    url, _ = await serve(healthy_routes(**{"/": (200, dict(HTML), home_page("5.0"))}))
    settings = WordPressSettings(version_check_url=f"http://127.0.0.1:{port}/v/", deadline=5.0)
    prober, health = make_prober(ca_file, settings)
    first = asyncio.create_task(prober.probe_site(site(url), NOW))
    await asyncio.sleep(0)
    for _ in range(200):  # until the first probe is asking the API
        if health._releases_lock is not None and health._releases_lock[1].locked():
            break
        await asyncio.sleep(0.01)
    others = await asyncio.wait_for(rounds(prober, replace(site(url), name="otra"), 2), 3.0)
    assert all(FC.WP_OUTDATED not in classes(r) for r in others)  # nothing known yet
    answered.set()
    await first
    api.close()
