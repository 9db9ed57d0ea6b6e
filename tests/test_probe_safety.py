"""Hostile sites against the prober: redirects into the agency's network, URLs that do not
parse, credentials, and a whole round of sites that send random garbage.

Every server is real and listens on loopback: 127.0.0.1, and 127.0.0.2 as "another
loopback address" (Linux answers the whole 127/8). Public hosts are stood in for by the
prober's injectable resolver and connector (`FakeNet`): a name resolves to a public-looking
address, and a connection to that address lands on a local server. The connector refuses
anything outside 127/8 and records every attempt, so a test can assert that an address
was never dialled and no probe ever leaves the machine.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import logging
import socket
import socketserver
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import trustme
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ronda.checks.classify import Observation, classify
from ronda.checks.incident_model import BLOCKING
from ronda.checks.probe import Prober, ProbeResult
from ronda.checks.probe_now import probe_now
from ronda.checks.targets import (
    ProbeError,
    address_category,
    allowed_from,
    mask_userinfo,
    parse_url,
)
from ronda.config import Config, KeywordCheck, ProbeSettings, Site, parse_config
from ronda.display import visible
from ronda.model import DEFAULT_CLASS_PRIORITY, HOME_DOWN, FailureClass, Priority, family_of
from ronda.store import Store

FC = FailureClass
FAST = ProbeSettings(deadline=1.0, slow_first_byte=0.8, slow_total=0.95, max_redirects=5)
PUBLIC_A = "93.184.216.34"  # public addresses no probe here ever dials: FakeNet maps them
PUBLIC_B = "93.184.216.35"
PUBLIC_C = "93.184.216.36"

Route = bytes | Callable[[bytes], bytes]


def response(
    status: int = 200,
    body: bytes = b"<html><body><p>Hola</p></body></html>",
    headers: dict[str, str] | None = None,
) -> bytes:
    head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", "Connection: close"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def redirect(location: str, status: int = 302) -> bytes:
    return response(status, b"", {"Location": location})


# --- real servers on loopback ----------------------------------------------------------------


class RawServer:
    """A threaded TCP server on `host` answering each request path with scripted bytes.

    Counts the connections it accepts and keeps each request head, so a test can tell that
    a probe never arrived. `tls` wraps every connection (handshake failures are the test's
    business: they are swallowed).
    """

    def __init__(self, host: str, routes: dict[str, Route], tls: ssl.SSLContext | None = None):
        self.routes = routes
        self.connections = 0
        self.heads: list[bytes] = []
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                outer.connections += 1
                sock: socket.socket = self.request
                sock.settimeout(2)
                try:
                    if tls is not None:
                        sock = tls.wrap_socket(sock, server_side=True)
                    head = b""
                    while b"\r\n\r\n" not in head and len(head) < 65536:
                        chunk = sock.recv(4096)
                        if not chunk:
                            return
                        head += chunk
                    outer.heads.append(head)
                    path = head.split(b" ", 2)[1].decode("latin-1")
                    route = outer.routes.get(path, outer.routes.get("*", response(404)))
                    sock.sendall(route(head) if callable(route) else route)
                except (OSError, ssl.SSLError, IndexError):
                    pass
                finally:
                    try:
                        sock.close()
                    except OSError:
                        pass

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.host = host
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,))
        self.thread.daemon = True
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def servers() -> Iterator[Callable[..., RawServer]]:
    started: list[RawServer] = []

    def start(host: str, routes: dict[str, Route], tls: ssl.SSLContext | None = None):
        server = RawServer(host, routes, tls)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


class FakeNet:
    """A resolver and a connector for the prober: names and public addresses, on loopback.

    `names` maps a host name to its addresses (or to a callable giving them, for a name
    that answers differently each time); `hosts` maps a public address to the loopback
    address that serves it. Addresses in 127/8 connect for real; any other address is
    refused and recorded, never dialled. `real_dns` lets names not in `names` go to
    `getaddrinfo` (only for names the system resolves locally, such as "2130706433").
    """

    def __init__(
        self,
        names: dict[str, Sequence[str] | Callable[[], Sequence[str]]] | None = None,
        hosts: dict[str, str] | None = None,
        real_dns: bool = False,
    ) -> None:
        self.names = names or {}
        self.hosts = hosts or {}
        self.real_dns = real_dns
        self.lookups: list[str] = []
        self.attempts: list[tuple[str, int]] = []

    async def resolve(self, host: str, port: int) -> list[tuple[int, tuple[Any, ...]]]:
        self.lookups.append(host)
        if host in self.names:
            found = self.names[host]
            ips = found() if callable(found) else found
            return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, (ip, port)) for ip in ips]
        if self.real_dns:
            loop = asyncio.get_running_loop()
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            return [(i[0], i[4]) for i in infos]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async def connect(self, family: int, addr: tuple[Any, ...]) -> socket.socket:
        ip, port = addr[0], addr[1]
        self.attempts.append((ip, port))
        real = self.hosts.get(ip, ip)
        if not real.startswith("127."):
            raise ConnectionRefusedError(f"FakeNet dials loopback only, not {ip}")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(sock, (real, port))
        except BaseException:
            sock.close()
            raise
        return sock

    def prober(self, **kw: Any) -> Prober:
        return Prober(use_uvloop=False, resolver=self.resolve, connector=self.connect, **kw)


def site(url: str, **kw: Any) -> Site:
    kw.setdefault("probe", FAST)
    kw.setdefault("wordpress", False)
    return Site(name="acme", url=url, **kw)


def test_another_loopback_address_is_usable_here(servers) -> None:
    other = servers("127.0.0.2", {"/": response(200)})
    with socket.create_connection(("127.0.0.2", other.port), timeout=2) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 200")


# --- the address policy, pure ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "category"),
    [
        ("93.184.216.34", "public"),
        ("2606:4700::1", "public"),
        ("127.0.0.1", "loopback"),
        ("127.0.0.2", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("100.64.0.1", "reserved"),  # shared address space (carrier NAT)
        ("192.0.2.7", "reserved"),  # documentation
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("::ffff:169.254.169.254", "link-local"),  # IPv4-mapped: what it carries
        ("64:ff9b::a00:1", "private"),  # NAT64 onto 10.0.0.1
        ("2002:7f00:1::1", "loopback"),  # 6to4 of 127.0.0.1
    ],
)
def test_address_categories(address: str, category: str) -> None:
    assert address_category(address) == category


def test_redirects_may_reach_public_addresses_and_the_sites_own_kind() -> None:
    assert allowed_from("127.0.0.1") == {"public", "loopback"}
    assert allowed_from("10.1.2.3") == {"public", "private"}
    assert allowed_from(PUBLIC_A) == {"public"}
    assert allowed_from(None) == {"public"}


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("http://bob:hunter2@h/x", "http://bob:***@h/x"),
        ("http://bob:p@ss@h/", "http://bob:***@h/"),  # the last "@" ends the userinfo
        ("https://token123@h/", "https://***@h/"),
        ("/go?to=http://bob:hunter2@h/", "/go?to=http://bob:***@h/"),
        ("http:\\\\bob:hunter2@h/", "http:\\\\bob:***@h/"),
        ("http://h/mail@example", "http://h/mail@example"),
        ("not a url", "not a url"),
        ("http://h/, http://bob:hunter2@h/", "http://h/, http://bob:***@h/"),
    ],
)
def test_mask_userinfo(url: str, masked: str) -> None:
    assert mask_userinfo(url) == masked


def test_the_blocking_set_is_defined_once() -> None:
    assert BLOCKING is HOME_DOWN
    assert FC.REDIRECT_REFUSED in HOME_DOWN and FC.REDIRECT_LOOP in HOME_DOWN
    assert FC.SLOW not in HOME_DOWN and FC.INTERMITTENT not in HOME_DOWN
    assert family_of(FC.REDIRECT_REFUSED) == "down"
    assert DEFAULT_CLASS_PRIORITY[FC.REDIRECT_REFUSED] is Priority.HIGH


def test_a_refused_redirect_is_medium_off_the_home_page() -> None:
    home = Observation(url="http://a/", error="redirect_refused", error_detail="to x")
    check = Observation(url="http://a/x", error="redirect_refused", kind="check")
    assert classify(home, FAST, dt.datetime.now(dt.UTC)).failure_class is FC.REDIRECT_REFUSED
    assert classify(home, FAST, dt.datetime.now(dt.UTC)).priority is None  # class default
    assert classify(check, FAST, dt.datetime.now(dt.UTC)).priority is Priority.MEDIUM


# --- redirects off the site --------------------------------------------------------------------


async def test_a_loopback_site_may_redirect_to_another_loopback_address(servers) -> None:
    landing = servers("127.0.0.2", {"/landing": response(200)})
    home = servers("127.0.0.1", {"/": redirect(f"http://127.0.0.2:{landing.port}/landing")})
    result = await Prober(use_uvloop=False).probe_site(site(home.url + "/"))
    assert result.ok, result.detail
    assert result.url == home.url + "/"
    assert result.final_url == f"http://127.0.0.2:{landing.port}/landing"
    assert result.peer == f"127.0.0.2:{landing.port}"
    data = result.to_json()
    assert data["final_url"] == result.final_url and data["peer"] == result.peer


async def test_a_public_site_cannot_redirect_to_loopback(servers) -> None:
    secret = servers("127.0.0.2", {"*": response(200, b"<html><body>root:x:0:0</body></html>")})
    shop = servers("127.0.0.1", {"/": redirect(f"http://127.0.0.2:{secret.port}/secret")})
    net = FakeNet({"shop.example": [PUBLIC_A]}, {PUBLIC_A: "127.0.0.1"})
    result = await net.prober().probe_site(site(f"http://shop.example:{shop.port}/"))
    assert result.failure_class is FC.REDIRECT_REFUSED
    assert f"http://127.0.0.2:{secret.port}/secret" in result.detail
    assert "127.0.0.2 is a loopback address" in result.detail
    assert secret.connections == 0
    assert net.attempts == [(PUBLIC_A, shop.port)]
    # The evidence is the redirect that pointed there, from the site's own address.
    assert result.status_code == 302
    assert result.headers["location"] == f"http://127.0.0.2:{secret.port}/secret"
    assert result.final_url == f"http://shop.example:{shop.port}/"
    assert result.peer == f"{PUBLIC_A}:{shop.port}"
    assert "root:x" not in json.dumps(result.to_json())


async def test_a_public_site_may_redirect_to_another_public_host(servers) -> None:
    cdn = servers("127.0.0.2", {"/es/": response(200)})
    shop = servers("127.0.0.1", {"/": redirect(f"http://cdn.example:{cdn.port}/es/", 301)})
    net = FakeNet(
        {"shop.example": [PUBLIC_A], "cdn.example": [PUBLIC_B]},
        {PUBLIC_A: "127.0.0.1", PUBLIC_B: "127.0.0.2"},
    )
    result = await net.prober().probe_site(site(f"http://shop.example:{shop.port}/"))
    assert result.ok, result.detail
    assert result.final_url == f"http://cdn.example:{cdn.port}/es/"
    assert result.peer == f"{PUBLIC_B}:{cdn.port}"
    assert cdn.connections == 1


async def test_a_public_name_that_resolves_to_a_private_address_is_never_dialled(
    servers,
) -> None:
    shop = servers("127.0.0.1", {"/": redirect("http://intranet.example/admin")})
    net = FakeNet(
        {"shop.example": [PUBLIC_A], "intranet.example": ["10.0.0.1"]}, {PUBLIC_A: "127.0.0.1"}
    )
    result = await net.prober().probe_site(site(f"http://shop.example:{shop.port}/"))
    assert result.failure_class is FC.REDIRECT_REFUSED
    assert "intranet.example resolves to 10.0.0.1, a private address" in result.detail
    assert "http://intranet.example/admin" in result.detail
    assert net.lookups == ["shop.example", "intranet.example"]
    assert net.attempts == [(PUBLIC_A, shop.port)]  # 10.0.0.1 never


async def test_a_name_with_public_and_private_addresses_connects_to_the_public_one(
    servers,
) -> None:
    cdn = servers("127.0.0.2", {"/": response(200)})
    shop = servers("127.0.0.1", {"/": redirect(f"http://mixed.example:{cdn.port}/")})
    net = FakeNet(
        {"shop.example": [PUBLIC_A], "mixed.example": ["10.0.0.1", "fe80::1", PUBLIC_C]},
        {PUBLIC_A: "127.0.0.1", PUBLIC_C: "127.0.0.2"},
    )
    result = await net.prober().probe_site(site(f"http://shop.example:{shop.port}/"))
    assert result.ok, result.detail
    assert net.attempts == [(PUBLIC_A, shop.port), (PUBLIC_C, cdn.port)]
    assert result.peer == f"{PUBLIC_C}:{cdn.port}"


@pytest.mark.parametrize(
    ("location", "said"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://10.0.0.1/", "10.0.0.1 is a private address"),
        ("http://[fd00::1]/", "fd00::1 is a private address"),
        ("http://[::ffff:169.254.169.254]/", "is a link-local address"),
        ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
        ("http://0.0.0.0/", "0.0.0.0 is an unspecified address"),
        ("http://100.64.0.9/", "100.64.0.9 is a reserved address"),
        ("http://127.0.0.1:0/", "port 0 is never dialled"),
    ],
)
async def test_a_loopback_site_cannot_redirect_elsewhere_and_nothing_is_dialled(
    servers, location: str, said: str
) -> None:
    home = servers("127.0.0.1", {"/": redirect(location)})
    net = FakeNet()
    begun = time.monotonic()
    result = await net.prober().probe_site(site(home.url + "/"))
    assert time.monotonic() - begun < 0.5  # refused at once, not after a connect timeout
    assert result.failure_class is FC.REDIRECT_REFUSED, result.detail
    assert said in result.detail
    assert net.attempts == [("127.0.0.1", home.port)]
    assert result.peer == f"127.0.0.1:{home.port}"


async def test_a_numeric_host_that_the_system_resolves_to_loopback_is_refused(servers) -> None:
    """2130706433 is 127.0.0.1 to getaddrinfo: the check is on the address, not the text."""
    secret = servers("127.0.0.1", {"*": response(200)})
    shop = servers("127.0.0.2", {"/": redirect(f"http://2130706433:{secret.port}/")})
    net = FakeNet({"shop.example": [PUBLIC_A]}, {PUBLIC_A: "127.0.0.2"}, real_dns=True)
    result = await net.prober().probe_site(site(f"http://shop.example:{shop.port}/"))
    assert result.failure_class is FC.REDIRECT_REFUSED
    assert "2130706433 resolves to 127.0.0.1, a loopback address" in result.detail
    assert secret.connections == 0


async def test_a_refused_redirect_on_a_check_path_is_medium(servers) -> None:
    home = servers(
        "127.0.0.1",
        {"/": response(200), "/carrito/": redirect("http://169.254.169.254/")},
    )
    result = await Prober(use_uvloop=False).probe_site(
        site(home.url + "/", checks=(KeywordCheck("/carrito/", "Carrito"),))
    )
    refused = [f for f in result.findings if f.failure_class is FC.REDIRECT_REFUSED]
    assert refused and refused[0].priority is Priority.MEDIUM
    assert result.status_code == 200  # the home page itself is fine


async def test_a_refused_redirect_on_the_home_page_skips_the_other_paths(servers) -> None:
    home = servers("127.0.0.1", {"/": redirect("http://10.9.9.9/"), "*": response(200)})
    result = await Prober(use_uvloop=False).probe_site(
        site(home.url + "/", checks=(KeywordCheck("/a/", "A"),), wordpress=True)
    )
    assert [f.failure_class for f in result.findings] == [FC.REDIRECT_REFUSED]
    assert [h.split(b" ")[1] for h in home.heads] == [b"/"]


async def test_the_certificate_is_not_fetched_again_from_an_address_that_changed(
    servers, tmp_path: Path
) -> None:
    """After a failed verification the certificate is read over a second connection; a
    name that now resolves to a private address (DNS rebinding) is refused there too."""
    stranger = trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    stranger.issue_cert("cdn.example").configure_cert(ctx)
    cdn = servers("127.0.0.2", {"*": response(200)}, tls=ctx)
    shop = servers("127.0.0.1", {"/": redirect(f"https://cdn.example:{cdn.port}/")})
    answers = iter([[PUBLIC_B], ["10.0.0.7"]])
    net = FakeNet(
        {"shop.example": [PUBLIC_A], "cdn.example": lambda: next(answers)},
        {PUBLIC_A: "127.0.0.1", PUBLIC_B: "127.0.0.2"},
    )
    result = await net.prober().probe_site(site(f"http://shop.example:{shop.port}/"))
    assert result.failure_class is FC.SSL_UNTRUSTED
    assert net.lookups == ["shop.example", "cdn.example", "cdn.example"]
    assert ("10.0.0.7", cdn.port) not in net.attempts
    assert result.cert_not_after is None  # the second look was refused, not made
    assert result.final_url == f"https://cdn.example:{cdn.port}/"


# --- URLs that do not parse --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "why"),
    [
        ("http://[::1/", "Invalid IPv6 URL"),
        ("http://xn--a.com/", "does not decode"),
        ("http://a\u00e9" + "x" * 70 + ".example/", "not a valid domain name"),
        ("http://127.0.0.1:99999/", "Port out of range"),
        ("http://127.0.0.1:http/", "invalid URL"),
        ("ftp://files.example/", "not an http(s) URL (scheme 'ftp')"),
        ("javascript:alert(1)", "not an http(s) URL"),
        ("https://.example/", "not a valid host name"),
        ("http://ex\x00ample/", "not a valid host name"),
        ("https:///nohost", "no host"),
    ],
)
async def test_an_unusable_location_is_a_classified_result(
    servers, location: str, why: str
) -> None:
    home = servers("127.0.0.1", {"/": response(302, b"", {"Location": location})})
    net = FakeNet()
    result = await net.prober().probe_site(site(home.url + "/"))
    assert result.failure_class is FC.CONTENT_MISSING, result.detail
    assert "unusable Location" in result.detail and why in result.detail
    assert result.status_code == 302
    assert net.lookups == [] and net.attempts == [("127.0.0.1", home.port)]


async def test_two_different_locations_are_not_followed(servers) -> None:
    raw = response(302, b"", {"Location": "/a", "location": "http://bob:hunter2@127.0.0.2/"})
    same = response(302, b"", {"Location": "/ok", "location": "/ok"})
    home = servers("127.0.0.1", {"/": raw, "/same": same, "/ok": response(200)})
    prober = Prober(use_uvloop=False)
    result = await prober.probe_site(site(home.url + "/"))
    assert result.failure_class is FC.CONTENT_MISSING
    assert "more than one Location" in result.detail
    assert result.headers["location"] == "/a, http://bob:***@127.0.0.2/"
    repeated = await prober.probe_site(site(home.url + "/same"))
    assert repeated.ok and repeated.final_url == home.url + "/ok"


async def test_a_backslash_location_is_read_as_browsers_read_it(servers) -> None:
    landing = servers("127.0.0.2", {"/x": response(200)})
    home = servers(
        "127.0.0.1", {"/": redirect(f"http:\\\\bob:hunter2@127.0.0.2:{landing.port}\\x")}
    )
    result = await Prober(use_uvloop=False).probe_site(site(home.url + "/"))
    assert result.ok, result.detail
    assert result.final_url == f"http://bob:***@127.0.0.2:{landing.port}/x"


async def test_a_utf8_location_is_read_as_browsers_read_it(servers) -> None:
    landing = servers("127.0.0.2", {"/se%C3%B1al/": response(200)})
    loc = f"http://127.0.0.2:{landing.port}/señal/"
    raw = response(302, b"").replace(b"\r\n\r\n", b"\r\nLocation: %s\r\n\r\n" % loc.encode())
    home = servers("127.0.0.1", {"/": raw})
    result = await Prober(use_uvloop=False).probe_site(site(home.url + "/"))
    assert result.ok, result.detail
    assert result.final_url == f"http://127.0.0.2:{landing.port}/se%C3%B1al/"


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://xn--a.example/", "dns"),
        ("http://exa mple.example/", "dns"),
        ("http://[::1/", "protocol"),
        ("http://a.example:99999/", "protocol"),
        ("gopher://a.example/", "protocol"),
    ],
)
def test_parse_url_raises_only_probe_errors(url: str, kind: str) -> None:
    with pytest.raises(ProbeError) as error:
        parse_url(url)
    assert error.value.kind == kind


async def test_a_site_on_port_0_is_refused_without_dialling() -> None:
    net = FakeNet()
    result = await net.prober().probe_site(site("http://127.0.0.1:0/"))
    assert result.failure_class is FC.REFUSED
    assert net.attempts == []


# --- credentials -------------------------------------------------------------------------------

TOKEN = base64.b64encode(b"ana:s3cr3t-pw").decode()


def demands_auth(head: bytes, ok: bytes = response(200)) -> bytes:
    if f"\r\nAuthorization: Basic {TOKEN}\r\n".encode() in head:
        return ok
    return response(401, b"<html><body>Login</body></html>", {"WWW-Authenticate": "Basic"})


async def test_basic_auth_is_sent_to_the_sites_own_origin(servers) -> None:
    home = servers(
        "127.0.0.1",
        {"/": lambda h: demands_auth(h, redirect("/inicio/")), "/inicio/": demands_auth},
    )
    prober = Prober(use_uvloop=False)
    without = await prober.probe_site(site(home.url + "/"))
    assert without.failure_class is FC.HTTP_403 and without.status_code == 401
    with_auth = await prober.probe_site(site(home.url + "/", basic_auth=("ana", "s3cr3t-pw")))
    assert with_auth.ok, with_auth.detail
    assert with_auth.status_code == 200
    assert with_auth.final_url == home.url + "/inicio/"
    authorized = [h for h in home.heads if b"Authorization:" in h]
    assert len(authorized) == 2  # the home page and its same-origin redirect


async def test_basic_auth_never_goes_to_another_origin(servers) -> None:
    other = servers("127.0.0.2", {"*": demands_auth})
    home = servers(
        "127.0.0.1",
        {
            "/": lambda h: demands_auth(h, redirect(f"http://127.0.0.2:{other.port}/")),
            "/named": lambda h: demands_auth(h, redirect(f"http://localhost:{home.port}/x")),
            "/x": demands_auth,
        },
    )
    prober = Prober(use_uvloop=False)
    result = await prober.probe_site(site(home.url + "/", basic_auth=("ana", "s3cr3t-pw")))
    assert result.failure_class is FC.HTTP_403 and result.status_code == 401
    assert other.heads and all(b"Authorization" not in h for h in other.heads)
    # Another name for the same server is another origin too.
    again = await prober.probe_url(home.url + "/named", FAST, basic_auth=("ana", "s3cr3t-pw"))
    assert again.status_code == 401 and again.final_url == f"http://localhost:{home.port}/x"
    assert [b"Authorization" in h for h in home.heads] == [True, True, False]


async def test_a_password_in_a_location_is_masked_and_never_sent(servers) -> None:
    home = servers(
        "127.0.0.1",
        {
            "/": redirect("http://bob:hunter2@127.0.0.1:%d/next"),
            "/next": response(200),
            "/loop": redirect("http://bob:hunter2@127.0.0.1:%d/loop"),
            "/ftp": redirect("ftp://bob:hunter2@files.example/"),
            "/meta": redirect("http://bob:hunter2@169.254.169.254/"),
        },
    )
    for path in home.routes:
        if isinstance(home.routes[path], bytes):
            home.routes[path] = home.routes[path].replace(b"%d", str(home.port).encode())
    prober = Prober(use_uvloop=False)
    followed = await prober.probe_site(site(home.url + "/"))
    assert followed.ok and followed.final_url == f"http://bob:***@127.0.0.1:{home.port}/next"
    results = [followed]
    for path, cls in (
        ("/loop", FC.REDIRECT_LOOP),
        ("/ftp", FC.CONTENT_MISSING),
        ("/meta", FC.REDIRECT_REFUSED),
    ):
        result = await prober.probe_site(site(home.url + path))
        assert result.failure_class is cls, result.detail
        assert "bob:***@" in result.detail
        results.append(result)
    assert results[2].headers["location"] == "ftp://bob:***@files.example/"
    for result in results:
        assert "hunter2" not in json.dumps(result.to_json())
        assert all("hunter2" not in f.detail for f in result.findings)
    assert all(b"Authorization" not in h for h in home.heads)


def test_a_round_with_credentials_leaves_no_password_anywhere(
    servers, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A site whose URL carries credentials, a round through the real desk: the password
    reaches the site's own origin as Basic auth and nothing else, in no byte of the
    database, no event and no log line."""
    other = servers("127.0.0.2", {"*": demands_auth})
    home = servers(
        "127.0.0.1",
        {"/": lambda h: demands_auth(h, redirect(f"http://127.0.0.2:{other.port}/bienvenida"))},
    )
    config = parse_config(
        f"""
[[sites]]
name = "intranet-ana"
url = "http://ana:s3cr3t-pw@127.0.0.1:{home.port}/"
wordpress = false
interval = 1
deadline = 2
"""
    )
    assert config.sites[0].url == home.url + "/"
    store = Store(tmp_path / "ronda.db")
    try:
        with caplog.at_level(logging.DEBUG):
            run = probe_now(config, store)
        tickets = store.query("SELECT subject, evidence FROM tickets")
        events = store.query("SELECT * FROM ticket_events")
    finally:
        store.close()
    [probed] = run.sites
    assert probed.result.failure_class is FC.HTTP_403  # the other origin got no credentials
    assert tickets and events  # the round opened a ticket and wrote its history
    assert f"Basic {TOKEN}".encode() in home.heads[0]
    assert other.heads and all(b"Authorization" not in h for h in other.heads)
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("ronda.db*"))
    assert b"s3cr3t" not in stored and TOKEN.encode() not in stored
    shown = [json.dumps(probed.result.to_json()), repr(run.events), caplog.text]
    shown += [json.dumps(t) for t in tickets] + [json.dumps(e, default=str) for e in events]
    assert not any("s3cr3t" in text or TOKEN in text for text in shown)


# --- a whole round of hostile sites ------------------------------------------------------------


class RoundServer:
    """One server for a whole fuzzed round: each site's path answers with bytes set per
    example; 127.0.0.2 answers 200 to anything (a redirect that may be followed lands)."""

    def __init__(self) -> None:
        self.answers: dict[str, bytes] = {}
        self.main = RawServer("127.0.0.1", {})
        self.main.routes = _Answers(self.answers)  # type: ignore[assignment]
        self.other = RawServer("127.0.0.2", {"*": response(200)})

    def close(self) -> None:
        self.main.close()
        self.other.close()


class _Answers(dict):
    def __init__(self, answers: dict[str, bytes]) -> None:
        super().__init__()
        self.answers = answers

    def get(self, path: str, default: Any = None) -> Any:
        return self.answers.get(path.split("?", 1)[0], response(404))


@pytest.fixture(scope="module")
def round_server() -> Iterator[RoundServer]:
    server = RoundServer()
    yield server
    server.close()


HOSTS = [
    "127.0.0.1",
    "127.0.0.2",
    "169.254.169.254",
    "10.0.0.1",
    "[::1]",
    "[::1",
    "[fe80::1]",
    "xn--a.example",
    "xn--zz-.example",
    "ti\u00e9nda.example",
    "a" * 70 + ".example",
    "ex\x00ample",
    "\u202eevil.example",
    "2130706433",
    "localhost",
    ".example",
    "",
]
PORTS = ["", ":0", ":99999", ":-1", ":abc", ":", ":{main}", ":{other}"]
_TEXT = st.text(
    st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=24
) | st.sampled_from(["\x1b]0;pwned\x07", "\x9b2J", "\u202e", "\x00", "%00", "../", "@"])

locations = st.one_of(
    st.builds(
        "{}{}{}{}/{}".format,
        st.sampled_from(["http://", "https://", "//", "ftp://", "http:\\\\", "HTTP://"]),
        st.sampled_from(["", "bob:hunter2@", "tok@", "a:b@c@"]),  # userinfo after "//" only
        st.sampled_from(HOSTS),
        st.sampled_from(PORTS),
        _TEXT,
    ),
    st.builds("{}{}/{}".format, st.sampled_from(HOSTS), st.sampled_from(PORTS), _TEXT),
    st.sampled_from(["/", "/a", "?q", "#f", "javascript:x", "mailto:a@b", "http:", "\\\\x"]),
    _TEXT,
)
status_lines = st.one_of(
    st.builds(
        "HTTP/1.1 {} {}".format,
        st.sampled_from([200, 204, 301, 302, 303, 307, 308, 304, 404, 500, 999, 0]),
        _TEXT,
    ),
    st.sampled_from(["HTTP/1.0 302", "HTTP/2 200", "ICY 200 OK", "", "HTTP/1.1 30x Found"]),
    _TEXT,
)
header_lines = st.lists(
    st.one_of(
        st.builds("Location: {}".format, locations),
        st.builds(
            "{}: {}".format,
            st.sampled_from(
                [
                    "Content-Length",
                    "Transfer-Encoding",
                    "Content-Encoding",
                    "Content-Type",
                    "Server",
                    "Link",
                    "X-Odd",
                ]
            ),
            st.one_of(_TEXT, st.sampled_from(["0", "5", "chunked", "gzip", "text/html"])),
        ),
        _TEXT,
    ),
    max_size=6,
)


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    answers=st.lists(
        st.tuples(status_lines, header_lines, st.binary(max_size=64)), min_size=4, max_size=4
    )
)
def test_a_round_of_hostile_sites_gives_one_classified_result_per_site(
    round_server: RoundServer, answers: list[tuple[str, list[str], bytes]]
) -> None:
    main, other = round_server.main.port, round_server.other.port
    for i, (status, headers, body) in enumerate(answers):
        lines = [status] + [
            h.replace("{main}", str(main)).replace("{other}", str(other)) for h in headers
        ]
        raw = b"\r\n".join(_encode(line) for line in lines) + b"\r\n\r\n" + body
        round_server.answers[f"/s{i}/"] = raw
    sites = tuple(
        Site(
            name=f"s{i}",
            url=f"http://127.0.0.1:{main}/s{i}/",
            wordpress=None if i % 2 else False,
            probe=FAST,
        )
        for i in range(len(answers))
    )
    net = FakeNet({"localhost": ["127.0.0.1"]})
    captured = _Capture()
    root = logging.getLogger()
    level = root.level
    root.addHandler(captured)
    root.setLevel(logging.DEBUG)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(Path(tmp) / "ronda.db")
            try:
                run = probe_now(Config(sites=sites), store, prober=net.prober())
            finally:
                store.close()
    finally:
        root.removeHandler(captured)
        root.setLevel(level)
    assert [p.site for p in run.sites] == [s.name for s in sites]
    for probed in run.sites:
        result: ProbeResult = probed.result
        assert isinstance(result.failure_class, FailureClass)
        assert result.ok or result.detail.startswith(f"{result.site}: ")
        text = json.dumps(result.to_json())
        assert "hunter2" not in text
    # Sites on loopback may redirect within it (::1 included, which FakeNet never dials).
    assert all(address_category(ip) == "loopback" for ip, _port in net.attempts)
    assert not [r for r in captured.records if r.levelno >= logging.ERROR], captured.lines()
    raw = [line for line in captured.lines() if visible(line) != line]
    assert not raw, raw  # whatever a site sent, no log line carries it raw


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self) -> list[str]:
        return [r.getMessage() for r in self.records]
