"""The demo fleet's sites before they are served: what each one is and how it misbehaves.

`BEHAVIOURS` names what a site can be made to do and the failure class a probe should
report for it; `SiteSpec` is a site to serve, `DemoSite` a served one (with its URL),
`DemoCustomer` whom a site belongs to. `DEFAULT_SPECS` is the demo's fleet, which covers
every failure class; `uniform_specs()` makes a healthy fleet of any size. Pure values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ronda.demo import pages, wordpress_pages
from ronda.demo.pages import Profile
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
    "redirect_refused": FailureClass.REDIRECT_REFUSED,  # to the cloud metadata address
    "ssl_expired": FailureClass.SSL_EXPIRED,
    "ssl_untrusted": FailureClass.SSL_UNTRUSTED,
    "ssl_hostname": FailureClass.SSL_HOSTNAME,
    "wp_maintenance": FailureClass.WP_MAINTENANCE,
    "slow": FailureClass.SLOW,
    "content_missing": FailureClass.CONTENT_MISSING,
    "ssl_expiring": FailureClass.SSL_EXPIRING,
    "rss_invalid": FailureClass.RSS_INVALID,
    "intermittent": FailureClass.INTERMITTENT,
    **wordpress_pages.BEHAVIOURS,  # WordPress unwell in ways seen from outside
}

# Certificate a behaviour needs; every other behaviour of an HTTPS site uses "valid".
CERT_OF_BEHAVIOUR = {
    "ssl_expired": "expired",
    "ssl_untrusted": "self_signed",
    "ssl_hostname": "wrong_host",
    "ssl_expiring": "expiring",
}
EXPIRING_DAYS = 5
WRONG_HOST = "otro-sitio.example"


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
    _spec("ferreteria-tornillo", "Ferretería El Tornillo", "Herramientas y materiales",
          "Ferretería El Tornillo", "web-02", impact=M, kind="shop",
          behaviour="redirect_refused",
          note="a hacked plugin redirects to 169.254.169.254 (cloud metadata): not followed"),
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
    *(SiteSpec(**kw) for kw in wordpress_pages.SITES),
)  # fmt: skip


def customers_of(specs: Sequence[SiteSpec]) -> tuple[DemoCustomer, ...]:
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


def uniform_specs(n: int, https_share: float = 0.5, sites_per_server: int = 50) -> list[SiteSpec]:
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
    return specs
