"""PHP's version from `X-Powered-By`, against the end of its security support. Pure.

The dates ship with the package (`php_eol.toml`, from php.net). A branch past its date is
unsupported; one whose date is within `warning_days` is about to be: both are `php_eol`,
the contract's "configuración de las versiones de PHP" (the agency moves the site to a
supported PHP in cPanel). A branch older than every listed one is unsupported too; one
newer than every listed one is current.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from functools import lru_cache
from importlib import resources

from ronda.checks.classify import Finding
from ronda.model import FailureClass

_POWERED_BY = re.compile(r"\bPHP/(\d{1,2})\.(\d{1,2})(?:\.(\d{1,3}))?", re.I)


def php_version(x_powered_by: str | None) -> tuple[int, int, int] | None:
    """`"PHP/8.2.24"` (possibly among other products) -> (8, 2, 24)."""
    if not x_powered_by:
        return None
    match = _POWERED_BY.search(x_powered_by[:200])
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


@lru_cache(maxsize=1)
def eol_dates() -> dict[tuple[int, int], date]:
    """Branch -> the last day of its security support, from the packaged table."""
    text = resources.files("ronda.checks.wordpress").joinpath("php_eol.toml").read_text("utf-8")
    table = tomllib.loads(text)["branches"]
    out = {}
    for branch, day in table.items():
        major, minor = branch.split(".")
        out[(int(major), int(minor))] = day
    return out


def eol_of(
    branch: tuple[int, int], dates: Mapping[tuple[int, int], date] | None = None
) -> datetime | None:
    """The instant support ends (the end of its last day, UTC); None past the table's end."""
    dates = eol_dates() if dates is None else dates
    day = dates.get(branch)
    if day is None:
        if dates and branch < min(dates):
            day = min(dates.values())  # older than anything listed: long unsupported
        else:
            return None
    return datetime.combine(day, time(23, 59, 59), UTC)


def judge_php(
    version: tuple[int, int, int] | None,
    now: datetime,
    warning_days: int = 30,
    dates: Mapping[tuple[int, int], date] | None = None,
) -> Finding | None:
    """`php_eol` when the branch is unsupported or ends within `warning_days`."""
    if version is None:
        return None
    end = eol_of(version[:2], dates)
    if end is None:
        return None
    shown = f"PHP {version[0]}.{version[1]}"
    days = (end - now).total_seconds() / 86400.0
    when = end.date().isoformat()
    if days < 0:
        return Finding(
            FailureClass.PHP_EOL, None, f"{shown} has had no security support since {when}"
        )
    if days <= warning_days:
        return Finding(
            FailureClass.PHP_EOL,
            None,
            f"{shown} loses security support in {days:.0f} days ({when})",
        )
    return None
