"""Loading: one TOML file into a `Config`, or a `ConfigError` listing every problem.

`parse_config` validates the whole document before building anything and collects every
problem it finds, so a user fixes a broken file in one pass instead of one error per run;
the problems are then placed on their lines (`ronda.config.lines`) and sorted. The top level
and the small sections ([incidents], [priorities], [tls]) are read here; the larger ones
have their own modules (sites, sla, mail, retention, blind).
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ronda.config.blind import read_blind
from ronda.config.domains import read_dns, read_domains, read_expiry
from ronda.config.errors import ConfigError, format_problem, syntax_problem
from ronda.config.lines import LineMap
from ronda.config.mail import read_mail
from ronda.config.model import (
    BlindSettings,
    Config,
    IncidentSettings,
    MailSettings,
    NoticeSettings,
    OncallSettings,
    OutboxSettings,
    ProbeSettings,
    ReportSettings,
    RetentionSettings,
    Server,
    TlsConfig,
)
from ronda.config.reach import read_agents, read_notices, read_oncall, read_outbox
from ronda.config.reader import BAD, Reader
from ronda.config.replies import read_replies
from ronda.config.reports import read_reports
from ronda.config.retention import read_retention
from ronda.config.services import read_services
from ronda.config.sites import PROBE_KINDS, read_customers, read_probe, read_servers, read_sites
from ronda.config.sla import read_next_response, read_sla
from ronda.config.status_page import read_status_page
from ronda.config.wordpress import WordPressSettings, read_wordpress
from ronda.model import FailureClass, Impact, Priority

INCIDENT_KINDS: dict[str, str] = {
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
TOP_KEYS = (
    "lang",
    "concurrency",
    "per_server_concurrency",
    "group_by_address",
    "customers",
    "servers",
    "sites",
    "tls",
    "probe",
    "sla",
    "incidents",
    "priorities",
    "mail",
    "retention",
    "blind",
    "agents",
    "oncall",
    "notices",
    "outbox",
    "wordpress",
    "status_page",
    "reports",
    "replies",
    "dns",
    "expiry",
    "domains",
)
LANGS = ("en", "es")


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
        raise ConfigError([syntax_problem(name, text, str(exc))]) from None
    base_dir = path.parent if path is not None else Path.cwd()
    reader = Reader()
    config = _document(reader, doc, path, base_dir)
    if reader.problems:
        lines = LineMap(text)
        located = sorted(
            ((lines.line_of(p), n, p, msg) for n, (p, msg) in enumerate(reader.problems)),
            key=lambda item: (item[0], item[1]),
        )
        entries = (
            format_problem(name, line, key_path, message) for line, _, key_path, message in located
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
        + "".join(f"{_plural(n, kind)}, " for kind, n in _kinds(config).items())
        + f"SLA matrix {cells} cells ({len(config.sla)} overridden)"
        + (f", {_plural(len(config.agents), 'agent')}" if config.agents else "")
    )


def _kinds(config: Config) -> dict[str, int]:
    """Check subjects other than sites, counted by kind (`service`, `domain`)."""
    out: dict[str, int] = {}
    for subject in config.subjects:
        out[subject.kind] = out.get(subject.kind, 0) + 1
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _document(r: Reader, doc: dict, path: Path | None, base_dir: Path) -> Config:
    """The whole document, section by section; problems go to `r`."""
    r.table(doc, (), TOP_KEYS)
    top: dict[str, Any] = {}
    if "lang" in doc and (lang := r.choice(doc["lang"], ("lang",), LANGS)) is not BAD:
        top["lang"] = lang
    if "group_by_address" in doc:
        flag = r.kind("bool", doc["group_by_address"], ("group_by_address",))
        if flag is not BAD:
            top["group_by_address"] = flag
    for key in ("concurrency", "per_server_concurrency"):
        if key in doc and (n := r.kind("count", doc[key], (key,))) is not BAD:
            top[key] = n

    raw_probe = r.table(doc.get("probe", {}), ("probe",), tuple(PROBE_KINDS)) or {}
    probe = read_probe(r, raw_probe, ("probe",), ProbeSettings(), check_cert=True)
    calendar, sla = read_sla(r, doc.get("sla", {}))
    next_response = read_next_response(r, doc.get("sla", {}))
    tz = ZoneInfo(calendar.timezone)  # naive maintenance instants are in the calendar's zone
    incidents = IncidentSettings()
    if "incidents" in doc and (
        raw := r.table(doc["incidents"], ("incidents",), tuple(INCIDENT_KINDS))
    ):
        incidents = replace(incidents, **r.settings(raw, ("incidents",), INCIDENT_KINDS))
    mail = read_mail(r, doc["mail"], base_dir) if "mail" in doc else MailSettings()
    class_priority = _priorities(r, doc.get("priorities", {}))
    tls = _tls(r, doc.get("tls", {}), base_dir)
    retention = read_retention(r, doc["retention"]) if "retention" in doc else RetentionSettings()
    blind = read_blind(r, doc["blind"]) if "blind" in doc else BlindSettings()

    customers = read_customers(r, doc.get("customers", []))
    servers = read_servers(r, doc.get("servers", []), tz)
    sites = read_sites(r, doc.get("sites", []), probe, customers, tz)
    dns = read_dns(r, doc["dns"]) if "dns" in doc else read_dns(r, {})
    expiry = read_expiry(r, doc["expiry"]) if "expiry" in doc else read_expiry(r, {})
    domains = read_domains(r, doc.get("domains", []), customers, dns, expiry, tz)
    agents = read_agents(r, doc.get("agents", []))
    oncall = read_oncall(r, doc["oncall"], agents, tz) if "oncall" in doc else OncallSettings()
    notices = read_notices(r, doc["notices"], base_dir) if "notices" in doc else NoticeSettings()
    outbox = read_outbox(r, doc["outbox"]) if "outbox" in doc else OutboxSettings()
    wordpress = (
        read_wordpress(r, doc["wordpress"], base_dir) if "wordpress" in doc else WordPressSettings()
    )
    status_page = read_status_page(r, doc.get("status_page", {}), base_dir, sites)
    reports = read_reports(r, doc["reports"], base_dir) if "reports" in doc else ReportSettings()
    replies = read_replies(r, doc["replies"], base_dir) if "replies" in doc else ()
    # Servers named only by sites are created here so that outage correlation sees
    # every server; the file need not list a server that has no maintenance windows.
    declared = {s.name for s in servers}
    implied = [Server(n) for n in dict.fromkeys(s.server for s in sites if s.server)]
    servers += tuple(s for s in implied if s.name not in declared)
    subjects = read_services(r, doc.get("servers", []), servers, customers, probe)

    return Config(
        path=path,
        customers=customers,
        servers=servers,
        sites=sites,
        subjects=(*subjects, *domains),
        sla=sla,
        calendar=calendar,
        next_response=next_response,
        probe=probe,
        incidents=incidents,
        class_priority=class_priority,
        tls=tls,
        mail=mail,
        retention=retention,
        blind=blind,
        agents=agents,
        oncall=oncall,
        notices=notices,
        outbox=outbox,
        wordpress=wordpress,
        status_page=status_page,
        reports=reports,
        replies=replies,
        **top,
    )


def _tls(r: Reader, raw: object, base_dir: Path) -> TlsConfig:
    """[tls]: an extra CA bundle, relative to the config's folder, loaded now to prove it."""
    table = r.table(raw, ("tls",), ("extra_ca",))
    if not table or "extra_ca" not in table:
        return TlsConfig()
    path = ("tls", "extra_ca")
    ca = r.path(table["extra_ca"], path, base_dir)
    if ca is BAD:
        return TlsConfig()
    if not ca.exists():
        r.add(
            path,
            f"{ca} does not exist (expected a PEM file or a folder of them, "
            "relative to the config's folder)",
        )
        return TlsConfig()
    # Load it now: a bad bundle must stop the desk at start, not fail every probe. A folder
    # (OpenSSL's hashed capath, as checks/tls.py accepts) is only read at handshake time.
    where = {"capath": str(ca)} if ca.is_dir() else {"cafile": str(ca)}
    import ssl  # lazily: with socket, ~10 ms at import, and only a file with extra_ca pays it

    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(**where)
    except (ssl.SSLError, OSError, ValueError) as exc:
        r.add(path, f"{ca} is not a usable CA bundle ({exc}) (expected PEM certificates)")
        return TlsConfig()
    return TlsConfig(extra_ca=ca)


def _priorities(r: Reader, raw: object) -> dict[FailureClass, Priority]:
    """[priorities]: failure class -> the priority of the tickets it opens."""
    classes = tuple(c.value for c in FailureClass if c is not FailureClass.OK)
    table = r.table(raw, ("priorities",), classes)
    out: dict[FailureClass, Priority] = {}
    for key, value in (table or {}).items():
        if key in classes:
            level = r.choice(value, ("priorities", key), tuple(Priority))
            if level is not BAD:
                out[FailureClass(key)] = Priority(level)
    return out
