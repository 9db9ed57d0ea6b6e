"""The demo's WordPress-health pages: what a healthy site answers besides its pages (the
REST root, its uploaded images), and the sites whose WordPress is unwell in one of the ways
the desk sees from outside. Pure, no I/O.

`respond()` is asked first by `ronda.demo.routing.respond`; None means "the usual page".
`BEHAVIOURS` and `SITES` (the arguments of their `SiteSpec`s) join the fleet's
(`ronda.demo.specs`). The fleet answers the
Web Risk lookups itself (`ronda.demo.lookup`), listing the `flagged_unsafe` site.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ronda.demo.pages import WP_VERSION, Page, Profile, redirect, wp_not_found
from ronda.model import FailureClass, Impact

FC = FailureClass

# The release the demo's desk is told is current (`[wordpress] latest`): its healthy sites
# run it; the outdated one runs an older branch.
LATEST = WP_VERSION
OLD_VERSION = "6.4.5"
OLD_PHP = "PHP/7.4.33"

BEHAVIOURS: dict[str, FailureClass] = {
    "wp_outdated": FC.WP_OUTDATED,
    "php_eol": FC.PHP_EOL,
    "mixed_content": FC.MIXED_CONTENT,
    "broken_images": FC.BROKEN_IMAGES,
    "php_warning": FC.PHP_WARNING,
    "wp_rest_broken": FC.WP_REST_BROKEN,
    "login_redirect_loop": FC.LOGIN_REDIRECT_LOOP,
    "blocked": FC.BLOCKED,
    "flagged_unsafe": FC.FLAGGED_UNSAFE,
}

_M, _L = Impact.MEDIUM, Impact.LOW


def _site(name: str, title: str, tagline: str, server: str, **kw: Any) -> dict[str, Any]:
    """A `SiteSpec`'s arguments; the customer is named as the site is."""
    return dict(name=name, title=title, tagline=tagline, customer=title, server=server, **kw)


SITES: tuple[dict[str, Any], ...] = (
    _site("optica-vision", "Óptica Visión", "Gafas y lentes de contacto", "web-01",
          impact=_L, behaviour="wp_outdated",
          note=f"nobody ran the monthly update: WordPress {OLD_VERSION}"),
    _site("joyeria-oro", "Joyería Oro Fino", "Joyas artesanales", "web-02", impact=_M,
          behaviour="php_eol", note="still on PHP 7.4, long without security fixes"),
    _site("escuela-musica", "Escuela de Música Allegro", "Clases de piano y guitarra",
          "web-01", impact=_M, behaviour="mixed_content",
          note="an old slider loads its script over http:// on the HTTPS page"),
    _site("vivero-verde", "Vivero Verde", "Plantas para tu hogar", "web-02", impact=_M,
          kind="shop", behaviour="broken_images",
          note="a migration lost wp-content/uploads: every product image is 404"),
    _site("tienda-bici", "Bici Andina", "Bicicletas y repuestos", "web-03", impact=_M,
          behaviour="php_warning",
          note="display_errors on: a theme's PHP warning printed into the page"),
    _site("agencia-digital-pixel", "Pixel Agencia Digital", "Diseño web y marketing",
          "web-03", impact=_M, behaviour="wp_rest_broken",
          note="a security plugin disabled /wp-json/: Elementor's editor will not load"),
    _site("spa-serenidad", "Spa Serenidad", "Masajes y bienestar", "web-02", impact=_L,
          behaviour="login_redirect_loop",
          note="wp-login.php <-> wp-admin/ loop, with no check configured for it"),
    _site("notaria-segunda", "Notaría Segunda", "Trámites notariales", "web-01", impact=_M,
          behaviour="blocked",
          note="Imunify360 blocks the desk's address: an IP to unblock, not an outage"),
    _site("regalos-sorpresa", "Regalos Sorpresa", "Detalles para toda ocasión", "web-03",
          impact=_M, behaviour="flagged_unsafe",
          note="hacked: Google's Web Risk lists it as MALWARE"),
)  # fmt: skip

# A 1x1 JPEG: the uploads a healthy site serves.
JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b"
    "0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e3334"
    "32ffc0000b080001000101011100ffc4001f0000010501010101010100000000000000000102030405060708"
    "090a0bffda0008010100003f00d2cf20ffd9"
)
IMUNIFY_PAGE = (
    b"<!DOCTYPE html><html><head><title>Access denied</title></head><body>"
    b"<h1>Access denied by Imunify360 bot-protection.</h1>"
    b"<p>IPs used by bots are blocked. Contact the site's administrator.</p>"
    b"</body></html>"
)
REST_DISABLED = (
    b"<!DOCTYPE html><html><head><title>Forbidden</title></head><body>"
    b"<h1>REST API desactivada</h1><p>Solo para usuarios conectados.</p></body></html>"
)
MIXED = (
    '<script src="http://cdn.slider-antiguo.example/js/slider.min.js"></script>\n'
    '<link rel="stylesheet" href="http://fonts.tipos-viejos.example/css?family=Lato">\n'
)


def rest_index(profile: Profile, base: str) -> Page:
    """What a healthy `/wp-json/` answers (a trimmed REST index)."""
    doc = {
        "name": profile.title,
        "description": profile.tagline,
        "url": base.rstrip("/"),
        "home": base.rstrip("/"),
        "namespaces": ["oembed/1.0", "wp/v2", "wp-site-health/v1"],
        "routes": {"/": {"namespace": "", "methods": ["GET"]}},
    }
    body = json.dumps(doc, ensure_ascii=False).encode()
    return Page(200, body, "application/json; charset=UTF-8")


def php_warning(profile: Profile) -> bytes:
    where = f"{profile.docroot}/wp-content/themes/astra-child/functions.php"
    return (
        f'<br />\n<b>Warning</b>:  Undefined array key "precio" in <b>{where}</b> on line '
        "<b>88</b><br />\n"
    ).encode()


def respond(
    profile: Profile, behaviour: str, path: str, base: str, healthy: Callable[[], Page]
) -> Page | None:
    """This module's answer for `path`, or None for the site's usual page. `healthy`
    renders the usual page, which some behaviours alter."""
    if not profile.wordpress:
        return None
    if behaviour == "blocked":
        return Page(403, IMUNIFY_PAGE)
    if path in ("/wp-json/", "/wp-json"):
        if behaviour == "wp_rest_broken":
            return Page(403, REST_DISABLED)
        return rest_index(profile, base)
    if path.startswith("/wp-content/uploads/") and path.endswith((".jpg", ".png", ".webp")):
        if behaviour == "broken_images":
            return wp_not_found(profile, base)
        return Page(200, JPEG, "image/jpeg")
    if behaviour == "login_redirect_loop" and path in ("/wp-login.php", "/wp-admin/"):
        if path == "/wp-login.php":
            return redirect(base + "wp-admin/", 302)
        return redirect(base + "wp-login.php?redirect_to=%2Fwp-admin%2F&reauth=1", 302)
    if path not in ("/", "/index.php"):
        return None
    if behaviour == "wp_outdated":
        page = healthy()
        old = f'content="WordPress {OLD_VERSION}"'.encode()
        return replace(
            page, body=page.body.replace(f'content="WordPress {WP_VERSION}"'.encode(), old)
        )
    if behaviour == "php_eol":
        page = healthy()
        headers = tuple((k, OLD_PHP if k == "X-Powered-By" else v) for k, v in page.headers)
        return replace(page, headers=headers)
    if behaviour == "mixed_content":
        page = healthy()
        return replace(page, body=page.body.replace(b"</head>", MIXED.encode() + b"</head>", 1))
    if behaviour == "php_warning":
        page = healthy()
        body = page.body
        at = body.find(b">", body.find(b"<body")) + 1
        return replace(page, body=body[:at] + php_warning(profile) + body[at:])
    return None
