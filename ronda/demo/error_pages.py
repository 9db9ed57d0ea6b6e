"""What a failing demo site serves: the real error texts of the stack.

Error texts are those the real software prints: WordPress's `wp_die()` pages (database
connection, critical error, maintenance), PHP's own error lines as shown with
`display_errors=On` (PHP then answers 200, which is what makes these sites tricky), and
the stock nginx and Apache error pages. Pure functions, no I/O.
"""

from __future__ import annotations

from ronda.demo.pages import Page, Profile, locale

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
    body = f"""<!DOCTYPE html>
<html lang="{locale(lang)}">
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
        f'<!DOCTYPE html>\n<html lang="{locale(profile.lang)}">\n<head>\n<meta charset="UTF-8">\n'
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
