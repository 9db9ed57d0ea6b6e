"""The desk's configuration: one TOML file of customers, servers, sites, SLA and probe settings.

The dataclasses below are the contract every part reads; `load_config` turns a TOML file
into them and refuses anything it does not understand with a `ConfigError` that lists every
problem by file, key path and line.
"""

from __future__ import annotations

import bisect
import difflib
import itertools
import json
import math
import re
import ssl
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ronda.contract import CALENDAR_NAMES, SlaCellConfig, default_matrix
from ronda.model import CATEGORIES, SCOPES, FailureClass, Impact, Priority


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
    # [[mail.rules]] tables as read (dicts: match, name, category, priority, scope); the
    # mail intake checks and compiles them (ronda.intake.triage.compile_rules).
    rules: tuple = ()


@dataclass(frozen=True, slots=True)
class Config:
    path: Path | None = None
    customers: tuple[Customer, ...] = ()
    servers: tuple[Server, ...] = ()
    sites: tuple[Site, ...] = ()
    sla: dict[tuple[Priority, Impact], SlaCellConfig] = field(default_factory=dict)
    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    probe: ProbeSettings = field(default_factory=ProbeSettings)
    incidents: IncidentSettings = field(default_factory=IncidentSettings)
    class_priority: dict[FailureClass, Priority] = field(default_factory=dict)
    tls: TlsConfig = field(default_factory=TlsConfig)
    mail: MailSettings = field(default_factory=MailSettings)
    concurrency: int = 100  # probes in flight at once
    per_server_concurrency: int = 4  # one shared host must not be hammered
    lang: str = "en"

    def site(self, name: str) -> Site | None:
        return next((s for s in self.sites if s.name == name), None)


class ConfigError(Exception):
    """A config that cannot be used; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


# --- Loading -------------------------------------------------------------------------------
#
# `parse_config` validates the whole document before building anything and collects every
# problem it finds, so a user fixes a broken file in one pass instead of one error per run.
# tomllib keeps no positions, so `_LineMap` re-scans the (already valid) text to map each key
# path to the line where it is written.

KeyPath = tuple[str | int, ...]

_BAD: Any = object()  # a value that failed validation; its problem is already recorded

_PROBE_KINDS: dict[str, str] = {
    "interval": "seconds",
    "deadline": "seconds",
    "slow_first_byte": "seconds",
    "slow_total": "seconds",
    "max_redirects": "count0",
    "max_body_bytes": "count",
    "cert_warning_days": "count",
    "cert_critical_days": "count",
}
_INCIDENT_KINDS: dict[str, str] = {
    "confirm_rounds": "count",
    "recheck_immediately": "bool",
    "recover_rounds": "count",
    "flap_window": "seconds",
    "flap_count": "count",
    "outage_min_sites": "count",
    "outage_fraction": "fraction",
    "outage_window": "seconds",
    "maintenance_high_after": "seconds",
}
_MAIL_KINDS: dict[str, str] = {
    "listen": "listen",
    "desk_address": "email",
    "relay": "relay",
    "max_message_bytes": "count",
}
_TOP_KEYS = (
    "lang",
    "concurrency",
    "per_server_concurrency",
    "customers",
    "servers",
    "sites",
    "tls",
    "probe",
    "sla",
    "incidents",
    "priorities",
    "mail",
)
_SITE_KEYS = (
    "name",
    "url",
    "customer",
    "server",
    "impact",
    "wordpress",
    "checks",
    "maintenance",
    *_PROBE_KINDS,
)
_CALENDAR_KEYS = ("timezone", "holidays", "holidays_subdiv", "extra_holidays", "hours")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_LANGS = ("en", "es")

_DURATION = re.compile(r"(?:\d+(?:\.\d+)?\s*(?:ms|d|h|m|s)\s*)+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|d|h|m|s)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_HHMM = re.compile(r"([01]?\d|2[0-4]):([0-5]\d)")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_DOMAIN = re.compile(r"[^\s@/:]+\.[^\s@/:]+")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_TOML_POSITION = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")


def parse_duration(value: str | int | float) -> timedelta:
    """`"5m"`, `"1h30m"`, `"36h"`, `"1.5s"`, `"500ms"`, `"2d"` or seconds as a number.

    Raises ValueError for anything else, including zero and negative durations.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and _DURATION.fullmatch(value.strip().lower()):
        parts = _DURATION_PART.findall(value.lower())
        seconds = sum(float(n) * _UNIT_SECONDS[unit] for n, unit in parts)
    else:
        raise ValueError(f"{value!r} is not a duration")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{value!r} is not a positive duration")
    return timedelta(seconds=seconds)


def format_key_path(path: KeyPath) -> str:
    """`("sites", 3, "impact")` -> `sites[3].impact` (indexes are 0-based)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = part if _BARE_KEY.fullmatch(part) else json.dumps(part, ensure_ascii=False)
            out += f".{name}" if out else name
    return out


def load_config(path: str | Path) -> Config:
    """Read and validate one TOML file; raise ConfigError listing every problem."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError([f"{path}:0: (file): cannot read the file ({reason})"]) from None
    try:
        text = data.decode("utf-8-sig")  # -sig: a BOM from a Windows editor is harmless
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = data[exc.start]
        raise ConfigError(
            [
                f"{path}:{line}: (file): byte 0x{byte:02x} at column {column} is not UTF-8 "
                "(expected a UTF-8 text file; re-save it as UTF-8)"
            ]
        ) from None
    return parse_config(text, path)


def parse_config(text: str, path: Path | None = None) -> Config:
    """Validate TOML text into a Config; `path` names the file and anchors relative paths."""
    name = str(path) if path is not None else "<config>"
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([_syntax_problem(name, text, str(exc))]) from None
    base_dir = path.parent if path is not None else Path.cwd()
    loader = _Loader(base_dir)
    config = loader.config(doc, path)
    if loader.problems:
        lines = _LineMap(text)
        located = sorted(
            ((lines.line_of(p), n, p, msg) for n, (p, msg) in enumerate(loader.problems)),
            key=lambda item: (item[0], item[1]),
        )
        entries = (
            f"{name}:{line}: {format_key_path(key_path) or '(top)'}: {message}"
            for line, _, key_path, message in located
        )
        raise ConfigError(list(dict.fromkeys(entries)))  # one line per problem, in line order
    return config


def check_config_summary(config: Config) -> str:
    """One line for `ronda check-config`: what the file declares."""
    name = str(config.path) if config.path is not None else "<config>"
    cells = len(Priority) * len(Impact)
    return (
        f"ok: {name}: {_plural(len(config.sites), 'site')}, "
        f"{_plural(len(config.customers), 'customer')}, "
        f"{_plural(len(config.servers), 'server')}, "
        f"SLA matrix {cells} cells ({len(config.sla)} overridden)"
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _syntax_problem(name: str, text: str, message: str) -> str:
    """tomllib's message, reshaped as FILE:LINE: (syntax): what is wrong."""
    match = _TOML_POSITION.search(message)
    what = _TOML_POSITION.sub("", message) if match else message
    what = what[:1].lower() + what[1:]
    if what == "illegal character '\\n'":  # tomllib's words for a quote left open
        what = "the line ends inside a string (a quote is not closed)"
    if match and match.group(1):
        line, where = int(match.group(1)), f" at column {match.group(2)}"
    else:  # "at end of document": an unterminated value, reported on the last line
        line, where = max(1, text.count("\n") + (0 if text.endswith("\n") else 1)), ""
    return f"{name}:{line}: (syntax): {what}{where} (expected valid TOML)"


def _describe(value: object) -> str:
    """A value as the user wrote it, for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, date | time):  # datetime is a date too
        return value.isoformat()
    return str(value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Loader:
    """Turns a parsed TOML document into a Config, collecting (key path, message) problems."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self.problems: list[tuple[KeyPath, str]] = []
        self.tz: tzinfo = ZoneInfo(CalendarConfig().timezone)

    def add(self, path: KeyPath, message: str) -> None:
        self.problems.append((path, message))

    # -- generic shapes -------------------------------------------------------------------

    def table(self, value: object, path: KeyPath, allowed: Sequence[str]) -> dict | None:
        """A table whose keys must all be in `allowed`; unknown keys are reported."""
        if not isinstance(value, dict):
            self.add(
                path, f"{_describe(value)} is not a table (expected [{format_key_path(path)}])"
            )
            return None
        for key in value:
            if key not in allowed:
                self.unknown(path + (key,), key, allowed)
        return value

    def unknown(self, path: KeyPath, key: str, allowed: Sequence[str]) -> None:
        if path == ("calendar",):  # the calendar lives with the matrix it times
            close = ["sla.calendar"]
        else:
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        if close:
            self.add(path, f"unknown key (did you mean '{close[0]}'?)")
        else:
            self.add(path, f"unknown key (expected one of {', '.join(allowed)})")

    def array_of_tables(self, value: object, path: KeyPath) -> list[tuple[int, dict]]:
        """(index, entry) for each table of an array; other items are reported."""
        if not isinstance(value, list):
            what = format_key_path(path)
            self.add(path, f"{_describe(value)} is not an array of tables (expected [[{what}]])")
            return []
        good: list[tuple[int, dict]] = []
        for i, item in enumerate(value):
            if isinstance(item, dict):
                good.append((i, item))
            else:
                self.add(path + (i,), f"{_describe(item)} is not a table")
        return good

    def string(self, value: object, path: KeyPath, *, empty: bool = False) -> Any:
        if not isinstance(value, str):
            self.add(path, f"{_describe(value)} is not a string")
            return _BAD
        if not empty and not value.strip():
            self.add(path, "must not be empty")
            return _BAD
        return value.strip()

    def choice(self, value: object, path: KeyPath, options: Sequence[str]) -> Any:
        if not isinstance(value, str) or value.strip().lower() not in options:
            self.add(path, f"{_describe(value)} is not one of {', '.join(options)}")
            return _BAD
        return value.strip().lower()

    def kind(self, kind: str, value: object, path: KeyPath) -> Any:
        """One scalar setting of [probe], [incidents] or [mail], converted."""
        if kind == "bool":
            if not isinstance(value, bool):
                self.add(path, f"{_describe(value)} is not true or false")
                return _BAD
            return value
        if kind in ("count", "count0"):
            low = 1 if kind == "count" else 0
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                what = "a positive integer" if low else "an integer >= 0"
                self.add(path, f"{_describe(value)} is not {what}")
                return _BAD
            return value
        if kind == "seconds":
            try:
                return parse_duration(value).total_seconds()  # type: ignore[arg-type]
            except ValueError:
                self.add(
                    path,
                    f"{_describe(value)} is not a positive duration "
                    '(expected seconds as a number, or e.g. "90s", "5m", "1h30m")',
                )
                return _BAD
        if kind == "fraction":
            if not _is_number(value) or not 0 < value <= 1:  # type: ignore[operator]
                self.add(path, f"{_describe(value)} is not a fraction (expected 0 < x <= 1)")
                return _BAD
            return float(value)  # type: ignore[arg-type]
        if kind == "email":
            text = self.string(value, path)
            if text is not _BAD and not _EMAIL.fullmatch(text):
                self.add(path, f"{_describe(value)} is not an e-mail address")
                return _BAD
            return text
        if kind in ("listen", "relay"):
            if kind == "relay" and value == "":
                return None
            text = self.string(value, path)
            if text is not _BAD and not _valid_host_port(text, allow_zero=kind == "listen"):
                self.add(path, f"{_describe(value)} is not host:port (expected e.g. 127.0.0.1:25)")
                return _BAD
            return text
        raise AssertionError(kind)

    def settings(self, raw: dict, path: KeyPath, kinds: dict[str, str]) -> dict[str, Any]:
        """The known keys of `raw` converted; unknown keys are reported by the caller."""
        out = {}
        for key, kind in kinds.items():
            if key in raw:
                value = self.kind(kind, raw[key], path + (key,))
                if value is not _BAD:
                    out[key] = value
        return out

    # -- sections -------------------------------------------------------------------------

    def config(self, doc: dict, path: Path | None) -> Config:
        self.table(doc, (), _TOP_KEYS)
        top: dict[str, Any] = {}
        if "lang" in doc and (lang := self.choice(doc["lang"], ("lang",), _LANGS)) is not _BAD:
            top["lang"] = lang
        for key in ("concurrency", "per_server_concurrency"):
            if key in doc and (n := self.kind("count", doc[key], (key,))) is not _BAD:
                top[key] = n

        raw_probe = self.table(doc.get("probe", {}), ("probe",), tuple(_PROBE_KINDS)) or {}
        probe = self.probe(raw_probe, ("probe",), ProbeSettings(), check_cert=True)
        calendar, sla = self.sla(doc.get("sla", {}))
        incidents = IncidentSettings()
        if "incidents" in doc and (
            raw := self.table(doc["incidents"], ("incidents",), tuple(_INCIDENT_KINDS))
        ):
            incidents = replace(incidents, **self.settings(raw, ("incidents",), _INCIDENT_KINDS))
        mail = MailSettings()
        if "mail" in doc and (raw := self.table(doc["mail"], ("mail",), (*_MAIL_KINDS, "rules"))):
            mail = replace(
                mail,
                **self.settings(raw, ("mail",), _MAIL_KINDS),
                rules=self.mail_rules(raw.get("rules", [])),
            )
        class_priority = self.priorities(doc.get("priorities", {}))
        tls = self.tls(doc.get("tls", {}))

        customers = self.customers(doc.get("customers", []))
        servers = self.servers(doc.get("servers", []))
        sites = self.sites(doc.get("sites", []), probe, customers)
        # Servers named only by sites are created here so that outage correlation sees
        # every server; the file need not list a server that has no maintenance windows.
        declared = {s.name for s in servers}
        implied = [Server(n) for n in dict.fromkeys(s.server for s in sites if s.server)]
        servers += tuple(s for s in implied if s.name not in declared)

        return Config(
            path=path,
            customers=customers,
            servers=servers,
            sites=sites,
            sla=sla,
            calendar=calendar,
            probe=probe,
            incidents=incidents,
            class_priority=class_priority,
            tls=tls,
            mail=mail,
            **top,
        )

    def probe(
        self, raw: dict, path: KeyPath, base: ProbeSettings, *, check_cert: bool
    ) -> ProbeSettings:
        """`base` overridden by the probe keys of `raw` ([probe] itself, or a site entry)."""
        given = self.settings(raw, path, _PROBE_KINDS)
        merged = replace(base, **given)
        touched = "cert_warning_days" in given or "cert_critical_days" in given
        if (check_cert or touched) and merged.cert_critical_days > merged.cert_warning_days:
            key = "cert_critical_days" if "cert_critical_days" in given else "cert_warning_days"
            self.add(
                path + (key,),
                f"cert_critical_days ({merged.cert_critical_days}) is more than "
                f"cert_warning_days ({merged.cert_warning_days}) (expected critical <= warning)",
            )
        return merged

    def tls(self, raw: object) -> TlsConfig:
        table = self.table(raw, ("tls",), ("extra_ca",))
        if not table or "extra_ca" not in table:
            return TlsConfig()
        path = ("tls", "extra_ca")
        text = self.string(table["extra_ca"], path)
        if text is _BAD:
            return TlsConfig()
        ca = (self.base_dir / Path(text).expanduser()).resolve()
        if not ca.exists():
            self.add(
                path,
                f"{ca} does not exist (expected a PEM file or a folder of them, "
                "relative to the config's folder)",
            )
            return TlsConfig()
        # Load it now: a bad bundle must stop the desk at start, not fail every probe. A folder
        # (OpenSSL's hashed capath, as checks/tls.py accepts) is only read at handshake time.
        where = {"capath": str(ca)} if ca.is_dir() else {"cafile": str(ca)}
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(**where)
        except (ssl.SSLError, OSError, ValueError) as exc:
            self.add(path, f"{ca} is not a usable CA bundle ({exc}) (expected PEM certificates)")
            return TlsConfig()
        return TlsConfig(extra_ca=ca)

    def priorities(self, raw: object) -> dict[FailureClass, Priority]:
        classes = tuple(c.value for c in FailureClass if c is not FailureClass.OK)
        table = self.table(raw, ("priorities",), classes)
        out: dict[FailureClass, Priority] = {}
        for key, value in (table or {}).items():
            if key in classes:
                level = self.choice(value, ("priorities", key), tuple(Priority))
                if level is not _BAD:
                    out[FailureClass(key)] = Priority(level)
        return out

    def sla(
        self, raw: object
    ) -> tuple[CalendarConfig, dict[tuple[Priority, Impact], SlaCellConfig]]:
        table = self.table(raw, ("sla",), ("calendar", *Priority))
        if table is None:
            return CalendarConfig(), {}
        calendar = self.calendar(table["calendar"]) if "calendar" in table else CalendarConfig()
        cells: dict[tuple[Priority, Impact], SlaCellConfig] = {}
        defaults = default_matrix()  # a cell names only what it changes
        for priority in Priority:
            if priority.value not in table:
                continue
            row = self.table(table[priority.value], ("sla", priority.value), tuple(Impact))
            for impact in Impact:
                if not row or impact.value not in row:
                    continue
                cell = self.sla_cell(
                    row[impact.value],
                    ("sla", priority.value, impact.value),
                    defaults[(priority, impact)],
                )
                if cell is not None:
                    cells[(priority, impact)] = cell
        return calendar, cells

    def sla_cell(self, raw: object, path: KeyPath, default: SlaCellConfig) -> SlaCellConfig | None:
        table = self.table(raw, path, ("target", "limit", "calendar"))
        if table is None:
            return None
        values: dict[str, Any] = {}
        ok = True
        for key in ("target", "limit"):
            if key in table:
                try:
                    values[key] = parse_duration(table[key])
                except ValueError:
                    ok = False
                    self.add(
                        path + (key,),
                        f"{_describe(table[key])} is not a positive duration "
                        '(expected e.g. "5m", "1h30m", "36h" or seconds as a number)',
                    )
        if "calendar" in table:
            values["calendar"] = self.choice(
                table["calendar"], path + ("calendar",), CALENDAR_NAMES
            )
            ok = ok and values["calendar"] is not _BAD
        if not ok:
            return None
        cell = replace(default, **values)
        if cell.target > cell.limit:
            key = "target" if "target" in table else "limit"
            whose = "" if "target" in table and "limit" in table else "the contract's "
            self.add(
                path + (key,),
                f"target {_format_duration(cell.target)} is after {whose}limit "
                f"{_format_duration(cell.limit)} (expected target <= limit)",
            )
            return None
        return cell

    def calendar(self, raw: object) -> CalendarConfig:
        path: KeyPath = ("sla", "calendar")
        table = self.table(raw, path, _CALENDAR_KEYS)
        if table is None:
            return CalendarConfig()
        values: dict[str, Any] = {}
        if "timezone" in table:
            key = self.string(table["timezone"], path + ("timezone",))
            if key is not _BAD:
                try:
                    self.tz = ZoneInfo(key)
                    values["timezone"] = key
                except (ZoneInfoNotFoundError, ValueError):
                    self.add(
                        path + ("timezone",),
                        f"{_describe(key)} is not a known time zone (expected e.g. America/Bogota)",
                    )
        if "holidays" in table:
            self.holidays(table, path, values)
        elif "holidays_subdiv" in table:
            self.add(path + ("holidays_subdiv",), 'needs holidays = "CC" (the country) too')
        if "extra_holidays" in table:
            values["extra_holidays"] = self.extra_holidays(table["extra_holidays"], path)
        if "hours" in table:
            hours = self.hours(table["hours"], path + ("hours",))
            if hours is not None:
                values["hours"] = hours
        return replace(CalendarConfig(), **values)

    def holidays(self, table: dict, path: KeyPath, values: dict[str, Any]) -> None:
        raw = table["holidays"]
        if raw is False or raw == "":  # no public holidays: the agency works every weekday
            values["holidays_country"] = None
            values["holidays_subdiv"] = None
            return
        if not isinstance(raw, str):
            self.add(
                path + ("holidays",),
                f'{_describe(raw)} is not a country code (expected e.g. "CO", or false)',
            )
            return
        import holidays  # lazily: 50 ms, and only a file that names a country pays it

        supported = holidays.list_supported_countries()
        country = raw.strip().upper()
        if country not in supported:
            close = difflib.get_close_matches(country, list(supported), n=1)
            hint = f"did you mean '{close[0]}'?" if close else 'expected an ISO code such as "CO"'
            self.add(path + ("holidays",), f"{_describe(raw)} is not a supported country ({hint})")
            return
        values["holidays_country"] = country
        values["holidays_subdiv"] = None
        if "holidays_subdiv" in table:
            sub = table["holidays_subdiv"]
            subs = supported[country]
            if not isinstance(sub, str) or sub.strip().upper() not in subs:
                expected = (
                    ", ".join(subs[:12]) + ("..." if len(subs) > 12 else "")
                    if subs
                    else "none for this country"
                )
                self.add(
                    path + ("holidays_subdiv",),
                    f"{_describe(sub)} is not a subdivision of {country} (expected {expected})",
                )
            else:
                values["holidays_subdiv"] = sub.strip().upper()

    def extra_holidays(self, raw: object, path: KeyPath) -> tuple[str, ...]:
        path = path + ("extra_holidays",)
        if not isinstance(raw, list):
            self.add(path, f"{_describe(raw)} is not an array of dates")
            return ()
        out = []
        for i, item in enumerate(raw):
            if isinstance(item, date) and not isinstance(item, datetime):
                out.append(item.isoformat())
                continue
            try:
                out.append(date.fromisoformat(item).isoformat())  # type: ignore[arg-type]
            except (TypeError, ValueError):
                self.add(path + (i,), f"{_describe(item)} is not a date (expected YYYY-MM-DD)")
        return tuple(out)

    def hours(self, raw: object, path: KeyPath) -> dict[int, tuple[tuple[time, time], ...]] | None:
        table = self.table(raw, path, _DAYS)
        if table is None:
            return None
        hours = dict(CalendarConfig().hours)  # days not listed keep the default hours
        for day, spec in table.items():
            if day not in _DAYS:
                continue
            weekday = _DAYS.index(day)
            ranges = self.day_ranges(spec, path + (day,))
            if ranges is None:
                continue
            if ranges:
                hours[weekday] = ranges
            else:
                hours.pop(weekday, None)
        if not hours:
            self.add(path, "no opening hours on any day (expected at least one open day)")
            return None
        return hours

    def day_ranges(self, spec: object, path: KeyPath) -> tuple[tuple[time, time], ...] | None:
        expected = '(expected e.g. "08:00-18:00", "08:00-12:00, 14:00-18:00", or "" for closed)'
        if isinstance(spec, list) and all(isinstance(s, str) for s in spec):
            parts = [p.strip() for p in spec]
        elif isinstance(spec, str):
            parts = [p.strip() for p in spec.split(",")] if spec.strip() else []
        else:
            self.add(path, f"{_describe(spec)} is not a list of opening hours {expected}")
            return None
        minutes: list[tuple[int, int]] = []
        for part in parts:
            start_s, sep, end_s = part.partition("-")
            start, end = _minute_of_day(start_s), _minute_of_day(end_s)
            if end == 0:  # "00:00" as an end is midnight at the close of the day, like 24:00
                end = 24 * 60
            if not sep or start is None or end is None or not start < end:
                self.add(path, f"{_describe(part)} is not a range of hours {expected}")
                return None
            minutes.append((start, end))
        minutes.sort()
        for (_, end), (start, _) in itertools.pairwise(minutes):
            if start < end:
                self.add(path, f"{_describe(spec)} has overlapping ranges {expected}")
                return None
        # ronda.calendar reads an end of 00:00 as the close of the day (24:00).
        return tuple((_clock(start), _clock(end % (24 * 60))) for start, end in minutes)

    def mail_rules(self, raw: object) -> tuple[dict, ...]:
        """`[[mail.rules]]`: triage rules the agency tunes (match words -> category,
        priority, scope). Kept as checked dicts; the mail intake compiles them."""
        out: list[dict] = []
        for i, entry in self.array_of_tables(raw, ("mail", "rules")):
            path: KeyPath = ("mail", "rules", i)
            self.table(entry, path, ("name", "match", "category", "priority", "scope"))
            rule: dict[str, Any] = {}
            match = entry.get("match")
            if (
                not isinstance(match, list)
                or not match
                or not all(isinstance(m, str) and m.strip() for m in match)
            ):
                self.add(
                    path + ("match",),
                    f"{_describe(match)} is not a list of words "
                    '(expected e.g. ["migración", "re:migra(r|tion)"])',
                )
            else:
                rule["match"] = [m.strip() for m in match]
            if "name" in entry and (name := self.string(entry["name"], path + ("name",))):
                rule["name"] = name
            for key, options in (
                ("category", CATEGORIES),
                ("priority", tuple(p.value for p in Priority)),
                ("scope", SCOPES),
            ):
                if key in entry:
                    value = self.choice(entry[key], path + (key,), options)
                    if value is not _BAD:
                        rule[key] = value
            if not any(k in entry for k in ("category", "priority", "scope")):
                self.add(path, "sets none of category, priority, scope (expected at least one)")
            out.append(rule)
        return tuple(out)

    def customers(self, raw: object) -> tuple[Customer, ...]:
        out: list[Customer] = []
        names: dict[str, int] = {}
        owners: dict[str, str] = {}  # e-mail or domain -> customer: sender matching must be unique
        for i, entry in self.array_of_tables(raw, ("customers",)):
            path: KeyPath = ("customers", i)
            self.table(entry, path, ("name", "emails", "domains"))
            name = self.required_name(entry, path, names, "customers")
            lists: dict[str, tuple[str, ...]] = {}
            for key, pattern, example in (
                ("emails", _EMAIL, "ana@tienda-ana.example"),
                ("domains", _DOMAIN, "tienda-ana.example"),
            ):
                found: list[str] = []
                value = entry.get(key, [])
                if not isinstance(value, list):
                    self.add(path + (key,), f"{_describe(value)} is not an array of strings")
                    value = []
                for j, item in enumerate(value):
                    text = item.strip().lower() if isinstance(item, str) else None
                    if not text or not pattern.fullmatch(text):
                        self.add(
                            path + (key, j),
                            f"{_describe(item)} is not valid (expected e.g. {example})",
                        )
                    elif text in owners and owners[text] != name:
                        self.add(
                            path + (key, j),
                            f"{_describe(text)} already belongs to customer {owners[text]!r}",
                        )
                    else:
                        owners[text] = name
                        found.append(text)
                lists[key] = tuple(found)
            out.append(Customer(name=name, **lists))
        return tuple(out)

    def required_name(self, entry: dict, path: KeyPath, names: dict[str, int], section: str) -> str:
        """The entry's unique `name`, or "" after reporting why it is missing or taken."""
        if "name" not in entry:
            self.add(path + ("name",), "missing (every entry needs a name)")
            return ""
        name = self.string(entry["name"], path + ("name",))
        if name is _BAD:
            return ""
        if name in names:
            self.add(
                path + ("name",),
                f"{name!r} is already used by {section}[{names[name]}] (names must be unique)",
            )
        else:
            names[name] = path[1]  # type: ignore[assignment]
        return name

    def servers(self, raw: object) -> tuple[Server, ...]:
        out: list[Server] = []
        names: dict[str, int] = {}
        for i, entry in self.array_of_tables(raw, ("servers",)):
            path: KeyPath = ("servers", i)
            self.table(entry, path, ("name", "maintenance"))
            name = self.required_name(entry, path, names, "servers")
            windows = self.maintenance(entry.get("maintenance", []), path + ("maintenance",))
            out.append(Server(name=name, maintenance=windows))
        return tuple(out)

    def maintenance(self, raw: object, path: KeyPath) -> tuple[MaintenanceWindow, ...]:
        out: list[MaintenanceWindow] = []
        for i, entry in self.array_of_tables(raw, path):
            here = path + (i,)
            self.table(entry, here, ("start", "end", "reason"))
            start = self.instant(entry, here, "start")
            end = self.instant(entry, here, "end")
            reason = self.string(entry.get("reason", ""), here + ("reason",), empty=True)
            if start is _BAD or end is _BAD or reason is _BAD:
                continue
            if end <= start:
                self.add(
                    here + ("end",), f"{end.isoformat()} is not after start {start.isoformat()}"
                )
                continue
            out.append(MaintenanceWindow(start=start, end=end, reason=reason))
        return tuple(out)

    def instant(self, entry: dict, path: KeyPath, key: str) -> Any:
        """A timezone-aware datetime; naive ones take the calendar's time zone."""
        expected = "(expected a date-time such as 2026-11-28T22:00:00-05:00)"
        if key not in entry:
            self.add(path + (key,), f"missing {expected}")
            return _BAD
        value = entry[key]
        if isinstance(value, str) and len(value.strip()) > len("2026-11-28"):
            try:  # a date alone is refused below, as a TOML date is: which hour would it be?
                value = datetime.fromisoformat(value.strip())
            except ValueError:
                pass
        if not isinstance(value, datetime):
            self.add(path + (key,), f"{_describe(value)} is not a date-time {expected}")
            return _BAD
        return value if value.tzinfo is not None else value.replace(tzinfo=self.tz)

    def sites(
        self, raw: object, probe: ProbeSettings, customers: tuple[Customer, ...]
    ) -> tuple[Site, ...]:
        out: list[Site] = []
        names: dict[str, int] = {}
        customer_names = {c.name for c in customers}
        for i, entry in self.array_of_tables(raw, ("sites",)):
            path: KeyPath = ("sites", i)
            self.table(entry, path, _SITE_KEYS)
            name = self.required_name(entry, path, names, "sites")
            values: dict[str, Any] = {"name": name, "url": self.url(entry, path)}
            if "customer" in entry:
                customer = self.string(entry["customer"], path + ("customer",))
                if customer is not _BAD and customers and customer not in customer_names:
                    close = difflib.get_close_matches(customer, customer_names, n=1)
                    hint = (
                        f"did you mean {close[0]!r}?"
                        if close
                        else "expected a name from [[customers]]"
                    )
                    self.add(
                        path + ("customer",), f"{customer!r} is not a declared customer ({hint})"
                    )
                elif customer is not _BAD:
                    values["customer"] = customer
            if (
                "server" in entry
                and (server := self.string(entry["server"], path + ("server",))) is not _BAD
            ):
                values["server"] = server
            if (
                "impact" in entry
                and (impact := self.choice(entry["impact"], path + ("impact",), tuple(Impact)))
                is not _BAD
            ):
                values["impact"] = Impact(impact)
            if (
                "wordpress" in entry
                and (wp := self.kind("bool", entry["wordpress"], path + ("wordpress",))) is not _BAD
            ):
                values["wordpress"] = wp
            values["checks"] = self.checks(entry.get("checks", []), path + ("checks",))
            values["maintenance"] = self.maintenance(
                entry.get("maintenance", []), path + ("maintenance",)
            )
            values["probe"] = self.probe(entry, path, probe, check_cert=False)
            out.append(Site(**values))
        return tuple(out)

    def url(self, entry: dict, path: KeyPath) -> str:
        expected = "(expected http:// or https:// and a host, e.g. https://tienda-ana.example/)"
        if "url" not in entry:
            self.add(path + ("url",), f"missing {expected}")
            return ""
        url = self.string(entry["url"], path + ("url",))
        if url is _BAD:
            return ""
        try:
            parts = urlsplit(url)
            valid = parts.scheme in ("http", "https") and bool(parts.hostname)
            valid = valid and not any(ch.isspace() for ch in url)
            _ = parts.port  # raises ValueError for a port out of range or not a number
        except ValueError:
            valid = False
        if not valid:
            self.add(path + ("url",), f"{url!r} is not a web address {expected}")
            return ""
        return url

    def checks(self, raw: object, path: KeyPath) -> tuple[KeywordCheck, ...]:
        out = []
        for i, entry in self.array_of_tables(raw, path):
            here = path + (i,)
            self.table(entry, here, ("path", "keyword"))
            values = {}
            for key in ("path", "keyword"):
                if key not in entry:
                    self.add(here + (key,), "missing (a check needs a path and a keyword)")
                    continue
                values[key] = self.string(entry[key], here + (key,))
            check_path = values.get("path")
            if isinstance(check_path, str) and not check_path.startswith("/"):
                self.add(
                    here + ("path",), f"{check_path!r} does not start with / (expected e.g. /cart/)"
                )
                continue
            if len(values) == 2 and _BAD not in values.values():
                out.append(KeywordCheck(**values))
        return tuple(out)


def _valid_host_port(text: str, *, allow_zero: bool) -> bool:
    host, sep, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")  # [::1]:25
    if not sep or not host or not port.isdigit():
        return False
    return (0 if allow_zero else 1) <= int(port) <= 65535


def _minute_of_day(text: str) -> int | None:
    """Minute of the day: "08:30" -> 510, "24:00" -> 1440, anything else -> None."""
    match = _HHMM.fullmatch(text.strip())
    if not match:
        return None
    value = int(match.group(1)) * 60 + int(match.group(2))
    return value if value <= 24 * 60 else None


def _clock(minute: int) -> time:
    return time(minute // 60, minute % 60)


def _format_duration(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    text += f"{secs}s" if secs or not text else ""
    return text


class _LineMap:
    """Key path -> line, by scanning TOML text that tomllib has already accepted.

    Best effort: it follows table headers, arrays of tables, dotted keys, arrays and inline
    tables; a path it cannot place falls back to its nearest placed parent.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._pos = 0
        self._starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
        self.lines: dict[KeyPath, int] = {}
        self._aot: dict[KeyPath, int] = {}  # array-of-tables path -> entries seen so far
        try:
            self._scan()
        except (IndexError, ValueError):
            pass  # keep whatever was placed before the scanner lost its way

    def line_of(self, path: KeyPath) -> int:
        for n in range(len(path), 0, -1):
            if (line := self.lines.get(path[:n])) is not None:
                return line
        return 1

    def _record(self, path: KeyPath, pos: int) -> None:
        line = bisect.bisect_right(self._starts, pos)
        for n in range(1, len(path) + 1):
            self.lines.setdefault(path[:n], line)

    def _resolve(self, parts: list[str]) -> KeyPath:
        """Header keys -> a path, entering the latest entry of each array of tables."""
        path: KeyPath = ()
        for part in parts:
            path += (part,)
            if path in self._aot:
                path += (self._aot[path] - 1,)
        return path

    def _scan(self) -> None:
        text = self._text
        table: KeyPath = ()
        while True:
            self._skip(newlines=True)
            if self._pos >= len(text):
                return
            start = self._pos
            if text.startswith("[[", start):
                self._pos += 2
                parts = self._key()
                self._skip()
                self._pos += 2
                array = self._resolve(parts[:-1]) + (parts[-1],)
                self._aot[array] = self._aot.get(array, 0) + 1
                table = array + (self._aot[array] - 1,)
                self._record(table, start)
            elif text[start] == "[":
                self._pos += 1
                parts = self._key()
                self._skip()
                self._pos += 1
                table = self._resolve(parts)
                self._record(table, start)
            else:
                path = table + tuple(self._key())
                self._record(path, start)
                self._skip()
                self._pos += 1  # "="
                self._skip()
                self._value(path)

    def _skip(self, *, newlines: bool = False) -> None:
        text = self._text
        while self._pos < len(text):
            ch = text[self._pos]
            if ch in " \t" or (newlines and ch in "\r\n"):
                self._pos += 1
            elif ch == "#":
                end = text.find("\n", self._pos)
                self._pos = len(text) if end < 0 else end
            else:
                return

    def _key(self) -> list[str]:
        parts = []
        while True:
            self._skip()
            text, pos = self._text, self._pos
            if text[pos] == '"':
                parts.append(self._basic_string())
            elif text[pos] == "'":
                end = text.index("'", pos + 1)
                parts.append(text[pos + 1 : end])
                self._pos = end + 1
            else:
                match = _BARE_KEY.match(text, pos)
                if not match:
                    raise ValueError("not a key")
                parts.append(match.group())
                self._pos = match.end()
            self._skip()
            if self._pos < len(text) and text[self._pos] == ".":
                self._pos += 1
                continue
            return parts

    def _basic_string(self) -> str:
        text = self._text
        self._pos += 1
        out = []
        while text[self._pos] != '"':
            ch = text[self._pos]
            if ch == "\\":
                code = text[self._pos + 1]
                if code in "uU":
                    width = 4 if code == "u" else 8
                    out.append(chr(int(text[self._pos + 2 : self._pos + 2 + width], 16)))
                    self._pos += 2 + width
                    continue
                out.append({"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r"}.get(code, code))
                self._pos += 2
                continue
            out.append(ch)
            self._pos += 1
        self._pos += 1
        return "".join(out)

    def _value(self, path: KeyPath) -> None:
        text, pos = self._text, self._pos
        if text.startswith('"""', pos) or text.startswith("'''", pos):
            quote = text[pos : pos + 3]
            self._pos = pos + 3
            while not text.startswith(quote, self._pos):
                self._pos += 2 if quote == '"""' and text[self._pos] == "\\" else 1
            self._pos += 3
            while self._pos < len(text) and text[self._pos] == quote[0]:  # up to 2 more quotes
                self._pos += 1
        elif text[pos] == '"':
            self._basic_string()
        elif text[pos] == "'":
            self._pos = text.index("'", pos + 1) + 1
        elif text[pos] == "[":
            self._pos += 1
            index = 0
            while True:
                self._skip(newlines=True)
                if text[self._pos] == "]":
                    self._pos += 1
                    return
                self._record(path + (index,), self._pos)
                self._value(path + (index,))
                self._skip(newlines=True)
                if text[self._pos] == ",":
                    self._pos += 1
                    index += 1
        elif text[pos] == "{":
            self._pos += 1
            while True:
                self._skip(newlines=True)
                if text[self._pos] == "}":
                    self._pos += 1
                    return
                if text[self._pos] == ",":
                    self._pos += 1
                    continue
                start = self._pos
                sub = path + tuple(self._key())
                self._record(sub, start)
                self._skip()
                self._pos += 1  # "="
                self._skip()
                self._value(sub)
        else:  # number, bool, date-time (which may contain a space): up to a delimiter
            while self._pos < len(text) and text[self._pos] not in ",]}\n#":
                self._pos += 1
