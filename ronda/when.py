"""Instants as the desk shows them: in its time zone, with the offset where a time could be
misread.

The store keeps UTC and the SLA runs on the desk's business calendar (`[sla.calendar]
timezone`, America/Bogota by default), so an agent reads every instant in that zone: the TUI,
the CLI's tables and the plain log lines. `--json` output and JSON logs keep ISO 8601 with
their offset, for machines.

The zone is a fact of the process (one desk, one config): the composition root sets it once
with `use_zone` (the TUI from its SLA policy, the CLI from the desk's config), and the
formatting functions read it, so the screens that show times need not carry it around.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from ronda.config.model import CalendarConfig

DEFAULT_ZONE = CalendarConfig().timezone

_zone: ZoneInfo = ZoneInfo(DEFAULT_ZONE)


def use_zone(zone: str | tzinfo) -> ZoneInfo:
    """Make `zone` (a name such as "America/Bogota", or a ZoneInfo) the desk's zone for
    this process; returns it."""
    global _zone
    _zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(str(zone))
    return _zone


def desk_zone() -> ZoneInfo:
    """The zone every instant is shown in."""
    return _zone


def local(at: datetime, zone: tzinfo | None = None) -> datetime:
    """`at` (aware) in the desk's zone, or in `zone`."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"timezone-aware datetime required, got naive {at!r}")
    return at.astimezone(zone or _zone)


def offset_text(at: datetime, zone: tzinfo | None = None) -> str:
    """The zone's offset at `at`, short: `-05`, `+01`, `+05:30`, `+00`."""
    delta = local(at, zone).utcoffset() or timedelta(0)
    minutes = int(delta.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}" + (f":{rest:02d}" if rest else "")


def format_when(
    at: datetime | None, *, zone: bool = True, seconds: bool = False, tz: tzinfo | None = None
) -> str:
    """`2026-12-04 08:20 -05`: an instant in the desk's zone (or `tz`) to the minute (or to
    the second), with its offset unless `zone=False` (where a heading already says the
    zone); `-` for none."""
    if at is None:
        return "-"
    shown = local(at, tz)
    text = shown.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{text} {offset_text(at, tz)}" if zone else text


def format_iso(at: datetime | None, tz: tzinfo | None = None) -> str | None:
    """ISO 8601 with the offset, in the desk's zone (or `tz`): `2026-12-04T08:20:00-05:00`."""
    return None if at is None else local(at, tz).isoformat()


def zone_label(at: datetime | None = None, tz: tzinfo | None = None) -> str:
    """`America/Bogota (UTC-05)`: which zone times are shown in, for a heading or a log."""
    zone = tz or _zone
    at = at or datetime.now(zone)
    return f"{getattr(zone, 'key', str(zone))} (UTC{offset_text(at, zone)})"


__all__ = [
    "DEFAULT_ZONE",
    "desk_zone",
    "format_iso",
    "format_when",
    "local",
    "offset_text",
    "use_zone",
    "zone_label",
]
