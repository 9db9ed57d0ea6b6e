"""`ronda report`: the monthly report of a customer (or of all of them) as HTML files, and
`ronda report hours`, the month's time entries for invoicing (CSV or JSON on stdout)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ronda.app.context import EXIT_OK, CliError, desk_config, open_store
from ronda.reports.period import Month


def _month(text: str | None) -> Month:
    if not text:
        raise CliError("--month YYYY-MM is required, e.g. --month 2026-11")
    try:
        return Month.parse(text)
    except ValueError as error:
        raise CliError(f"--month: {error}") from None


def cmd_report_hours(args: argparse.Namespace) -> int:
    from ronda.reports.hours import hours_csv, hours_json
    from ronda.sla import SlaPolicy

    config = desk_config(args)
    tz = SlaPolicy.from_config(config).timezone
    month = _month(args.month)
    store = open_store(args)
    customers = [args.customer] if args.customer else None
    entries = store.reports.time_entries(
        month.start(tz).timestamp(), month.end(tz).timestamp(), customers
    )
    text = hours_csv(entries, tz) if args.format == "csv" else hours_json(entries, tz)
    sys.stdout.write(text)
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    if args.report_command == "hours":
        return cmd_report_hours(args)
    from ronda.reports.pdf import PdfUnavailable
    from ronda.reports.run import ReportError, write_reports

    if bool(args.customer) == bool(args.all):
        raise CliError("give --customer NAME or --all")
    config = desk_config(args)
    month = _month(args.month)
    try:
        written = write_reports(
            config,
            open_store(args),
            month,
            out=Path(args.out),
            customers=None if args.all else [args.customer],
            lang=args.lang,
            pdf=args.pdf,
        )
    except (ReportError, PdfUnavailable) as error:
        raise CliError(str(error)) from None
    for path in written:
        print(path)
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "report", parents=[common], help="monthly customer reports (HTML, PDF) and hours"
    )
    p.add_argument("--config", help="config file (default: ronda.toml next to the database)")
    p.add_argument("--month", help="YYYY-MM, e.g. 2026-11 (required)")
    p.add_argument("--customer", help="the customer's name")
    p.add_argument("--all", action="store_true", help="one report per customer")
    p.add_argument("--lang", choices=["en", "es"], help="default: the customer's, else the desk's")
    p.add_argument("--out", default=".", help="folder the reports are written to (default: .)")
    p.add_argument("--pdf", action="store_true", help="also a PDF (needs WeasyPrint: ronda[pdf])")
    p.set_defaults(func=cmd_report, report_command="report")
    r_sub = p.add_subparsers(dest="report_command", required=False)
    h = r_sub.add_parser("hours", help="time entries of a month, for invoicing")
    # SUPPRESS: `ronda report --db X hours` keeps the X given before the subcommand.
    keep = argparse.SUPPRESS
    h.add_argument("--db", type=Path, default=keep, help="SQLite file (default: user data dir)")
    h.add_argument("--config", default=keep, help="config file (default: next to the database)")
    h.add_argument("--month", default=keep, help="YYYY-MM, e.g. 2026-11 (required)")
    h.add_argument("--format", choices=["csv", "json"], default="csv")
    h.add_argument("--customer", default=keep, help="only this customer's entries")
    h.set_defaults(func=cmd_report)


__all__ = ["add_parsers", "cmd_report", "cmd_report_hours"]
