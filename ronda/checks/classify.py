"""The failure classifier: what a probe saw -> the contract's failure class. Pure, no I/O.

Order of the checks (first match wins for the availability finding):

1. transport errors: dns, refused, timeout, redirect_loop, redirect_refused (a redirect into
   a network the probe stays out of: medium off the home page), ssl_* (an expired certificate
   wins over "untrusted" or "wrong host": renewing it is what the agent must ask for), and
   protocol errors (a malformed response is what a proxy reports as 502, so it is http_502);
2. WordPress's own pages before the generic status: wp_maintenance (503 + maintenance
   text), wp_db_connection, php_fatal_timeout, php_syntax_error, php_fatal;
3. a firewall's block page or challenge (ModSecurity, Imunify360, Wordfence, Sucuri,
   Cloudflare; `ronda.checks.waf`) is `blocked`, and so is a reset right after connecting;
   then the status: 5xx, 403/404 (medium on a path that is not the home page), other codes (a
   redirect with no Location, or one that cannot be followed, is content_missing);
4. on 2xx: white_screen (blank body or HTML without visible text), then the keyword of a
   check path (content_missing);
5. slow (first byte or total above the site's thresholds).

A valid certificate close to expiry is a second, separate finding (ssl_expiring, its own
ticket family). The /feed/ of a WordPress site fails as rss_invalid, unless a firewall
blocks it (its block page, or a reset right after connecting): that is `blocked`, an address
to unblock, not a broken feed.

Body signatures are matched with care for false positives: on an error status anywhere in
the body; on 2xx only inside WordPress's `wp_die` page (`<body id="error-page">`) or PHP's
own error format (`<b>Fatal error</b>:` / "... in FILE on line N"), so a blog post *about*
"Error establishing a database connection" is not an outage.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from xml.parsers import expat

from ronda.checks.waf import firewall_of
from ronda.config import ProbeSettings
from ronda.model import DEFAULT_CLASS_PRIORITY, FailureClass, Priority
from ronda.page_signatures import MAINTENANCE, PHP_PLAIN, SIGNATURES

FC = FailureClass


@dataclass(frozen=True)
class Observation:
    """What one probe of one URL saw (after following redirects)."""

    url: str
    path: str = "/"  # the path asked for: "/" or the site's home path, or a check path
    status_code: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes | None = None  # decoded (gunzipped) and capped at max_body_bytes
    body_truncated: bool = False
    # refused, dns, timeout, redirect_loop, redirect_refused, ssl_*, protocol. A refused
    # redirect keeps the status and headers of the redirect that pointed off-limits.
    error: str | None = None
    error_detail: str = ""
    ttfb: float | None = None  # seconds from request sent to first response byte
    total: float = 0.0  # seconds, the whole probe including redirects
    cert_not_after: datetime | None = None
    redirects: int = 0
    kind: str = "home"  # "home", "check" (a keyword check path) or "feed"
    final_url: str | None = None  # where redirects ended
    phases: Mapping[str, float] = field(default_factory=dict)  # dns/connect/tls/first_byte/transfer
    cert_subject: str | None = None
    cert_issuer: str | None = None
    peer: str | None = None  # "ip:port" of the last answer (or of the failed connection)
    location_error: str = ""  # why a redirect's Location could not be followed


@dataclass(frozen=True)
class Finding:
    """One failing check. `priority` overrides the class default when set."""

    failure_class: FailureClass
    priority: Priority | None = None
    detail: str = ""


OK = Finding(FC.OK, None, "")


def effective_priority(
    finding: Finding, class_priority: Mapping[FailureClass, Priority] | None = None
) -> Priority | None:
    """The finding's priority: its override, else the configured or default class priority."""
    if finding.failure_class is FC.OK:
        return None
    if finding.priority is not None:
        return finding.priority
    if class_priority and finding.failure_class in class_priority:
        return class_priority[finding.failure_class]
    return DEFAULT_CLASS_PRIORITY.get(finding.failure_class, Priority.MEDIUM)


def worst(
    findings: Iterable[Finding], class_priority: Mapping[FailureClass, Priority] | None = None
) -> Finding:
    """The highest-priority finding; the first one among equals; OK if there is none."""
    best: Finding = OK
    best_rank = -1
    for f in findings:
        p = effective_priority(f, class_priority)
        rank = p.rank if p is not None else -1
        if rank > best_rank:
            best, best_rank = f, rank
    return best


# --- transport errors ---------------------------------------------------------------------

_ERROR_CLASS: dict[str, FailureClass] = {
    "refused": FC.REFUSED,
    "dns": FC.DNS,
    "timeout": FC.TIMEOUT,
    "redirect_loop": FC.REDIRECT_LOOP,
    "redirect_refused": FC.REDIRECT_REFUSED,
    "ssl_expired": FC.SSL_EXPIRED,
    "ssl_untrusted": FC.SSL_UNTRUSTED,
    "ssl_hostname": FC.SSL_HOSTNAME,
    "ssl_error": FC.SSL_UNTRUSTED,  # handshake failed for another reason: not a safe site
    "protocol": FC.HTTP_502,  # what a proxy answers when the upstream talks nonsense
    "reset": FC.HTTP_502,
    # A TCP reset right after connecting, before any byte: what a firewall dropping the
    # prober's address does (a clean close without an answer stays http_502).
    "reset_by_peer": FC.BLOCKED,
}

_ERROR_WORDS = {
    "refused": "connection refused",
    "dns": "name not resolved",
    "timeout": "timed out",
    "redirect_loop": "redirect loop",
    "redirect_refused": "redirect refused",
    "ssl_expired": "certificate expired",
    "ssl_untrusted": "certificate not trusted",
    "ssl_hostname": "certificate does not match the host name",
    "ssl_error": "TLS handshake failed",
    "protocol": "invalid HTTP response",
    "reset": "connection closed without a response",
    "reset_by_peer": "connection reset right after connecting (a firewall blocking the desk?)",
}

# --- WordPress and PHP signatures ---------------------------------------------------------

# The signatures themselves live with the core (`ronda.page_signatures`): the ticket
# screen marks what matched in the page excerpt with the same patterns.
_MAINTENANCE, _SIGNATURES, _PHP_PLAIN = MAINTENANCE, SIGNATURES, PHP_PLAIN


def _signature(body: bytes, status: int) -> tuple[FailureClass, str] | None:
    if status < 400:
        # On a 2xx page only WordPress's wp_die page or PHP's own error format count.
        if not (
            b'id="error-page"' in body
            or b"error</b>:" in body
            or (b" on line " in body and _PHP_PLAIN.search(body))
        ):
            return None
    for cls, pattern, words in _SIGNATURES:
        if pattern.search(body):
            return cls, words
    return None


# --- visible text -------------------------------------------------------------------------

_TOKEN = re.compile(rb"<!--.*?(?:-->|\Z)|<(/?)([a-zA-Z][a-zA-Z0-9:-]*)[^>]*>|<[!?][^>]*>", re.S)
_RAW_END = {
    name: re.compile(rb"</" + name + rb"\s*>", re.I)
    for name in (b"script", b"style", b"template", b"noscript", b"title", b"head", b"textarea")
}
_VISIBLE_ELEMENTS = frozenset(
    {
        b"img",
        b"svg",
        b"video",
        b"iframe",
        b"canvas",
        b"object",
        b"embed",
        b"input",
        b"button",
        b"select",
        b"picture",
    }
)
_NBSP = re.compile(rb"&nbsp;|&#160;|&#xa0;|\xc2\xa0|\xe2\x80\x8b", re.I)


def _has_text(segment: bytes) -> bool:
    segment = segment.strip()
    if not segment:
        return False
    return bool(_NBSP.sub(b"", segment).strip())


def has_visible_text(body: bytes) -> bool:
    """Whether an HTML page shows anything: text outside tags, scripts, styles, or an image.

    Stops at the first visible thing, so a normal page costs a few microseconds.
    """
    start = body.find(b"<body")
    if start < 0:
        start = body.find(b"<BODY")
    pos = max(start, 0)
    length = len(body)
    while pos < length:
        m = _TOKEN.search(body, pos)
        if m is None:
            return _has_text(body[pos:])
        if m.start() > pos and _has_text(body[pos : m.start()]):
            return True
        pos = m.end()
        name = m.group(2)
        if name is None or m.group(1):
            continue
        name = name.lower()
        end = _RAW_END.get(name)
        if end is not None:
            close = end.search(body, pos)
            if close is None:
                return False  # the rest of the document is inside the raw element
            pos = close.end()
        elif name in _VISIBLE_ELEMENTS:
            return True
    return False


def _is_blank(body: bytes | None, content_type: str) -> bool:
    if not body or not body.strip():
        return True
    if "html" in content_type or (not content_type and body.lstrip()[:1] == b"<"):
        return not has_visible_text(body)
    return False


# --- WordPress recognition ----------------------------------------------------------------

_WP_BODY_MARKERS = (b"/wp-content/", b"/wp-includes/", b'content="WordPress', b"wp-die-message")


def looks_like_wordpress(body: bytes | None, headers: Mapping[str, str]) -> bool:
    """Whether a response comes from WordPress: REST API link, pingback, asset paths."""
    link = headers.get("link", "")
    if "api.w.org" in link or "/wp-json/" in link:
        return True
    if "xmlrpc.php" in headers.get("x-pingback", ""):
        return True
    if body:
        return any(marker in body for marker in _WP_BODY_MARKERS)
    return False


# --- the feed -----------------------------------------------------------------------------


class _Refused(Exception):
    pass


def _refuse(*_args: object) -> None:
    raise _Refused


_FEED_ROOTS = frozenset({"rss", "feed", "RDF"})


def classify_feed(body: bytes | None) -> Finding:
    """rss_invalid unless `body` is a well-formed RSS/Atom/RDF document.

    expat with every entity declaration refused (no billion laughs, no external entities,
    no network), so a hostile feed costs no more than its own bytes.
    """
    if not body or not body.strip():
        return Finding(FC.RSS_INVALID, None, "feed is empty")
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    root: list[str] = []

    def start(name: str, _attrs: object) -> None:
        root.append(name)
        parser.StartElementHandler = None  # only the root matters; spare the rest

    parser.StartElementHandler = start
    try:
        parser.Parse(body, True)
    except _Refused:
        return Finding(FC.RSS_INVALID, None, "feed declares XML entities (refused)")
    except expat.ExpatError as exc:
        return Finding(
            FC.RSS_INVALID,
            None,
            f"feed is not well-formed XML: {expat.ErrorString(exc.code)} "
            f"(line {exc.lineno}, column {exc.offset})",
        )
    name = root[0] if root else ""
    if name.rpartition(":")[2] not in _FEED_ROOTS:
        return Finding(FC.RSS_INVALID, None, f"feed root element is <{name}>, not RSS or Atom")
    return OK


# --- the classifier -----------------------------------------------------------------------

_GATEWAY = frozenset({504, 520, 521, 522, 523, 524, 525, 526, 527, 530})


def _status_finding(status: int, obs: Observation) -> Finding | None:
    where = obs.url
    off_home = None if obs.kind == "home" else Priority.MEDIUM
    if status >= 500:
        if status in (500, 502, 503):
            cls = FailureClass(f"http_{status}")
        elif status in _GATEWAY:
            cls = FC.HTTP_502
        else:
            cls = FC.HTTP_500
        return Finding(cls, None, f"HTTP {status} from {where}")
    if status in (401, 403, 407):
        return Finding(FC.HTTP_403, off_home, f"HTTP {status} from {where}")
    if status in (404, 410):
        return Finding(FC.HTTP_404, off_home, f"HTTP {status} from {where}")
    if status == 429:
        retry = obs.headers.get("retry-after")
        extra = f", Retry-After {retry}" if retry else ""
        return Finding(FC.HTTP_503, None, f"HTTP 429 (rate limited{extra}) from {where}")
    if status >= 300:
        location = obs.headers.get("location")
        if status >= 400:
            what = f"HTTP {status}"
        elif location and obs.location_error:
            what = f"a redirect to an unusable Location {location[:200]!r} ({obs.location_error})"
        else:
            what = "a redirect without a usable Location"
        return Finding(FC.CONTENT_MISSING, None, f"{what} from {where}")
    return None


def _availability(obs: Observation, settings: ProbeSettings, keyword: str | None) -> Finding | None:
    if obs.error is not None:
        cls = _ERROR_CLASS.get(obs.error, FC.HTTP_502)
        words = _ERROR_WORDS.get(obs.error, obs.error)
        detail = f"{words}: {obs.url}" + (f" ({obs.error_detail})" if obs.error_detail else "")
        prio = None
        if cls in (FC.REDIRECT_LOOP, FC.REDIRECT_REFUSED) and obs.kind != "home":
            prio = Priority.MEDIUM
        return Finding(cls, prio, detail)
    status = obs.status_code
    if status is None:
        return Finding(FC.HTTP_502, None, f"no response from {obs.url}")
    body = obs.body or b""
    if status == 503 and _MAINTENANCE.search(body):
        return Finding(FC.WP_MAINTENANCE, None, f"WordPress maintenance mode on {obs.url}")
    if body:
        sig = _signature(body, status)
        if sig is not None:
            cls, words = sig
            return Finding(cls, None, f"{words} (HTTP {status}) on {obs.url}")
    firewall = firewall_of(status, obs.headers, body)
    if firewall is not None:
        return Finding(
            FC.BLOCKED, None, f"{firewall} blocks the desk's probes (HTTP {status}) on {obs.url}"
        )
    bad = _status_finding(status, obs)
    if bad is not None:
        return bad
    if not obs.body_truncated and _is_blank(obs.body, obs.headers.get("content-type", "")):
        return Finding(FC.WHITE_SCREEN, None, f"blank page (HTTP {status}) on {obs.url}")
    if keyword and not _contains(obs, keyword):
        scope = f" in the first {len(body)} bytes" if obs.body_truncated else ""
        return Finding(FC.CONTENT_MISSING, None, f"{keyword!r} not found{scope} on {obs.url}")
    return _slow(obs, settings)


def _contains(obs: Observation, keyword: str) -> bool:
    body = obs.body or b""
    if keyword.encode() in body:
        return True
    # Case and charset differences should not open a ticket: compare folded text.
    charset = "utf-8"
    ctype = obs.headers.get("content-type", "")
    if "charset=" in ctype:
        charset = ctype.split("charset=", 1)[1].split(";")[0].strip().strip('"') or charset
    try:
        text = body.decode(charset, errors="replace")
    except LookupError:
        text = body.decode("utf-8", errors="replace")
    return keyword.casefold() in text.casefold()


def _slow(obs: Observation, settings: ProbeSettings) -> Finding | None:
    if obs.ttfb is not None and obs.ttfb > settings.slow_first_byte:
        return Finding(
            FC.SLOW,
            None,
            f"first byte after {obs.ttfb:.2f} s (limit {settings.slow_first_byte:g} s) "
            f"on {obs.url}",
        )
    if obs.total > settings.slow_total:
        return Finding(
            FC.SLOW,
            None,
            f"answered in {obs.total:.2f} s (limit {settings.slow_total:g} s) on {obs.url}",
        )
    return None


def _certificate(obs: Observation, settings: ProbeSettings, now: datetime) -> Finding | None:
    if obs.cert_not_after is None or obs.error is not None:
        return None
    days = (obs.cert_not_after - now).total_seconds() / 86400.0
    when = obs.cert_not_after.strftime("%Y-%m-%d %H:%M UTC")
    if days < 0:
        return Finding(FC.SSL_EXPIRED, None, f"certificate expired on {when}: {obs.url}")
    if days <= settings.cert_critical_days:
        return Finding(
            FC.SSL_EXPIRING, Priority.MEDIUM, f"certificate expires in {days:.1f} days ({when})"
        )
    if days <= settings.cert_warning_days:
        return Finding(FC.SSL_EXPIRING, None, f"certificate expires in {days:.0f} days ({when})")
    return None


def classify_all(
    obs: Observation, settings: ProbeSettings, now: datetime, keyword: str | None = None
) -> list[Finding]:
    """Every failing check of one observation: availability first, then the certificate."""
    if obs.kind == "feed":
        return _feed(obs)
    findings: list[Finding] = []
    primary = _availability(obs, settings, keyword)
    if primary is not None:
        if obs.error in ("ssl_untrusted", "ssl_hostname") and _expired(obs, now):
            primary = Finding(
                FC.SSL_EXPIRED, None, f"{primary.detail}; the certificate also expired"
            )
        findings.append(primary)
    if obs.kind == "home":
        cert = _certificate(obs, settings, now)
        if cert is not None:
            findings.append(cert)
    return findings


def _expired(obs: Observation, now: datetime) -> bool:
    return obs.cert_not_after is not None and obs.cert_not_after < now


def _feed(obs: Observation) -> list[Finding]:
    block = _blocked(obs)
    if block is not None:
        return [block]
    if obs.error is not None:
        words = _ERROR_WORDS.get(obs.error, obs.error)
        return [Finding(FC.RSS_INVALID, None, f"feed {obs.url}: {words}")]
    status = obs.status_code or 0
    if not 200 <= status < 300:
        return [Finding(FC.RSS_INVALID, None, f"feed {obs.url} answered HTTP {status}")]
    if obs.body_truncated:
        return []  # too big to check within the cap: not evidence of a broken feed
    finding = classify_feed(obs.body)
    if finding.failure_class is FC.OK:
        return []
    return [Finding(finding.failure_class, finding.priority, f"{finding.detail}: {obs.url}")]


def _blocked(obs: Observation) -> Finding | None:
    """`blocked` when a firewall stopped this request (its block page or challenge, or a
    reset right after connecting), else None."""
    if obs.error == "reset_by_peer":
        detail = f"{_ERROR_WORDS['reset_by_peer']}: {obs.url}"
        return Finding(FC.BLOCKED, None, detail)
    if obs.error is not None:
        return None
    firewall = firewall_of(obs.status_code, obs.headers, obs.body)
    if firewall is None:
        return None
    return Finding(
        FC.BLOCKED,
        None,
        f"{firewall} blocks the desk's probes (HTTP {obs.status_code}) on {obs.url}",
    )


def classify(
    obs: Observation, settings: ProbeSettings, now: datetime, keyword: str | None = None
) -> Finding:
    """The worst failing check of one observation, or `Finding(OK)`."""
    return worst(classify_all(obs, settings, now, keyword))
