"""Small value parsers and shapes: durations, clock times, host:port, e-mail and domain.

Pure functions that raise or return None; the loader turns a refusal into a problem.
"""

from __future__ import annotations

import math
import re
from datetime import time, timedelta

EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
DOMAIN = re.compile(r"[^\s@/:]+\.[^\s@/:]+")

_DURATION = re.compile(r"(?:\d+(?:\.\d+)?\s*(?:ms|d|h|m|s)\s*)+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|d|h|m|s)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_HHMM = re.compile(r"([01]?\d|2[0-4]):([0-5]\d)")


def parse_duration(value: str | int | float) -> timedelta:
    """`"5m"`, `"1h30m"`, `"36h"`, `"1.5s"`, `"500ms"`, `"2d"` or seconds as a number.

    Raises ValueError for anything else, including zero and negative durations.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and _DURATION.fullmatch(value.strip().lower()):
        parts = _DURATION_PART.findall(value.lower())
        seconds = sum(float(n) * _UNIT_SECONDS[unit] for n, unit in parts)
    else:
        raise ValueError(f"{value!r} is not a duration")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{value!r} is not a positive duration")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """`5400 s` -> `1h30m`, whole seconds, for messages."""
    seconds = delta.total_seconds()
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    text += f"{secs}s" if secs or not text else ""
    return text


def valid_host_port(text: str, *, allow_zero: bool) -> bool:
    """`host:port` or `[v6]:port`; port 0 (any free port) only where `allow_zero`."""
    host, sep, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")  # [::1]:25
    if not sep or not host or not port.isdigit():
        return False
    return (0 if allow_zero else 1) <= int(port) <= 65535


def parse_hostport(text: str, default_port: int) -> tuple[str, int]:
    """`host:port`, `[::1]:2525` or `host` -> (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    if not host:
        raise ValueError(f"{text!r}: expected host:port")
    try:
        number = int(port) if port else default_port
    except ValueError:
        raise ValueError(f"{text!r}: port {port!r} is not a number") from None
    if not 0 <= number <= 65535:
        raise ValueError(f"{text!r}: port {number} out of range")
    return host, number


def minute_of_day(text: str) -> int | None:
    """Minute of the day: "08:30" -> 510, "24:00" -> 1440, anything else -> None."""
    match = _HHMM.fullmatch(text.strip())
    if not match:
        return None
    value = int(match.group(1)) * 60 + int(match.group(2))
    return value if value <= 24 * 60 else None


def clock(minute: int) -> time:
    """Minute of the day (below 1440) -> a time."""
    return time(minute // 60, minute % 60)


def is_number(value: object) -> bool:
    """An int or float, not a bool (TOML's true is no number)."""
    return isinstance(value, int | float) and not isinstance(value, bool)
