"""`ronda run`: the production daemon — site rounds plus the exporter in one process.

Part of the CLI layer: it loads `checks` and `exporter` lazily, so the core never imports
them. Logs one line per event that matters; SIGTERM and SIGINT stop it gracefully; SIGHUP
or a changed config file reloads the config (a broken one is refused, the old one runs on).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path

from ronda.config import ConfigError, load_config
from ronda.store import Store

log = logging.getLogger("ronda")

WATCH_INTERVAL = 2.0  # seconds between two looks at the config file's modification time


def configure_logging(level: int = logging.INFO) -> None:
    """One format for every line on stderr: Ronda's own events at `level`, and warnings and
    errors from anywhere else (`ronda.checks.scheduler` when a batch cannot be stored, asyncio,
    ...), which would otherwise reach stderr bare, without time or level."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    own = logging.getLogger("ronda")
    own.handlers[:] = []
    own.setLevel(level)
    own.propagate = True


def file_signature(path: Path) -> tuple[int, int] | None:
    """What `watch_file` compares: modification time (ns) and size, None when unreadable."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def watch_file(
    path: Path,
    changed: threading.Event,
    stop: threading.Event,
    seen: tuple[int, int] | None = None,
) -> threading.Thread:
    """Set `changed` whenever the file's modification time or size moves. `seen` is the
    signature of the version already loaded (taken before loading it, so an edit made
    while the daemon starts is not missed); by default the file as it is now."""

    if seen is None:
        seen = file_signature(path)

    def loop() -> None:
        nonlocal seen
        while not stop.wait(WATCH_INTERVAL):
            now = file_signature(path)
            if now != seen:
                seen = now
                changed.set()

    thread = threading.Thread(target=loop, name="ronda-config-watch", daemon=True)
    thread.start()
    return thread


def log_event(event: object) -> None:
    """A round event as log lines: errors at ERROR level, and a message of several lines
    (a refused config lists one problem per line) as several lines, so every line of the
    log starts with its time and level."""
    level = logging.ERROR if getattr(event, "kind", None) == "error" else logging.INFO
    for line in str(event).splitlines() or [""]:
        log.log(level, "%s", line)


def run_daemon(config_path: Path, db_path: Path | None, listen: str | None) -> int:
    """Rounds and exporter until SIGTERM/SIGINT. Returns the process exit code."""
    from ronda.checks.cli import run_rounds
    from ronda.exporter.server import ExporterError, serve

    configure_logging()
    loaded = file_signature(Path(config_path))  # before reading: a later edit is a change
    try:
        config = load_config(config_path)
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 2
    store = Store(db_path)
    exporter = None
    if listen != "off":
        try:
            exporter = serve(store, listen or "127.0.0.1:9464")
        except ExporterError as error:
            log.error("exporter: %s", error)
            return 1
        log.info("exporter serving %s", exporter.url)
    log.info("rounds of %d sites from %s, database %s", len(config.sites), config_path, store.path)

    stop = threading.Event()
    reload = threading.Event()

    def on_stop(signum: int, _frame: object) -> None:
        log.info("%s received: stopping after the round in flight", signal.Signals(signum).name)
        stop.set()

    def on_hup(_signum: int, _frame: object) -> None:
        log.info("SIGHUP received: reloading %s", config_path)
        reload.set()

    previous = {
        sig: signal.signal(sig, handler)
        for sig, handler in (
            (signal.SIGTERM, on_stop),
            (signal.SIGINT, on_stop),
            (signal.SIGHUP, on_hup),
        )
    }
    watch_file(Path(config_path), reload, stop, loaded)
    try:
        run_rounds(
            config_path,
            store,
            stop,
            on_event=log_event,
            reload_event=reload,
        )
    finally:
        stop.set()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if exporter is not None:
            exporter.stop()
        log.info("stopped")
    return 0
