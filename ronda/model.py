"""The desk's vocabulary: priorities, impacts, statuses, sources, failure classes, tickets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

# Priorities and impacts share a scale: low < medium < high.
_LEVEL_RANK = {"low": 0, "medium": 1, "high": 2}


class _Level:
    """The rank of a low/medium/high value, for comparing and taking the worst."""

    value: str

    @property
    def rank(self) -> int:
        return _LEVEL_RANK[self.value]


class Priority(_Level, StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Impact(_Level, StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING_CUSTOMER = "pending_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"

    @property
    def is_open(self) -> bool:
        """Open means still in the queue: someone owes the customer something."""
        return self in OPEN_STATUSES


OPEN_STATUSES = frozenset({Status.NEW, Status.OPEN, Status.PENDING_CUSTOMER, Status.REOPENED})

# Status changes an agent (or a probe) may make. Reopen is allowed from resolved and closed.
ALLOWED_TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.OPEN, Status.PENDING_CUSTOMER, Status.RESOLVED, Status.CLOSED}),
    Status.OPEN: frozenset({Status.PENDING_CUSTOMER, Status.RESOLVED, Status.CLOSED}),
    Status.PENDING_CUSTOMER: frozenset({Status.OPEN, Status.RESOLVED, Status.CLOSED}),
    Status.REOPENED: frozenset({Status.OPEN, Status.PENDING_CUSTOMER, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.REOPENED}),
    Status.CLOSED: frozenset({Status.REOPENED}),
}


class Source(StrEnum):
    PROBE = "probe"
    EMAIL = "email"
    PHONE = "phone"
    MANUAL = "manual"


# What a case is about, in the contract's catalogue (docs/contract.md).
CATEGORIES = (
    "wordpress",
    "woocommerce",
    "elementor",
    "email",
    "hosting",
    "domain",
    "branding_marketing",
)
# covered: the contract's support; billable: billed by the hour; unsupported: refused or
# best effort; general: branding and marketing questions (no technical support).
SCOPES = ("covered", "billable", "unsupported", "general")


class SlaState(StrEnum):
    OK = "ok"
    WARNING = "warning"  # past the target
    BREACHED = "breached"  # past the limit, no first response yet
    MET = "met"  # first response within the limit
    MISSED = "missed"  # first response after the limit
    PAUSED = "paused"  # pending customer: the clock is stopped
    NOT_DUE = "not_due"  # resolved (or reopened) with no answer owed: no clock ran out


class FailureClass(StrEnum):
    """What a probe saw, in the contract's words. `OK` is not a failure."""

    OK = "ok"
    REFUSED = "refused"
    DNS = "dns"
    TIMEOUT = "timeout"
    HTTP_500 = "http_500"
    HTTP_502 = "http_502"
    HTTP_503 = "http_503"
    WP_DB_CONNECTION = "wp_db_connection"
    PHP_FATAL = "php_fatal"
    PHP_FATAL_TIMEOUT = "php_fatal_timeout"
    PHP_SYNTAX_ERROR = "php_syntax_error"
    WHITE_SCREEN = "white_screen"
    HTTP_403 = "http_403"
    HTTP_404 = "http_404"
    REDIRECT_LOOP = "redirect_loop"
    REDIRECT_REFUSED = "redirect_refused"  # a redirect into an internal network, not followed
    SSL_EXPIRED = "ssl_expired"
    SSL_UNTRUSTED = "ssl_untrusted"
    SSL_HOSTNAME = "ssl_hostname"
    WP_MAINTENANCE = "wp_maintenance"
    SLOW = "slow"
    CONTENT_MISSING = "content_missing"
    SSL_EXPIRING = "ssl_expiring"
    RSS_INVALID = "rss_invalid"
    INTERMITTENT = "intermittent"
    # A server's mail service (SMTP, IMAP, POP3, webmail) and access (SSH, FTP, cPanel).
    MAIL_DOWN = "mail_down"  # no connection, no greeting, or the wrong one
    MAIL_TLS_EXPIRED = "mail_tls_expired"
    MAIL_TLS_INVALID = "mail_tls_invalid"  # untrusted, another host's, no STARTTLS offered
    MAIL_TLS_EXPIRING = "mail_tls_expiring"
    ACCESS_DOWN = "access_down"  # no banner, or not the expected one
    ACCESS_TLS_INVALID = "access_tls_invalid"  # FTP without AUTH TLS, or a bad certificate
    SERVER_OUTAGE = "server_outage"  # the parent incident of a server's failing sites
    PROBER_BLIND = "prober_blind"  # the desk's own incident: it cannot see, sites unmeasured
    # WordPress health seen from outside (ronda.checks.wordpress).
    WP_OUTDATED = "wp_outdated"  # core behind the current release: the monthly update
    PHP_EOL = "php_eol"  # PHP past (or within 30 days of) the end of its security support
    MIXED_CONTENT = "mixed_content"  # an HTTPS page loading http:// resources
    BROKEN_IMAGES = "broken_images"  # the page's own images answering 4xx/5xx
    PHP_WARNING = "php_warning"  # PHP warnings/notices printed into a working page
    WP_REST_BROKEN = "wp_rest_broken"  # /wp-json/ not answering JSON: the editors stop loading
    LOGIN_REDIRECT_LOOP = "login_redirect_loop"  # /wp-login.php redirects in a loop
    BLOCKED = "blocked"  # a firewall or WAF blocks the prober: an IP to unblock
    FLAGGED_UNSAFE = "flagged_unsafe"  # Google Safe Browsing / Web Risk lists the site
    # A customer domain (a check subject, not a site): its DNS and its registration.
    DOMAIN_UNRESOLVED = "domain_unresolved"  # no such domain, no address, or SERVFAIL
    DNS_NO_MX = "dns_no_mx"  # no MX, a null MX, or MX hosts that do not resolve
    DNS_SPF_INVALID = "dns_spf_invalid"  # none, several, bad syntax, over 10 lookups
    DNS_DMARC_MISSING = "dns_dmarc_missing"  # no usable DMARC policy at _dmarc
    DNS_RECORD_MISMATCH = "dns_record_mismatch"  # an expected record (NS, SRV, ...) is absent
    DOMAIN_EXPIRING = "domain_expiring"  # within 30 days (high within 7)
    DOMAIN_EXPIRED = "domain_expired"


# Short English words for the subjects probes write ("tienda-ana: HTTP 500 on https://...",
# `ronda.checks.incident_model.subject_for`); the TUI shows them in its language.
SUBJECT_WORDS: dict[FailureClass, str] = {
    FailureClass.REFUSED: "connection refused",
    FailureClass.DNS: "name not resolved",
    FailureClass.TIMEOUT: "timeout",
    FailureClass.HTTP_500: "HTTP 500",
    FailureClass.HTTP_502: "HTTP 502",
    FailureClass.HTTP_503: "HTTP 503",
    FailureClass.WP_DB_CONNECTION: "database connection error",
    FailureClass.PHP_FATAL: "PHP fatal error",
    FailureClass.PHP_FATAL_TIMEOUT: "PHP maximum execution time exceeded",
    FailureClass.PHP_SYNTAX_ERROR: "PHP syntax error",
    FailureClass.WHITE_SCREEN: "blank page (white screen)",
    FailureClass.HTTP_403: "HTTP 403",
    FailureClass.HTTP_404: "HTTP 404",
    FailureClass.REDIRECT_LOOP: "redirect loop",
    FailureClass.REDIRECT_REFUSED: "redirect refused (internal address)",
    FailureClass.SSL_EXPIRED: "SSL certificate expired",
    FailureClass.SSL_UNTRUSTED: "SSL certificate not trusted",
    FailureClass.SSL_HOSTNAME: "SSL certificate for another host",
    FailureClass.WP_MAINTENANCE: "WordPress maintenance mode",
    FailureClass.SLOW: "slow",
    FailureClass.CONTENT_MISSING: "expected content missing",
    FailureClass.SSL_EXPIRING: "SSL certificate expiring",
    FailureClass.RSS_INVALID: "RSS feed invalid",
    FailureClass.INTERMITTENT: "intermittent (down and up repeatedly)",
    FailureClass.WP_OUTDATED: "WordPress update due",
    FailureClass.PHP_EOL: "PHP version at end of life",
    FailureClass.MIXED_CONTENT: "mixed content (shown as not secure)",
    FailureClass.BROKEN_IMAGES: "broken images",
    FailureClass.PHP_WARNING: "PHP warnings shown on the page",
    FailureClass.WP_REST_BROKEN: "REST API broken (block editor and Elementor will not load)",
    FailureClass.LOGIN_REDIRECT_LOOP: "login redirect loop",
    FailureClass.BLOCKED: "the desk's probes are blocked by a firewall",
    FailureClass.FLAGGED_UNSAFE: "flagged unsafe by Google",
    FailureClass.MAIL_DOWN: "mail service down",
    FailureClass.MAIL_TLS_EXPIRED: "mail TLS certificate expired",
    FailureClass.MAIL_TLS_INVALID: "mail TLS not valid",
    FailureClass.MAIL_TLS_EXPIRING: "mail TLS certificate expiring",
    FailureClass.ACCESS_DOWN: "server access down",
    FailureClass.ACCESS_TLS_INVALID: "server access TLS not valid",
    FailureClass.DOMAIN_UNRESOLVED: "domain does not resolve",
    FailureClass.DNS_NO_MX: "no working MX records",
    FailureClass.DNS_SPF_INVALID: "SPF record invalid",
    FailureClass.DNS_DMARC_MISSING: "DMARC record missing",
    FailureClass.DNS_RECORD_MISMATCH: "expected DNS record missing",
    FailureClass.DOMAIN_EXPIRING: "domain registration expiring",
    FailureClass.DOMAIN_EXPIRED: "domain registration expired",
}

# Default priority of each class (docs/contract.md); the config may override any of them.
DEFAULT_CLASS_PRIORITY: dict[FailureClass, Priority] = {
    FailureClass.REFUSED: Priority.HIGH,
    FailureClass.DNS: Priority.HIGH,
    FailureClass.TIMEOUT: Priority.HIGH,
    FailureClass.HTTP_500: Priority.HIGH,
    FailureClass.HTTP_502: Priority.HIGH,
    FailureClass.HTTP_503: Priority.HIGH,
    FailureClass.WP_DB_CONNECTION: Priority.HIGH,
    FailureClass.PHP_FATAL: Priority.HIGH,
    FailureClass.PHP_FATAL_TIMEOUT: Priority.HIGH,
    FailureClass.PHP_SYNTAX_ERROR: Priority.HIGH,
    FailureClass.WHITE_SCREEN: Priority.HIGH,
    FailureClass.HTTP_403: Priority.HIGH,
    FailureClass.HTTP_404: Priority.HIGH,
    FailureClass.REDIRECT_LOOP: Priority.HIGH,
    FailureClass.REDIRECT_REFUSED: Priority.HIGH,
    FailureClass.SSL_EXPIRED: Priority.HIGH,
    FailureClass.SSL_UNTRUSTED: Priority.HIGH,
    FailureClass.SSL_HOSTNAME: Priority.HIGH,
    FailureClass.WP_MAINTENANCE: Priority.LOW,
    FailureClass.SLOW: Priority.MEDIUM,
    FailureClass.CONTENT_MISSING: Priority.MEDIUM,
    FailureClass.SSL_EXPIRING: Priority.LOW,
    FailureClass.RSS_INVALID: Priority.LOW,
    FailureClass.INTERMITTENT: Priority.HIGH,
    FailureClass.MAIL_DOWN: Priority.HIGH,
    FailureClass.MAIL_TLS_EXPIRED: Priority.HIGH,
    FailureClass.MAIL_TLS_INVALID: Priority.HIGH,
    FailureClass.MAIL_TLS_EXPIRING: Priority.LOW,
    FailureClass.ACCESS_DOWN: Priority.HIGH,
    FailureClass.ACCESS_TLS_INVALID: Priority.MEDIUM,
    FailureClass.SERVER_OUTAGE: Priority.HIGH,
    FailureClass.PROBER_BLIND: Priority.HIGH,
    FailureClass.WP_OUTDATED: Priority.LOW,
    FailureClass.PHP_EOL: Priority.LOW,
    FailureClass.MIXED_CONTENT: Priority.MEDIUM,
    FailureClass.BROKEN_IMAGES: Priority.MEDIUM,
    FailureClass.PHP_WARNING: Priority.MEDIUM,
    FailureClass.WP_REST_BROKEN: Priority.MEDIUM,
    FailureClass.LOGIN_REDIRECT_LOOP: Priority.MEDIUM,
    FailureClass.BLOCKED: Priority.MEDIUM,
    FailureClass.FLAGGED_UNSAFE: Priority.HIGH,
    FailureClass.DOMAIN_UNRESOLVED: Priority.HIGH,
    FailureClass.DNS_NO_MX: Priority.HIGH,
    FailureClass.DNS_SPF_INVALID: Priority.MEDIUM,
    FailureClass.DNS_DMARC_MISSING: Priority.LOW,
    FailureClass.DNS_RECORD_MISMATCH: Priority.MEDIUM,
    FailureClass.DOMAIN_EXPIRING: Priority.LOW,
    FailureClass.DOMAIN_EXPIRED: Priority.HIGH,
}

# A probe opens at most one open ticket per site and family: a site that goes from
# 500 to 502 to refused is one outage, not three cases.
FAILURE_FAMILY: dict[FailureClass, str] = {
    **{
        c: "down"
        for c in (
            FailureClass.REFUSED,
            FailureClass.DNS,
            FailureClass.TIMEOUT,
            FailureClass.HTTP_500,
            FailureClass.HTTP_502,
            FailureClass.HTTP_503,
            FailureClass.WP_DB_CONNECTION,
            FailureClass.PHP_FATAL,
            FailureClass.PHP_FATAL_TIMEOUT,
            FailureClass.PHP_SYNTAX_ERROR,
            FailureClass.WHITE_SCREEN,
            FailureClass.HTTP_403,
            FailureClass.HTTP_404,
            FailureClass.REDIRECT_LOOP,
            FailureClass.REDIRECT_REFUSED,
            FailureClass.SLOW,  # slow -> down on one ticket, priority raised
            FailureClass.WP_MAINTENANCE,
            FailureClass.INTERMITTENT,
            FailureClass.MAIL_DOWN,
            FailureClass.ACCESS_DOWN,
        )
    },
    FailureClass.SSL_EXPIRED: "tls",
    FailureClass.SSL_UNTRUSTED: "tls",
    FailureClass.SSL_HOSTNAME: "tls",
    FailureClass.SSL_EXPIRING: "tls",
    FailureClass.MAIL_TLS_EXPIRED: "tls",
    FailureClass.MAIL_TLS_INVALID: "tls",
    FailureClass.MAIL_TLS_EXPIRING: "tls",
    FailureClass.ACCESS_TLS_INVALID: "tls",
    FailureClass.CONTENT_MISSING: "content",
    FailureClass.RSS_INVALID: "feed",
    FailureClass.SERVER_OUTAGE: "server",
    FailureClass.PROBER_BLIND: "desk",
    FailureClass.WP_OUTDATED: "updates",
    FailureClass.PHP_EOL: "php_version",
    FailureClass.MIXED_CONTENT: "mixed_content",
    FailureClass.BROKEN_IMAGES: "images",
    FailureClass.PHP_WARNING: "php_debug",
    FailureClass.WP_REST_BROKEN: "rest_api",
    FailureClass.LOGIN_REDIRECT_LOOP: "login",
    # Not "down": the site may serve everyone else; the desk's address needs unblocking.
    FailureClass.BLOCKED: "blocked",
    FailureClass.FLAGGED_UNSAFE: "safe_browsing",
    # A domain's DNS is one case (records broken together are one DNS zone to fix); mail
    # authentication is slow-moving configuration; the registration is renewed apart.
    FailureClass.DOMAIN_UNRESOLVED: "dns",
    FailureClass.DNS_NO_MX: "dns",
    FailureClass.DNS_RECORD_MISMATCH: "dns",
    FailureClass.DNS_SPF_INVALID: "mail_auth",
    FailureClass.DNS_DMARC_MISSING: "mail_auth",
    FailureClass.DOMAIN_EXPIRING: "registration",
    FailureClass.DOMAIN_EXPIRED: "registration",
}

# The dedupe key of the desk's own incident (`prober_blind`): one open at a time. Its
# evidence says whether the desk cannot see right now (`blind`) and since when.
PROBER_BLIND_KEY = "desk:blind"


def family_of(failure_class: FailureClass | str) -> str:
    return FAILURE_FAMILY.get(FailureClass(failure_class), "other")


# A home page failing like this means the site is down for its visitors: the prober skips
# the keyword checks and the feed (they would fail the same way and only add noise), and
# the incident rules call the site down. Slow and intermittent sites still answer. A
# prober blocked by a firewall sees nothing either, so nothing else is judged that round.
HOME_DOWN: frozenset[FailureClass] = frozenset(
    c
    for c in FailureClass
    if family_of(c) == "down" and c not in (FailureClass.SLOW, FailureClass.INTERMITTENT)
) | {
    FailureClass.SSL_EXPIRED,
    FailureClass.SSL_UNTRUSTED,
    FailureClass.SSL_HOSTNAME,
    FailureClass.BLOCKED,
}


@dataclass(frozen=True, slots=True)
class Ticket:
    """One case as stored. `version` is the optimistic-concurrency token."""

    id: int
    case_number: str
    source: Source
    subject: str
    priority: Priority
    impact: Impact
    status: Status
    opened_at: datetime
    version: int
    category: str | None = None
    failure_class: FailureClass | None = None
    site: str | None = None
    customer: str | None = None
    assignee: str | None = None
    sla_target_at: datetime | None = None
    sla_limit_at: datetime | None = None
    first_response_at: datetime | None = None
    sla_outcome: str | None = None  # met | missed | not_due, judged at the first response
    paused_at: datetime | None = None
    paused_seconds: float = 0.0
    resolved_at: datetime | None = None
    billable: bool = False
    dedupe_key: str | None = None
    parent_id: int | None = None
    evidence: dict = field(default_factory=dict)
    requester: str | None = None
    touched_by_agent: bool = False
    updated_at: datetime | None = None
    # The next-reply clock: the customer wrote again (`reply_due_at`) after the first
    # response; a reply is due by these deadlines (None: no reply owed).
    reply_due_at: datetime | None = None
    reply_target_at: datetime | None = None
    reply_limit_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """One line of a ticket's append-only history."""

    id: int
    ticket_id: int
    at: datetime
    actor: str
    kind: str
    field: str | None = None
    old: str | None = None
    new: str | None = None
    body: str | None = None


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """What an agent asks the queue for."""

    view: str = "open"  # open | mine | unassigned | breached | resolved | all
    agent: str | None = None
    priority: Priority | None = None
    status: Status | None = None
    customer: str | None = None
    site: str | None = None
    # Words, each in the case number, subject, site, customer, requester or messages.
    search: str | None = None
    limit: int = 200
