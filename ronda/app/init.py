"""`ronda init`: a new desk in a folder, a commented starter config and its database.

The config is written from the defaults the code holds (the contract's matrix, the probe
and incident settings, the business calendar), so what it says is what runs; it holds one
customer and one site to replace, and is checked before it is written. Nothing that exists
is overwritten: a folder with a config or a database in it is refused whole.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ronda.config import CalendarConfig, IncidentSettings, ProbeSettings, parse_config
from ronda.config.values import format_duration
from ronda.contract import default_matrix
from ronda.model import Impact, Priority
from ronda.store import Store

CONFIG_NAME = "ronda.toml"
DB_NAME = "ronda.db"


class InitRefused(Exception):
    """`ronda init` would overwrite something; the message names it."""


@dataclass(frozen=True, slots=True)
class NewDesk:
    config: Path
    db: Path


def _matrix_comment() -> str:
    matrix = default_matrix()
    head = "".join(f"{impact.value:<17}" for impact in Impact)
    corner = "priority \\ impact"
    lines = [f"#   {corner:<20}{head}".rstrip()]
    for priority in Priority:
        cells = ""
        for impact in Impact:
            cell = matrix[(priority, impact)]
            text = f"{format_duration(cell.target)} / {format_duration(cell.limit)}"
            if cell.calendar != "business":
                text += f" {cell.calendar}"
            cells += f"{text:<17}"
        lines.append(f"#   {priority.value:<20}{cells}".rstrip())
    return "\n".join(lines)


def _line(key: str, value: object, comment: str) -> str:
    """`key = value` with its comment at column 31, as in examples/ronda.toml."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = f'"{value}"'
    elif isinstance(value, float):
        text = f"{value:g}"
    else:
        text = str(value)
    return f"{f'{key} = {text}':<29} # {comment}"


def starter_config(at: datetime) -> str:
    """The starter config's text, dated `at`."""
    probe, incidents, calendar = ProbeSettings(), IncidentSettings(), CalendarConfig()
    return f"""# Ronda: the desk's configuration, written by `ronda init` on {at:%Y-%m-%d}.
#
# Check it after every edit:    ronda check-config {CONFIG_NAME}
# A running `ronda run` reloads it when the file changes (or on SIGHUP); a broken file is
# refused and the old one runs on. Every key is described in examples/ronda.toml of the
# Ronda repository. Durations: "90s", "5m", "1h30m", "2d", or seconds as a number.

lang = "en"                   # the TUI's and customer messages' language: en | es


# --- Customers and sites -----------------------------------------------------------------
# Replace these with your own before `ronda run`: .example names never resolve, so this
# site would open a "dns" ticket at its first round. Mail from an address or a domain of a
# customer is matched to that customer.

[[customers]]
name = "Example Customer"
emails = ["it@customer.example"]
domains = ["customer.example"]

[[sites]]
name = "customer-shop"        # unique; tickets and metrics name it
url = "https://shop.customer.example/"
customer = "Example Customer"
server = "web-01"             # sites of one server failing together open one incident
impact = "high"               # low | medium | high: a shop is high

# A customer's domain: its DNS (address, MX, SPF, DMARC, expected records) every 15 minutes
# and its registration's expiry once a day (RDAP, or WHOIS for .co and .com.co). E.g.:
# [[domains]]
# name = "customer.example"
# customer = "Example Customer"
# nameservers = ["ns1.your-agency.example"]   # NS must contain each


# --- Probes and incidents: the defaults, written out to be tuned -------------------------
[probe]
{_line("interval", probe.interval, "seconds between two probes of one site")}
{_line("deadline", probe.deadline, "one overall deadline per probe, seconds")}
{_line("slow_first_byte", probe.slow_first_byte, 'seconds to the first byte before "slow"')}
{_line("slow_total", probe.slow_total, 'seconds for the whole answer before "slow"')}
{_line("cert_warning_days", probe.cert_warning_days, "a certificate expiring this soon: a ticket")}

[incidents]
{_line("confirm_rounds", incidents.confirm_rounds, "failed rounds in a row that open a ticket...")}
{_line("recheck_immediately", incidents.recheck_immediately, "...or a failure a re-probe confirms")}
{_line("recover_rounds", incidents.recover_rounds, "good rounds in a row: recovered")}


# --- SLA: the contract's matrix ----------------------------------------------------------
# First-response target / limit per priority x impact cell, in business hours unless
# marked 24x7 (wall-clock time):
{_matrix_comment()}
# To change one cell, e.g.:
# [sla.high.medium]
# target = "20m"
# limit = "45m"

[sla.calendar]
{_line("timezone", calendar.timezone, "business hours: Monday to Friday 08:00-18:00")}
{_line("holidays", calendar.holidays_country, "this country's public holidays; false: none")}


# --- Mail --------------------------------------------------------------------------------
[mail]
{_line("listen", "127.0.0.1:2525", "`ronda mail` takes the MTA's deliveries here")}
{_line("desk_address", "soporte@localhost", "the From: of acknowledgements and replies")}
# relay = "smtp.example.net:587"  # host:port that sends them; left out: nothing is sent


# --- Retention ---------------------------------------------------------------------------
# `ronda run` prunes once a day what a case resolved this many days ago no longer needs.
# Leave a key out to keep everything; at least 31 days.
[retention]
probe_history_days = 90       # the probe's repeated "still failing" notes
mail_body_days = 365          # customers' mail bodies (subject, sender, replies stay)
# site_history_days = 400     # each site's state changes (uptime); kept 400 days unless set


# --- Status pages ------------------------------------------------------------------------
# Static pages for the customers, rewritten by `ronda run` (docs/status-pages.md).
# [status_page]
# out = "/var/www/status"     # the folder a web server serves (a link Ronda manages)
# every = "1m"
"""


def init_desk(folder: Path, db: Path | None, at: datetime) -> NewDesk:
    """Write `folder/ronda.toml` and create the database (`db`, else `folder/ronda.db`).
    Raises `InitRefused` when either exists."""
    config_path = folder / CONFIG_NAME
    db_path = db if db is not None else folder / DB_NAME
    taken = [p for p in (config_path, db_path) if p.exists() or Path(f"{p}-wal").exists()]
    if taken:
        names = " and ".join(str(p) for p in taken)
        verb = "exists" if len(taken) == 1 else "exist"
        raise InitRefused(f"{names} {verb} already; nothing was written (move it or pick --dir)")
    text = starter_config(at)
    parse_config(text, config_path)  # a bug of ours must not leave a broken file behind
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Owner-only: the config will hold sites' Basic-auth passwords.
    fd = os.open(config_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    Store(db_path).close()  # created owner-only, in WAL mode, at the current schema
    return NewDesk(config_path, db_path)


__all__ = ["CONFIG_NAME", "DB_NAME", "InitRefused", "NewDesk", "init_desk", "starter_config"]
