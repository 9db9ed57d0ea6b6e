"""`ronda probe`: probe now and print what was seen, as a table or as JSON lines."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from ronda.checks.probe import Prober
from ronda.checks.probe_now import ProbeRun, SiteProbe, UnknownSite, probe_now
from ronda.config import Config
from ronda.model import FailureClass
from ronda.store import Store
from ronda.when import local

EXIT_OK = 0
EXIT_USAGE = 2
DETAIL_WIDTH = 90  # characters of a failing check's detail in the table


def probe_once(
    config: Config,
    store: Store | None,
    site_name: str | None = None,
    as_json: bool = False,
    dry_run: bool = False,
    out: TextIO | None = None,
    *,
    prober: Prober | None = None,
) -> int:
    """Probe every site (or one) now and print what was seen; open or update tickets in
    `store` unless `dry_run` (a dry run needs no store). Exit 0 even when sites fail:
    failing is what it reports, not an error of the command. An unknown site name is a
    usage error (2)."""
    out = out or sys.stdout
    try:
        probed = probe_now(config, store, site_name, dry_run=dry_run, prober=prober)
    except UnknownSite as error:
        print(f"ronda probe: {error}", file=sys.stderr)
        return EXIT_USAGE
    out.write(format_json_lines(probed) if as_json else format_report(probed))
    return EXIT_OK


def format_report(probed: ProbeRun) -> str:
    """The table, then one line per event of the round, in the order the round made them."""
    return format_table(probed.sites) + "".join(f"{event}\n" for event in probed.events)


def format_json_lines(probed: ProbeRun) -> str:
    """One JSON object per site: its facts, every failing check, and its events."""
    lines = []
    for site in probed.sites:
        row = result_json(site)
        row["events"] = [str(e) for e in site.events]
        # ASCII with escapes: exact values, and nothing a terminal could obey.
        lines.append(json.dumps(row) + "\n")
    return "".join(lines)


def result_json(probed: SiteProbe) -> dict:
    """One line of `ronda probe --json` (without its events): the result's facts plus
    every failing check."""
    result = probed.result
    row = dict(result.to_json()) if hasattr(result, "to_json") else {}  # a test's stand-in
    row.update(
        site=result.site,
        url=result.url,
        status_code=result.status_code,
        elapsed_ms=round(float(result.elapsed_ms or 0.0), 3),
        cert_not_after=result.cert_not_after.isoformat() if result.cert_not_after else None,
        detail=result.detail or "",
    )
    row["class"] = str(result.failure_class)
    row["kind"] = probed.kind
    row["findings"] = [
        {
            "class": str(f.failure_class),
            "priority": str(f.priority) if f.priority else None,
            "detail": f.detail,
        }
        for f in probed.failures
    ]
    return row


def _one_line(text: str, width: int) -> str:
    """One terminal-safe line: control characters (escape sequences) never reach the tty."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(text))
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(sites: tuple[SiteProbe, ...] | list[SiteProbe]) -> str:
    """A row per site that passed, and a row per failing check (each naming its site)."""
    header = ("SITE", "CLASS", "STATUS", "MS", "CERT EXPIRES", "URL", "DETAIL")
    rows: list[tuple[str, ...]] = []
    for probed in sorted(sites, key=lambda p: p.site):
        r = probed.result
        common = (
            "-" if r.status_code is None else str(r.status_code),
            f"{float(r.elapsed_ms or 0.0):.0f}",
            local(r.cert_not_after).strftime("%Y-%m-%d") if r.cert_not_after else "-",
            r.url,
        )
        if not probed.failures:
            rows.append((r.site, str(FailureClass.OK), *common, ""))
        for f in probed.failures:
            detail = f.detail.removeprefix(f"{r.site}: ")
            rows.append((r.site, str(f.failure_class), *common, _one_line(detail, DETAIL_WIDTH)))
    widths = [
        max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
        for i, h in enumerate(header)
    ]
    lines = []
    for row in (header, *rows):
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    failing = sum(1 for p in sites if p.failing)
    subjects = sum(1 for p in sites if p.subject)
    probed = f"{len(sites) - subjects} sites"
    if subjects:
        probed += f" and {subjects} other checks"  # services, domains
    lines.append(f"{probed} probed, {failing} failing")
    return "\n".join(lines) + "\n"


__all__ = ["format_json_lines", "format_report", "format_table", "probe_once", "result_json"]
