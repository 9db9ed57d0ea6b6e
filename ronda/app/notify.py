"""Telling systemd how the daemon is doing: the sd_notify protocol, in the few lines it takes.

systemd passes a datagram socket in `$NOTIFY_SOCKET` (a path, or `@name` for the abstract
namespace) to a `Type=notify` service; the service sends `READY=1` once it serves,
`WATCHDOG=1` at least every `$WATCHDOG_USEC` microseconds while it is healthy (systemd
restarts it otherwise), `RELOADING=1` / `STOPPING=1` around a reload and a stop, and
`STATUS=...` lines `systemctl status` shows. The protocol is one `sendto` of `KEY=VALUE`
lines (sd_notify(3)); a library for it would bring more code than it saves. Without
`$NOTIFY_SOCKET` (not under systemd) every call is a no-op.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


class Notifier:
    """The service manager's socket, if there is one, and the watchdog's interval."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        raw = env.get("NOTIFY_SOCKET", "")
        # "@name" is Linux's abstract namespace, written with a leading NUL on the wire.
        self.address = "\0" + raw[1:] if raw.startswith("@") else raw
        self.watchdog_interval = _watchdog_seconds(env)
        self._sock: socket.socket | None = None
        self._warned = False

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def send(self, *fields: str) -> bool:
        """Send `KEY=VALUE` fields in one datagram; False when there is no socket or it
        failed (said once in the log: the daemon runs on either way)."""
        if not self.address:
            return False
        message = "\n".join(f.replace("\n", " ") for f in fields).encode("utf-8")
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(message, self.address)
        except OSError as error:
            if not self._warned:
                log.warning("cannot notify the service manager (%s): %s", self.address, error)
                self._warned = True
            return False
        return True

    def ready(self, status: str = "") -> bool:
        return self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def reloading(self) -> bool:
        # MONOTONIC_USEC tells systemd (253+, Type=notify-reload) which reload this is.
        return self.send("RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")

    def stopping(self) -> bool:
        return self.send("STOPPING=1")

    def status(self, text: str) -> bool:
        return self.send(f"STATUS={text}")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _watchdog_seconds(env: Mapping[str, str]) -> float | None:
    """The watchdog's interval for this process, None when none is asked for (or it is
    meant for another process: `$WATCHDOG_PID`)."""
    pid = env.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return None
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 1_000_000 if usec > 0 else None


class Watchdog:
    """Pets systemd's watchdog at half its interval, and only while `healthy()` says so:
    a daemon whose rounds are stuck is then restarted instead of looking alive."""

    def __init__(self, notifier: Notifier, clock: Callable[[], float] = time.monotonic) -> None:
        self.notifier = notifier
        self.clock = clock
        interval = notifier.watchdog_interval
        self.every = interval / 2 if interval else None
        self._last: float | None = None

    def tick(self, healthy: bool) -> bool:
        """Call often (each look at the signals); True when it petted the watchdog."""
        if self.every is None or not healthy:
            return False
        now = self.clock()
        if self._last is not None and now - self._last < self.every:
            return False
        self._last = now
        return self.notifier.watchdog()


__all__ = ["Notifier", "Watchdog"]
