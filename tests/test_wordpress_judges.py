"""The WordPress-health judges, pure: versions, PHP's end of life, the page scan, PHP
warnings, the REST root, Google's answers, and the firewall signatures of `blocked`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from ronda.checks.classify import Observation, classify
from ronda.checks.waf import firewall_of
from ronda.checks.wordpress import core, debug, page, php, rest, safe_browsing
from ronda.config import ProbeSettings
from ronda.model import (
    DEFAULT_CLASS_PRIORITY,
    HOME_DOWN,
    FailureClass,
    Priority,
    family_of,
)

FC = FailureClass
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)

# The version-check API's answer (format 1.7), trimmed to the fields read.
API = json.dumps(
    {
        "offers": [
            {"response": "upgrade", "version": "6.7.1", "current": "6.7.1"},
            {"response": "autoupdate", "version": "6.7.1", "current": "6.7.1"},
            {"response": "autoupdate", "version": "6.6.2", "current": "6.6.2"},
            {"response": "autoupdate", "version": "6.5.5", "current": "6.5.5"},
        ],
        "translations": [],
    }
).encode()


# --- core version ----------------------------------------------------------------------------


def test_versions_parse_and_show() -> None:
    assert core.parse_version("6.6") == (6, 6, 0)
    assert core.parse_version("6.6.2") == (6, 6, 2)
    assert core.parse_version("6.x") is None and core.parse_version("") is None
    assert core.shown((6, 6, 0)) == "6.6" and core.shown((6, 6, 2)) == "6.6.2"
    assert core.version_from_generator("WordPress 6.6.2") == (6, 6, 2)
    assert core.version_from_generator("Elementor 3.2") is None
    feed = b"<rss><channel><generator>https://wordpress.org/?v=6.5.3</generator></channel>"
    assert core.version_from_feed(feed) == (6, 5, 3)


def test_releases_from_the_version_check_api() -> None:
    releases = core.releases_from_api(API)
    assert releases is not None
    assert releases.current == (6, 7, 1)
    assert releases.latest_of((6, 6)) == (6, 6, 2)
    assert releases.latest_of((6, 7)) == (6, 7, 1)
    assert core.releases_from_api(b"<html>") is None
    assert core.releases_from_api(b'{"offers": []}') is None
    assert core.releases_from_api(b"[1, 2]") is None


@pytest.mark.parametrize(
    ("site", "outdated"),
    [
        ("6.7.1", False),  # current
        ("6.8", False),  # newer than the release known (a beta): nothing to say
        ("6.6.2", False),  # one feature release behind, its branch patched
        ("6.6.1", True),  # misses 6.6.2, its branch's security release
        ("6.7", True),  # misses 6.7.1
        ("6.5.5", True),  # two feature releases behind
        ("5.9.3", True),  # across the 5.9 -> 6.0 boundary: 8 behind
    ],
)
def test_judge_core(site: str, outdated: bool) -> None:
    releases = core.releases_from_api(API)
    finding = core.judge_core(core.parse_version(site), releases)
    assert (finding is not None) is outdated
    if finding is not None:
        assert finding.failure_class is FC.WP_OUTDATED
        assert site in finding.detail


def test_judge_core_with_the_config_latest_only() -> None:
    releases = core.Releases((6, 7, 1))
    assert core.judge_core((6, 6, 1), releases) is None  # its branch's patch is unknown
    assert core.judge_core((6, 5, 5), releases) is not None
    assert "misses 6.7.1" in core.judge_core((6, 7, 0), releases).detail  # type: ignore[union-attr]
    assert core.judge_core(None, releases) is None
    assert core.judge_core((6, 0, 0), None) is None


# --- PHP ---------------------------------------------------------------------------------------


def test_php_version_from_x_powered_by() -> None:
    assert php.php_version("PHP/8.2.24") == (8, 2, 24)
    assert php.php_version("PleskLin, PHP/7.4.33") == (7, 4, 33)
    assert php.php_version("ASP.NET") is None and php.php_version(None) is None


def test_php_eol_dates_ship_with_the_package() -> None:
    dates = php.eol_dates()
    assert dates[(8, 1)] == date(2025, 12, 31) and dates[(7, 4)] == date(2022, 11, 28)
    assert php.eol_of((5, 2)) is not None  # older than the table: long unsupported
    assert php.eol_of((9, 0)) is None  # newer than the table: current


@pytest.mark.parametrize(
    ("version", "eol", "words"),
    [
        ((8, 3, 14), False, ""),  # supported until 2027-12-31
        ((8, 2, 24), True, "in 29 days"),  # ends 2026-12-31: within 30 days of NOW
        ((8, 1, 31), True, "since 2025-12-31"),
        ((7, 4, 33), True, "since 2022-11-28"),
        ((5, 4, 0), True, "no security support"),
        ((9, 1, 0), False, ""),
    ],
)
def test_judge_php(version: tuple[int, int, int], eol: bool, words: str) -> None:
    finding = php.judge_php(version, NOW)
    assert (finding is not None) is eol
    if finding is not None:
        assert finding.failure_class is FC.PHP_EOL and words in finding.detail


def test_judge_php_warning_days_is_the_boundary() -> None:
    assert php.judge_php((8, 2, 0), NOW, warning_days=28) is None
    assert php.judge_php((8, 2, 0), NOW, warning_days=30) is not None


# --- the page --------------------------------------------------------------------------------

PAGE = b"""<!DOCTYPE html><html><head>
<meta name="generator" content="WordPress 6.6.2" />
<link rel="stylesheet" href="http://cdn.example/style.css">
<link rel="alternate" href="http://example.test/feed/">
<script src="http://cdn.example/app.js"></script>
<script src="/wp-includes/js/ok.js"></script>
</head><body>
<a href="http://elsewhere.example/">a link is navigation, not mixed content</a>
<img src="/wp-content/uploads/a.jpg"
 srcset="/wp-content/uploads/a-300.jpg 300w, http://x.test/b.jpg 2x">
<img src="https://cdn.other.example/c.jpg">
<img src="data:image/gif;base64,R0lGOD">
<iframe src="http://maps.example/embed"></iframe>
<form action="http://x.test/">
</body></html>"""


def test_scan_page_finds_generator_insecure_loads_and_images() -> None:
    facts = page.scan_page(PAGE)
    assert facts.generator == "WordPress 6.6.2"
    assert facts.insecure == [
        "http://cdn.example/style.css",
        "http://cdn.example/app.js",
        "http://x.test/b.jpg",
        "http://maps.example/embed",
    ]
    assert "data:image/gif;base64,R0lGOD" not in facts.images
    urls = page.own_images("https://shop.test/", facts, limit=5)
    assert urls == [
        "https://shop.test/wp-content/uploads/a.jpg",
        "https://shop.test/wp-content/uploads/a-300.jpg",
    ]
    assert page.own_images("https://shop.test/", facts, limit=1) == urls[:1]


def test_mixed_content_only_on_https_pages() -> None:
    facts = page.scan_page(PAGE)
    finding = page.judge_mixed_content("https://shop.test/", facts)
    assert finding is not None and finding.failure_class is FC.MIXED_CONTENT
    assert "4 resource(s)" in finding.detail and "and 1 more" in finding.detail
    assert page.judge_mixed_content("http://shop.test/", facts) is None
    clean = page.scan_page(b'<img src="https://shop.test/a.jpg"><a href="http://x/">x</a>')
    assert page.judge_mixed_content("https://shop.test/", clean) is None


def test_page_scan_is_bounded() -> None:
    many = b"".join(b'<img src="http://x.test/%d.jpg">' % i for i in range(10_000))
    facts = page.scan_page(many)
    assert len(facts.insecure) == page.MAX_URLS and len(facts.images) == page.MAX_URLS
    assert page.scan_page(b"<" * 100_000 + b"<img").images == []  # garbage costs nothing


def test_judge_images() -> None:
    assert page.judge_images([("u1", 200, ""), ("u2", None, "timeout")]) is None
    finding = page.judge_images([("https://s/a.jpg", 404, ""), ("https://s/b.jpg", 200, "")])
    assert finding is not None and finding.failure_class is FC.BROKEN_IMAGES
    assert "1 of 2" in finding.detail and "a.jpg (HTTP 404)" in finding.detail


# --- PHP warnings ------------------------------------------------------------------------------


def test_php_warnings_keep_the_message_and_a_short_path() -> None:
    body = (
        b"<html><body><br />\n<b>Warning</b>:  Undefined variable $price in "
        b"<b>/home/cliente7/public_html/wp-content/plugins/tienda/precio.php</b> on line "
        b"<b>42</b><br />\n<br />\n<b>Deprecated</b>:  Function create_function() is "
        b"deprecated in <b>/home/cliente7/public_html/wp-includes/x.php</b> on line <b>7</b>"
        b"<br />\nNotice: Trying to get property in /srv/www/lib/helper.php on line 3\n"
        b"<p>Hola</p></body></html>"
    )
    messages = debug.php_messages(body)
    assert messages == [
        "Warning: Undefined variable $price in wp-content/plugins/tienda/precio.php on line 42",
        "Deprecated: Function create_function() is deprecated in wp-includes/x.php on line 7",
        "Notice: Trying to get property in helper.php on line 3",
    ]
    finding = debug.judge_php_warnings(200, body)
    assert finding is not None and finding.failure_class is FC.PHP_WARNING
    assert "/home/cliente7" not in finding.detail
    assert debug.judge_php_warnings(500, body) is None  # an error page is classified elsewhere


def test_redact_paths_keeps_the_wordpress_part() -> None:
    text = (
        "<b>Warning</b>:  x in <b>/home/u/public_html/wp-content/plugins/p/p.php</b> on line "
        "<b>3</b> Notice: y in /srv/www/lib/helper.php on line 9; a path /etc/passwd stays"
    )
    assert debug.redact_paths(text) == (
        "<b>Warning</b>:  x in <b>wp-content/plugins/p/p.php</b> on line "
        "<b>3</b> Notice: y in helper.php on line 9; a path /etc/passwd stays"
    )


def test_prose_about_warnings_is_not_a_warning() -> None:
    body = b"<p>Warning: our shop closes early on line 5 of the schedule.</p>"
    assert debug.judge_php_warnings(200, body) is None
    assert debug.judge_php_warnings(200, b"<p>Hola</p>") is None


# --- REST --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "ctype", "body", "broken", "words"),
    [
        (200, "application/json", b'{"name":"Tienda","namespaces":["wp/v2"]}', False, ""),
        (200, "text/html", b"<html>critical error</html>", True, "not JSON (text/html)"),
        (
            401,
            "application/json",
            b'{"code":"rest_disabled","message":"no"}',
            True,
            "rest_disabled",
        ),
        (404, "text/html", b"<html>Not found</html>", True, "HTTP 404 is not JSON"),
        (200, "application/json", b"[]", True, "not the REST index"),
        (500, "application/json", b'{"code":"internal_server_error"}', True, "HTTP 500"),
    ],
)
def test_judge_rest(status: int, ctype: str, body: bytes, broken: bool, words: str) -> None:
    finding = rest.judge_rest("https://s/wp-json/", status, ctype, body)
    assert (finding is not None) is broken
    if finding is not None:
        assert finding.failure_class is FC.WP_REST_BROKEN and words in finding.detail


def test_judge_rest_transport_error_and_truncated_index() -> None:
    assert rest.judge_rest("u", None, "", None, error="timeout") is not None
    assert rest.judge_rest("u", 200, "application/json", b'{"nam', truncated=True) is None


# --- Safe Browsing / Web Risk ----------------------------------------------------------------


def test_safe_browsing_answers() -> None:
    match = {
        "matches": [
            {
                "threatType": "SOCIAL_ENGINEERING",
                "platformType": "ANY_PLATFORM",
                "threat": {"url": "https://s/"},
                "cacheDuration": "300s",
                "threatEntryType": "URL",
            }
        ]
    }
    assert safe_browsing.threats_of("safebrowsing", json.dumps(match).encode()) == [
        "SOCIAL_ENGINEERING"
    ]
    assert safe_browsing.threats_of("safebrowsing", b"{}") == []
    webrisk = {"threat": {"threatTypes": ["MALWARE"], "expireTime": "2026-12-03T00:00:00Z"}}
    assert safe_browsing.threats_of("webrisk", json.dumps(webrisk).encode()) == ["MALWARE"]
    with pytest.raises(safe_browsing.AnswerError):
        safe_browsing.threats_of("webrisk", b"<html>")
    finding = safe_browsing.judge_threats("https://s/", "webrisk", ["MALWARE"])
    assert finding is not None and finding.failure_class is FC.FLAGGED_UNSAFE
    assert safe_browsing.judge_threats("https://s/", "webrisk", []) is None
    body = safe_browsing.safe_browsing_body(["https://s/"])
    assert body["threatInfo"]["threatEntries"] == [{"url": "https://s/"}]


# --- blocked: firewall signatures split out of 403 ---------------------------------------------

SETTINGS = ProbeSettings()


def obs(status: int, body: bytes, headers: dict[str, str] | None = None) -> Observation:
    return Observation(url="https://s/", status_code=status, headers=headers or {}, body=body)


@pytest.mark.parametrize(
    ("status", "body", "headers", "firewall"),
    [
        (406, b"<title>Not Acceptable!</title> ... Mod_Security", {}, "ModSecurity"),
        (403, b"<h1>Access denied by Imunify360 bot-protection</h1>", {}, "Imunify360"),
        (503, b"Your access to this site has been limited by the site owner", {}, "Wordfence"),
        (403, b"<title>Just a moment...</title>", {"cf-mitigated": "challenge"}, "Cloudflare"),
        (403, b"Sorry, you have been blocked", {"server": "cloudflare"}, "Cloudflare"),
        (403, b"Access Denied - Sucuri Website Firewall", {"x-sucuri-block": "BL1"}, "Sucuri"),
    ],
)
def test_firewall_pages_are_blocked(
    status: int, body: bytes, headers: dict[str, str], firewall: str
) -> None:
    assert firewall_of(status, headers, body) == firewall
    finding = classify(obs(status, body, headers), SETTINGS, NOW)
    assert finding.failure_class is FC.BLOCKED and firewall in finding.detail


def test_plain_403_stays_http_403_and_prose_about_firewalls_is_not_a_block() -> None:
    assert classify(obs(403, b"Forbidden"), SETTINGS, NOW).failure_class is FC.HTTP_403
    page_200 = b"<p>We use Wordfence and Cloudflare. Sorry, you have been blocked? No.</p>"
    assert classify(obs(200, page_200), SETTINGS, NOW).failure_class is FC.OK


def test_reset_right_after_connect_is_blocked_a_clean_close_is_not() -> None:
    reset = Observation(url="https://s/", error="reset_by_peer", error_detail="RST")
    closed = Observation(url="https://s/", error="reset", error_detail="FIN")
    assert classify(reset, SETTINGS, NOW).failure_class is FC.BLOCKED
    assert classify(closed, SETTINGS, NOW).failure_class is FC.HTTP_502


# --- the classes in the vocabulary -------------------------------------------------------------


def test_new_classes_have_priority_family_and_blocked_hides_the_rest() -> None:
    new = {
        FC.WP_OUTDATED: (Priority.LOW, "updates"),
        FC.PHP_EOL: (Priority.LOW, "php_version"),
        FC.MIXED_CONTENT: (Priority.MEDIUM, "mixed_content"),
        FC.BROKEN_IMAGES: (Priority.MEDIUM, "images"),
        FC.PHP_WARNING: (Priority.MEDIUM, "php_debug"),
        FC.WP_REST_BROKEN: (Priority.MEDIUM, "rest_api"),
        FC.LOGIN_REDIRECT_LOOP: (Priority.MEDIUM, "login"),
        FC.BLOCKED: (Priority.MEDIUM, "blocked"),
        FC.FLAGGED_UNSAFE: (Priority.HIGH, "safe_browsing"),
    }
    for cls, (priority, family) in new.items():
        assert DEFAULT_CLASS_PRIORITY[cls] is priority and family_of(cls) == family
    assert FC.BLOCKED in HOME_DOWN and family_of(FC.BLOCKED) != "down"
    assert not (set(new) - {FC.BLOCKED}) & HOME_DOWN


def test_comments_and_script_bodies_load_nothing() -> None:
    body = (
        b'<!-- <img src="http://a.test/x.jpg"> --><script>document.write("<img '
        b'src=http://b.test/y.jpg>")</script><script src="http://c.test/z.js"></script>'
        b'<img src="/ok.jpg"><script src=/local.js>'
    )
    facts = page.scan_page(body)
    assert facts.insecure == ["http://c.test/z.js"] and facts.images == ["/ok.jpg"]


def test_hostile_text_reaches_details_escaped() -> None:
    esc = "\x1b[31m"
    facts = page.scan_page(f'<script src="http://x.test/{esc}a.js"></script>'.encode())
    finding = page.judge_mixed_content("https://s/", facts)
    assert finding is not None and "\x1b" not in finding.detail and "\\x1b" in finding.detail
    body = f"<b>Warning</b>:  bad {esc}thing in <b>/h/wp-content/x.php</b> on line <b>1</b>"
    warning = debug.judge_php_warnings(200, body.encode())
    assert warning is not None and "\x1b" not in warning.detail
    broken = rest.judge_rest("u", 403, "text/html\x07", b"<p>no</p>")
    assert broken is not None and "\x07" not in broken.detail
    coded = rest.judge_rest("u", 401, "application/json", b'{"code": "x\\u001b[2J"}')
    assert coded is not None and "\x1b" not in coded.detail
    threats = safe_browsing.threats_of("webrisk", b'{"threat": {"threatTypes": ["M\\u001bX"]}}')
    assert threats == ["M\\x1bX"]


def test_huge_or_deep_answers_are_refused_cheaply() -> None:
    assert (
        core.releases_from_api(b'{"offers": [' + b'{"version": "6.7.1"},' * 20_000 + b"{}]}")
        is None
    )
    with pytest.raises(safe_browsing.AnswerError):
        safe_browsing.threats_of("safebrowsing", b" " * (safe_browsing.MAX_ANSWER_BYTES + 1))
    assert debug.php_messages(b"Warning: x in /a.php on line 1\n" * 100_000)[:1]
    assert len(debug.php_messages(b"Warning: x in /a.php on line 1\n" * 5)) == 1
    deep = b"[" * 200_000
    assert rest.judge_rest("u", 200, "application/json", deep) is not None
    assert core.releases_from_api(b"[" * 100_000) is None
    with pytest.raises(safe_browsing.AnswerError):
        safe_browsing.threats_of("webrisk", b"[" * 100_000)
