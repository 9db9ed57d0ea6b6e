"""The configuration's dataclasses: the contract every part of the desk reads.

All frozen; `ronda.config.load` builds them from a TOML file, and tests build them directly.
The SLA matrix's cells are `ronda.contract.SlaCellConfig`, next to the contract's defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path

from ronda.config.wordpress import WordPressSettings
from ronda.contract import SlaCellConfig
from ronda.model import FailureClass, Impact, Priority


@dataclass(frozen=True, slots=True)
class Customer:
    name: str
    emails: tuple[str, ...] = ()  # sender addresses matched to this customer
    domains: tuple[str, ...] = ()  # sender domains matched to this customer
    contact: str | None = None  # who the desk writes to about their sites (else emails[0])
    lang: str | None = None  # en | es: the language of their notices (else the desk's)
    notices: bool = False  # opt-in: told when a site of theirs fails and recovers
    reports: bool = False  # opt-in: sent last month's report from the 1st (by `ronda run`)

    @property
    def contact_address(self) -> str | None:
        """The address probe cases of this customer's sites are written to."""
        return self.contact or (self.emails[0] if self.emails else None)


@dataclass(frozen=True, slots=True)
class Server:
    name: str
    maintenance: tuple[MaintenanceWindow, ...] = ()


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """A planned window: probes still record results but open no tickets."""

    start: datetime  # timezone-aware
    end: datetime
    reason: str = ""

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end


@dataclass(frozen=True, slots=True)
class KeywordCheck:
    """A path that must answer 2xx and contain a keyword (a shop's cart, an Elementor page)."""

    path: str
    keyword: str


@dataclass(frozen=True, slots=True)
class ProbeSettings:
    """Per-site probe knobs; site entries override the `[probe]` defaults."""

    interval: float = 60.0  # seconds between rounds of one site
    deadline: float = 10.0  # one overall deadline per probe, seconds
    slow_first_byte: float = 2.0  # seconds
    slow_total: float = 5.0  # seconds
    max_redirects: int = 10
    max_body_bytes: int = 1024 * 1024  # decoded bytes
    cert_warning_days: int = 30  # ssl_expiring (low)
    cert_critical_days: int = 7  # ssl_expiring raised to medium


@dataclass(frozen=True, slots=True)
class Site:
    name: str  # unique
    url: str
    customer: str | None = None
    server: str | None = None
    impact: Impact = Impact.MEDIUM
    wordpress: bool | None = None  # None: recognise from the site's own pages
    checks: tuple[KeywordCheck, ...] = ()
    probe: ProbeSettings = field(default_factory=ProbeSettings)
    maintenance: tuple[MaintenanceWindow, ...] = ()
    contact: str | None = None  # who the desk writes to about this site (else the customer's)
    notices: bool | None = None  # this site's own opt-in to notices (None: the customer's)
    # `user:password@` written in the site's URL: taken out of `url` (which is shown and
    # stored everywhere) and sent by the probe as HTTP Basic authentication only.
    basic_auth: tuple[str, str] | None = field(default=None, repr=False)
    # [sites.wordpress_checks]: (check, on) switches over [wordpress.checks].
    wordpress_checks: tuple[tuple[str, bool], ...] = ()
    # What is checked (`ronda.checks.subjects`): "web" for a site; a check subject (a
    # server's service, a domain) has its own kind, its kind's settings in `check`, and
    # `group`: the set it is correlated with for a server incident (None: its server).
    kind: str = "web"
    check: object | None = None
    group: str | None = None


@dataclass(frozen=True, slots=True)
class CalendarConfig:
    timezone: str = "America/Bogota"
    # weekday (0 = Monday) -> list of (start, end) local times
    hours: dict[int, tuple[tuple[time, time], ...]] = field(
        default_factory=lambda: {d: ((time(8, 0), time(18, 0)),) for d in range(5)}
    )
    holidays_country: str | None = "CO"
    holidays_subdiv: str | None = None
    extra_holidays: tuple[str, ...] = ()  # ISO dates the agency also closes


@dataclass(frozen=True, slots=True)
class IncidentSettings:
    confirm_rounds: int = 2  # consecutive failed rounds that open a ticket
    recheck_immediately: bool = True  # or an immediate re-probe that fails too
    recover_rounds: int = 2  # successes that record recovery
    flap_window: float = 1800.0  # seconds
    flap_count: int = 3  # fail->recover cycles within the window that make `intermittent`
    outage_min_sites: int = 3  # K sites of one server failing together...
    outage_fraction: float = 0.5  # ...or this share of the server's sites
    outage_window: float = 300.0  # seconds within which they count as together
    maintenance_high_after: float = 900.0  # wp_maintenance becomes high after this long


@dataclass(frozen=True, slots=True)
class Canary:
    """A target outside the fleet the desk must reach to trust its own eyes (the agency's
    gateway, a public resolver): `tcp` connects, `dns` resolves `host`, `http` GETs `url`
    and takes any HTTP answer."""

    url: str  # as written: tcp://host:port, dns://name, http(s)://host[:port]/path
    kind: str  # tcp | dns | http
    host: str
    port: int = 0  # 0 for dns


@dataclass(frozen=True, slots=True)
class BlindSettings:
    """When the desk cannot see (`[blind]`): every canary failing, or more than `share` of
    the sites seen at once failing over at least `min_servers` servers, means the prober's
    own network is down, not the sites: nothing opens until it sees again."""

    canaries: tuple[Canary, ...] = ()
    share: float = 0.5  # more than this share of the sites seen at once failing...
    min_servers: int = 2  # ...on at least this many servers (a site without one is its own)
    sample: int = 6  # up sites on other servers probed at once to judge a new failure
    window: float = 300.0  # seconds: sites that went down this close count as one wave
    canary_timeout: float = 3.0  # seconds per canary


@dataclass(frozen=True, slots=True)
class TlsConfig:
    extra_ca: Path | None = None  # trusted in addition to the system store


@dataclass(frozen=True, slots=True)
class MailSettings:
    listen: str = "127.0.0.1:2525"
    desk_address: str = "soporte@localhost"
    relay: str | None = None  # host:port of the SMTP relay for everything the desk mails
    smtp_tls: str = "auto"  # auto (STARTTLS when offered) | starttls | tls (implicit) | none
    smtp_user: str | None = None  # authenticate to the relay as this user...
    smtp_password_env: str | None = None  # ...with the password in this environment variable
    smtp_password_file: Path | None = None  # ...or in this file (read at each connection)
    smtp_ca: Path | None = None  # trust this CA for the relay's certificate (and the system's)
    max_message_bytes: int = 10 * 1024 * 1024
    # Rate limits within `limit_window` seconds (0: no limit). New cases past a limit are
    # gathered on one flood ticket; an acknowledgement past one is not sent.
    limit_window: float = 3600.0
    new_cases_per_sender: int = 20
    new_cases_per_domain: int = 50
    new_cases_per_desk: int = 200
    acks_per_sender: int = 10  # also the loop guard: a robot answering acks stops here
    acks_per_domain: int = 20
    acks_per_desk: int = 100
    # The authserv-id of the receiving MTA whose Authentication-Results header is trusted
    # (SPF/DKIM/DMARC of the From domain); None: none is, and senders are taken at their word.
    authserv_id: str | None = None
    # [[mail.rules]] tables as read (dicts: match, name, category, priority, scope); the
    # mail intake checks and compiles them (ronda.intake.triage.compile_rules).
    rules: tuple = ()


@dataclass(frozen=True, slots=True)
class StatusPageSettings:
    """`[status_page]`: the static status pages `ronda run` keeps fresh (off without `out`)."""

    out: Path | None = None  # the folder a web server serves
    every: float = 60.0  # seconds between two refreshes
    customers: bool = True  # one page per customer
    public: tuple[str, ...] = ()  # sites of one public page (none: no public page)
    lang: str | None = None  # the public page's language (else the desk's)
    templates: Path | None = None  # the agency's templates, over the built-in ones
    logo: str | None = None  # an image URL or path as the page shows it
    colour: str | None = None  # the accent colour, #rrggbb
    # Set: each customer's folder name ends in a keyed digest of the name, so nobody finds
    # a page by guessing a customer's name (`tienda-ana-3f9c...`). Kept out of any repr.
    secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class RetentionSettings:
    """How long `ronda run` keeps what piles up on cases long resolved (None: for ever).

    Days count from a case's resolution; open cases, and cases linked to an open one, keep
    everything. What reports need (the tickets, their status, response and priority events)
    is never pruned."""

    # The probe's repeated "recurrence" notes ("still failing ...") on a resolved case.
    probe_history_days: int | None = None
    # Customers' mail bodies on a resolved case, replaced by a one-line marker.
    mail_body_days: int | None = None
    # Each site's state changes (uptime, status pages, reports), counted from when the
    # state was last seen rather than from a case. Kept 400 days unless set.
    site_history_days: int | None = 400


@dataclass(frozen=True, slots=True)
class Agent:
    """Someone who works the queue and may be told about cases."""

    name: str
    email: str | None = None
    lang: str | None = None  # en | es: the language of their notifications (else the desk's)
    # Apprise URLs (ntfy://, tgram://, slack://, json://, ...); `${NAME}` in one is replaced by
    # the environment variable NAME when a notification is sent: secrets stay out of the file.
    notify: tuple[str, ...] = ()
    notify_by_email: bool = True  # also by e-mail through [mail] relay (when `email` is set)
    signature: str | None = None  # closes their replies' mail (None: their name)


@dataclass(frozen=True, slots=True)
class SavedReply:
    """A saved reply (macro) agents pick to start a reply: `{case}`, `{customer}`, `{site}`
    and `{limit}` in its text are filled from the case (`ronda.saved_replies`)."""

    name: str
    text: str
    lang: str | None = None  # en | es; None: offered in both


@dataclass(frozen=True, slots=True)
class OncallSettings:
    """Who is told about which cases, and when (the rules fit the contract's promises)."""

    business_hours: tuple[str, ...] = ()  # agents taking turns, a week each, in open hours
    after_hours: tuple[str, ...] = ()  # ... nights, weekends and holidays
    escalation: tuple[str, ...] = ()  # told when a case goes unanswered past target and limit
    rotation_start: datetime | None = None  # week 0 of both turns begins (None: DEFAULT_ROTATION)
    # The rules, by the case's priority: a new case tells whoever is on call; one still
    # unanswered past its target tells them again and the escalation contacts; one past its
    # limit tells the escalation contacts.
    opened: tuple[Priority, ...] = (Priority.HIGH,)
    warning: tuple[Priority, ...] = (Priority.HIGH, Priority.MEDIUM)
    breached: tuple[Priority, ...] = (Priority.HIGH, Priority.MEDIUM, Priority.LOW)
    rate_limit: int = 10  # notifications on one agent's channel...
    rate_window: float = 600.0  # ...within this many seconds; the rest are noted on the case
    catch_up: float = 3600.0  # after a restart, steps due this long ago are still sent


@dataclass(frozen=True, slots=True)
class NoticeSettings:
    """Notices to customers who opted in: a failure that opens a case, and its recovery."""

    priorities: tuple[Priority, ...] = (Priority.HIGH, Priority.MEDIUM)
    delay: float = 120.0  # after an opening: an outage gathers its sites, a blip resolves
    recovery_after: float = 600.0  # the case stayed resolved this long: it is not a flap
    templates: Path | None = None  # a folder whose files replace the shipped templates
    catch_up: float = 3600.0  # after a restart, notices due this long ago are still sent


@dataclass(frozen=True, slots=True)
class OutboxSettings:
    """Delivery of what the desk sends: back-off between attempts, and when to give up."""

    retry_first: float = 30.0  # seconds after the first failed attempt; doubled each time...
    retry_max: float = 3600.0  # ...up to this
    give_up_after: float = 86400.0  # not delivered this long after it was queued: failed


@dataclass(frozen=True, slots=True)
class ReportSettings:
    """[reports]: the agency's look of the monthly customer reports."""

    templates: Path | None = None  # a folder whose files replace the shipped templates
    logo: Path | None = None  # an image (PNG, JPEG, SVG) put inline at the top
    colour: str = "#1f5f8b"  # the accent colour (#rgb or #rrggbb)
    agency: str = ""  # the agency's name, as the report's header and footer say it


@dataclass(frozen=True, slots=True)
class Config:
    path: Path | None = None
    customers: tuple[Customer, ...] = ()
    servers: tuple[Server, ...] = ()
    sites: tuple[Site, ...] = ()
    # Check subjects that are not web sites (`ronda.checks.subjects`), built by the readers.
    subjects: tuple[Site, ...] = ()
    sla: dict[tuple[Priority, Impact], SlaCellConfig] = field(default_factory=dict)
    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    # A customer's new message after the first response starts a next-reply clock.
    next_response: bool = True
    probe: ProbeSettings = field(default_factory=ProbeSettings)
    incidents: IncidentSettings = field(default_factory=IncidentSettings)
    class_priority: dict[FailureClass, Priority] = field(default_factory=dict)
    tls: TlsConfig = field(default_factory=TlsConfig)
    mail: MailSettings = field(default_factory=MailSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    status_page: StatusPageSettings = field(default_factory=StatusPageSettings)
    blind: BlindSettings = field(default_factory=BlindSettings)
    agents: tuple[Agent, ...] = ()
    oncall: OncallSettings = field(default_factory=OncallSettings)
    notices: NoticeSettings = field(default_factory=NoticeSettings)
    outbox: OutboxSettings = field(default_factory=OutboxSettings)
    wordpress: WordPressSettings = field(default_factory=WordPressSettings)
    reports: ReportSettings = field(default_factory=ReportSettings)
    replies: tuple[SavedReply, ...] = ()  # [replies]: saved replies, inline and from a folder
    concurrency: int = 100  # probes in flight at once
    per_server_concurrency: int = 4  # one shared host must not be hammered
    # Sites without a `server` share the budget of the address they resolve to (turn off
    # for a fleet behind a CDN, where one address fronts many unrelated origins).
    group_by_address: bool = True
    lang: str = "en"

    def checked(self) -> tuple[Site, ...]:
        """Everything the rounds check: the sites, then the other subjects."""
        return (*self.sites, *self.subjects)

    def site(self, name: str) -> Site | None:
        """The site, or the other check subject, of this name."""
        return next((s for s in self.checked() if s.name == name), None)

    def customer(self, name: str | None) -> Customer | None:
        return next((c for c in self.customers if c.name == name), None) if name else None

    def agent(self, name: str) -> Agent | None:
        return next((a for a in self.agents if a.name == name), None)
