"""The WordPress-health families, per configured site from its last round's facts, and
`ronda_site_blocked` (a firewall blocking the desk: the site is not measured, not down).

Labels stay bounded: `site` (configured sites only) and `check` (the fixed list of
`ronda.config.wordpress.CHECKS`); versions are values, never labels.
"""

from __future__ import annotations

import json

from ronda.config.wordpress import CHECKS
from ronda.exporter.metrics import SPECS
from ronda.exporter.textformat import Family
from ronda.store.metrics import MetricsReader


def _names(text: str) -> set[str]:
    try:
        value = json.loads(text)
    except ValueError:
        return set()  # a damaged row loses its checks, not the scrape
    return (
        {n for n in value if isinstance(n, str) and n in CHECKS}
        if isinstance(value, list)
        else set()
    )


def wordpress_families(reader: MetricsReader) -> list[Family]:
    """Read inside the caller's snapshot."""
    outdated = Family(SPECS["ronda_wordpress_outdated"])
    eol = Family(SPECS["ronda_php_eol_timestamp_seconds"])
    failing = Family(SPECS["ronda_wordpress_check_failing"])
    checked = Family(SPECS["ronda_wordpress_last_check_timestamp_seconds"])
    blocked = Family(SPECS["ronda_site_blocked"])
    for site in reader.blocked_sites():
        blocked.add((site,), 1.0)
    for row in reader.wordpress_rows():
        site = (row.site,)
        checked.add(site, float(row.checked_at))
        if row.core_outdated is not None:
            outdated.add(site, 1.0 if row.core_outdated else 0.0)
        if row.php_eol_at is not None:
            eol.add(site, float(row.php_eol_at))
        bad = _names(row.failing)
        for check in sorted(_names(row.checks) | bad):
            failing.add((row.site, check), 1.0 if check in bad else 0.0)
    return [blocked, outdated, eol, failing, checked]
