"""The configuration's dataclasses: the contract every part of the desk reads.

All frozen; `ronda.config.load` builds them from a TOML file, and tests build them directly.
The SLA matrix's cells are `ronda.contract.SlaCellConfig`, next to the contract's defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path

from ronda.contract import SlaCellConfig
from ronda.model import FailureClass, Impact, Priority


@dataclass(frozen=True, slots=True)
class Customer:
    name: str
    emails: tuple[str, ...] = ()  # sender addresses matched to this customer
    domains: tuple[str, ...] = ()  # sender domains matched to this customer


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
    # `user:password@` written in the site's URL: taken out of `url` (which is shown and
    # stored everywhere) and sent by the probe as HTTP Basic authentication only.
    basic_auth: tuple[str, str] | None = field(default=None, repr=False)


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
class TlsConfig:
    extra_ca: Path | None = None  # trusted in addition to the system store


@dataclass(frozen=True, slots=True)
class MailSettings:
    listen: str = "127.0.0.1:2525"
    desk_address: str = "soporte@localhost"
    relay: str | None = None  # host:port of the SMTP relay for acknowledgements and replies
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
class RetentionSettings:
    """How long `ronda run` keeps what piles up on cases long resolved (None: for ever).

    Days count from a case's resolution; open cases, and cases linked to an open one, keep
    everything. What reports need (the tickets, their status, response and priority events)
    is never pruned."""

    # The probe's repeated "recurrence" notes ("still failing ...") on a resolved case.
    probe_history_days: int | None = None
    # Customers' mail bodies on a resolved case, replaced by a one-line marker.
    mail_body_days: int | None = None


@dataclass(frozen=True, slots=True)
class Config:
    path: Path | None = None
    customers: tuple[Customer, ...] = ()
    servers: tuple[Server, ...] = ()
    sites: tuple[Site, ...] = ()
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
    concurrency: int = 100  # probes in flight at once
    per_server_concurrency: int = 4  # one shared host must not be hammered
    lang: str = "en"

    def site(self, name: str) -> Site | None:
        return next((s for s in self.sites if s.name == name), None)
