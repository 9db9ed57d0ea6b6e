"""What `ronda probe` and `ronda run` call: probe now, or make rounds until stopped."""

from __future__ import annotations

import asyncio
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TextIO

from ronda.checks.rounds import RoundEvent, RoundItem, RoundRunner, failures_of
from ronda.checks.scheduler import Scheduler
from ronda.config import Config, ConfigError, Site, load_config
from ronda.model import FailureClass
from ronda.sites import sync_config
from ronda.store import Store

EXIT_OK = 0
EXIT_USAGE = 2


class _Stop(Protocol):
    def is_set(self) -> bool: ...


def _make_prober(config: Config) -> Any:
    from ronda.checks.probe import Prober

    return Prober(extra_ca=config.tls.extra_ca, use_uvloop=False)


def _run(main: Any) -> Any:
    from ronda.checks.probe import run

    return run(main)


def probe_once(
    config: Config,
    store: Store,
    site_name: str | None = None,
    as_json: bool = False,
    dry_run: bool = False,
    out: TextIO | None = None,
    *,
    prober: Any | None = None,
) -> int:
    """Probe every site (or one) now and print what was seen; open or update tickets
    unless `dry_run`. Exit 0 even when sites fail: failing is what it reports, not an
    error of the command. An unknown site name is a usage error (2)."""
    out = out or sys.stdout
    if site_name is not None:
        site = config.site(site_name)
        if site is None:
            known = ", ".join(s.name for s in config.sites[:10]) or "none configured"
            print(f"ronda probe: no site named {site_name!r} (sites: {known})", file=sys.stderr)
            return EXIT_USAGE
        sites: list[Site] = [site]
    else:
        sites = list(config.sites)
    runner: RoundRunner | None = None
    if not dry_run:
        sync_config(store, config)
        runner = RoundRunner(store, config)

    async def main() -> list[RoundItem]:
        own = prober is None
        active = prober if prober is not None else _make_prober(config)
        limit = asyncio.Semaphore(max(1, config.concurrency))
        per_server: dict[str, asyncio.Semaphore] = {}

        async def one(site: Site) -> RoundItem:
            server = None
            if site.server:
                server = per_server.setdefault(
                    site.server, asyncio.Semaphore(max(1, config.per_server_concurrency))
                )
            async with server if server is not None else _nullcontext(), limit:
                result = await active.probe_site(site)
                reprobe = None
                if runner is not None and runner.needs_reprobe(result):
                    reprobe = await active.probe_site(site)
                return RoundItem(result, reprobe)

        try:
            return list(await asyncio.gather(*(one(s) for s in sites)))
        finally:
            if own:
                await active.aclose()

    items = _run(main())
    events = runner.apply(items) if runner is not None else []
    by_site: dict[str | None, list[RoundEvent]] = {}
    for event in events:
        by_site.setdefault(event.site, []).append(event)
    results = [item.reprobe if item.reprobe is not None else item.result for item in items]
    if as_json:
        for result in results:
            row = result_json(result)
            row["events"] = [str(e) for e in by_site.get(result.site, [])]
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    else:
        out.write(format_table(results))
        for event in events:
            out.write(f"{event}\n")
    return EXIT_OK


class _nullcontext:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *_exc: object) -> None:
        return None


def result_json(result: Any) -> dict:
    """One line of `ronda probe --json`: the result's facts plus every failing check."""
    if hasattr(result, "to_json"):
        row = dict(result.to_json())
    else:
        row = {}
    row.update(
        site=result.site,
        url=result.url,
        status_code=result.status_code,
        elapsed_ms=round(float(result.elapsed_ms or 0.0), 3),
        cert_not_after=result.cert_not_after.isoformat() if result.cert_not_after else None,
        detail=result.detail or "",
    )
    row["class"] = str(result.failure_class)
    row["findings"] = [
        {
            "class": str(f.failure_class),
            "priority": str(f.priority) if f.priority else None,
            "detail": f.detail,
        }
        for f in failures_of(result)
    ]
    return row


def _one_line(text: str, width: int) -> str:
    """One terminal-safe line: control characters (escape sequences) never reach the tty."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(text))
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(results: list[Any]) -> str:
    """A row per site that passed, and a row per failing check (each naming its site)."""
    header = ("SITE", "CLASS", "STATUS", "MS", "CERT EXPIRES", "URL", "DETAIL")
    rows: list[tuple[str, ...]] = []
    for r in sorted(results, key=lambda r: r.site):
        common = (
            "-" if r.status_code is None else str(r.status_code),
            f"{float(r.elapsed_ms or 0.0):.0f}",
            r.cert_not_after.strftime("%Y-%m-%d") if r.cert_not_after else "-",
            r.url,
        )
        failures = failures_of(r)
        if not failures:
            rows.append((r.site, str(FailureClass.OK), *common, ""))
        for f in failures:
            detail = f.detail.removeprefix(f"{r.site}: ")
            rows.append((r.site, str(f.failure_class), *common, _one_line(detail, 90)))
    widths = [
        max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
        for i, h in enumerate(header)
    ]
    lines = []
    for row in (header, *rows):
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    failing = sum(1 for r in results if failures_of(r))
    lines.append(f"{len(results)} sites probed, {failing} failing")
    return "\n".join(lines) + "\n"


def probe_summary(config: Config, store: Store, site_name: str) -> str:
    """Probe one site now, tickets updated as in a round; one line saying what was seen
    (the TUI's "probe now")."""
    buffer = io.StringIO()
    probe_once(config, store, site_name=site_name, as_json=True, out=buffer)
    rows = [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    if not rows:
        return f"{site_name}: no result"
    row = rows[0]
    seen = f"HTTP {row['status_code']}" if row.get("status_code") else "no answer"
    return f"{row['class']} ({seen}, {row['elapsed_ms']:.0f} ms)"


def run_rounds(
    config_path: str | Path,
    store: Store,
    stop_event: _Stop,
    on_event: Callable[[RoundEvent], object] = print,
    *,
    reload_event: Any | None = None,
    probe: Callable[[Site], Any] | None = None,
) -> int:
    """Rounds until `stop_event` (a threading.Event or anything with `is_set()`) is set.

    `reload_event` (optional, e.g. set by a SIGHUP handler): when set, the config file is
    read again and applied to the running scheduler; a broken file is reported through
    `on_event` and the old config stays. `probe` replaces the real prober (tests).
    """
    config = load_config(config_path)
    sync_config(store, config)
    runner = RoundRunner(store, config, on_event=on_event)

    async def main() -> None:
        # The prober holds the SSL context built from [tls]; a reload that changes it
        # swaps in a new prober (probes in flight finish on the old one).
        probers = [_make_prober(config)] if probe is None else []

        async def probe_fn(site: Site) -> Any:
            return await (probe(site) if probe is not None else probers[-1].probe_site(site))

        scheduler = Scheduler(config, runner, probe_fn)
        stop = asyncio.Event()

        async def watch() -> None:
            tls = config.tls
            while not stop.is_set():
                if stop_event.is_set():
                    stop.set()
                    break
                if reload_event is not None and reload_event.is_set():
                    reload_event.clear()
                    fresh = _reload(config_path, store, scheduler, on_event)
                    if fresh is not None and fresh.tls != tls and probe is None:
                        tls = fresh.tls
                        probers.append(_make_prober(fresh))
                await asyncio.sleep(0.1)

        watcher = asyncio.create_task(watch())
        try:
            await scheduler.run(stop)
        finally:
            stop.set()
            await watcher
            for prober in probers:
                await prober.aclose()

    _run(main())
    return EXIT_OK


def _reload(
    config_path: str | Path,
    store: Store,
    scheduler: Scheduler,
    on_event: Callable[[RoundEvent], object],
) -> Config | None:
    """Read the config again and apply it; a broken file is reported and changes nothing."""
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        on_event(RoundEvent("error", f"config not reloaded, keeping the old one: {exc}"))
        return None
    sync_config(store, config)
    scheduler.update_config(config)
    on_event(RoundEvent("config_reloaded", f"config reloaded: {len(config.sites)} sites"))
    return config


__all__ = ["format_table", "probe_once", "probe_summary", "result_json", "run_rounds"]
