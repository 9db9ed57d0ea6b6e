"""[dns], [expiry] and [[domains]]: the customer domains the rounds check, as subjects.

Each `[[domains]]` entry becomes a check subject (`ronda.checks.subjects`) of kind
"domain", named `domain:<name>` so it never collides with a site, with no server (a
domain's DNS and registry are no hosting server's), and its settings in `Site.check`: the
DNS checks that run and what the zone must contain, whether the registration's expiry is
looked up, and the shared [dns] and [expiry] settings.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, tzinfo
from typing import Any
from urllib.parse import urlsplit

from ronda.config.errors import KeyPath, describe
from ronda.config.model import Customer, ProbeSettings, Site
from ronda.config.reader import BAD, Reader
from ronda.config.sites import _maintenance as read_windows  # the sites' own windows reader
from ronda.model import Impact

DOMAIN_KIND = "domain"
SUBJECT_PREFIX = "domain:"
DNS_KINDS = {"timeout": "seconds", "interval": "seconds", "per_resolver": "count"}
EXPIRY_KINDS = {
    "enabled": "bool",
    "warning_days": "count",
    "critical_days": "count",
    "lookup_every": "seconds",
    "timeout": "seconds",
}
EXPIRY_KEYS = (*EXPIRY_KINDS, "rdap_bootstrap", "bootstrap_max_age", "whois_servers")
DOMAIN_KEYS = (
    "name",
    "customer",
    "registrar",
    "impact",
    "interval",
    "nameservers",
    "checks",
    "records",
    "maintenance",
)
# The DNS checks, in order (also the exporter's `check` label values).
DNS_CHECKS = ("resolves", "mx", "spf", "dmarc", "records")
CHECK_KEYS = (*DNS_CHECKS, "expiry")
RECORD_KEYS = ("name", "type", "value")
RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "NS", "SRV", "TXT", "CAA")
# A registered name: labels of letters, digits and hyphens (IDNs in their xn-- form).
_DOMAIN = re.compile(r"(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62}")
_RECORD_NAME = re.compile(r"@|(\*\.)?[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})\.?")
MIN_DNS_INTERVAL = 60.0
# The rounds give a domain's check this long: a few passes of DNS queries and one registry
# lookup, each bounded by its own timeout.
DEADLINE_PER_TIMEOUT = 4


# ---- the settings the checks read ------------------------------------------------------

IANA_BOOTSTRAP = "https://data.iana.org/rdap/dns.json"
# .co and .com.co answer on WHOIS only; the registry's server (configurable per suffix).
DEFAULT_WHOIS_SERVERS = {"co": "whois.nic.co:43"}


@dataclass(frozen=True, slots=True)
class ExpirySettings:
    """[expiry]: thresholds, how often a registry is asked, where."""

    enabled: bool = True
    warning_days: int = 30
    critical_days: int = 7
    lookup_every: float = 86400.0  # seconds: at most one lookup a day per domain
    timeout: float = 10.0
    bootstrap_url: str = IANA_BOOTSTRAP
    bootstrap_max_age: float = 7 * 86400.0
    # (suffix, "host[:port]") pairs: a tuple keeps the settings (and their Site) hashable.
    whois_servers: tuple[tuple[str, str], ...] = tuple(DEFAULT_WHOIS_SERVERS.items())


@dataclass(frozen=True, slots=True)
class DnsSettings:
    """[dns]: where to ask and how long to wait."""

    resolvers: tuple[str, ...] = ()  # "host:port" or "host" (port 53); () = the system's
    timeout: float = 3.0  # seconds per query, all retries included
    interval: float = 900.0  # seconds between two checks of one domain
    # Queries in flight at once to the resolvers (each of them gets at most this many): a
    # shared or public resolver rate-limits a burst of a whole fleet's domains.
    per_resolver: int = 20


def split_resolver(text: str) -> tuple[str, int]:
    """`127.0.0.1:5353`, `[::1]:53`, `192.0.2.53` -> (address, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, port = text[1:].partition("]")
        return host, int(port.lstrip(":") or 53)
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, 53


@dataclass(frozen=True, slots=True)
class ExpectedRecord:
    """A record the domain must have: `name` relative to the domain ("@" is the domain)."""

    name: str
    type: str
    value: str

    def fqdn(self, domain: str) -> str:
        return qualify(self.name, domain)


@dataclass(frozen=True, slots=True)
class DomainChecks:
    """Which checks run for one domain, and what it must contain."""

    domain: str
    resolves: bool = True
    mx: bool = True
    spf: bool = True
    dmarc: bool = True
    nameservers: tuple[str, ...] = ()  # NS must contain each
    records: tuple[ExpectedRecord, ...] = ()

    def enabled(self) -> tuple[str, ...]:
        on = [c for c in ("resolves", "mx", "spf", "dmarc") if getattr(self, c)]
        if self.nameservers or self.records:
            on.append("records")
        return tuple(on)


def name_key(name: str) -> str:
    """The answers' key for a name: lower case, no final dot."""
    return name.strip().rstrip(".").lower()


def qualify(name: str, domain: str) -> str:
    """A record name relative to `domain` ("@", "www", "_dmarc") or absolute ("x.y.")."""
    name = name.strip()
    if name in ("", "@"):
        return name_key(domain)
    if name.endswith("."):
        return name_key(name)
    return name_key(f"{name}.{domain}")


def _loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_url(url: str) -> bool:
    """HTTPS anywhere; plain HTTP only to a loopback address (a test's server)."""
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and _loopback(parts.hostname))


@dataclass(frozen=True, slots=True)
class DomainSubject:
    """A domain subject's own settings (`Site.check` of kind "domain")."""

    domain: str
    checks: DomainChecks
    expiry: bool = True
    registrar: str | None = None
    dns: DnsSettings = field(default_factory=DnsSettings)
    expiry_settings: ExpirySettings = field(default_factory=ExpirySettings)


def subject_name(domain: str) -> str:
    return f"{SUBJECT_PREFIX}{domain}"


def read_dns(r: Reader, raw: object) -> DnsSettings:
    """[dns]: resolvers as "host:port" (none: the system's), timeout, interval, and the
    queries in flight at once to them (`per_resolver`)."""
    table = r.table(raw, ("dns",), ("resolvers", *DNS_KINDS))
    if not table:
        return DnsSettings()
    values: dict[str, Any] = r.settings(table, ("dns",), DNS_KINDS)
    if "resolvers" in table:
        resolvers = _resolvers(r, table["resolvers"], ("dns", "resolvers"))
        if resolvers is not BAD:
            values["resolvers"] = resolvers
    settings = replace(DnsSettings(), **values)
    if "interval" in values and values["interval"] < min_interval(settings):
        r.add(
            ("dns", "interval"),
            f"{values['interval']:g} s is too often (expected at least "
            f"{MIN_DNS_INTERVAL:g} s: a zone changes in minutes, not seconds)",
        )
        settings = replace(settings, interval=DnsSettings().interval)
    return settings


def min_interval(dns: DnsSettings) -> float:
    """The floor of a domain's interval: a minute, unless every resolver is on loopback (a
    test's or the demo's own DNS server, which nobody else shares)."""
    local = dns.resolvers and all(_loopback(split_resolver(x)[0]) for x in dns.resolvers)
    return 0.001 if local else MIN_DNS_INTERVAL


def _resolvers(r: Reader, value: object, path: KeyPath) -> Any:
    if not isinstance(value, list):
        r.add(path, f'{describe(value)} is not an array (expected e.g. ["127.0.0.1:5353"])')
        return BAD
    out = []
    for i, item in enumerate(value):
        good = isinstance(item, str) and bool(item.strip())
        if good:
            try:
                host, port = split_resolver(item)
                ipaddress.ip_address(host)
                good = 1 <= port <= 65535
            except ValueError:
                good = False
        if not good:
            r.add(
                path + (i,),
                f"{describe(item)} is not an address with an optional port "
                '(expected e.g. "127.0.0.1:5353" or "[::1]:53")',
            )
        else:
            out.append(item.strip())
    return tuple(out)


def read_expiry(r: Reader, raw: object) -> ExpirySettings:
    """[expiry]: thresholds in days, how often a registry is asked, the RDAP bootstrap's URL
    and age, and WHOIS servers per suffix (over the defaults)."""
    table = r.table(raw, ("expiry",), EXPIRY_KEYS)
    if not table:
        return ExpirySettings()
    values: dict[str, Any] = r.settings(table, ("expiry",), EXPIRY_KINDS)
    if "bootstrap_max_age" in table:
        age = r.kind("seconds", table["bootstrap_max_age"], ("expiry", "bootstrap_max_age"))
        if age is not BAD:
            values["bootstrap_max_age"] = age
    if "rdap_bootstrap" in table:
        url = r.string(table["rdap_bootstrap"], ("expiry", "rdap_bootstrap"))
        if url is not BAD and not allowed_url(url):
            r.add(
                ("expiry", "rdap_bootstrap"),
                f"{describe(url)} is not an https:// URL (plain http only on loopback)",
            )
        elif url is not BAD:
            values["bootstrap_url"] = url
    if "whois_servers" in table:
        servers = _whois_servers(r, table["whois_servers"])
        merged = {**DEFAULT_WHOIS_SERVERS, **servers}
        values["whois_servers"] = tuple(sorted(merged.items()))
    settings = replace(ExpirySettings(), **values)
    if settings.critical_days >= settings.warning_days:
        r.add(
            ("expiry", "critical_days"),
            f"{settings.critical_days} is not below warning_days ({settings.warning_days})",
        )
    return settings


def _whois_servers(r: Reader, raw: object) -> dict[str, str]:
    path: KeyPath = ("expiry", "whois_servers")
    if not isinstance(raw, dict):
        r.add(path, f'{describe(raw)} is not a table (expected e.g. {{ co = "whois.nic.co" }})')
        return {}
    out = {}
    for suffix, server in raw.items():
        here = path + (suffix,)
        text = r.string(server, here)
        if text is BAD:
            continue
        host, sep, port = text.rpartition(":")
        if not re.fullmatch(r"[a-z0-9.-]+", suffix.lower().strip(".")):
            r.add(here, "is not a domain suffix (expected e.g. co or com.co)")
        elif sep and not (port.isdigit() and 1 <= int(port) <= 65535 and host):
            r.add(here, f"{describe(text)} is not host or host:port (expected e.g. whois.nic.co)")
        else:
            out[suffix.lower().strip(".")] = text
    return out


def read_domains(
    r: Reader,
    raw: object,
    customers: tuple[Customer, ...],
    dns: DnsSettings,
    expiry: ExpirySettings,
    tz: tzinfo = UTC,
) -> tuple[Site, ...]:
    """[[domains]]: unique registered names, each a subject of kind "domain". Its own
    `[[domains.maintenance]]` windows (a planned DNS migration, a transfer) open nothing."""
    out: list[Site] = []
    names: dict[str, int] = {}
    customer_names = {c.name for c in customers}
    for i, entry in r.array_of_tables(raw, ("domains",)):
        path: KeyPath = ("domains", i)
        r.table(entry, path, DOMAIN_KEYS)
        name = r.required_name(entry, path, names, "domains")
        if name and not _DOMAIN.fullmatch(name.lower().rstrip(".")):
            r.add(
                path + ("name",),
                f"{describe(name)} is not a registered domain name (expected e.g. tienda-ana.co)",
            )
            continue
        if not name:
            continue
        domain = name.lower().rstrip(".")
        site: dict[str, Any] = {}
        if "customer" in entry:
            customer = r.string(entry["customer"], path + ("customer",))
            if customer is not BAD and customers and customer not in customer_names:
                close = difflib.get_close_matches(customer, customer_names, n=1)
                hint = (
                    f"did you mean {close[0]!r}?" if close else "expected a name from [[customers]]"
                )
                r.add(path + ("customer",), f"{customer!r} is not a declared customer ({hint})")
            elif customer is not BAD:
                site["customer"] = customer
        if "impact" in entry:
            impact = r.choice(entry["impact"], path + ("impact",), tuple(Impact))
            if impact is not BAD:
                site["impact"] = Impact(impact)
        registrar = None
        if "registrar" in entry:
            registrar = r.string(entry["registrar"], path + ("registrar",))
            registrar = None if registrar is BAD else registrar
        interval = dns.interval
        if "interval" in entry:
            value = r.kind("seconds", entry["interval"], path + ("interval",))
            if value is not BAD and value < min_interval(dns):
                r.add(path + ("interval",), f"{value:g} s is too often (expected at least 60 s)")
            elif value is not BAD:
                interval = value
        switches = _switches(r, entry.get("checks", {}), path + ("checks",))
        nameservers = _nameservers(r, entry.get("nameservers", []), path + ("nameservers",))
        records = _records(r, entry.get("records", []), path + ("records",))
        windows = read_windows(r, entry.get("maintenance", []), path + ("maintenance",), tz)
        checks = DomainChecks(
            domain,
            resolves=switches.get("resolves", True),
            mx=switches.get("mx", True),
            spf=switches.get("spf", True),
            dmarc=switches.get("dmarc", True),
            nameservers=nameservers if switches.get("records", True) else (),
            records=records if switches.get("records", True) else (),
        )
        settings = DomainSubject(
            domain,
            checks,
            expiry=switches.get("expiry", True) and expiry.enabled,
            registrar=registrar,
            dns=dns,
            expiry_settings=expiry,
        )
        deadline = DEADLINE_PER_TIMEOUT * dns.timeout + expiry.timeout
        out.append(
            Site(
                name=subject_name(domain),
                url=domain,  # what is checked: shown on cases and in notices
                server=None,
                probe=replace(ProbeSettings(), interval=interval, deadline=deadline),
                kind=DOMAIN_KIND,
                check=settings,
                maintenance=windows,
                **site,
            )
        )
    return tuple(out)


def _switches(r: Reader, raw: object, path: KeyPath) -> dict[str, bool]:
    table = r.table(raw, path, CHECK_KEYS)
    if not table:
        return {}
    return r.settings(table, path, dict.fromkeys(CHECK_KEYS, "bool"))


def _nameservers(r: Reader, raw: object, path: KeyPath) -> tuple[str, ...]:
    if not isinstance(raw, list):
        r.add(path, f'{describe(raw)} is not an array (expected e.g. ["ns1.agencia.co"])')
        return ()
    out = []
    for j, item in enumerate(raw):
        text = item.strip().lower().rstrip(".") if isinstance(item, str) else ""
        if not _DOMAIN.fullmatch(text):
            r.add(
                path + (j,), f"{describe(item)} is not a host name (expected e.g. ns1.agencia.co)"
            )
        else:
            out.append(text)
    return tuple(out)


def _records(r: Reader, raw: object, path: KeyPath) -> tuple[ExpectedRecord, ...]:
    out = []
    for j, entry in r.array_of_tables(raw, path):
        here = path + (j,)
        r.table(entry, here, RECORD_KEYS)
        missing = [k for k in RECORD_KEYS if k not in entry]
        for key in missing:
            r.add(here + (key,), "missing (a record needs name, type and value)")
        if missing:
            continue
        name = r.string(entry["name"], here + ("name",))
        rdtype = r.string(entry["type"], here + ("type",))
        value = r.string(entry["value"], here + ("value",))
        if BAD in (name, rdtype, value):
            continue
        if not _RECORD_NAME.fullmatch(name):
            r.add(here + ("name",), f"{describe(name)} is not a record name (expected @ or www)")
            continue
        if rdtype.upper() not in RECORD_TYPES:
            r.add(here + ("type",), f"{describe(rdtype)} is not one of {', '.join(RECORD_TYPES)}")
            continue
        out.append(ExpectedRecord(name, rdtype.upper(), value))
    return tuple(out)
