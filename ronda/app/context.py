"""What the commands share: exit codes, the one-line error, and the store, config, SLA
policy and desk a command's arguments name. Components are imported when a command needs
them, so `ronda tickets ...` never loads the probes, the TUI or the exporter."""

from __future__ import annotations

import argparse
from datetime import datetime

from ronda.config import Config, load_config
from ronda.sla import SlaPolicy
from ronda.store import Store
from ronda.tickets import Desk

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


class CliError(Exception):
    """An error worth one clear line and a non-zero exit."""


def open_store(args: argparse.Namespace) -> Store:
    return Store(args.db)


def load(path: str | None) -> Config:
    """The config file at `path` (`ConfigError` when broken), or the defaults."""
    return Config() if path is None else load_config(path)


def policy(args: argparse.Namespace) -> SlaPolicy:
    config_path = getattr(args, "config", None)
    return SlaPolicy.from_config(load(config_path)) if config_path else SlaPolicy.default()


def open_desk(args: argparse.Namespace) -> Desk:
    return Desk(open_store(args), policy(args))


def iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None
