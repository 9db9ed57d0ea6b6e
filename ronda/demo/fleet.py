"""The demo fleet: simulated customer WordPress sites served on 127.0.0.1.

Each site listens on its own loopback port (so redirects to "/", /wp-login.php and /feed/
live at the root, as on a real site). All listeners share one asyncio loop running in one
background thread, with plain `asyncio.Protocol` connections and no task per request, so a
benchmark fleet of a thousand sites costs a thousand idle sockets and little else.

HTTPS sites upgrade each accepted connection with `loop.start_tls()`, choosing the
certificate when the connection arrives: switching a site to an expired certificate is one
assignment, and every accepted socket is owned by a tracked connection from its first
moment, so `stop()` can close them all (the "accepts and never answers" site included).

A site's behaviour (see `BEHAVIOURS`) can be switched at runtime from any thread with
`set_behaviour()`; "refused" closes the listener and keeps the port bound but not listening,
so the kernel refuses connections and nobody else takes the port meanwhile.
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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from pathlib import Path
from typing import Any, cast

import trustme

from ronda.demo import pages
from ronda.demo.pages import Page, Profile
from ronda.demo.routing import respond
from ronda.model import FailureClass, Impact

# Behaviour name -> the failure class a probe should report for it.
BEHAVIOURS: dict[str, FailureClass] = {
    "ok": FailureClass.OK,
    "refused": FailureClass.REFUSED,
    "dns": FailureClass.DNS,  # a config-only site: its name is under .invalid (RFC 6761)
    "timeout": FailureClass.TIMEOUT,
    "http_500": FailureClass.HTTP_500,
    "http_502": FailureClass.HTTP_502,
    "http_503": FailureClass.HTTP_503,
    "wp_db_connection": FailureClass.WP_DB_CONNECTION,
    "php_fatal": FailureClass.PHP_FATAL,
    "php_fatal_timeout": FailureClass.PHP_FATAL_TIMEOUT,
    "php_syntax_error": FailureClass.PHP_SYNTAX_ERROR,
    "white_screen": FailureClass.WHITE_SCREEN,
    "http_403": FailureClass.HTTP_403,
    "http_404": FailureClass.HTTP_404,
    "redirect_loop": FailureClass.REDIRECT_LOOP,  # on the home page
    "login_loop": FailureClass.REDIRECT_LOOP,  # only /wp-login.php <-> /wp-admin/
    "ssl_expired": FailureClass.SSL_EXPIRED,
    "ssl_untrusted": FailureClass.SSL_UNTRUSTED,
    "ssl_hostname": FailureClass.SSL_HOSTNAME,
    "wp_maintenance": FailureClass.WP_MAINTENANCE,
    "slow": FailureClass.SLOW,
    "content_missing": FailureClass.CONTENT_MISSING,
    "ssl_expiring": FailureClass.SSL_EXPIRING,
    "rss_invalid": FailureClass.RSS_INVALID,
    "intermittent": FailureClass.INTERMITTENT,
}

# Certificate a behaviour needs; every other behaviour of an HTTPS site uses "valid".
CERT_OF_BEHAVIOUR = {
    "ssl_expired": "expired",
    "ssl_untrusted": "self_signed",
    "ssl_hostname": "wrong_host",
    "ssl_expiring": "expiring",
}
CERT_KINDS = ("valid", "expired", "expiring", "wrong_host", "self_signed")
EXPIRING_DAYS = 5
WRONG_HOST = "otro-sitio.example"
DEFAULT_SLOW_DELAY = 2.5  # seconds before the first byte; above the default 2 s threshold
DEFAULT_FLAP_PERIOD = 30.0  # seconds up, then as many down, for "intermittent"
_MAX_HEAD = 16 * 1024
_SERVER_HEADER = {"nginx": "nginx", "apache": "Apache"}


@dataclass(frozen=True, slots=True)
class SiteSpec:
    """A site to serve, before it has a port. `behaviour` is the one it starts with."""

    name: str
    title: str
    tagline: str
    customer: str
    server: str
    impact: Impact = Impact.MEDIUM
    behaviour: str = "ok"
    https: bool = True
    lang: str = "es"
    kind: str = "business"  # shop | business | blog | static (not WordPress)
    software: str = "nginx"  # nginx | apache
    checks: tuple[tuple[str, str], ...] = ()
    note: str = ""

    def profile(self) -> Profile:
        return Profile(
            slug=self.name,
            title=self.title,
            tagline=self.tagline,
            lang=self.lang,
            kind=self.kind,
            software=self.software,
            checks=self.checks,
        )


@dataclass(frozen=True, slots=True)
class DemoCustomer:
    name: str
    emails: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DemoSite:
    """A served site and the failure class it is meant to show at start."""

    name: str
    url: str
    server: str
    impact: Impact
    customer: str
    expected_class: FailureClass
    checks: tuple[tuple[str, str], ...] = ()
    wordpress: bool = True
    behaviour: str = "ok"  # the behaviour it started with
    note: str = ""

    @property
    def https(self) -> bool:
        return self.url.startswith("https:")

    @property
    def port(self) -> int:
        """The loopback port it is served on (0 for the site whose name does not resolve)."""
        tail = self.url.rsplit(":", 1)[1].rstrip("/")
        return int(tail) if tail.isdigit() else 0


# --------------------------------------------------------------------------- default fleet


def _spec(name: str, title: str, tagline: str, customer: str, server: str, **kw: Any) -> SiteSpec:
    kw.setdefault("software", "apache" if server in ("web-02", "web-04") else "nginx")
    return SiteSpec(name, title, tagline, customer, server, **kw)


_ES_CART = (pages.cart_path("es"), pages.checkout_keyword("es"))
_EN_CART = (pages.cart_path("en"), pages.checkout_keyword("en"))
H, M, L = Impact.HIGH, Impact.MEDIUM, Impact.LOW  # short names keep the table below readable

DEFAULT_SPECS: tuple[SiteSpec, ...] = (
    # web-01 (nginx)
    _spec("tienda-ana", "Tienda Ana", "Artesanías colombianas hechas a mano", "Ana Pérez",
          "web-01", impact=H, kind="shop", checks=(_ES_CART,), note="healthy shop (HTTPS)"),
    _spec("clinica-sonrisas", "Clínica Sonrisas", "Odontología para toda la familia",
          "Clínica Sonrisas S.A.S.", "web-01", impact=H, behaviour="http_502",
          note="PHP-FPM pool down: nginx answers 502 Bad Gateway"),
    _spec("blog-cafe", "Blog del Café", "Historias de origen, tueste y taza", "Café de Altura",
          "web-01", impact=L, kind="blog", https=False, behaviour="php_syntax_error",
          note="a bad edit of the child theme's functions.php: PHP parse error, HTTP 200"),
    _spec("ferreteria-lopez", "Ferretería López", "Todo para tu obra desde 1987",
          "Ferretería López", "web-01", impact=H, kind="shop", checks=(_ES_CART,),
          behaviour="content_missing",
          note="WooCommerce deactivated by an update: the cart shows its raw shortcode"),
    _spec("panaderia-el-trigal", "Panadería El Trigal", "Pan artesanal todos los días",
          "Panadería El Trigal", "web-01", impact=M, behaviour="slow",
          note="uncached home page: first byte after the slow delay"),
    _spec("reservas-hotel-mar", "Hotel Mar Azul", "Reservas frente al mar en Santa Marta",
          "Hotel Mar Azul", "web-01", impact=H, behaviour="intermittent",
          note="flaps between up and HTTP 500 every flap period"),
    _spec("estudio-yoga-luz", "Estudio Yoga Luz", "Clases de yoga y meditación",
          "Estudio Yoga Luz", "web-01", impact=L, behaviour="ssl_expiring",
          note=f"certificate expires in {EXPIRING_DAYS} days (auto-renewal failing)"),
    _spec("eventos-luna", "Eventos Luna", "Bodas y eventos en la sabana", "Eventos Luna",
          "web-01", impact=M, behaviour="dns",
          note="the domain lapsed: its name no longer resolves (served nowhere)"),
    _spec("landing-evento", "Congreso Andino del Café 2025", "Bogotá, 12 al 14 de marzo",
          "Café de Altura", "web-01", impact=L, kind="static", https=False,
          note="healthy static landing page, not WordPress (HTTP)"),
    # web-02 (Apache)
    _spec("inmobiliaria-sol", "Inmobiliaria Sol", "Arriendo y venta de inmuebles",
          "Inmobiliaria Sol", "web-02", impact=H, behaviour="refused",
          note="its virtual host's backend is stopped: connection refused"),
    _spec("abogados-mendez", "Méndez & Asociados", "Abogados en derecho laboral y familia",
          "Méndez & Asociados Abogados", "web-01", impact=M, behaviour="timeout",
          note="accepts the connection and never answers"),
    _spec("colegio-san-jose", "Colegio San José", "Formando líderes desde 1962",
          "Colegio San José", "web-02", impact=M, https=False, behaviour="http_500",
          note="broken .htaccess: Apache 500 Internal Server Error (HTTP)"),
    _spec("revista-montana", "Revista Montaña", "Crónicas de alta montaña", "Revista Montaña",
          "web-02", impact=M, kind="blog", behaviour="wp_db_connection",
          note="MySQL down: WordPress's 'Error establishing a database connection'"),
    _spec("happy-paws-vet", "Happy Paws Veterinary", "Caring for your pets since 2009",
          "Happy Paws Veterinary LLC", "web-02", impact=H, lang="en", behaviour="php_fatal",
          note="a plugin fatal error: WordPress's critical error page (HTTP 500)"),
    _spec("fotografia-lucia", "Lucía Gómez Fotografía", "Bodas, retratos y eventos",
          "Lucía Gómez", "web-02", impact=L, kind="blog", behaviour="white_screen",
          note="white screen: HTTP 200 with a blank body"),
    _spec("academia-idiomas", "Academia de Idiomas Babel", "Inglés, francés y alemán",
          "Academia Babel", "web-03", impact=M,
          checks=((pages.services_path("es"), pages.booking_keyword("es")),),
          note="healthy Elementor site; the timeline makes it slow, then down"),
    # web-03 (nginx)
    _spec("taller-motos-ruiz", "Taller Motos Ruiz", "Mecánica y repuestos", "Jorge Ruiz",
          "web-03", impact=L, behaviour="http_403",
          note="wrong file permissions after a migration: 403 Forbidden"),
    _spec("floristeria-rosa", "Floristería Rosa", "Flores a domicilio en Medellín",
          "Rosa Jiménez", "web-03", impact=L, kind="shop", behaviour="http_404",
          note="document root emptied by a failed deploy: 404 on the home page"),
    _spec("agencia-viajes-sur", "Viajes del Sur", "Paquetes a la Patagonia", "Viajes del Sur",
          "web-03", impact=H, behaviour="redirect_loop",
          note="home and siteurl disagree: / and /index.php redirect to each other"),
    _spec("consultora-norte", "Consultora Norte", "Consultoría en gestión y calidad",
          "Consultora Norte", "web-03", impact=M, behaviour="login_loop",
          checks=(("/wp-login.php", "user_login"),),
          note="login redirect loop: /wp-login.php <-> /wp-admin/ (home is fine)"),
    _spec("restaurante-la-brasa", "Restaurante La Brasa", "Parrilla argentina en Cali",
          "Restaurante La Brasa", "web-03", impact=H, behaviour="ssl_expired",
          note="certificate expired 30 days ago"),
    _spec("cooperativa-cafe", "Cooperativa Cafetera del Huila", "Café especial de origen",
          "Cooperativa Cafetera del Huila", "web-03", impact=M, behaviour="ssl_untrusted",
          note="the server's default self-signed certificate"),
    _spec("gimnasio-fuerza", "Gimnasio Fuerza", "Entrena con nosotros", "Gimnasio Fuerza",
          "web-03", impact=M, behaviour="ssl_hostname",
          note=f"certificate issued for {WRONG_HOST}, not for this address"),
    _spec("ong-manos-unidas", "Fundación Manos Unidas", "Educación para la niñez rural",
          "Fundación Manos Unidas", "web-03", impact=L, kind="blog", behaviour="wp_maintenance",
          note="an update left .maintenance behind: WordPress's maintenance page, 503"),
    _spec("podcast-tertulia", "La Tertulia Podcast", "Conversaciones sin prisa",
          "La Tertulia Podcast", "web-03", impact=L, kind="blog", behaviour="rss_invalid",
          note="a PHP warning printed before the XML declaration breaks /feed/"),
    _spec("constructora-andes", "Constructora Andes", "Vivienda y obra civil",
          "Constructora Andes", "web-03", impact=H, behaviour="php_fatal_timeout",
          note="a slow query hits max_execution_time: PHP fatal error, HTTP 200"),
    _spec("law-office-garcia", "García Law Office", "Immigration and family law",
          "García Law Office", "web-03", impact=M, lang="en", behaviour="http_503",
          note="overloaded: 503; the timeline lets it recover on its own"),
    # web-04 (Apache): four healthy sites the timeline takes down together.
    _spec("dental-care-miami", "Dental Care Miami", "Your smile, our passion",
          "Dental Care Miami LLC", "web-04", impact=H, lang="en",
          checks=((pages.services_path("en"), pages.booking_keyword("en")),),
          note="healthy English Elementor site"),
    _spec("bakery-sweet-home", "Sweet Home Bakery", "Baked fresh every morning",
          "Sweet Home Bakery", "web-04", impact=M, lang="en", kind="shop", https=False,
          checks=(_EN_CART,), note="healthy English shop (HTTP)"),
    _spec("mercado-organico", "Mercado Orgánico", "Del campo a tu mesa", "Mercado Orgánico",
          "web-04", impact=H, kind="shop", checks=(_ES_CART,), note="healthy shop"),
    _spec("hostal-candelaria", "Hostal La Candelaria", "Hospedaje en el centro histórico",
          "Hostal La Candelaria", "web-04", impact=M, kind="blog", note="healthy blog"),
)  # fmt: skip


def _customers_of(specs: Sequence[SiteSpec]) -> tuple[DemoCustomer, ...]:
    """One customer per distinct name, reachable at the domain of their first site."""
    out: dict[str, DemoCustomer] = {}
    for spec in specs:
        if spec.customer in out:
            continue
        domain = f"{spec.name}.example"
        user = "contacto" if spec.lang == "es" else "office"
        if spec.customer == "Ana Pérez":
            user = "ana"
        out[spec.customer] = DemoCustomer(spec.customer, (f"{user}@{domain}",), (domain,))
    return tuple(out.values())


# --------------------------------------------------------------------------- certificates


class _Certs:
    """The fleet's CA and one server SSL context per certificate kind."""

    def __init__(self, workdir: Path) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        self.ca = trustme.CA(organization_name="Ronda Demo CA")
        self.ca_pem_path = workdir / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_pem_path))
        hosts = ("127.0.0.1", "localhost")
        leaves = {
            # A year, as a real certificate has (trustme's default runs to the year 3000).
            "valid": self.ca.issue_cert(
                *hosts, not_before=now - timedelta(days=30), not_after=now + timedelta(days=335)
            ),
            "expired": self.ca.issue_cert(
                *hosts, not_before=now - timedelta(days=395), not_after=now - timedelta(days=30)
            ),
            "expiring": self.ca.issue_cert(
                *hosts,
                not_before=now - timedelta(days=85),
                not_after=now + timedelta(days=EXPIRING_DAYS),
            ),
            "wrong_host": self.ca.issue_cert(
                WRONG_HOST,
                f"www.{WRONG_HOST}",
                not_before=now - timedelta(days=30),
                not_after=now + timedelta(days=335),
            ),
        }
        self.contexts: dict[str, ssl.SSLContext] = {}
        for kind, leaf in leaves.items():
            ctx = _server_context()
            leaf.configure_cert(ctx)
            self.contexts[kind] = ctx
        cert_path, key_path = _self_signed(workdir, hosts, now)
        ctx = _server_context()
        ctx.load_cert_chain(str(cert_path), str(key_path))
        self.contexts["self_signed"] = ctx


def _server_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def _self_signed(workdir: Path, hosts: Sequence[str], now: datetime) -> tuple[Path, Path]:
    """A leaf that signs itself, like a control panel's default certificate."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    alt = [
        x509.IPAddress(ipaddress.ip_address(h)) if h[0].isdigit() else x509.DNSName(h)
        for h in hosts
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = workdir / "self-signed.pem", workdir / "self-signed.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


# --------------------------------------------------------------------------- serving


class _SiteState:
    """A site's mutable runtime state; touched only on the fleet's loop (reads elsewhere
    are single attribute loads)."""

    def __init__(self, spec: SiteSpec, port: int) -> None:
        self.spec = spec
        self.profile = spec.profile()
        self.port = port
        scheme = "https" if spec.https else "http"
        host = f"{spec.name}.invalid" if spec.behaviour == "dns" else f"127.0.0.1:{port}"
        self.base = f"{scheme}://{host}/"
        self.behaviour = spec.behaviour
        self.cert = CERT_OF_BEHAVIOUR.get(spec.behaviour, "valid")
        self.placeholder: socket.socket | None = None  # bound, not listening: refuses
        self.server: asyncio.AbstractServer | None = None
        self.conns: set[_Conn] = set()
        self.hits = 0
        self.lock = asyncio.Lock()
        self.cache: dict[tuple[str, str], Page] = {}
        self.server_header = _SERVER_HEADER.get(spec.software, "nginx")

    def page(self, behaviour: str, path: str) -> Page:
        key = (behaviour, path)
        page = self.cache.get(key)
        if page is None:
            page = respond(self.profile, behaviour, path, self.base)
            if len(self.cache) < 64:  # unknown paths must not grow it without bound
                self.cache[key] = page
        return page


def _bind(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if port:
            # Rebinding a port whose old connections linger in TIME_WAIT.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        # Set after an ephemeral bind so the kernel first picks a port nobody holds.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class _Conn(asyncio.Protocol):
    """One accepted connection: read one request head, answer it (or not), close."""

    __slots__ = ("fleet", "site", "raw", "transport", "buf", "answered", "timer", "tls", "unsent")

    def __init__(self, fleet: Fleet, site: _SiteState) -> None:
        self.fleet = fleet
        self.site = site
        self.raw: asyncio.Transport | None = None
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.answered = False
        self.timer: asyncio.TimerHandle | None = None
        self.tls: asyncio.Task | None = None
        self.unsent: bytes | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.raw = cast(asyncio.Transport, transport)
        self.site.conns.add(self)
        if self.site.spec.https:
            # Not one byte may reach the plain protocol: the ClientHello belongs to TLS.
            self.raw.pause_reading()
            self.tls = self.fleet._loop.create_task(self._start_tls(self.raw))
        else:
            self.transport = self.raw

    async def _start_tls(self, raw: asyncio.Transport) -> None:
        ctx = self.fleet._certs.contexts[self.site.cert]
        try:
            self.transport = await self.fleet._loop.start_tls(
                raw, self, ctx, server_side=True, ssl_handshake_timeout=15.0
            )
        except (OSError, ssl.SSLError, TimeoutError, EOFError):
            # The client refused our certificate (a verifying probe does) or went away.
            raw.abort()
            self.forget()
            return
        if self.unsent is not None:
            # The request can arrive in the loop turn that finishes the handshake, before
            # start_tls() hands us the transport: its answer waited here.
            self.send(self.unsent)

    def data_received(self, data: bytes) -> None:
        if self.answered:
            return
        self.buf += data
        if b"\r\n\r\n" not in self.buf:
            if len(self.buf) > _MAX_HEAD:
                self.answered = True
                self.send(_encode(Page(400, b"Bad Request\n", "text/plain"), "GET", "nginx"))
            return
        self.answered = True
        self.fleet._answer(self)

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.forget()

    def send(self, data: bytes) -> None:
        self.timer = None
        transport = self.transport
        if transport is None:
            self.unsent = data
            return
        self.unsent = None
        if not transport.is_closing():
            transport.write(data)
            transport.close()

    def forget(self) -> None:
        self.site.conns.discard(self)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def abort(self) -> None:
        if self.tls is not None and not self.tls.done():
            self.tls.cancel()
        if self.raw is not None:
            self.raw.abort()
        self.forget()


def _encode(page: Page, method: str, server: str) -> bytes:
    head = [
        f"HTTP/1.1 {page.status} {pages.REASONS.get(page.status, 'Unknown')}",
        f"Server: {server}",
        f"Date: {formatdate(usegmt=True)}",
        f"Content-Type: {page.content_type}",
        f"Content-Length: {len(page.body)}",
        *(f"{k}: {v}" for k, v in page.headers),
        "Connection: close",
        "",
        "",
    ]
    data = "\r\n".join(head).encode("latin-1", "replace")
    return data if method == "HEAD" else data + page.body


def _request_target(head: bytes) -> tuple[str, str] | None:
    """(method, path) of a request head, or None if it is not HTTP/1.x."""
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return None
    method, target = parts[0], parts[1]
    if target.startswith(("http://", "https://")):  # absolute form
        target = "/" + target.split("/", 3)[3] if target.count("/") >= 3 else "/"
    return method, target.split("?", 1)[0].split("#", 1)[0] or "/"


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
        self._states: dict[str, _SiteState] = {}
        self._sites: list[DemoSite] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]
        self._stopping: asyncio.Event | None = None
        self._startup_error: BaseException | None = None
        self._certs: _Certs = None  # type: ignore[assignment]
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
        kinds = ("business", "blog", "shop")
        specs = []
        for i in range(n):
            https = int((i + 1) * https_share) > int(i * https_share)
            kind = kinds[i % 3]
            specs.append(
                SiteSpec(
                    name=f"site-{i + 1:04d}",
                    title=f"Sitio {i + 1}",
                    tagline="Un sitio de prueba",
                    customer=f"Cliente {i // 2 + 1:04d}",
                    server=f"web-{i // sites_per_server + 1:02d}",
                    impact=(Impact.LOW, Impact.MEDIUM, Impact.HIGH)[i % 3],
                    https=https,
                    kind=kind,
                    checks=(_ES_CART,) if kind == "shop" else (),
                )
            )
        return cls(specs, **kwargs)

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
            self._certs = _Certs(self._workdir)
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
                    self._states[spec.name] = _SiteState(spec, 0)
                    continue
                sock = _bind()
                state = _SiteState(spec, sock.getsockname()[1])
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

    async def _serve(self, state: _SiteState, sock: socket.socket) -> None:
        state.server = await self._loop.create_server(
            lambda: _Conn(self, state), sock=sock, backlog=256
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

    def _describe(self, state: _SiteState) -> DemoSite:
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

    def _answer(self, conn: _Conn) -> None:
        state = conn.site
        state.hits += 1
        behaviour = state.behaviour
        if behaviour == "timeout":
            return  # hold the connection until the client gives up or the fleet stops
        if behaviour == "intermittent":
            phase = int((self._clock() - self._t0) // self.flap_period)
            behaviour = "http_500" if phase % 2 else "ok"
        target = _request_target(conn.buf)
        if target is None:
            conn.send(_encode(Page(400, b"Bad Request\n", "text/plain"), "GET", "nginx"))
            return
        method, path = target
        data = _encode(state.page(behaviour, path), method, state.server_header)
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
        return self._customers if self._customers is not None else _customers_of(self._specs)

    @property
    def servers(self) -> list[str]:
        return sorted({s.server for s in self._specs})

    @property
    def ca_pem_path(self) -> Path:
        """The demo CA in PEM: name it in `[tls] extra_ca` (or trust it in a client)."""
        self._require_started()
        return self._certs.ca_pem_path

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

    def _state(self, name: str) -> _SiteState:
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
                state.placeholder = _bind(state.port)
            elif was_refused and behaviour != "refused":
                if state.placeholder is not None:
                    state.placeholder.close()
                    state.placeholder = None
                await self._serve(state, _bind(state.port))

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
