"""What a long-running command does for its process: the log's format, round and service
events as log lines, and signals turned into requests the main thread carries out."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable
from types import TracebackType

from ronda.app.service import Event, Service
from ronda.display import visible

log = logging.getLogger("ronda")

SIGNAL_POLL = 0.2  # seconds between two looks at the signals received


class VisibleFormatter(logging.Formatter):
    """Log lines whose message can never carry a live control character or a line break:
    text from sites and mail in a message is shown with `ronda.display.visible`, so it
    cannot act on the terminal that tails the log or forge a line of its own. Tracebacks
    keep their lines, with controls in them shown too (an exception may quote a site)."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        record.message = visible(record.message)
        return super().formatMessage(record)

    def formatException(self, ei) -> str:  # type: ignore[no-untyped-def]  # noqa: N802
        return visible(super().formatException(ei), lines=True)

    def formatStack(self, stack_info: str) -> str:  # noqa: N802
        return visible(super().formatStack(stack_info), lines=True)


def configure_logging(level: int = logging.INFO) -> None:
    """One format for every line on stderr: Ronda's own events at `level`, and warnings and
    errors from anywhere else (`ronda.checks.scheduler` when a batch cannot be stored, asyncio,
    ...), which would otherwise reach stderr bare, without time or level."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(VisibleFormatter("%(asctime)s %(levelname)s %(message)s"))
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
    for line in str(event).splitlines() or [""]:
        log.log(level, "%s", line)


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
) -> None:
    """Block until the service ends on its own, or `on_signal` answers False for a signal
    received (it carries out the others, e.g. a reload)."""
    while not service.wait(poll):
        for sig in inbox.drain():
            if not on_signal(sig):
                return


__all__ = ["SignalInbox", "configure_logging", "log_event", "serve_until_signalled"]
