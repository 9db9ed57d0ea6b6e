"""`ronda report hours`: a month's time entries for invoicing, as CSV (formula-safe) and
JSON, dates in the desk's zone, the month cut at the desk's local midnights."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from clocks import Clock

from ronda.app.cli import main
from ronda.model import Impact, Priority, Source
from ronda.reports.hours import hours_csv, safe_cell
from ronda.reports.period import Month
from ronda.store import Store
from ronda.tickets import Desk

BOGOTA = ZoneInfo("America/Bogota")


def _desk(path: Path, clock: Clock) -> Desk:
    return Desk(Store(path), clock=clock)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Entries of two customers around November 2026 in Bogota (UTC-5)."""
    path = tmp_path / "ronda.db"
    clock = Clock(datetime(2026, 10, 31, 12, 0, tzinfo=UTC))
    desk = _desk(path, clock)
    ana = desk.open_ticket(
        source=Source.EMAIL,
        subject="Carrito roto",
        priority=Priority.HIGH,
        impact=Impact.HIGH,
        actor="maria",
        customer="Ana Pérez",
        billable=True,
    )
    luis = desk.open_ticket(
        source=Source.MANUAL,
        subject="New plugin",
        priority=Priority.LOW,
        impact=Impact.LOW,
        actor="maria",
        customer="Luis",
    )
    desk.log_time(ana.id, "maria", 600, "before")
    # 04:30 UTC on Nov 1st is still October 31st in Bogota: October's.
    clock.now = datetime(2026, 11, 1, 4, 30, tzinfo=UTC)
    desk.log_time(ana.id, "maria", 900, "still october")
    clock.now = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 00:30 in Bogota: November
    desk.log_time(ana.id, "maria", 4500, '=HYPERLINK("http://evil.example")')
    clock.now = datetime(2026, 11, 15, 15, 0, tzinfo=UTC)
    desk.log_time(luis.id, "pedro", 1800, "+cmd|' /C calc'!A0")
    desk.log_time(ana.id, "pedro", 60, "-2+3")
    clock.now = datetime(2026, 12, 1, 4, 59, tzinfo=UTC)  # 23:59 Nov 30 in Bogota
    desk.log_time(luis.id, "pedro", 120, "@SUM(A1)")
    clock.now = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)  # December
    desk.log_time(luis.id, "pedro", 300, "december")
    desk.store.close()
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_month_is_cut_at_the_desks_midnights() -> None:
    month = Month.parse("2026-11")
    assert month.start(BOGOTA) == datetime(2026, 11, 1, 5, 0, tzinfo=UTC)
    assert month.end(BOGOTA) == datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    assert Month.before(datetime(2026, 1, 1, 5, 0, tzinfo=UTC), BOGOTA) == Month(2025, 12)
    # 02:00 UTC on Dec 1st is still November in Bogota: the month before is October.
    assert Month.before(datetime(2026, 12, 1, 2, 0, tzinfo=UTC), BOGOTA) == Month(2026, 10)
    for bad in ("2026-13", "2026-1", "nov", "2026-11-01"):
        with pytest.raises(ValueError):
            Month.parse(bad)


def test_csv_lists_the_months_entries_formula_safe(db: Path, capsys) -> None:
    code, out, err = run(capsys, "report", "hours", "--db", str(db), "--month", "2026-11")
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["customer", "case", "date", "agent", "minutes", "billable", "note"]
    body = rows[1:]
    assert [r[6] for r in body] == [
        '\'=HYPERLINK("http://evil.example")',
        "'-2+3",
        "'+cmd|' /C calc'!A0",
        "'@SUM(A1)",
    ]
    first = body[0]
    assert first[0] == "Ana Pérez"
    assert first[2] == "2026-11-01T00:30-05:00"  # the desk's zone, not UTC
    assert first[3:6] == ["maria", "75", "yes"]
    assert body[2][0:1] == ["Luis"] and body[2][5] == "no"
    assert body[3][2] == "2026-11-30T23:59-05:00"


def test_json_keeps_values_exact_and_filters_by_customer(db: Path, capsys) -> None:
    code, out, _ = run(
        capsys,
        "report",
        "--db",
        str(db),
        "hours",
        "--month",
        "2026-11",
        "--format",
        "json",
        "--customer",
        "Ana Pérez",
    )
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [e["note"] for e in lines] == ['=HYPERLINK("http://evil.example")', "-2+3"]
    assert lines[0]["minutes"] == 75 and lines[0]["billable"] is True
    assert {e["customer"] for e in lines} == {"Ana Pérez"}


def test_a_bad_month_is_one_line(db: Path, capsys) -> None:
    code, _, err = run(capsys, "report", "hours", "--db", str(db), "--month", "11/2026")
    assert code == 1
    assert err.startswith("ronda: --month:") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("fine = yes", "fine = yes"),
        ("", ""),
    ],
)
def test_safe_cell(text: str, shown: str) -> None:
    assert safe_cell(text) == shown


def test_csv_of_nothing_is_the_header() -> None:
    assert hours_csv([], BOGOTA) == "customer,case,date,agent,minutes,billable,note\n"
