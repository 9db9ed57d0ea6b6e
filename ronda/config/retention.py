"""The [retention] section: how many days `ronda run` keeps the probe's repeated notes and
customers' mail bodies on resolved cases. Left out, a key keeps them for ever."""

from __future__ import annotations

from ronda.config.errors import describe
from ronda.config.model import RetentionSettings
from ronda.config.reader import Reader

RETENTION_KEYS = ("probe_history_days", "mail_body_days")
# A month's report (and the exporter's 30-day compliance window) must find every case of
# the month whole: nothing resolved in the last 31 days is ever pruned.
MIN_RETENTION_DAYS = 31


def read_retention(r: Reader, raw: object) -> RetentionSettings:
    """[retention]: whole days, at least `MIN_RETENTION_DAYS`, per kind of history."""
    table = r.table(raw, ("retention",), RETENTION_KEYS)
    if not table:
        return RetentionSettings()
    values: dict[str, int] = {}
    for key in RETENTION_KEYS:
        if key not in table:
            continue
        value = table[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < MIN_RETENTION_DAYS:
            r.add(
                ("retention", key),
                f"{describe(value)} is not a number of days of at least {MIN_RETENTION_DAYS} "
                "(expected e.g. 90; leave the key out to keep everything)",
            )
            continue
        values[key] = value
    return RetentionSettings(**values)
