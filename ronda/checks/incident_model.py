"""The incident rules' vocabulary: what they read, remember and ask for. Pure: no I/O.

- constants: the failure families the rules treat specially (`DOWN`, `SERVER`), the classes
  a whole server causes (`SERVER_LEVEL_CLASSES`) and those after which a round's other
  checks say nothing (`BLOCKING`);
- inputs: a round of one site (`Outcome` of `Failure`s) and the tickets it may touch
  (`TicketView`);
- memory: `SiteState` of `FamilyState`s, stored as JSON between rounds;
- actions: `Reprobe`, `OpenTicket`, `RecordEvent`, `Reprioritize`, `Reopen`, `Resolve`,
  `LinkChild`, `Notice` (together `Action`), and a site's `Decision`;
- small helpers both the site rules (`ronda.checks.incidents`) and the server correlation
  (`ronda.checks.outages`) use: priorities, maintenance windows, keys, subjects, durations.

Instants in the state are UTC epoch seconds so the memory serializes as plain JSON.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from ronda.config import MaintenanceWindow, Server, Site
from ronda.model import (
    DEFAULT_CLASS_PRIORITY,
    HOME_DOWN,
    SUBJECT_WORDS,
    FailureClass,
    Impact,
    Priority,
    family_of,
)

FC = FailureClass

DOWN = "down"
# Failures a whole server causes (its web server, proxy or database down). A PHP fatal or a
# 404 is one site's own code: three of them on one server are three cases, not an outage.
SERVER_LEVEL_CLASSES = frozenset(
    {
        FailureClass.REFUSED,
        FailureClass.TIMEOUT,
        FailureClass.HTTP_502,
        FailureClass.HTTP_503,
        FailureClass.WP_DB_CONNECTION,
        # A service of the server itself (its MTA, IMAP server, sshd) not answering.
        FailureClass.MAIL_DOWN,
        FailureClass.ACCESS_DOWN,
    }
)
SERVER = "server"

# Failures after which the other checks of a round say nothing (the home page is down);
# the prober skips the keyword checks and the feed on the same set.
BLOCKING: frozenset[FailureClass] = HOME_DOWN


# Classes whose detail says what matters (how slow, how many days, which keyword, which
# version, which greeting): the subject line carries it instead of the URL.
_DETAIL_SUBJECTS = frozenset(
    {
        FC.SLOW,
        FC.SSL_EXPIRING,
        FC.CONTENT_MISSING,
        FC.RSS_INVALID,
        FC.WP_OUTDATED,
        FC.PHP_EOL,
        FC.MAIL_TLS_EXPIRING,
        FC.MAIL_DOWN,
        FC.MAIL_TLS_INVALID,
        FC.ACCESS_DOWN,
        FC.ACCESS_TLS_INVALID,
    }
)


# ---- inputs -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Failure:
    """One failing check of a round. `priority` overrides the class priority when set."""

    failure_class: FailureClass
    priority: Priority | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Outcome:
    """One site's round as the rules see it.

    `up` is False when the home page itself failed (the other checks then say nothing);
    `evidence` holds the probe's facts copied into tickets (url, status_code, headers,
    body_excerpt, phases, elapsed_ms, cert); `confirmed_families` are the families that
    failed on an immediate re-probe as well, `reprobed` says one was made.
    """

    site: str
    at: datetime
    url: str
    failures: tuple[Failure, ...] = ()
    up: bool = True
    evidence: Mapping[str, object] = field(default_factory=dict)
    confirmed_families: frozenset[str] = frozenset()
    reprobed: bool = False
    # Families whose checks did not run this round (a WordPress check awaiting its first
    # turn): no news, neither failing nor passing.
    unchecked: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class TicketView:
    """What the rules need to know of a stored ticket."""

    id: int
    case_number: str
    is_open: bool
    priority: Priority
    failure_class: FailureClass | None = None
    touched_by_agent: bool = False
    resolved_at: datetime | None = None
    parent_id: int | None = None
    evidence: Mapping[str, object] = field(default_factory=dict)


# ---- memory -------------------------------------------------------------------------------


@dataclass(slots=True)
class FamilyState:
    """The rules' memory of one failure family of one site.

    An *episode* runs from the first failed round (`first_failure_at`) until recovery is
    recorded; `ticket_id` outlives it so a ticket resolved moments ago can be reopened.
    """

    failing: bool = False  # the last round failed in this family
    consecutive_failures: int = 0
    consecutive_successes: int = 0
    failure_class: str | None = None  # the episode's latest class
    class_since: float | None = None  # when that class was first seen in a row
    first_failure_at: float | None = None  # None: no episode
    last_failure_at: float | None = None
    confirmed: bool = False  # the episode is confirmed (a ticket was or would be opened)
    reported: bool = False  # the episode is on a ticket (opened, reopened or recorded)
    dismissed: bool = False  # an agent resolved the ticket while the episode went on
    flapping: bool = False
    ticket_id: int | None = None
    last_event_at: float | None = None
    rounds_since_event: int = 0
    priority: str | None = None  # the highest priority the rules asked for this episode

    @property
    def in_episode(self) -> bool:
        return self.first_failure_at is not None


@dataclass(slots=True)
class SiteState:
    """The rules' memory of one site between rounds (JSON in `probe_state.rules`)."""

    families: dict[str, FamilyState] = field(default_factory=dict)
    up: bool | None = None
    recoveries: list[float] = field(default_factory=list)  # down->up instants (flapping)

    def to_json(self) -> dict:
        return {
            "v": 1,
            "up": self.up,
            "recoveries": list(self.recoveries),
            "families": {name: asdict(fs) for name, fs in self.families.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping | None) -> SiteState:
        """The stored memory; unknown keys are ignored so older and newer files both load."""
        if not data:
            return cls()
        known = set(FamilyState.__slots__)
        families = {
            str(name): FamilyState(**{k: v for k, v in fs.items() if k in known})
            for name, fs in (data.get("families") or {}).items()
            if isinstance(fs, Mapping)
        }
        return cls(
            families=families,
            up=data.get("up"),
            recoveries=[float(t) for t in data.get("recoveries") or []],
        )

    def copy(self) -> SiteState:
        return copy.deepcopy(self)

    def ticket_ids(self) -> list[int]:
        return [fs.ticket_id for fs in self.families.values() if fs.ticket_id is not None]

    def down_failing_since(self, now: float, window: float) -> bool:
        """Confirmed down with a server-level class and seen failing within `window`
        seconds (server correlation)."""
        fs = self.families.get(DOWN)
        return bool(
            fs is not None
            and fs.confirmed
            and fs.failing
            and fs.failure_class in SERVER_LEVEL_CLASSES
            and fs.last_failure_at is not None
            and now - fs.last_failure_at <= window
        )


# ---- actions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reprobe:
    """Probe the site again now, on a fresh connection, before deciding."""

    site: str


@dataclass(frozen=True, slots=True)
class OpenTicket:
    family: str
    dedupe_key: str
    subject: str
    failure_class: FailureClass
    priority: Priority
    impact: Impact
    site: str | None
    customer: str | None
    evidence: dict
    body: str
    category: str = "wordpress"


@dataclass(frozen=True, slots=True)
class RecordEvent:
    """A fact on an existing ticket (`kind`: recurrence, recovered)."""

    family: str
    ticket_id: int
    kind: str
    body: str
    evidence: dict | None = None
    failure_class: FailureClass | None = None


@dataclass(frozen=True, slots=True)
class Reprioritize:
    family: str
    ticket_id: int
    priority: Priority
    reason: str


@dataclass(frozen=True, slots=True)
class Reopen:
    family: str
    ticket_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class Resolve:
    family: str
    ticket_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class LinkChild:
    """Put a site ticket under its server's parent; `parent_id` None: the parent this very
    decision opens."""

    ticket_id: int
    parent_id: int | None


@dataclass(frozen=True, slots=True)
class Notice:
    """Something worth one log line that is not a ticket change (site_down, site_up)."""

    kind: str
    site: str
    message: str


Action = Reprobe | OpenTicket | RecordEvent | Reprioritize | Reopen | Resolve | LinkChild | Notice


@dataclass(slots=True)
class Decision:
    state: SiteState
    actions: list[Action]

    @property
    def wants_reprobe(self) -> bool:
        return any(isinstance(a, Reprobe) for a in self.actions)


# ---- small pure helpers -------------------------------------------------------------------


def class_priority_of(
    failure_class: FailureClass,
    class_priority: Mapping[FailureClass, Priority] | None = None,
    override: Priority | None = None,
) -> Priority:
    """Default class priority, overridden by the config, overridden by the probe's finding."""
    if override is not None:
        return Priority(override)
    if class_priority and failure_class in class_priority:
        return Priority(class_priority[failure_class])
    return DEFAULT_CLASS_PRIORITY.get(FailureClass(failure_class), Priority.MEDIUM)


def in_maintenance(site: Site, servers: Iterable[Server], at: datetime) -> bool:
    """A planned window of the site itself or of its server covers `at`."""
    windows: list[MaintenanceWindow] = list(site.maintenance)
    if site.server:
        for server in servers:
            if server.name == site.server:
                windows.extend(server.maintenance)
    return any(w.covers(at) for w in windows)


# Ticket categories, in the words the mail triage uses: certificates and servers are
# hosting work, everything a site shows is WordPress work.
_FAMILY_CATEGORY = {
    "tls": "hosting",
    SERVER: "hosting",
    "php_version": "hosting",
    "blocked": "hosting",
    "rest_api": "elementor",
}


# A server's mail services are e-mail work whatever their family; its access is hosting.
_CLASS_CATEGORY = {
    **dict.fromkeys(
        (FC.MAIL_DOWN, FC.MAIL_TLS_EXPIRED, FC.MAIL_TLS_INVALID, FC.MAIL_TLS_EXPIRING), "email"
    ),
    **dict.fromkeys((FC.ACCESS_DOWN, FC.ACCESS_TLS_INVALID), "hosting"),
}


def category_of(family: str, failure_class: FailureClass | None = None) -> str:
    if failure_class is not None and failure_class in _CLASS_CATEGORY:
        return _CLASS_CATEGORY[failure_class]
    return _FAMILY_CATEGORY.get(family, "wordpress")


def dedupe_key(site: str, family: str) -> str:
    return f"{site}:{family}"


def server_dedupe_key(server: str) -> str:
    return f"server:{server}:down"


def human_duration(seconds: float) -> str:
    """`45 s`, `12 min`, `3 h 05 min`, `2 d 4 h`: short, for events people read."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 90:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def strip_site(site: str, detail: str) -> str:
    """Finding details start with "site: "; a subject already names the site."""
    return detail.removeprefix(f"{site}: ")


# A customer domain's classes: their detail says which record or how many days.
_DETAILED_FAMILIES = frozenset({"dns", "mail_auth", "registration"})


def subject_for(site: str, failure_class: FailureClass, url: str, detail: str = "") -> str:
    """`tienda-ana: HTTP 500 on https://tienda-ana.example/`: English, short."""
    words = SUBJECT_WORDS.get(failure_class, str(failure_class))
    detail = strip_site(site, detail)
    detailed = failure_class in _DETAIL_SUBJECTS or family_of(failure_class) in _DETAILED_FAMILIES
    if detailed and detail:
        # Their detail says what matters (how slow, how many days, which keyword).
        text = f"{site}: {words}: {detail}"
    else:
        text = f"{site}: {words} on {url}"
    return text if len(text) <= 160 else text[:157] + "..."


def iso_utc(epoch: float | None) -> str | None:
    """An epoch instant of the memory as ISO 8601 in UTC, for evidence people read."""
    return datetime.fromtimestamp(epoch, UTC).isoformat() if epoch is not None else None


__all__ = [
    "BLOCKING",
    "DOWN",
    "SERVER",
    "SERVER_LEVEL_CLASSES",
    "Action",
    "Decision",
    "Failure",
    "FamilyState",
    "LinkChild",
    "Notice",
    "OpenTicket",
    "Outcome",
    "RecordEvent",
    "Reopen",
    "Reprioritize",
    "Reprobe",
    "Resolve",
    "SiteState",
    "TicketView",
    "category_of",
    "class_priority_of",
    "dedupe_key",
    "human_duration",
    "in_maintenance",
    "iso_utc",
    "server_dedupe_key",
    "strip_site",
    "subject_for",
]
