"""What a long-running command does for its process: the log's format, round and service
events as log lines, and signals turned into requests the main thread carries out.

Two log formats. `plain` (the default): `TIME LEVEL message`, one line per event, TIME in
the desk's time zone with its offset (`2026-12-04T08:20:01.123-05:00`, so a line says which
zone it uses), text from sites and mail shown with `ronda.display.visible`. `json`, for log
shippers: one flat JSON object per line (JSON Lines) with `time` (RFC 3339, UTC,
milliseconds), `level`, `logger` and `message`, plus `event`, `site` and `case` on round
and service events and `exception` for a traceback; these are the keys Fluent Bit, Vector
and Loki's `json` stage read without a mapping. Text keeps its exact value there,
JSON-escaped to ASCII, so no control character reaches a terminal either. In both,
credentials written in a URL (`user:password@`) are masked.
"""

from __future__ import annotations

import json
import logging
import re
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, tzinfo
from types import TracebackType

from ronda.app.service import Event, Service
from ronda.display import visible
from ronda.when import desk_zone, use_zone

log = logging.getLogger("ronda")

SIGNAL_POLL = 0.2  # seconds between two looks at the signals received
LOG_FORMATS = ("plain", "json")
# `scheme://user:password@`: the password never reaches a log line, whoever wrote it.
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/:@]*):[^\s/@]*@")


def mask_credentials(text: str) -> str:
    """`https://ana:secret@host/` -> `https://ana:***@host/`."""
    return _URL_CREDENTIALS.sub(r"\1:***@", text)


class VisibleFormatter(logging.Formatter):
    """Log lines whose message can never carry a live control character or a line break:
    text from sites and mail in a message is shown with `ronda.display.visible`, so it
    cannot act on the terminal that tails the log or forge a line of its own. Tracebacks
    keep their lines, with controls in them shown too (an exception may quote a site)."""

    def __init__(self, fmt: str, zone: tzinfo | None = None) -> None:
        super().__init__(fmt)
        self.zone = zone

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        """RFC 3339 with milliseconds and the offset, in the desk's zone."""
        at = datetime.fromtimestamp(record.created, UTC).astimezone(self.zone or desk_zone())
        return at.isoformat(timespec="milliseconds")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        record.message = visible(mask_credentials(record.message))
        return super().formatMessage(record)

    def formatException(self, ei) -> str:  # type: ignore[no-untyped-def]  # noqa: N802
        return visible(super().formatException(ei), lines=True)

    def formatStack(self, stack_info: str) -> str:  # noqa: N802
        return visible(super().formatStack(stack_info), lines=True)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (see the module docstring for its keys)."""

    EXTRA = ("event", "site", "case")

    def format(self, record: logging.LogRecord) -> str:
        at = datetime.fromtimestamp(record.created, UTC)
        out: dict[str, object] = {
            "time": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask_credentials(record.getMessage()),
        }
        for key in self.EXTRA:
            value = getattr(record, key, None)
            if value is not None:
                out[key] = mask_credentials(str(value))
        if record.exc_info:
            out["exception"] = mask_credentials(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=True)


def configure_logging(
    level: int = logging.INFO, fmt: str = "plain", zone: str | tzinfo | None = None
) -> None:
    """One format for every line on stderr: Ronda's own events at `level`, and warnings and
    errors from anywhere else (`ronda.checks.scheduler` when a batch cannot be stored, asyncio,
    ...), which would otherwise reach stderr bare, without time or level. `fmt` is "plain"
    or "json" (see the module docstring); `zone` is the desk's time zone (plain lines)."""
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format {fmt!r} is not one of {', '.join(LOG_FORMATS)}")
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        tz = use_zone(zone) if zone is not None else desk_zone()
        handler.setFormatter(VisibleFormatter("%(asctime)s %(levelname)s %(message)s", tz))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    own = logging.getLogger("ronda")
    own.handlers[:] = []
    own.setLevel(level)
    own.propagate = True


def log_event(event: Event) -> None:
    """A round or service event as log lines: errors at ERROR level, and a message of
    several lines (a refused config lists one problem per line) as several lines, so every
    line of the log starts with its time and level."""
    level = logging.ERROR if event.kind == "error" else logging.INFO
    extra = {
        "event": str(event.kind),
        "site": getattr(event, "site", None),
        "case": getattr(event, "case_number", None),
    }
    for line in str(event).splitlines() or [""]:
        log.log(level, "%s", line, extra=extra)


class SignalInbox:
    """Signals as a queue for the main thread, while the `with` block runs.

    The handler only appends the signal to a deque: a handler runs between two bytecodes
    of the main thread, and taking a lock there (setting a `threading.Event`) could wait
    for ever on a lock that same thread holds. Outside the main thread it installs
    nothing (Python allows handlers only there)."""

    def __init__(self, signals: Iterable[signal.Signals]) -> None:
        self.signals = tuple(signals)
        self._received: deque[signal.Signals] = deque()
        self._previous: dict[signal.Signals, object] = {}

    def _handler(self, signum: int, _frame: object) -> None:
        self._received.append(signal.Signals(signum))

    def __enter__(self) -> SignalInbox:
        if threading.current_thread() is threading.main_thread():
            for sig in self.signals:
                self._previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)  # type: ignore[arg-type]
        self._previous.clear()

    def drain(self) -> list[signal.Signals]:
        """The signals received since the last call, oldest first."""
        out = []
        while self._received:
            out.append(self._received.popleft())
        return out


def serve_until_signalled(
    service: Service,
    inbox: SignalInbox,
    on_signal: Callable[[signal.Signals], bool],
    poll: float = SIGNAL_POLL,
    on_tick: Callable[[], object] | None = None,
) -> None:
    """Block until the service ends on its own, or `on_signal` answers False for a signal
    received (it carries out the others, e.g. a reload). `on_tick` runs on each look (the
    watchdog's petting)."""
    while not service.wait(poll):
        for sig in inbox.drain():
            if not on_signal(sig):
                return
        if on_tick is not None:
            on_tick()


__all__ = [
    "LOG_FORMATS",
    "JsonFormatter",
    "SignalInbox",
    "configure_logging",
    "log_event",
    "mask_credentials",
    "serve_until_signalled",
]
