"""The desk's configuration: one TOML file of customers, servers, sites, SLA and probe settings.

The dataclasses (`ronda.config.model`) are the contract every part reads; `load_config`
turns a TOML file into them and refuses anything it does not understand with a
`ConfigError` that lists every problem by file, key path and line.

Modules: model (the dataclasses), load (file -> Config, the top level), sites, sla, mail,
retention, blind, wordpress, reports, replies (saved replies) and reach ([[agents]], [oncall],
[notices], [outbox]) (their
sections), reader (checking generic shapes, collecting problems), values (durations, clock times,
host:port), errors (ConfigError and how a problem is written), lines (key path -> line in
the TOML text).
"""

from ronda.config.errors import ConfigError, KeyPath, format_key_path
from ronda.config.load import check_config_summary, load_config, parse_config
from ronda.config.model import (
    Agent,
    BlindSettings,
    CalendarConfig,
    Canary,
    Config,
    Customer,
    IncidentSettings,
    KeywordCheck,
    MailSettings,
    MaintenanceWindow,
    NoticeSettings,
    OncallSettings,
    OutboxSettings,
    ProbeSettings,
    ReportSettings,
    RetentionSettings,
    SavedReply,
    Server,
    Site,
    StatusPageSettings,
    TlsConfig,
)
from ronda.config.values import parse_duration
from ronda.config.wordpress import WordPressSettings
from ronda.contract import SlaCellConfig  # a matrix cell, as Config.sla holds them

__all__ = [
    "BlindSettings",
    "Agent",
    "SavedReply",
    "CalendarConfig",
    "Canary",
    "Config",
    "ConfigError",
    "Customer",
    "IncidentSettings",
    "KeyPath",
    "KeywordCheck",
    "MailSettings",
    "MaintenanceWindow",
    "NoticeSettings",
    "OncallSettings",
    "OutboxSettings",
    "ProbeSettings",
    "ReportSettings",
    "RetentionSettings",
    "StatusPageSettings",
    "Server",
    "Site",
    "SlaCellConfig",
    "TlsConfig",
    "WordPressSettings",
    "check_config_summary",
    "format_key_path",
    "load_config",
    "parse_config",
    "parse_duration",
]
