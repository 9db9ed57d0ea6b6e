"""What a healthy demo site serves: WordPress-like pages (home, inner pages, login, feed,
robots.txt, 404), a static landing page for the site that is not WordPress, and the values
they are made of (`Page`, `Profile`, the site texts in Spanish and English).

Pure functions, no I/O. The pages a failing site shows are in `ronda.demo.error_pages`;
which page a request gets is `ronda.demo.routing.respond()`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

WP_VERSION = "6.6.2"
WOO_VERSION = "9.3.3"
ELEMENTOR_VERSION = "3.24.5"


@dataclass(frozen=True, slots=True)
class Page:
    """One HTTP answer without the transport headers (Date, Server, Content-Length)."""

    status: int
    body: bytes = b""
    content_type: str = "text/html; charset=UTF-8"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Profile:
    """Who a demo site is: enough to render believable pages.

    `kind` is one of shop (WooCommerce), business (Elementor), blog, static (no WordPress).
    `software` is the web server in front: nginx or apache (its stock error pages differ).
    """

    slug: str
    title: str
    tagline: str
    lang: str = "es"
    kind: str = "business"
    software: str = "nginx"
    checks: tuple[tuple[str, str], ...] = field(default=())

    @property
    def docroot(self) -> str:
        return f"/home/{self.slug.replace('-', '')[:16]}/public_html"

    @property
    def wordpress(self) -> bool:
        return self.kind != "static"


REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    403: "Forbidden",
    404: "Not Found",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}

_T = {
    "es": {
        "home": "Inicio",
        "shop": "Tienda",
        "cart": "Carrito",
        "account": "Mi cuenta",
        "services": "Servicios",
        "contact": "Contacto",
        "about": "Sobre nosotros",
        "checkout": "Finalizar compra",
        "book": "Agenda tu cita",
        "read_more": "Leer más",
        "not_found": "Página no encontrada",
        "not_found_body": "Parece que no se encontró nada en esta ubicación.",
        "login_user": "Nombre de usuario o correo electrónico",
        "login_pass": "Contraseña",
        "login_button": "Acceder",
        "lost": "¿Has olvidado tu contraseña?",
        "back": "Ir a",
        "powered": "Funciona gracias a WordPress",
        "locale": "es-CO",
        "add_to_cart": "Añadir al carrito",
        "cart_total": "Total del carrito",
        "posts": [
            ("Horario de fin de año", "Este diciembre atendemos de lunes a sábado."),
            ("Nuevos productos de temporada", "Llegaron las novedades que nos pidieron."),
            ("Cómo cuidar tu compra", "Unos consejos sencillos para que te dure más."),
        ],
    },
    "en": {
        "home": "Home",
        "shop": "Shop",
        "cart": "Cart",
        "account": "My account",
        "services": "Services",
        "contact": "Contact",
        "about": "About us",
        "checkout": "Proceed to checkout",
        "book": "Book an appointment",
        "read_more": "Read more",
        "not_found": "Page not found",
        "not_found_body": "It looks like nothing was found at this location.",
        "login_user": "Username or Email Address",
        "login_pass": "Password",
        "login_button": "Log In",
        "lost": "Lost your password?",
        "back": "Go to",
        "powered": "Proudly powered by WordPress",
        "locale": "en-US",
        "add_to_cart": "Add to cart",
        "cart_total": "Cart totals",
        "posts": [
            ("Holiday opening hours", "This December we are open Monday to Saturday."),
            ("New seasonal products", "The new arrivals you asked for are here."),
            ("Caring for your purchase", "A few simple tips to make it last."),
        ],
    },
}

# Pages a site has besides its home, by kind: path -> (title key, content maker).
_SLUGS = {
    "es": {"shop": "/tienda/", "cart": "/carrito/", "account": "/mi-cuenta/"},
    "en": {"shop": "/shop/", "cart": "/cart/", "account": "/my-account/"},
}
_BUSINESS = {
    "es": {"services": "/servicios/", "contact": "/contacto/"},
    "en": {"services": "/services/", "contact": "/contact/"},
}


def _t(profile: Profile) -> dict:
    return _T.get(profile.lang, _T["en"])


def cart_path(lang: str) -> str:
    """Where WooCommerce puts the cart on a site in this language."""
    return _SLUGS.get(lang, _SLUGS["en"])["cart"]


def services_path(lang: str) -> str:
    return _BUSINESS.get(lang, _BUSINESS["en"])["services"]


def checkout_keyword(lang: str) -> str:
    """The cart's checkout button: present only when WooCommerce renders the cart."""
    return _T.get(lang, _T["en"])["checkout"]


def booking_keyword(lang: str) -> str:
    """The booking button of an Elementor services page."""
    return _T.get(lang, _T["en"])["book"]


def locale(lang: str) -> str:
    """The site language as WordPress names its locale (`es-CO`, `en-US`)."""
    return _T.get(lang, _T["en"])["locale"]


# --------------------------------------------------------------------------- healthy pages


def _nav(profile: Profile, base: str) -> list[tuple[str, str]]:
    t = _t(profile)
    items = [(t["home"], base)]
    if profile.kind == "shop":
        slugs = _SLUGS.get(profile.lang, _SLUGS["en"])
        # The menu says "Carrito"/"Cart", never the checkout button's words.
        items += [(t[k], base + slugs[k].lstrip("/")) for k in ("shop", "cart", "account")]
    elif profile.kind == "business":
        slugs = _BUSINESS.get(profile.lang, _BUSINESS["en"])
        items += [(t[k], base + slugs[k].lstrip("/")) for k in ("services", "contact")]
    else:
        items.append((t["about"], base + ("sobre-nosotros/" if profile.lang == "es" else "about/")))
    return items


def _head(profile: Profile, base: str, title: str) -> str:
    esc_title = html.escape(title)
    site = html.escape(profile.title)
    css = [
        f"{base}wp-includes/css/dist/block-library/style.min.css?ver={WP_VERSION}",
        f"{base}wp-content/themes/astra/assets/css/minified/main.min.css?ver=4.8.3",
    ]
    if profile.kind == "shop":
        css.append(
            f"{base}wp-content/plugins/woocommerce/assets/css/woocommerce.css?ver={WOO_VERSION}"
        )
    if profile.kind == "business":
        css.append(
            f"{base}wp-content/plugins/elementor/assets/css/frontend.min.css"
            f"?ver={ELEMENTOR_VERSION}"
        )
    links = "\n".join(
        f"<link rel='stylesheet' id='css-{i}' href='{href}' media='all' />"
        for i, href in enumerate(css)
    )
    return f"""<!DOCTYPE html>
<html lang="{_t(profile)["locale"]}">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="profile" href="https://gmpg.org/xfn/11">
<title>{esc_title} &#8211; {site}</title>
<meta name='robots' content='max-image-preview:large' />
<link rel="alternate" type="application/rss+xml" title="{site} &raquo; Feed" href="{base}feed/" />
{links}
<script src="{base}wp-includes/js/jquery/jquery.min.js?ver=3.7.1" id="jquery-core-js"></script>
<link rel="https://api.w.org/" href="{base}wp-json/" />
<link rel="EditURI" type="application/rsd+xml" title="RSD" href="{base}xmlrpc.php?rsd" />
<meta name="generator" content="WordPress {WP_VERSION}" />
</head>"""


def _layout(profile: Profile, base: str, title: str, content: str, body_class: str) -> bytes:
    t = _t(profile)
    nav = "\n".join(
        f'<li class="menu-item"><a href="{href}">{html.escape(label)}</a></li>'
        for label, href in _nav(profile, base)
    )
    page = f"""{_head(profile, base, title)}
<body class="{body_class} wp-embed-responsive ast-theme">
<div id="page" class="hfeed site">
<header class="site-header" id="masthead">
<p class="site-title"><a href="{base}" rel="home">{html.escape(profile.title)}</a></p>
<p class="site-description">{html.escape(profile.tagline)}</p>
<nav class="main-navigation"><ul id="primary-menu" class="main-header-menu">
{nav}
</ul></nav>
</header>
<main id="main" class="site-main">
{content}
</main>
<footer class="site-footer">
<p>&copy; 2024 {html.escape(profile.title)} &middot;
<a href="https://wordpress.org/">{t["powered"]}</a></p>
</footer>
</div>
<script src="{base}wp-includes/js/wp-embed.min.js?ver={WP_VERSION}" id="wp-embed-js"></script>
</body>
</html>
"""
    return page.encode()


def _products(profile: Profile, base: str) -> str:
    t = _t(profile)
    names = (
        ["Bolso de fique", "Mochila tejida", "Sombrero vueltiao", "Manta de lana"]
        if profile.lang == "es"
        else ["Sourdough loaf", "Carrot cake", "Cinnamon rolls", "Gift box"]
    )
    items = "\n".join(
        f"""<li class="product type-product post-{100 + i} instock">
<a href="{base}producto/item-{i}/"><img src="{base}wp-content/uploads/2024/09/item-{i}-300x300.jpg"
 class="attachment-woocommerce_thumbnail" alt="" /><h2 class="woocommerce-loop-product__title">
{html.escape(name)}</h2><span class="price"><bdi>${(i + 2) * 21_500:,}</bdi></span></a>
<a href="?add-to-cart={100 + i}" class="button add_to_cart_button">{t["add_to_cart"]}</a></li>"""
        for i, name in enumerate(names)
    )
    return f'<div class="woocommerce"><ul class="products columns-4">\n{items}\n</ul></div>'


def _posts(profile: Profile, base: str) -> str:
    t = _t(profile)
    return "\n".join(
        f"""<article id="post-{200 + i}" class="post-{200 + i} post type-post status-publish">
<h2 class="entry-title"><a href="{base}2024/10/{i + 1:02d}/entrada-{i}/">
{html.escape(title)}</a></h2>
<div class="entry-content"><p>{html.escape(text)}</p>
<a class="more-link" href="{base}2024/10/{i + 1:02d}/entrada-{i}/">{t["read_more"]}</a></div>
</article>"""
        for i, (title, text) in enumerate(t["posts"])
    )


def _elementor(profile: Profile, body: str) -> str:
    return f"""<div data-elementor-type="wp-page" data-elementor-id="12"
 class="elementor elementor-12">
<div class="elementor-element elementor-widget elementor-widget-text-editor"
 data-widget_type="text-editor.default"><div class="elementor-widget-container">
{body}
</div></div></div>"""


def home(profile: Profile, base: str) -> Page:
    if not profile.wordpress:
        return static_home(profile, base)
    t = _t(profile)
    if profile.kind == "shop":
        content = _products(profile, base)
    elif profile.kind == "business":
        content = _elementor(
            profile,
            f"<h2>{html.escape(profile.tagline)}</h2>"
            f'<a class="elementor-button" href="{base}{services_path(profile.lang).lstrip("/")}">'
            f"{t['services']}</a>",
        )
    else:
        content = _posts(profile, base)
    return Page(
        200,
        _layout(profile, base, t["home"], content, "home page-template-default page"),
        headers=_wp_headers(base),
    )


def _wp_headers(base: str) -> tuple[tuple[str, str], ...]:
    return (
        ("Link", f'<{base}wp-json/>; rel="https://api.w.org/"'),
        ("X-Powered-By", "PHP/8.3.14"),  # a supported branch (8.2's support ends 2026)
    )


def inner_pages(profile: Profile, base: str, *, broken: bool = False) -> dict[str, Page]:
    """The site's pages besides home, by path; `broken` renders them as a plugin failure
    leaves them: WooCommerce deactivated prints its shortcode raw, Elementor renders empty."""
    t = _t(profile)
    out: dict[str, tuple[str, str]] = {}
    if profile.kind == "shop":
        slugs = _SLUGS.get(profile.lang, _SLUGS["en"])
        cart = (
            "<p>[woocommerce_cart]</p>"
            if broken
            else f"""<div class="woocommerce"><form class="woocommerce-cart-form" method="post">
<table class="shop_table cart"><tr class="cart_item"><td class="product-name">
{html.escape(profile.title)}</td><td class="product-price">$43.000</td></tr></table></form>
<div class="cart-collaterals"><div class="cart_totals"><h2>{t["cart_total"]}</h2>
<div class="wc-proceed-to-checkout"><a href="{base}checkout/"
 class="checkout-button button alt wc-forward">{t["checkout"]}</a></div></div></div></div>"""
        )
        out[slugs["shop"]] = (
            t["shop"],
            "<p>[products]</p>" if broken else _products(profile, base),
        )
        out[slugs["cart"]] = (t["cart"], cart)
        out[slugs["account"]] = (t["account"], "<p>[woocommerce_my_account]</p>")
    elif profile.kind == "business":
        slugs = _BUSINESS.get(profile.lang, _BUSINESS["en"])
        services = (
            '<div data-elementor-type="wp-page" data-elementor-id="12" class="elementor"></div>'
            if broken
            else _elementor(
                profile,
                f"<h2>{t['services']}</h2><p>{html.escape(profile.tagline)}</p>"
                f'<a class="elementor-button" href="{base}contacto/">{t["book"]}</a>',
            )
        )
        out[slugs["services"]] = (t["services"], services)
        out[slugs["contact"]] = (t["contact"], '<p>[contact-form-7 id="5"]</p>')
    else:
        about = "sobre-nosotros/" if profile.lang == "es" else "about/"
        out["/" + about] = (t["about"], f"<p>{html.escape(profile.tagline)}</p>")
    pages = {
        path: Page(
            200,
            _layout(
                profile,
                base,
                title,
                f'<article class="page"><h1 class="entry-title">{html.escape(title)}</h1>'
                f'<div class="entry-content">{content}</div></article>',
                "page-template-default page",
            ),
            headers=_wp_headers(base),
        )
        for path, (title, content) in out.items()
    }
    # A keyword check may name a page the kind does not have: give it one that says it.
    for path, keyword in profile.checks:
        if path not in pages and path not in ("/", "/wp-login.php", "/feed/"):
            body = "" if broken else f"<p>{html.escape(keyword)}</p>"
            pages[path] = Page(
                200,
                _layout(profile, base, path.strip("/") or "page", body, "page"),
                headers=_wp_headers(base),
            )
    return pages


def login(profile: Profile, base: str) -> Page:
    t = _t(profile)
    site = html.escape(profile.title)
    body = f"""<!DOCTYPE html>
<html lang="{t["locale"]}">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
<title>Log In &lsaquo; {site} &#8212; WordPress</title>
<meta name='robots' content='max-image-preview:large, noindex, noarchive' />
<link rel='stylesheet' id='login-css'
 href='{base}wp-admin/css/login.min.css?ver={WP_VERSION}' media='all' />
<meta name='referrer' content='strict-origin-when-cross-origin' />
<meta name="viewport" content="width=device-width" />
</head>
<body class="login no-js login-action-login wp-core-ui locale-{t["locale"].lower()}">
<div id="login">
<h1><a href="https://wordpress.org/">Powered by WordPress</a></h1>
<form name="loginform" id="loginform" action="{base}wp-login.php" method="post">
<p><label for="user_login">{t["login_user"]}</label>
<input type="text" name="log" id="user_login" class="input" value="" size="20"
 autocapitalize="off" autocomplete="username" required="required" /></p>
<div class="user-pass-wrap"><label for="user_pass">{t["login_pass"]}</label>
<input type="password" name="pwd" id="user_pass" class="input password-input" value=""
 size="20" autocomplete="current-password" required="required" /></div>
<p class="submit"><input type="submit" name="wp-submit" id="wp-submit"
 class="button button-primary button-large" value="{t["login_button"]}" />
<input type="hidden" name="redirect_to" value="{base}wp-admin/" />
<input type="hidden" name="testcookie" value="1" /></p>
</form>
<p id="nav"><a href="{base}wp-login.php?action=lostpassword">{t["lost"]}</a></p>
<p id="backtoblog"><a href="{base}">&larr; {t["back"]} {site}</a></p>
</div>
<script src="{base}wp-includes/js/zxcvbn-async.min.js?ver=1.0" id="zxcvbn-async-js"></script>
</body>
</html>
"""
    headers = (
        ("Cache-Control", "no-cache, must-revalidate, max-age=0, no-store, private"),
        ("Set-Cookie", "wordpress_test_cookie=WP%20Cookie%20check; path=/; HttpOnly"),
        ("X-Frame-Options", "SAMEORIGIN"),
    )
    return Page(200, body.encode(), headers=headers)


def _rss(profile: Profile, base: str) -> str:
    t = _t(profile)
    items = "\n".join(
        f"""	<item>
		<title>{html.escape(title)}</title>
		<link>{base}2024/10/{i + 1:02d}/entrada-{i}/</link>
		<dc:creator><![CDATA[{profile.slug.split("-")[0]}]]></dc:creator>
		<pubDate>{["Tue", "Wed", "Thu"][i]}, {i + 1:02d} Oct 2024 14:0{i}:00 +0000</pubDate>
		<category><![CDATA[Noticias]]></category>
		<guid isPermaLink="false">{base}?p={200 + i}</guid>
		<description><![CDATA[{text}]]></description>
		<content:encoded><![CDATA[<p>{text}</p>]]></content:encoded>
	</item>"""
        for i, (title, text) in enumerate(t["posts"])
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
	xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:wfw="http://wellformedweb.org/CommentAPI/"
	xmlns:dc="http://purl.org/dc/elements/1.1/"
	xmlns:atom="http://www.w3.org/2005/Atom"
	xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
	xmlns:slash="http://purl.org/rss/1.0/modules/slash/"
	>

<channel>
	<title>{html.escape(profile.title)}</title>
	<atom:link href="{base}feed/" rel="self" type="application/rss+xml" />
	<link>{base}</link>
	<description>{html.escape(profile.tagline)}</description>
	<lastBuildDate>Thu, 03 Oct 2024 14:02:00 +0000</lastBuildDate>
	<language>{t["locale"]}</language>
	<sy:updatePeriod>
	hourly	</sy:updatePeriod>
	<sy:updateFrequency>
	1	</sy:updateFrequency>
	<generator>https://wordpress.org/?v={WP_VERSION}</generator>
{items}
</channel>
</rss>
"""


def feed(profile: Profile, base: str) -> Page:
    return Page(200, _rss(profile, base).encode(), "application/rss+xml; charset=UTF-8")


def broken_feed(profile: Profile, base: str) -> Page:
    """The classic broken WordPress feed: a theme's PHP warning (and the blank line after a
    closing `?>`) printed before the XML declaration, so no XML parser accepts it."""
    warning = (
        '\n<br />\n<b>Warning</b>:  Undefined array key "podcast_player" in '
        f"<b>{profile.docroot}/wp-content/themes/podcaster-child/functions.php</b> "
        "on line <b>88</b><br />\n"
    )
    return Page(200, (warning + _rss(profile, base)).encode(), "application/rss+xml; charset=UTF-8")


def wp_not_found(profile: Profile, base: str) -> Page:
    t = _t(profile)
    content = (
        f'<section class="error-404 not-found"><h1 class="page-title">{t["not_found"]}</h1>'
        f'<div class="page-content"><p>{t["not_found_body"]}</p></div></section>'
    )
    return Page(404, _layout(profile, base, t["not_found"], content, "error404"))


def robots(base: str) -> Page:
    body = (
        "User-agent: *\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n\n"
        f"Sitemap: {base}wp-sitemap.xml\n"
    )
    return Page(200, body.encode(), "text/plain; charset=utf-8")


def static_home(profile: Profile, base: str) -> Page:
    """A hand-made landing page: no WordPress anywhere (the probe must not assume it)."""
    body = f"""<!doctype html>
<html lang="{_t(profile)["locale"]}">
<head><meta charset="utf-8"><title>{html.escape(profile.title)}</title>
<link rel="stylesheet" href="{base}assets/landing.css"></head>
<body><section class="hero"><h1>{html.escape(profile.title)}</h1>
<p>{html.escape(profile.tagline)}</p></section></body>
</html>
"""
    return Page(200, body.encode(), headers=(("Last-Modified", "Mon, 07 Oct 2024 12:00:00 GMT"),))


def redirect(location: str, status: int = 301, *, wordpress: bool = True) -> Page:
    headers = [("Location", location)]
    if wordpress:
        headers.append(("X-Redirect-By", "WordPress"))
    return Page(status, b"", headers=tuple(headers))
