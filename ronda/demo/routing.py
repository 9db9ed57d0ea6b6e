"""Which page a demo site answers: `respond()` maps a site's profile, its current behaviour
and a request path to a `Page`, from the healthy site (`ronda.demo.pages`) or the error
pages (`ronda.demo.error_pages`). Pure, no I/O.

The transport-level behaviours (refused, timeout, slow, the flapping phase of
intermittent) are the fleet's business, not this module's.
"""

from __future__ import annotations

from ronda.demo import wordpress_pages
from ronda.demo.error_pages import (
    critical_error,
    db_error,
    maintenance,
    php_fatal_timeout,
    php_syntax_error,
    server_error,
    white_screen,
)
from ronda.demo.pages import (
    Page,
    Profile,
    broken_feed,
    feed,
    home,
    inner_pages,
    login,
    redirect,
    robots,
    static_home,
    wp_not_found,
)

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
    page = wordpress_pages.respond(
        profile, behaviour, path, base, lambda: healthy(profile, path, base)
    )
    if page is not None:
        return page
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
    if behaviour == "redirect_refused":
        # A compromised plugin sends visitors (and probes) to the cloud metadata service.
        return redirect("http://169.254.169.254/latest/meta-data/", 302, wordpress=False)
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
