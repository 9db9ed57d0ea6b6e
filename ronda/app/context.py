"""What the commands share: exit codes, the one-line error, and the store, config, SLA
policy and desk a command's arguments name. Components are imported when a command needs
them, so `ronda tickets ...` never loads the probes, the TUI or the exporter.

Which database: `--db`, else the user's default desk. Commands that read it refuse a file
that is not there (a mistyped `--db` must not become a new, empty desk); only the commands
that start a desk create one (`run`, `mail`, `demo`, `tickets new`, `init`).

Which config: `--config` where a command takes one, else the `ronda.toml` next to the
database when there is one (where `ronda init` writes it), else the defaults. Its
`[sla.calendar] timezone` is the zone every instant is printed in (`ronda.when`).
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from ronda.config import Config, load_config
from ronda.sla import SlaPolicy
from ronda.store import Store, default_db_path
from ronda.tickets import Desk
from ronda.when import use_zone

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141  # what a shell reports for a command whose reader went away (SIGPIPE)

CONFIG_NAME = "ronda.toml"  # the desk's config next to its database (see `ronda init`)


class CliError(Exception):
    """An error worth one clear line and a non-zero exit."""


def db_path(args: argparse.Namespace) -> Path:
    """The database the arguments name: `--db`, else the user's default desk."""
    db = getattr(args, "db", None)
    return Path(db) if db is not None else default_db_path()


def require_db(args: argparse.Namespace) -> Path:
    """The database path, refused with one line when no file is there."""
    path = db_path(args)
    if not path.exists():
        raise CliError(
            f"{path}: no desk database there; give --db the desk's database file "
            "(or start a desk with `ronda init`)"
        )
    return path


def open_store(args: argparse.Namespace, *, create: bool = False) -> Store:
    """The desk's store; a missing database is refused unless `create`."""
    return Store(db_path(args) if create else require_db(args))


def load(path: str | Path | None) -> Config:
    """The config file at `path` (`ConfigError` when broken), or the defaults."""
    return Config() if path is None else load_config(path)


def config_path(args: argparse.Namespace) -> Path | None:
    """The config file the arguments name: `--config`, else the `ronda.toml` next to the
    database when there is one, else None (the defaults)."""
    path = getattr(args, "config", None)
    if path is not None:
        return Path(path)
    beside = db_path(args).parent / CONFIG_NAME
    return beside if beside.is_file() else None


def desk_config(args: argparse.Namespace) -> Config:
    """The desk's config (see the module docstring); its time zone becomes the one times are
    printed in. Read once per command."""
    cached = getattr(args, "_desk_config", None)
    if cached is not None:
        return cached
    config = load(config_path(args))
    use_zone(config.calendar.timezone)
    args._desk_config = config
    return config


def policy(args: argparse.Namespace) -> SlaPolicy:
    return SlaPolicy.from_config(desk_config(args))


def open_desk(args: argparse.Namespace, *, create: bool = False) -> Desk:
    return Desk(open_store(args, create=create), policy(args))


def iso(at: datetime | None) -> str | None:
    """An instant for `--json`: ISO 8601 with its offset (UTC, as stored)."""
    return at.isoformat() if at else None
