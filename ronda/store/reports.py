"""What the monthly customer reports read: the month's tickets, its time entries (with the
case they belong to), the certificates the probes saw last, and whether a table another
check fills exists at all (the report's "needs attention" reads those only when present).

Every read takes a half-open period `[start, end)` in epoch seconds and, where it can, the
customers it is for, so `ronda report --all` reads each table once for every customer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ronda.model import Ticket
from ronda.store.instants import from_epoch
from ronda.store.schema import OPEN_STATUSES_SQL
from ronda.store.tickets import ticket_from_row

if TYPE_CHECKING:
    from ronda.store.db import Store
    from ronda.store.metrics import Candidate

_PER_QUERY = 500  # names bound in one IN (...): well under SQLite's limit


@dataclass(frozen=True, slots=True)
class TimeEntryRow:
    """One time entry as invoicing reads it: who worked on which case of which customer."""

    id: int
    customer: str | None
    case_number: str
    subject: str
    at: datetime
    agent: str
    seconds: float
    billable: bool
    note: str | None


def _chunks(names: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(names), _PER_QUERY):
        yield names[i : i + _PER_QUERY]


class ReportRecords:
    """The store's reads for reports (no writes: a report changes nothing in the desk)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def time_entries(
        self, start: float, end: float, customers: Sequence[str] | None = None
    ) -> list[TimeEntryRow]:
        """Time entries logged in `[start, end)`, of `customers` (None: all), by customer,
        instant and entry."""
        sql = (
            "SELECT e.id, t.customer, t.case_number, t.subject, e.at, e.agent, e.seconds, "
            "e.billable, e.note FROM time_entries e JOIN tickets t ON t.id = e.ticket_id "
            "WHERE e.at >= ? AND e.at < ?"
        )
        rows: list[dict] = []
        if customers is None:
            rows = self.store.query(sql, (start, end))
        else:
            for chunk in _chunks(list(customers)):
                marks = ",".join("?" * len(chunk))
                rows += self.store.query(f"{sql} AND t.customer IN ({marks})", (start, end, *chunk))
        rows.sort(key=lambda r: (r["customer"] or "", r["at"], r["id"]))
        return [
            TimeEntryRow(
                id=r["id"],
                customer=r["customer"],
                case_number=r["case_number"],
                subject=r["subject"],
                at=from_epoch(r["at"]),  # type: ignore[arg-type]
                agent=r["agent"],
                seconds=float(r["seconds"]),
                billable=bool(r["billable"]),
                note=r["note"],
            )
            for r in rows
        ]

    def month_tickets(self, start: float, end: float, customers: Sequence[str]) -> list[Ticket]:
        """The tickets of `customers` that belong in a report of `[start, end)`: opened
        before its end and either opened in it, still open, resolved in it, or with a first
        response or its limit in it (the compliance window's cases). By case."""
        sql = (
            "SELECT * FROM tickets WHERE opened_at < :end AND (opened_at >= :start "
            "OR resolved_at IS NULL OR resolved_at >= :start "
            "OR (sla_limit_at >= :start AND sla_limit_at < :end) "
            "OR (first_response_at >= :start AND first_response_at < :end))"
        )
        out: list[Ticket] = []
        for chunk in _chunks(list(customers)):
            params: dict[str, object] = {"start": start, "end": end}
            names = []
            for n, name in enumerate(chunk):
                params[f"c{n}"] = name
                names.append(f":c{n}")
            rows = self.store.query(f"{sql} AND customer IN ({','.join(names)})", params)
            out += (ticket_from_row(r) for r in rows)
        out.sort(key=lambda t: t.id)
        return out

    def compliance_candidates(
        self, start: float, end: float, customers: Sequence[str]
    ) -> list[Candidate]:
        """The first responses of `customers` due in `[start, end)`: the limit or the
        answer falls in it, and an answer was owed. The exporter's rule and SQL (its
        compliance windows), so a report and the dashboards count the same cases."""
        # Here, not at the top: the metrics module imports the store's own module.
        from ronda.store.metrics import _CANDIDATE_COLUMNS, _OWED, Candidate

        out: list[Candidate] = []
        for chunk in _chunks(list(customers)):
            params: dict[str, object] = {"start": start, "end": end}
            for n, name in enumerate(chunk):
                params[f"c{n}"] = name
            names = ",".join(f":c{n}" for n in range(len(chunk)))
            rows = self.store.db.execute(
                f"SELECT {_CANDIDATE_COLUMNS} FROM tickets WHERE customer IN ({names}) "
                "AND ((sla_limit_at >= :start AND sla_limit_at < :end) "
                "OR (first_response_at >= :start AND first_response_at < :end)) "
                f"AND {_OWED}",
                params,
            ).fetchall()
            out += (Candidate(*row) for row in rows)
        return out

    def certificates(self, sites: Sequence[str]) -> dict[str, datetime]:
        """Site -> when the certificate its last probe saw expires (sites never seen over
        TLS are left out)."""
        out: dict[str, datetime] = {}
        for chunk in _chunks(list(sites)):
            marks = ",".join("?" * len(chunk))
            for row in self.store.query(
                f"SELECT site, cert_not_after FROM probe_state WHERE site IN ({marks}) "
                "AND cert_not_after IS NOT NULL",
                chunk,
            ):
                out[row["site"]] = from_epoch(row["cert_not_after"])  # type: ignore[assignment]
        return out

    def table_columns(self, table: str) -> frozenset[str]:
        """The columns of `table`, empty when the file has no such table (a check whose
        migration this desk does not have yet)."""
        rows = self.store.query(
            "SELECT name FROM pragma_table_info(?)",
            (table,),
        )
        return frozenset(r["name"] for r in rows)

    def rows_where_in(
        self, table: str, columns: Sequence[str], key: str, values: Sequence[str]
    ) -> list[dict]:
        """`columns` of `table`'s rows whose `key` is one of `values`; empty when the file
        has no such table or lacks a column (names are checked against the file's schema
        before they reach the SQL text; values are bound)."""
        known = self.table_columns(table)
        wanted = list(dict.fromkeys([key, *columns]))
        if not known or any(c not in known for c in wanted):
            return []
        listed = ", ".join(wanted)
        out: list[dict] = []
        for chunk in _chunks(list(values)):
            marks = ",".join("?" * len(chunk))
            out += self.store.query(
                f"SELECT {listed} FROM {table} WHERE {key} IN ({marks})",  # names checked
                chunk,
            )
        return out

    def open_cases_of_classes(
        self, sites: Sequence[str], classes: Sequence[str]
    ) -> list[tuple[str, str, datetime]]:
        """(site, failure class, opened at) of the open cases of `sites` with one of
        `classes` (a check that reports what needs doing as a case: an outdated
        WordPress, a PHP past its support)."""
        if not classes:
            return []
        out: list[tuple[str, str, datetime]] = []
        class_marks = ",".join("?" * len(classes))
        for chunk in _chunks(list(sites)):
            marks = ",".join("?" * len(chunk))
            for row in self.store.query(
                f"SELECT site, failure_class, opened_at FROM tickets WHERE site IN ({marks}) "
                f"AND failure_class IN ({class_marks}) AND status IN {OPEN_STATUSES_SQL} "
                "ORDER BY opened_at",
                (*chunk, *classes),
            ):
                out.append((row["site"], row["failure_class"], from_epoch(row["opened_at"])))  # type: ignore[arg-type]
        return out


__all__ = ["ReportRecords", "TimeEntryRow"]
