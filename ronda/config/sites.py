"""The fleet's sections: [[customers]], [[servers]], [[sites]] and the [probe] defaults.

Each `read_*` function checks its section with a `Reader` and returns the dataclasses;
naive maintenance instants take the calendar's time zone, which the caller passes in.
"""

from __future__ import annotations

import difflib
import ipaddress
from dataclasses import replace
from datetime import datetime, tzinfo
from typing import Any
from urllib.parse import unquote, urlsplit

from ronda.config.errors import KeyPath, describe
from ronda.config.model import (
    Customer,
    KeywordCheck,
    MaintenanceWindow,
    ProbeSettings,
    Server,
    Site,
)
from ronda.config.reader import BAD, Reader
from ronda.config.values import DOMAIN, EMAIL
from ronda.model import Impact

PROBE_KINDS: dict[str, str] = {
    "interval": "seconds",
    "deadline": "seconds",
    "slow_first_byte": "seconds",
    "slow_total": "seconds",
    "max_redirects": "count0",
    "max_body_bytes": "count",
    "cert_warning_days": "count",
    "cert_critical_days": "count",
}
SITE_KEYS = (
    "name",
    "url",
    "customer",
    "server",
    "impact",
    "wordpress",
    "checks",
    "maintenance",
    "contact",
    "notices",
    *PROBE_KINDS,
)
CUSTOMER_KEYS = ("name", "emails", "domains", "contact", "lang", "notices")
LANGS = ("en", "es")


def read_probe(
    r: Reader, raw: dict, path: KeyPath, base: ProbeSettings, *, check_cert: bool
) -> ProbeSettings:
    """`base` overridden by the probe keys of `raw` ([probe] itself, or a site entry)."""
    given = r.settings(raw, path, PROBE_KINDS)
    merged = replace(base, **given)
    touched = "cert_warning_days" in given or "cert_critical_days" in given
    if (check_cert or touched) and merged.cert_critical_days > merged.cert_warning_days:
        key = "cert_critical_days" if "cert_critical_days" in given else "cert_warning_days"
        r.add(
            path + (key,),
            f"cert_critical_days ({merged.cert_critical_days}) is more than "
            f"cert_warning_days ({merged.cert_warning_days}) (expected critical <= warning)",
        )
    return merged


def read_customers(r: Reader, raw: object) -> tuple[Customer, ...]:
    """[[customers]]: unique names; each sender e-mail or domain belongs to one customer."""
    out: list[Customer] = []
    names: dict[str, int] = {}
    owners: dict[str, str] = {}  # e-mail or domain -> customer: sender matching must be unique
    for i, entry in r.array_of_tables(raw, ("customers",)):
        path: KeyPath = ("customers", i)
        r.table(entry, path, CUSTOMER_KEYS)
        name = r.required_name(entry, path, names, "customers")
        lists: dict[str, tuple[str, ...]] = {}
        for key, pattern, example in (
            ("emails", EMAIL, "ana@tienda-ana.example"),
            ("domains", DOMAIN, "tienda-ana.example"),
        ):
            found: list[str] = []
            value = entry.get(key, [])
            if not isinstance(value, list):
                r.add(path + (key,), f"{describe(value)} is not an array of strings")
                value = []
            for j, item in enumerate(value):
                text = item.strip().lower() if isinstance(item, str) else None
                if not text or not pattern.fullmatch(text):
                    r.add(
                        path + (key, j),
                        f"{describe(item)} is not valid (expected e.g. {example})",
                    )
                elif text in owners and owners[text] != name:
                    r.add(
                        path + (key, j),
                        f"{describe(text)} already belongs to customer {owners[text]!r}",
                    )
                else:
                    owners[text] = name
                    found.append(text)
            lists[key] = tuple(found)
        extra: dict[str, Any] = {}
        if "contact" in entry:
            contact = r.kind("email", entry["contact"], path + ("contact",))
            if contact is not BAD:
                extra["contact"] = contact.lower()
        if "lang" in entry:
            lang = r.choice(entry["lang"], path + ("lang",), LANGS)
            if lang is not BAD:
                extra["lang"] = lang
        if "notices" in entry:
            notices = r.kind("bool", entry["notices"], path + ("notices",))
            if notices is not BAD:
                extra["notices"] = notices
        out.append(Customer(name=name, **lists, **extra))
    return tuple(out)


def read_servers(r: Reader, raw: object, tz: tzinfo) -> tuple[Server, ...]:
    """[[servers]]: unique names, each with its maintenance windows."""
    out: list[Server] = []
    names: dict[str, int] = {}
    for i, entry in r.array_of_tables(raw, ("servers",)):
        path: KeyPath = ("servers", i)
        r.table(entry, path, ("name", "maintenance", "host", "services"))
        name = r.required_name(entry, path, names, "servers")
        windows = _maintenance(r, entry.get("maintenance", []), path + ("maintenance",), tz)
        out.append(Server(name=name, maintenance=windows))
    return tuple(out)


def _maintenance(
    r: Reader, raw: object, path: KeyPath, tz: tzinfo
) -> tuple[MaintenanceWindow, ...]:
    out: list[MaintenanceWindow] = []
    for i, entry in r.array_of_tables(raw, path):
        here = path + (i,)
        r.table(entry, here, ("start", "end", "reason"))
        start = _instant(r, entry, here, "start", tz)
        end = _instant(r, entry, here, "end", tz)
        reason = r.string(entry.get("reason", ""), here + ("reason",), empty=True)
        if start is BAD or end is BAD or reason is BAD:
            continue
        if end <= start:
            r.add(here + ("end",), f"{end.isoformat()} is not after start {start.isoformat()}")
            continue
        out.append(MaintenanceWindow(start=start, end=end, reason=reason))
    return tuple(out)


def _instant(r: Reader, entry: dict, path: KeyPath, key: str, tz: tzinfo) -> Any:
    """A timezone-aware datetime; naive ones take the calendar's time zone."""
    expected = "(expected a date-time such as 2026-11-28T22:00:00-05:00)"
    if key not in entry:
        r.add(path + (key,), f"missing {expected}")
        return BAD
    value = entry[key]
    if isinstance(value, str) and len(value.strip()) > len("2026-11-28"):
        try:  # a date alone is refused below, as a TOML date is: which hour would it be?
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    if not isinstance(value, datetime):
        r.add(path + (key,), f"{describe(value)} is not a date-time {expected}")
        return BAD
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def read_sites(
    r: Reader,
    raw: object,
    probe: ProbeSettings,
    customers: tuple[Customer, ...],
    tz: tzinfo,
) -> tuple[Site, ...]:
    """[[sites]]: each site's own keys over the `probe` defaults; customers must be declared."""
    out: list[Site] = []
    names: dict[str, int] = {}
    customer_names = {c.name for c in customers}
    for i, entry in r.array_of_tables(raw, ("sites",)):
        path: KeyPath = ("sites", i)
        r.table(entry, path, SITE_KEYS)
        name = r.required_name(entry, path, names, "sites")
        url, auth = _url(r, entry, path)
        values: dict[str, Any] = {"name": name, "url": url, "basic_auth": auth}
        if "customer" in entry:
            customer = r.string(entry["customer"], path + ("customer",))
            if customer is not BAD and customers and customer not in customer_names:
                close = difflib.get_close_matches(customer, customer_names, n=1)
                hint = (
                    f"did you mean {close[0]!r}?" if close else "expected a name from [[customers]]"
                )
                r.add(path + ("customer",), f"{customer!r} is not a declared customer ({hint})")
            elif customer is not BAD:
                values["customer"] = customer
        if (
            "server" in entry
            and (server := r.string(entry["server"], path + ("server",))) is not BAD
        ):
            values["server"] = server
        if (
            "impact" in entry
            and (impact := r.choice(entry["impact"], path + ("impact",), tuple(Impact))) is not BAD
        ):
            values["impact"] = Impact(impact)
        if (
            "wordpress" in entry
            and (wp := r.kind("bool", entry["wordpress"], path + ("wordpress",))) is not BAD
        ):
            values["wordpress"] = wp
        if "contact" in entry:
            contact = r.kind("email", entry["contact"], path + ("contact",))
            if contact is not BAD:
                values["contact"] = contact.lower()
        if "notices" in entry:
            notices = r.kind("bool", entry["notices"], path + ("notices",))
            if notices is not BAD:
                values["notices"] = notices
        values["checks"] = _checks(r, entry.get("checks", []), path + ("checks",))
        values["maintenance"] = _maintenance(
            r, entry.get("maintenance", []), path + ("maintenance",), tz
        )
        values["probe"] = read_probe(r, entry, path, probe, check_cert=False)
        _interval_floor(r, values["probe"], url, path if "interval" in entry else ("probe",))
        out.append(Site(**values))
    return tuple(out)


# Rounds faster than this would hammer a customer's server (and the shared hosting behind
# it); only sites no real server answers for (this machine's loopback, test fleets, names
# under .invalid, which never resolve) may go faster.
MIN_INTERVAL_SECONDS = 10.0


def _interval_floor(r: Reader, probe: ProbeSettings, url: str, where: KeyPath) -> None:
    if probe.interval >= MIN_INTERVAL_SECONDS or not url or _on_loopback(url):
        return
    r.add(
        where + ("interval",),
        f"{probe.interval:g} s is below the {MIN_INTERVAL_SECONDS:g} s floor for a real site "
        f"(expected at least {MIN_INTERVAL_SECONDS:g}; only sites on loopback may go faster)",
    )


def _on_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host in ("localhost", "invalid") or host.endswith((".localhost", ".invalid")):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _masked(url: str) -> str:
    """A URL as an error message may show it: the password replaced by ***."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, hostpart = rest.partition("@")
    if not sep or not at or "/" in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{hostpart}" if ":" in userinfo else url


def _url(r: Reader, entry: dict, path: KeyPath) -> tuple[str, tuple[str, str] | None]:
    """The site's address without credentials, and the `user:password` it carried (sent as
    HTTP Basic authentication; never shown or stored)."""
    expected = "(expected http:// or https:// and a host, e.g. https://tienda-ana.example/)"
    if "url" not in entry:
        r.add(path + ("url",), f"missing {expected}")
        return "", None
    url = r.string(entry["url"], path + ("url",))
    if url is BAD:
        return "", None
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        valid = valid and not any(ch.isspace() for ch in url)
        _ = parts.port  # raises ValueError for a port out of range or not a number
    except ValueError:
        valid = False
    if not valid:
        r.add(path + ("url",), f"{_masked(url)!r} is not a web address {expected}")
        return "", None
    if parts.username is None and parts.password is None:
        return url, None
    netloc = parts.netloc.rpartition("@")[2]
    bare = parts._replace(netloc=netloc).geturl()
    return bare, (unquote(parts.username or ""), unquote(parts.password or ""))


def _checks(r: Reader, raw: object, path: KeyPath) -> tuple[KeywordCheck, ...]:
    out = []
    for i, entry in r.array_of_tables(raw, path):
        here = path + (i,)
        r.table(entry, here, ("path", "keyword"))
        values = {}
        for key in ("path", "keyword"):
            if key not in entry:
                r.add(here + (key,), "missing (a check needs a path and a keyword)")
                continue
            values[key] = r.string(entry[key], here + (key,))
        check_path = values.get("path")
        if isinstance(check_path, str) and not check_path.startswith("/"):
            r.add(here + ("path",), f"{check_path!r} does not start with / (expected e.g. /cart/)")
            continue
        if len(values) == 2 and BAD not in values.values():
            out.append(KeywordCheck(**values))
    return tuple(out)
