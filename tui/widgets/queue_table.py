"""The queue table: one row per ticket, most urgent first, with a live SLA countdown.

Cells are `rich.text.Text` objects, never strings: a DataTable parses string cells as markup,
and subjects come from customers and probed pages.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from ronda.model import Priority, Status, Ticket
from tui.data import format_duration
from tui.widgets.sla import sla_text

# (key, catalogue label, width): fixed widths keep a 120-column terminal tidy and spare the
# table from measuring 500 rows on every refresh.
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("case", "col.case", 7),
    ("priority", "col.pri", 8),
    ("impact", "col.imp", 7),
    ("who", "col.who", 19),
    ("what", "col.what", 23),
    ("status", "col.status", 9),
    ("assignee", "col.assignee", 9),
    ("sla", "col.sla", 9),
    ("age", "col.age", 7),
)
SLA_COLUMN = 7
AGE_COLUMN = 8
# Rows built at once on a refresh (more than a tall terminal shows); the rest follow in
# slices after a short pause.
FIRST_ROWS = 80
MORE_ROWS = 140
REST_DELAY = 0.15

PRIORITY_STYLES = {Priority.HIGH: "bold red", Priority.MEDIUM: "yellow", Priority.LOW: "dim"}
STATUS_STYLES = {
    Status.NEW: "bold",
    Status.REOPENED: "bold magenta",
    Status.PENDING_CUSTOMER: "cyan",
    Status.OPEN: "",
    Status.RESOLVED: "dim",
    Status.CLOSED: "dim",
}


def _cell(text: str | None, style: str = "") -> Text:
    return Text(text or "", style=style, no_wrap=True, overflow="ellipsis")


def ticket_cells(ticket: Ticket, now: datetime, t: Callable[..., str]) -> list[Text]:
    who = " · ".join(part for part in (ticket.customer, ticket.site) if part)
    what = Text(no_wrap=True, overflow="ellipsis")
    if ticket.failure_class:
        what.append(str(ticket.failure_class), style="bold")
        what.append(" ")
    what.append(ticket.subject)
    return [
        _cell(ticket.case_number, "bold"),
        _cell(t(f"priority.{ticket.priority}"), PRIORITY_STYLES[ticket.priority]),
        _cell(t(f"impact.{ticket.impact}")),
        _cell(who),
        what,
        _cell(t(f"status.{ticket.status}"), STATUS_STYLES[ticket.status]),
        _cell(ticket.assignee or "-", "" if ticket.assignee else "dim"),
        sla_text(ticket, now, t),
        _cell(format_duration((now - ticket.opened_at).total_seconds(), precise=False), "dim"),
    ]


class QueueTable(DataTable):
    """Tickets as rows keyed by ticket id; `show` replaces them, `tick` moves the clocks."""

    DEFAULT_CSS = """
    QueueTable { height: 1fr; }
    """

    def __init__(self, t: Callable[..., str], **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._t = t
        self.tickets: list[Ticket] = []
        self._shown: tuple[tuple[int, int], ...] = ()
        self._row_of: dict[int, int] = {}
        self._batch = 0

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(Text(self._t(label)), width=width, key=key)

    def show(self, tickets: tuple[Ticket, ...], now: datetime) -> None:
        """Replace the rows, keeping the cursor on the same ticket when it is still listed.

        The first screenful is added at once and the rest after the next refresh, so a
        keystroke in the search box repaints without waiting for 500 rows to be built.
        """
        shown = tuple((ticket.id, ticket.version) for ticket in tickets)
        if shown == self._shown:
            self.tick(now)  # nothing changed but the time
            return
        current = self.highlighted()
        self._shown = shown
        self.tickets = list(tickets)
        self._row_of = {ticket.id: index for index, ticket in enumerate(tickets)}
        self._batch += 1
        self.clear()
        self._add_rows(self._batch, 0, now, current.id if current else None)

    def _add_rows(self, batch: int, start: int, now: datetime, keep: int | None) -> None:
        if batch != self._batch:
            return  # a newer snapshot replaced this one meanwhile
        end = min(len(self.tickets), start + (MORE_ROWS if start else FIRST_ROWS))
        self.add_rows(ticket_cells(ticket, now, self._t) for ticket in self.tickets[start:end])
        row = self._row_of.get(keep) if keep is not None else None
        if row is not None and row < end:
            self.move_cursor(row=row, animate=False)
            keep = None
        if end >= len(self.tickets):
            return
        if start == 0:
            # While the agent types, each keystroke brings a new list: build the rest only
            # once typing pauses, in slices, so the next keystroke is never kept waiting.
            self.set_timer(REST_DELAY, lambda: self._add_rows(batch, end, now, keep))
        else:
            self.call_after_refresh(self._add_rows, batch, end, now, keep)

    @property
    def complete(self) -> bool:
        """All rows of the last snapshot are in the table."""
        return self.row_count == len(self.tickets)

    def highlighted(self) -> Ticket | None:
        if not self.tickets or self.cursor_row < 0 or self.cursor_row >= len(self.tickets):
            return None
        return self.tickets[self.cursor_row]

    def select_ticket(self, ticket_id: int) -> bool:
        row = self._row_of.get(ticket_id)
        if row is None or row >= self.row_count:
            return False
        self.move_cursor(row=row, animate=False)
        return True

    def tick(self, now: datetime) -> None:
        """Repaint the countdown and age of the rows on screen (not all 500)."""
        if not self.tickets:
            return
        first = max(0, int(self.scroll_y))
        last = min(self.row_count, first + self.size.height + 1)
        for row in range(first, last):
            ticket = self.tickets[row]
            self.update_cell_at(Coordinate(row, SLA_COLUMN), sla_text(ticket, now, self._t))
            age = format_duration((now - ticket.opened_at).total_seconds(), precise=False)
            self.update_cell_at(Coordinate(row, AGE_COLUMN), _cell(age, "dim"))
