"""A server's mail and access services (`[[servers.services]]`), as check subjects.

    [[servers]]
    name = "srv-a"
    host = "mail.srv-a.example"       # the default host of its services
    [[servers.services]]
    service = "submission"            # see SERVICES
    # port = 587, host = ..., tls = "starttls" | "implicit" | "optional" | "none",
    # tls_name = "the name its certificate must carry" (default: host),
    # expect = "start of the greeting or banner", interval = 300, deadline = 10,
    # customer = "...", impact = "high"

Each entry becomes one subject of kind "service" named `server/service:port`, with the
server's maintenance windows and concurrency budget; mail services are correlated as one
group per server (`server/mail`), access services as another (`server/access`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ronda.config.errors import KeyPath
from ronda.config.model import Customer, ProbeSettings, Server, Site
from ronda.config.reader import BAD, Reader
from ronda.model import Impact

KIND = "service"
TLS_MODES = ("starttls", "implicit", "optional", "none")


@dataclass(frozen=True, slots=True)
class ServiceKind:
    """What a named service speaks, and where by default."""

    protocol: str  # smtp | imap | pop3 | ssh | ftp | https
    port: int
    tls: str  # the default TLS mode
    family: str  # mail | access
    scheme: str  # of the URL shown as what was checked


SERVICES: dict[str, ServiceKind] = {
    "smtp": ServiceKind("smtp", 25, "starttls", "mail", "smtp"),
    "submission": ServiceKind("smtp", 587, "starttls", "mail", "smtp"),
    "smtps": ServiceKind("smtp", 465, "implicit", "mail", "smtps"),
    "imap": ServiceKind("imap", 143, "starttls", "mail", "imap"),
    "imaps": ServiceKind("imap", 993, "implicit", "mail", "imaps"),
    "pop3": ServiceKind("pop3", 110, "starttls", "mail", "pop3"),
    "pop3s": ServiceKind("pop3", 995, "implicit", "mail", "pop3s"),
    "webmail": ServiceKind("https", 2096, "implicit", "mail", "https"),
    "ssh": ServiceKind("ssh", 22, "none", "access", "ssh"),
    "ftp": ServiceKind("ftp", 21, "starttls", "access", "ftp"),
    "cpanel": ServiceKind("https", 2083, "implicit", "access", "https"),
}
DEFAULT_INTERVAL = 300.0  # seconds: a mail server's health changes slowly
SERVICE_KEYS = (
    "service",
    "port",
    "host",
    "tls",
    "tls_name",
    "expect",
    "interval",
    "deadline",
    "customer",
    "impact",
    "path",
)


@dataclass(frozen=True, slots=True)
class ServiceCheck:
    """One service of a server, as its check reads it."""

    server: str
    service: str  # a key of SERVICES
    host: str
    port: int
    tls: str = "starttls"
    tls_name: str | None = None  # the certificate's expected name (None: host)
    expect: str | None = None  # the greeting or banner must start with this (None: protocol's)
    deadline: float = 10.0
    cert_warning_days: int = 30
    cert_critical_days: int = 7
    path: str = "/"  # https services: the page asked for

    @property
    def kind(self) -> ServiceKind:
        return SERVICES[self.service]

    @property
    def label(self) -> str:
        """`service:port`, the metric's `service` label and the subject name's tail."""
        return f"{self.service}:{self.port}"

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        tail = self.path if self.kind.protocol == "https" else ""
        return f"{self.kind.scheme}://{host}:{self.port}{tail}"


def subject_name(server: str, check: ServiceCheck) -> str:
    return f"{server}/{check.label}"


def service_subject(
    check: ServiceCheck,
    *,
    customer: str | None = None,
    impact: Impact = Impact.MEDIUM,
    interval: float = DEFAULT_INTERVAL,
) -> Site:
    """The check subject of one service (also for tests and the demo)."""
    return Site(
        name=subject_name(check.server, check),
        url=check.url,
        customer=customer,
        server=check.server,
        impact=impact,
        probe=ProbeSettings(interval=interval, deadline=check.deadline),
        kind=KIND,
        check=check,
        group=f"{check.server}/{check.kind.family}",
    )


def read_services(
    r: Reader,
    raw_servers: object,
    servers: tuple[Server, ...],
    customers: tuple[Customer, ...],
    probe: ProbeSettings,
) -> tuple[Site, ...]:
    """Every `[[servers.services]]` entry as a subject; problems go to `r`."""
    if not isinstance(raw_servers, list):
        return ()
    known = {c.name for c in customers}
    out: list[Site] = []
    names: set[str] = set()
    for i, entry in enumerate(raw_servers):
        if not isinstance(entry, dict) or "services" not in entry:
            continue
        server = entry.get("name")
        if not isinstance(server, str) or server not in {s.name for s in servers}:
            continue  # the server's own problem is reported by read_servers
        host = entry.get("host", server)
        if not isinstance(host, str) or not host:
            r.add(("servers", i, "host"), "expected a host name or address")
            host = server
        for j, item in r.array_of_tables(entry["services"], ("servers", i, "services")):
            path: KeyPath = ("servers", i, "services", j)
            site = _service(r, item, path, server, host, known, probe)
            if site is None:
                continue
            if site.name in names:
                r.add(path, f"{site.name} is listed twice (expected one entry per port)")
                continue
            names.add(site.name)
            out.append(site)
    return tuple(out)


def _service(
    r: Reader,
    item: dict,
    path: KeyPath,
    server: str,
    host: str,
    customers: set[str],
    probe: ProbeSettings,
) -> Site | None:
    if r.table(item, path, SERVICE_KEYS) is None:
        return None
    if "service" not in item:
        r.add(path + ("service",), f"missing (expected one of {', '.join(SERVICES)})")
        return None
    service = r.choice(item["service"], path + ("service",), tuple(SERVICES))
    if service is BAD:
        return None
    kind = SERVICES[service]
    values: dict[str, Any] = {}
    for key in ("host", "tls_name", "expect", "path"):
        if key in item and (text := r.string(item[key], path + (key,))) is not BAD:
            if not text or len(text) > 253:
                r.add(path + (key,), "expected a non-empty text of at most 253 characters")
            else:
                values[key] = text
    if "path" in values and not values["path"].startswith("/"):
        r.add(path + ("path",), "expected a path starting with /")
        values.pop("path")
    port = kind.port
    if "port" in item:
        n = item["port"]
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 65535:
            r.add(path + ("port",), "expected a port number from 1 to 65535")
        else:
            port = n
    tls = kind.tls
    if "tls" in item and (mode := r.choice(item["tls"], path + ("tls",), TLS_MODES)) is not BAD:
        tls = mode
    if kind.protocol in ("ssh",) and tls != "none":
        r.add(path + ("tls",), "SSH has no TLS (expected none)")
        tls = "none"
    if kind.protocol == "https" and tls != "implicit":
        r.add(path + ("tls",), f"{service} is HTTPS (expected implicit)")
        tls = "implicit"
    interval = DEFAULT_INTERVAL
    if "interval" in item:
        v = r.kind("seconds", item["interval"], path + ("interval",))
        interval = interval if v is BAD else float(v)
    deadline = min(probe.deadline, 10.0)
    if "deadline" in item:
        v = r.kind("seconds", item["deadline"], path + ("deadline",))
        deadline = deadline if v is BAD else float(v)
    customer = None
    if "customer" in item and (c := r.string(item["customer"], path + ("customer",))) is not BAD:
        if c not in customers:
            r.add(path + ("customer",), f"unknown customer {c!r} (expected one of [[customers]])")
        else:
            customer = c
    impact = Impact.MEDIUM
    if "impact" in item:
        v = r.choice(item["impact"], path + ("impact",), tuple(Impact))
        impact = impact if v is BAD else Impact(v)
    check = ServiceCheck(
        server=server,
        service=service,
        host=values.pop("host", host),
        port=port,
        tls=tls,
        deadline=deadline,
        cert_warning_days=probe.cert_warning_days,
        cert_critical_days=probe.cert_critical_days,
        **values,
    )
    return service_subject(check, customer=customer, impact=impact, interval=interval)
