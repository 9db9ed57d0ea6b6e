"""The [retention] section: how many days `ronda run` keeps the probe's repeated notes and
customers' mail bodies on resolved cases (left out: for ever), and each site's history of
states (left out: 400 days)."""

from __future__ import annotations

from ronda.config.errors import describe
from ronda.config.model import RetentionSettings
from ronda.config.reader import Reader

RETENTION_KEYS = ("probe_history_days", "mail_body_days", "site_history_days")
# A month's report (and the exporter's 30-day compliance window) must find every case of
# the month whole: nothing resolved in the last 31 days is ever pruned.
MIN_RETENTION_DAYS = 31
# A status page draws 90 days of uptime bars: the site history keeps at least those.
MIN_SITE_HISTORY_DAYS = 92


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
        least = MIN_SITE_HISTORY_DAYS if key == "site_history_days" else MIN_RETENTION_DAYS
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            history = key == "site_history_days"
            r.add(
                ("retention", key),
                f"{describe(value)} is not a number of days of at least {least} "
                f"(expected e.g. {400 if history else 90}; leave the key out "
                f"to keep {'400 days' if history else 'everything'})",
            )
            continue
        values[key] = value
    return RetentionSettings(**values)
