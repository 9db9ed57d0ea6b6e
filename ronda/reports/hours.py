"""`ronda report hours`: one line per time entry of a month, for invoicing, as CSV or JSON.

Dates are in the desk's time zone. The CSV is meant to be opened in a spreadsheet, which
runs a cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage return before one) as
a formula: a note an agent pasted from a customer's mail could then fetch a URL or run a
command on the bookkeeper's machine. Such a cell is written with a leading apostrophe, the
spreadsheets' own "this is text" mark (OWASP's advice on CSV injection). JSON keeps values
exact.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import tzinfo

from ronda.store.reports import TimeEntryRow

COLUMNS = ("customer", "case", "date", "agent", "minutes", "billable", "note")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """`value` as a spreadsheet shows it, never runs it."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def entry_record(entry: TimeEntryRow, tz: tzinfo) -> dict[str, object]:
    """One entry as the export's fields (minutes rounded to two decimals)."""
    return {
        "customer": entry.customer or "",
        "case": entry.case_number,
        "date": entry.at.astimezone(tz).isoformat(timespec="minutes"),
        "agent": entry.agent,
        "minutes": round(entry.seconds / 60, 2),
        "billable": entry.billable,
        "note": entry.note or "",
    }


def hours_csv(entries: Iterable[TimeEntryRow], tz: tzinfo) -> str:
    """A header and one row per entry; text cells made formula-safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for entry in entries:
        record = entry_record(entry, tz)
        writer.writerow(
            [
                safe_cell(str(record["customer"])),
                safe_cell(str(record["case"])),
                record["date"],
                safe_cell(str(record["agent"])),
                f"{record['minutes']:g}",
                "yes" if record["billable"] else "no",
                safe_cell(str(record["note"])),
            ]
        )
    return out.getvalue()


def hours_json(entries: Iterable[TimeEntryRow], tz: tzinfo) -> str:
    """One JSON object per line (as the CLI's other `--json` outputs)."""
    return "".join(json.dumps(entry_record(e, tz), ensure_ascii=False) + "\n" for e in entries)


__all__ = ["COLUMNS", "entry_record", "hours_csv", "hours_json", "safe_cell"]
