"""The classifier as a pure function: tables of observations -> failure class and priority."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ronda.checks.classify import (
    Finding,
    Observation,
    classify,
    classify_all,
    classify_feed,
    effective_priority,
    has_visible_text,
    looks_like_wordpress,
    worst,
)
from ronda.checks.http1 import ProbeError, _Reader
from ronda.config import ProbeSettings
from ronda.model import FailureClass, Priority

FC = FailureClass
NOW = dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.UTC)
S = ProbeSettings()
PAGE = b"<html><head><title>Acme</title></head><body><h1>Acme</h1></body></html>"
WP_DIE = b'<html><body id="error-page"><div class="wp-die-message">%s</div></body></html>'


def obs(status: int | None = 200, body: bytes | None = PAGE, **kw: object) -> Observation:
    kw.setdefault("headers", {"content-type": "text/html; charset=UTF-8"})
    return Observation(url="https://acme.example/", status_code=status, body=body, **kw)  # type: ignore[arg-type]


def err(error: str, **kw: object) -> Observation:
    return Observation(url="https://acme.example/", error=error, error_detail="x", **kw)  # type: ignore[arg-type]


CASES: list[tuple[str, Observation, FailureClass, Priority | None]] = [
    ("healthy", obs(), FC.OK, None),
    ("refused", err("refused"), FC.REFUSED, None),
    ("dns", err("dns"), FC.DNS, None),
    ("timeout", err("timeout"), FC.TIMEOUT, None),
    ("protocol error is a bad gateway", err("protocol"), FC.HTTP_502, None),
    ("closed without answer", err("reset"), FC.HTTP_502, None),
    ("redirect loop on home", err("redirect_loop"), FC.REDIRECT_LOOP, None),
    (
        "redirect loop on login",
        err("redirect_loop", kind="check"),
        FC.REDIRECT_LOOP,
        Priority.MEDIUM,
    ),
    ("redirect refused on home", err("redirect_refused"), FC.REDIRECT_REFUSED, None),
    (
        "redirect refused on a check path",
        err("redirect_refused", kind="check"),
        FC.REDIRECT_REFUSED,
        Priority.MEDIUM,
    ),
    (
        "refused redirect keeps its 3xx but is classified by the refusal",
        obs(302, b"", error="redirect_refused", headers={"location": "http://10.0.0.1/"}),
        FC.REDIRECT_REFUSED,
        None,
    ),
    ("ssl expired", err("ssl_expired"), FC.SSL_EXPIRED, None),
    ("ssl untrusted", err("ssl_untrusted"), FC.SSL_UNTRUSTED, None),
    ("ssl hostname", err("ssl_hostname"), FC.SSL_HOSTNAME, None),
    ("tls handshake failure", err("ssl_error"), FC.SSL_UNTRUSTED, None),
    (
        "untrusted and expired says expired",
        err("ssl_untrusted", cert_not_after=NOW - dt.timedelta(days=1)),
        FC.SSL_EXPIRED,
        None,
    ),
    ("500", obs(500, b"oops"), FC.HTTP_500, None),
    ("502", obs(502, b"bad gateway"), FC.HTTP_502, None),
    ("503", obs(503, b"busy"), FC.HTTP_503, None),
    ("504 is a gateway failure", obs(504, b""), FC.HTTP_502, None),
    ("cloudflare 522", obs(522, b""), FC.HTTP_502, None),
    ("501 other server error", obs(501, b""), FC.HTTP_500, None),
    ("429 rate limited", obs(429, b"", headers={"retry-after": "60"}), FC.HTTP_503, None),
    ("403 home", obs(403, b"no"), FC.HTTP_403, None),
    ("401 home", obs(401, b"no"), FC.HTTP_403, None),
    ("404 home", obs(404, b"no"), FC.HTTP_404, None),
    ("410 home", obs(410, b"no"), FC.HTTP_404, None),
    ("403 other path", obs(403, b"no", kind="check"), FC.HTTP_403, Priority.MEDIUM),
    ("404 other path", obs(404, b"no", kind="check"), FC.HTTP_404, Priority.MEDIUM),
    ("400 other path", obs(400, b"no", kind="check"), FC.CONTENT_MISSING, None),
    ("3xx without location", obs(302, b""), FC.CONTENT_MISSING, None),
    (
        "3xx with an unusable location",
        obs(302, b"", headers={"location": "http://[::1/"}, location_error="invalid URL"),
        FC.CONTENT_MISSING,
        None,
    ),
    (
        "db connection",
        obs(500, WP_DIE % b"<h1>Error establishing a database connection</h1>"),
        FC.WP_DB_CONNECTION,
        None,
    ),
    (
        "db connection, Spanish",
        obs(
            500, WP_DIE % "<h1>Error al establecer una conexión con la base de datos</h1>".encode()
        ),
        FC.WP_DB_CONNECTION,
        None,
    ),
    (
        "db connection served with 200 by a cache",
        obs(200, WP_DIE % b"<h1>Error establishing a database connection</h1>"),
        FC.WP_DB_CONNECTION,
        None,
    ),
    (
        "critical error",
        obs(500, WP_DIE % b"<p>There has been a critical error on this website.</p>"),
        FC.PHP_FATAL,
        None,
    ),
    (
        "critical error, Spanish",
        obs(500, WP_DIE % "<p>Ha habido un error crítico en esta web.</p>".encode()),
        FC.PHP_FATAL,
        None,
    ),
    (
        "fatal timeout with display_errors on a 200",
        obs(
            200,
            b"<html><body><p>Inicio</p><br />\n<b>Fatal error</b>:  Maximum execution time of "
            b"30 seconds exceeded in <b>/srv/wp-includes/class-wp.php</b> on line <b>80</b>",
        ),
        FC.PHP_FATAL_TIMEOUT,
        None,
    ),
    (
        "fatal timeout, plain text",
        obs(500, b"PHP Fatal error:  Maximum execution time of 60 seconds exceeded in /x.php"),
        FC.PHP_FATAL_TIMEOUT,
        None,
    ),
    (
        "syntax error",
        obs(
            500,
            b"<br />\n<b>Parse error</b>:  syntax error, unexpected end of file in "
            b"<b>/srv/wp-content/themes/t/functions.php</b> on line <b>9</b>",
        ),
        FC.PHP_SYNTAX_ERROR,
        None,
    ),
    (
        "uncaught error is a fatal",
        obs(
            200,
            b"<b>Fatal error</b>:  Uncaught Error: Call to undefined function x() in "
            b"/srv/wp-content/plugins/p/p.php:3",
        ),
        FC.PHP_FATAL,
        None,
    ),
    (
        "maintenance",
        obs(
            503, b"<h1>Briefly unavailable for scheduled maintenance. Check back in a minute.</h1>"
        ),
        FC.WP_MAINTENANCE,
        None,
    ),
    (
        "maintenance text on a 200 is just text",
        obs(200, b"<html><body>Briefly unavailable for scheduled maintenance</body></html>"),
        FC.OK,
        None,
    ),
    (
        "a blog post about the db error is not an outage",
        obs(
            200,
            b"<html><body><article><h1>How to fix Error establishing a database connection</h1>"
            b"<p>There has been a critical error on this website, they say.</p></article>",
        ),
        FC.OK,
        None,
    ),
    ("empty 200", obs(200, b""), FC.WHITE_SCREEN, None),
    ("no body at all", obs(200, None), FC.WHITE_SCREEN, None),
    ("whitespace 200", obs(200, b" \r\n\t\n"), FC.WHITE_SCREEN, None),
    (
        "html without visible text",
        obs(200, b"<!DOCTYPE html><html><head><style>b{}</style></head><body>\n<div></div>"),
        FC.WHITE_SCREEN,
        None,
    ),
    (
        "empty json is blank too",
        obs(200, b"", headers={"content-type": "application/json"}),
        FC.WHITE_SCREEN,
        None,
    ),
    (
        "non-html text counts",
        obs(200, b"{}", headers={"content-type": "application/json"}),
        FC.OK,
        None,
    ),
    ("a page that is one image", obs(200, b"<body><img src=a.png></body>"), FC.OK, None),
    (
        "truncated page is not judged blank",
        obs(200, b"<html><body><script>" + b"x" * 100, body_truncated=True),
        FC.OK,
        None,
    ),
    ("slow first byte", obs(ttfb=2.5, total=2.6), FC.SLOW, None),
    ("slow total", obs(ttfb=0.2, total=5.5), FC.SLOW, None),
    ("fast enough", obs(ttfb=1.9, total=4.9), FC.OK, None),
    ("error beats slow", obs(500, b"x", ttfb=9.0, total=9.0), FC.HTTP_500, None),
]


@pytest.mark.parametrize(("name", "o", "cls", "priority"), CASES, ids=[c[0] for c in CASES])
def test_classify_table(name: str, o: Observation, cls: FailureClass, priority) -> None:
    finding = classify(o, S, NOW)
    assert finding.failure_class is cls, finding.detail
    assert finding.priority is priority
    if cls is not FC.OK:
        assert "acme.example" in finding.detail


@pytest.mark.parametrize(
    ("keyword", "body", "truncated", "cls"),
    [
        (
            "Añadir al carrito",
            "<body><button>Añadir al carrito</button></body>".encode(),
            False,
            FC.OK,
        ),
        ("añadir AL carrito", "<body>AÑADIR AL CARRITO</body>".encode(), False, FC.OK),
        ("Finalizar compra", b"<body>Tu carrito esta vacio</body>", False, FC.CONTENT_MISSING),
        ("Finalizar compra", b"<body>" + b"x" * 50, True, FC.CONTENT_MISSING),
    ],
)
def test_keyword_checks(keyword: str, body: bytes, truncated: bool, cls: FailureClass) -> None:
    o = obs(200, body, kind="check", body_truncated=truncated)
    finding = classify(o, S, NOW, keyword=keyword)
    assert finding.failure_class is cls
    if truncated:
        assert "first 56 bytes" in finding.detail


def test_keyword_in_latin1_page() -> None:
    o = obs(
        200,
        "<body>Pedido recibido, gracias</body>".encode("latin-1"),
        headers={"content-type": "text/html; charset=ISO-8859-1"},
        kind="check",
    )
    assert classify(o, S, NOW, keyword="PEDIDO RECIBIDO").failure_class is FC.OK


@pytest.mark.parametrize(
    ("days", "cls", "priority"),
    [
        (90, FC.OK, None),
        (30, FC.SSL_EXPIRING, None),
        (8, FC.SSL_EXPIRING, None),
        (7, FC.SSL_EXPIRING, Priority.MEDIUM),
        (0.5, FC.SSL_EXPIRING, Priority.MEDIUM),
        (-1, FC.SSL_EXPIRED, None),
    ],
)
def test_certificate_expiry(days: float, cls: FailureClass, priority) -> None:
    o = obs(cert_not_after=NOW + dt.timedelta(days=days))
    finding = classify(o, S, NOW)
    assert finding.failure_class is cls
    assert finding.priority is priority


def test_expiring_certificate_is_a_second_finding() -> None:
    o = obs(500, b"x", cert_not_after=NOW + dt.timedelta(days=3))
    classes = [f.failure_class for f in classify_all(o, S, NOW)]
    assert classes == [FC.HTTP_500, FC.SSL_EXPIRING]
    assert classify(o, S, NOW).failure_class is FC.HTTP_500  # high beats medium


def test_certificate_only_judged_on_the_home_page() -> None:
    o = obs(cert_not_after=NOW + dt.timedelta(days=3), kind="check")
    assert classify_all(o, S, NOW) == []


def test_thresholds_come_from_settings() -> None:
    strict = ProbeSettings(slow_first_byte=0.1, cert_warning_days=60, cert_critical_days=45)
    assert classify(obs(ttfb=0.2, total=0.3), strict, NOW).failure_class is FC.SLOW
    o = obs(cert_not_after=NOW + dt.timedelta(days=40))
    assert classify(o, strict, NOW).priority is Priority.MEDIUM


# --- the feed -------------------------------------------------------------------------------------

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>A</title></channel></rss>'
ATOM = b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title></feed>'
RDF = b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"></rdf:RDF>'
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><rss>&lol2;</rss>'
)
EXTERNAL = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss>&x;</rss>'
)


@pytest.mark.parametrize(
    ("body", "ok", "words"),
    [
        (RSS, True, ""),
        (ATOM, True, ""),
        (RDF, True, ""),
        (b"", False, "empty"),
        (b"<rss><channel></rss>", False, "not well-formed"),
        (b"<br /><b>Warning</b>: headers already sent" + RSS, False, "not well-formed"),
        (b"<html><body>Hi</body></html>", False, "not RSS or Atom"),
        (LAUGHS, False, "entities"),
        (EXTERNAL, False, "entities"),
    ],
)
def test_classify_feed(body: bytes, ok: bool, words: str) -> None:
    finding = classify_feed(body)
    assert (finding.failure_class is FC.OK) is ok
    assert words in finding.detail
    if not ok:
        assert finding.failure_class is FC.RSS_INVALID


@pytest.mark.parametrize(
    ("o", "cls"),
    [
        (obs(200, RSS, kind="feed"), FC.OK),
        (obs(200, b"<rss>", kind="feed"), FC.RSS_INVALID),
        (obs(404, b"nope", kind="feed"), FC.RSS_INVALID),
        (err("timeout", kind="feed"), FC.RSS_INVALID),
        (obs(200, b"<rss>", kind="feed", body_truncated=True), FC.OK),
    ],
)
def test_feed_observations(o: Observation, cls: FailureClass) -> None:
    assert classify(o, S, NOW).failure_class is cls


# --- helpers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        (b"<link href='https://a.co/wp-content/themes/x.css'>", {}, True),
        (b'<meta name="generator" content="WordPress 6.5">', {}, True),
        (b"<html></html>", {"link": '<https://a.co/wp-json/>; rel="https://api.w.org/"'}, True),
        (b"", {"x-pingback": "https://a.co/xmlrpc.php"}, True),
        (b"<html><body>Drupal</body></html>", {"x-generator": "Drupal 10"}, False),
        (None, {}, False),
    ],
)
def test_looks_like_wordpress(body, headers, expected: bool) -> None:
    assert looks_like_wordpress(body, headers) is expected


@pytest.mark.parametrize(
    ("body", "visible"),
    [
        (b"<html><body><p>Hola</p></body></html>", True),
        (b"plain words", True),
        (b"<html><head><title>T</title></head><body></body></html>", False),
        (b"<body><!-- <p>hidden</p> --></body>", False),
        (b"<body><script>document.write('<p>x</p>')</script></body>", False),
        (b"<body><noscript>Enable JS</noscript><svg></svg></body>", True),
        (b"<body>&nbsp;&#160;\xc2\xa0</body>", False),
        (b"<body><style>p{color:red}</style><script>", False),
        (b"<BODY><P>Upper</P></BODY>", True),
    ],
)
def test_has_visible_text(body: bytes, visible: bool) -> None:
    assert has_visible_text(body) is visible


def test_worst_and_effective_priority() -> None:
    low = Finding(FC.RSS_INVALID, None, "feed")
    medium = Finding(FC.SLOW, None, "slow")
    forced = Finding(FC.HTTP_404, Priority.MEDIUM, "404 on /cart/")
    high = Finding(FC.HTTP_500, None, "500")
    assert worst([]).failure_class is FC.OK
    assert worst([low, medium, forced]) is medium  # first among equals
    assert worst([low, forced, high]) is high
    assert effective_priority(forced) is Priority.MEDIUM
    assert effective_priority(low, {FC.RSS_INVALID: Priority.HIGH}) is Priority.HIGH
    assert worst([medium, low], {FC.RSS_INVALID: Priority.HIGH}) is low


# --- properties ----------------------------------------------------------------------------------


def test_an_unusable_location_is_named_with_why() -> None:
    o = obs(302, b"", headers={"location": "ftp://x/\x1b[2J"}, location_error="not an http(s) URL")
    finding = classify(o, S, NOW)
    assert finding.detail == (
        "a redirect to an unusable Location 'ftp://x/\\x1b[2J' (not an http(s) URL) "
        "from https://acme.example/"
    )


@settings(max_examples=200, deadline=None)
@given(
    status=st.one_of(st.none(), st.integers(100, 599)),
    body=st.one_of(st.none(), st.binary(max_size=300)),
    error=st.one_of(
        st.none(),
        st.sampled_from(["refused", "dns", "timeout", "protocol", "redirect_refused", "odd"]),
    ),
    kind=st.sampled_from(["home", "check", "feed"]),
)
def test_classify_never_raises(status, body, error, kind) -> None:
    o = Observation(url="http://a/", status_code=status, body=body, error=error, kind=kind)
    finding = classify(o, S, NOW, keyword="k")
    assert isinstance(finding.failure_class, FailureClass)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=400), cut=st.integers(1, 50))
def test_reader_fails_only_with_probe_errors(data: bytes, cut: int) -> None:
    loop = asyncio.new_event_loop()
    try:
        reader = _Reader(loop.create_future(), 1000, stop_at_redirect=True)
        raw = b"HTTP/1.1 200 OK\r\n" + data
        for i in range(0, len(raw), cut):
            reader.data_received(raw[i : i + cut])
        reader.eof_received()
        assert reader.waiter.done()
        exc = reader.waiter.exception()
        assert exc is None or isinstance(exc, ProbeError)
        assert len(reader.body) <= 1000
    finally:
        loop.close()
