"""When a customer's domain registration expires, read from RDAP or WHOIS answers. Pure.

- RDAP (RFC 9083): the registry that serves a domain is found in IANA's bootstrap file
  (RFC 9224: `services` lists TLDs and base URLs; the longest matching suffix wins); the
  domain's answer carries an `events` entry with `eventAction: "expiration"`.
- WHOIS (port 43), for registries with no RDAP service in the bootstrap (`.co` and
  `.com.co` among them): free text, one "key: value" per line, the expiry under one of a
  handful of keys written by registries in several date formats (`WHOIS_EXPIRY_KEYS`).
- The finding: `domain_expired` once the date has passed (high); `domain_expiring` within
  `warning_days` (low), raised to high within `critical_days`, as certificates are.

Every answer is hostile: callers bound its size before it gets here; a date that does not
parse, or lies outside 1985..2200, is no date.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from ronda.checks.classify import Finding
from ronda.display import visible
from ronda.model import FailureClass, Priority

FC = FailureClass

# Keys a registry writes its expiry under (lower case, before the colon), most common first:
# ICANN's format (.co, .com, gTLDs), then the older and ccTLD spellings.
WHOIS_EXPIRY_KEYS = (
    "registry expiry date",
    "registrar registration expiration date",
    "expiration date",
    "expiry date",
    "expires on",
    "expires",
    "expire",
    "paid-till",
    "renewal date",
    "fecha de vencimiento",
    "fecha de expiracion",
    "fecha de expiración",
)
_WHOIS_NOT_FOUND = re.compile(
    r"^\s*(no match|not found|no data found|no entries found|domain not found|"
    r"the queried object does not exist)",
    re.IGNORECASE | re.MULTILINE,
)
_DATE_FORMATS = (
    "%Y-%m-%d",
    "%d-%b-%Y",
    "%d-%B-%Y",
    "%Y.%m.%d",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%d/%m/%Y",
    "%a %b %d %H:%M:%S %Z %Y",
    "%Y-%m-%d %H:%M:%S",
    "%d-%b-%Y %H:%M:%S",
    "%Y%m%d",
)
_EARLIEST, _LATEST = 1985, 2200
MAX_WHOIS_LINES = 2000


@dataclass(frozen=True, slots=True)
class Expiry:
    """One lookup: the expiry date (None: unknown) and where it came from."""

    domain: str
    expires_at: datetime | None
    source: str  # "rdap", "whois" or "" (no lookup answered)
    detail: str = ""  # why the date is unknown, or what the registry said
    server: str = ""  # the RDAP base URL or WHOIS host asked


def rdap_base_urls(bootstrap: Mapping[str, object], domain: str) -> list[str]:
    """The RDAP base URLs for `domain` from IANA's bootstrap (longest suffix), https first."""
    labels = domain.rstrip(".").lower().split(".")
    best: tuple[int, list[str]] = (0, [])
    services = bootstrap.get("services")
    if not isinstance(services, list):
        return []
    for entry in services[:5000]:
        if not (isinstance(entry, list) and len(entry) >= 2):
            continue
        suffixes, urls = entry[0], entry[1]
        if not (isinstance(suffixes, list) and isinstance(urls, list)):
            continue
        for suffix in suffixes:
            if not isinstance(suffix, str):
                continue
            parts = suffix.lower().strip(".").split(".")
            if len(parts) > best[0] and labels[-len(parts) :] == parts and len(labels) > 1:
                best = (len(parts), [u for u in urls if isinstance(u, str)])
    urls = [u if u.endswith("/") else u + "/" for u in best[1]]
    return sorted(urls, key=lambda u: not u.startswith("https://"))


def parse_date(text: str) -> datetime | None:
    """A registry's date (ISO 8601 with or without zone, or a known format) in UTC."""
    text = text.strip()[:64]
    if not text:
        return None
    when: datetime | None = None
    iso = text.replace("Z", "+00:00").replace("z", "+00:00")
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        cleaned = re.sub(r"\s*\((?:UTC|GMT)\)$|\s+(?:UTC|GMT)$", "", text)
        for fmt in _DATE_FORMATS:
            try:
                when = datetime.strptime(cleaned, fmt)
                break
            except ValueError:
                continue
    if when is None:
        return None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return when if _EARLIEST <= when.year <= _LATEST else None


def rdap_expiry(doc: object) -> datetime | None:
    """The `expiration` event of an RDAP domain answer (RFC 9083 section 4.5)."""
    if not isinstance(doc, dict):
        return None
    events = doc.get("events")
    if not isinstance(events, list):
        return None
    for event in events[:100]:
        if (
            isinstance(event, dict)
            and str(event.get("eventAction", "")).lower() == "expiration"
            and isinstance(event.get("eventDate"), str)
        ):
            return parse_date(event["eventDate"])
    return None


def whois_expiry(text: str) -> tuple[datetime | None, str]:
    """(expiry, "") from a WHOIS answer, or (None, why not)."""
    found: dict[str, str] = {}
    for line in text.splitlines()[:MAX_WHOIS_LINES]:
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        if sep and key in WHOIS_EXPIRY_KEYS and value.strip() and key not in found:
            found[key] = value.strip()
    for key in WHOIS_EXPIRY_KEYS:
        if key in found:
            when = parse_date(found[key])
            if when is not None:
                return when, ""
            return None, f"unreadable {key}: {visible(found[key][:40])}"
    if _WHOIS_NOT_FOUND.search(text[:4096]):
        return None, "the registry's WHOIS knows no such domain"
    return None, "no expiry date in the WHOIS answer"


def whois_server_for(domain: str, servers: Mapping[str, str]) -> str | None:
    """The configured WHOIS server of the longest matching suffix (`com.co` before `co`)."""
    labels = domain.rstrip(".").lower().split(".")
    for n in range(len(labels) - 1, 0, -1):
        suffix = ".".join(labels[-n:])
        if suffix in servers:
            return servers[suffix]
    return None


def expiry_finding(
    expiry: Expiry, now: datetime, *, warning_days: int = 30, critical_days: int = 7
) -> Finding | None:
    """The registration's finding at `now`, or None (far off, or the date is unknown)."""
    if expiry.expires_at is None:
        return None
    days = (expiry.expires_at - now).total_seconds() / 86400.0
    when = expiry.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    if days < 0:
        return Finding(FC.DOMAIN_EXPIRED, None, f"{expiry.domain} expired on {when}")
    if days <= critical_days:
        return Finding(
            FC.DOMAIN_EXPIRING,
            Priority.HIGH,
            f"{expiry.domain} expires in {days:.1f} days ({when})",
        )
    if days <= warning_days:
        return Finding(
            FC.DOMAIN_EXPIRING, None, f"{expiry.domain} expires in {days:.0f} days ({when})"
        )
    return None


def lookup_due(last_lookup: float | None, now: float, every: float) -> bool:
    """A domain's registry is asked at most once per `every` seconds (a day by default)."""
    return last_lookup is None or now - last_lookup >= every or now < last_lookup


def suffixes_of(bootstrap: Mapping[str, object]) -> Iterable[str]:
    """Every suffix the bootstrap serves (to say which TLDs have RDAP)."""
    for entry in bootstrap.get("services", []) or []:
        if isinstance(entry, list) and entry and isinstance(entry[0], list):
            yield from (s for s in entry[0] if isinstance(s, str))
