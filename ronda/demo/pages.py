"""What the demo sites answer: WordPress-like pages and the real error texts of the stack.

Pure functions, no I/O: `respond()` maps a site's profile, its current behaviour and a
request path to a `Page`. The transport-level behaviours (refused, timeout, slow, the
flapping phase of intermittent) are the fleet's business, not this module's.

Error texts are those the real software prints: WordPress's `wp_die()` pages (database
connection, critical error, maintenance), PHP's own error lines as shown with
`display_errors=On` (PHP then answers 200, which is what makes these sites tricky), and
the stock nginx and Apache error pages.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

WP_VERSION = "6.6.2"
WOO_VERSION = "9.3.3"
ELEMENTOR_VERSION = "3.24.5"

# The exact sentences a classifier looks for (WordPress 6.x and PHP 8.x).
DB_ERROR_TEXT = "Error establishing a database connection"
CRITICAL_ERROR_TEXT = {
    "en": "There has been a critical error on this website.",
    # WordPress loads the site's translation before printing it: Spanish sites show this.
    "es": "Ha habido un error crítico en esta web.",
}
MAINTENANCE_TEXT = "Briefly unavailable for scheduled maintenance. Check back in a minute."
PHP_TIMEOUT_TEXT = "Fatal error: Maximum execution time of 30 seconds exceeded"
PHP_PARSE_TEXT = "Parse error: syntax error"


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
        ("X-Powered-By", "PHP/8.2.24"),
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


# --------------------------------------------------------------------------- error pages

_WP_DIE_STYLE = """		html {
			background: #f1f1f1;
		}
		body {
			background: #fff;
			border: 1px solid #ccd0d4;
			color: #444;
			font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, Oxygen-Sans,
				Ubuntu, Cantarell, "Helvetica Neue", sans-serif;
			margin: 2em auto;
			padding: 1em 2em;
			max-width: 700px;
			-webkit-box-shadow: 0 1px 1px rgba(0, 0, 0, .04);
			box-shadow: 0 1px 1px rgba(0, 0, 0, .04);
		}
		h1 {
			border-bottom: 1px solid #dadada;
			clear: both;
			color: #666;
			font-size: 24px;
			margin: 30px 0 0 0;
			padding: 0;
			padding-bottom: 7px;
		}
		#error-page {
			margin-top: 50px;
		}
		#error-page p,
		#error-page .wp-die-message {
			font-size: 14px;
			line-height: 1.5;
			margin: 25px 0 20px;
		}"""


def wp_die(message: str, title: str, status: int, lang: str = "en") -> Page:
    """WordPress's default `wp_die()` page (`_default_wp_die_handler`, WordPress 6.x)."""
    locale = _T.get(lang, _T["en"])["locale"]
    body = f"""<!DOCTYPE html>
<html lang="{locale}">
<head>
	<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
	<meta name="viewport" content="width=device-width">
		<meta name='robots' content='max-image-preview:large, noindex, follow' />
	<title>{title}</title>
	<style type="text/css">
{_WP_DIE_STYLE}
	</style>
</head>
<body id="error-page">
	<div class="wp-die-message">{message}</div></body>
</html>
	"""
    headers = (
        ("Expires", "Wed, 11 Jan 1984 05:00:00 GMT"),
        ("Cache-Control", "no-cache, must-revalidate, max-age=0, no-store, private"),
    )
    return Page(status, body.encode(), "text/html; charset=utf-8", headers)


def db_error() -> Page:
    """`dead_db()`: printed before translations load, so always in English; HTTP 500."""
    return wp_die(f"<h1>{DB_ERROR_TEXT}</h1>", "Database Error", 500)


def critical_error(lang: str = "en") -> Page:
    """WP_Fatal_Error_Handler's page (WordPress >= 5.2), in the site's language; HTTP 500."""
    text = CRITICAL_ERROR_TEXT.get(lang, CRITICAL_ERROR_TEXT["en"])
    learn = (
        "Aprende más sobre el diagnóstico de WordPress."
        if lang == "es"
        else "Learn more about troubleshooting WordPress."
    )
    message = (
        f'<p>{text}</p><p><a href="https://wordpress.org/documentation/article/'
        f'faq-troubleshooting/">{learn}</a></p>'
    )
    return wp_die(message, "WordPress &rsaquo; Error", 500, lang)


def maintenance() -> Page:
    """`wp_maintenance()`: the `.maintenance` file left by an update; 503 with Retry-After."""
    page = wp_die(MAINTENANCE_TEXT, "Maintenance", 503)
    return Page(page.status, page.body, page.content_type, page.headers + (("Retry-After", "600"),))


def php_error(kind: str, message: str, file: str, line: int, *, html_errors: bool = False) -> str:
    """One PHP error line as `display_errors=On` prints it (PHP 8 format)."""
    if html_errors:
        return f"<br />\n<b>{kind}</b>:  {message} in <b>{file}</b> on line <b>{line}</b><br />\n"
    return f"\n{kind}: {message} in {file} on line {line}\n"


def php_fatal_timeout(profile: Profile) -> Page:
    """A slow query hit `max_execution_time`; with display_errors on PHP answers 200."""
    text = php_error(
        "Fatal error",
        "Maximum execution time of 30 seconds exceeded",
        f"{profile.docroot}/wp-includes/class-wpdb.php",
        2349,
    )
    # The theme had already sent its header when the query stalled.
    start = (
        f'<!DOCTYPE html>\n<html lang="{_t(profile)["locale"]}">\n<head>\n<meta charset="UTF-8">\n'
    )
    return Page(200, (start + text).encode())


def php_syntax_error(profile: Profile) -> Page:
    """A broken edit of the child theme's functions.php: PHP stops before any output."""
    text = php_error(
        "Parse error",
        'syntax error, unexpected token "}", expecting end of file',
        f"{profile.docroot}/wp-content/themes/astra-child/functions.php",
        42,
    )
    return Page(200, text.encode())


def white_screen() -> Page:
    """A fatal error with display_errors off that still got a 200 out: a blank page."""
    return Page(200, b"\n\n  \n")


_NGINX_TITLES = {
    403: "403 Forbidden",
    404: "404 Not Found",
    500: "500 Internal Server Error",
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
}
_APACHE = {
    403: ("Forbidden", "You don't have permission to access this resource."),
    404: ("Not Found", "The requested URL was not found on this server."),
    500: (
        "Internal Server Error",
        "The server encountered an internal error or misconfiguration and was unable to "
        "complete your request.</p>\n<p>Please contact the server administrator at "
        "webmaster@localhost to inform them of the time this error occurred, and the actions "
        "you performed just before this error.</p>\n<p>More information about this error may "
        "be available in the server error log.",
    ),
    502: (
        "Proxy Error",
        "The proxy server received an invalid\nresponse from an upstream server.<br />\n"
        "The proxy server could not handle the request<p>Reason: <strong>Error reading from "
        "remote server</strong></p>",
    ),
    503: (
        "Service Unavailable",
        "The server is temporarily unable to service your\nrequest due to maintenance "
        "downtime or capacity\nproblems. Please try again later.",
    ),
}


def server_error(status: int, software: str = "nginx") -> Page:
    """The web server's stock page for `status` (nginx or Apache)."""
    if software == "apache":
        heading, text = _APACHE[status]
        body = (
            '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n'
            f"<title>{status} {heading}</title>\n</head><body>\n<h1>{heading}</h1>\n"
            f"<p>{text}</p>\n</body></html>\n"
        )
        return Page(status, body.encode(), "text/html; charset=iso-8859-1")
    title = _NGINX_TITLES[status]
    body = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return Page(status, body.encode(), "text/html")


# --------------------------------------------------------------------------- routing

# Behaviours answered here, whole-site: the page every path gets.
_WHOLE_SITE = ("http_403", "http_404", "http_500", "http_502", "http_503")


def respond(profile: Profile, behaviour: str, path: str, base: str) -> Page:
    """The page a site with this behaviour serves for `path` (no query string).

    `base` is the site's base URL with a trailing slash. Behaviours handled by the transport
    (refused, timeout, slow, intermittent) must be resolved by the caller first; "slow"
    and the other per-page ones fall back to the healthy site here.
    """
    if behaviour in _WHOLE_SITE:
        return server_error(int(behaviour[-3:]), profile.software)
    if behaviour == "wp_db_connection":
        return db_error()
    if behaviour == "php_fatal":
        return critical_error(profile.lang)
    if behaviour == "php_fatal_timeout":
        return php_fatal_timeout(profile)
    if behaviour == "php_syntax_error":
        return php_syntax_error(profile)
    if behaviour == "white_screen":
        return white_screen()
    if behaviour == "wp_maintenance":
        return maintenance()
    if behaviour == "redirect_loop":
        # siteurl and home disagree (index.php vs /): each canonical redirect undoes the other.
        return redirect(base + ("" if path == "/index.php" else "index.php"))
    if behaviour == "login_loop" and path in ("/wp-login.php", "/wp-admin/"):
        # The classic cookie/siteurl mismatch: login sends to wp-admin, wp-admin back to login.
        if path == "/wp-login.php":
            return redirect(base + "wp-admin/", 302)
        return redirect(base + "wp-login.php?redirect_to=%2Fwp-admin%2F&reauth=1", 302)
    return healthy(
        profile,
        path,
        base,
        content_broken=behaviour == "content_missing",
        feed_broken=behaviour == "rss_invalid",
    )


def healthy(
    profile: Profile,
    path: str,
    base: str,
    *,
    content_broken: bool = False,
    feed_broken: bool = False,
) -> Page:
    """A working site's answer for `path`, with optionally a broken plugin page or feed."""
    if not profile.wordpress:
        if path in ("/", "/index.html"):
            return static_home(profile, base)
        return server_error(404, profile.software)
    if path in ("/", "/index.php"):
        return home(profile, base)
    if path == "/wp-login.php":
        return login(profile, base)
    if path == "/wp-admin/":
        return redirect(base + "wp-login.php?redirect_to=%2Fwp-admin%2F&reauth=1", 302)
    if path in ("/feed/", "/feed"):
        if path == "/feed":
            return redirect(base + "feed/")
        return broken_feed(profile, base) if feed_broken else feed(profile, base)
    if path == "/robots.txt":
        return robots(base)
    pages = inner_pages(profile, base, broken=content_broken)
    if path in pages:
        return pages[path]
    if not path.endswith("/") and path + "/" in pages:
        # WordPress's canonical redirect adds the trailing slash.
        return redirect(base + path.lstrip("/") + "/")
    return wp_not_found(profile, base)
