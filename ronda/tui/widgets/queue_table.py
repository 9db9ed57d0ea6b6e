"""The queue table: one row per ticket, most urgent first, with a live SLA countdown.

A Line API widget rather than a `DataTable`: a new queue (every keystroke in the search box
brings one) is a list swap, and a repaint renders only the rows on screen, each once until
it changes. DataTable rebuilt and measured every cell of every row and re-rendered every
visible cell on any change, which cost 30-40 ms of the UI thread per keystroke.

Cells are `rich.text.Text` objects, never strings parsed as markup: subjects come from
customers and probed pages, and are shown literally.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ronda.model import Priority, Status, Ticket
from ronda.tui.data import format_duration
from ronda.tui.widgets.sla import sla_text

# (key, catalogue label, width): fixed widths keep a 120-column terminal tidy.
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
CELL_PADDING = 1  # blank cells either side of a column's text
TABLE_WIDTH = sum(width + 2 * CELL_PADDING for _, _, width in COLUMNS)

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
        *clock_cells(ticket, now, t),
    ]


def clock_cells(ticket: Ticket, now: datetime, t: Callable[..., str]) -> tuple[Text, Text]:
    """The two cells that move with time: the SLA countdown and the age."""
    age = format_duration((now - ticket.opened_at).total_seconds(), precise=False)
    return sla_text(ticket, now, t), _cell(age, "dim")


def _clock_key(sla: Text, age: Text) -> tuple[str, str, str]:
    return sla.plain, str(sla.style), age.plain


class QueueTable(ScrollView, can_focus=True):
    """Tickets as rows; `show` replaces them, `tick` moves the clocks. `enter` on the
    screen opens the highlighted ticket; a click on it posts `Selected`."""

    BINDINGS = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,ctrl+home", "first", "First", show=False),
        Binding("end,ctrl+end", "last", "Last", show=False),
    ]

    COMPONENT_CLASSES = {
        "queue-table--header",
        "queue-table--cursor",
        "queue-table--even-row",
        "queue-table--odd-row",
    }

    # The look of Textual's DataTable, which this replaces.
    DEFAULT_CSS = """
    QueueTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        &:focus {
            background-tint: $foreground 5%;
            & > .queue-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .queue-table--header { background-tint: $foreground 5%; }
        }
        &:dark > .queue-table--even-row { background: $surface-darken-1 40%; }
        & > .queue-table--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .queue-table--header { background: ansi_bright_blue; color: ansi_default; }
        & > .queue-table--even-row { background: $surface-lighten-1 50%; }
        & > .queue-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    class Selected(Message):
        """A ticket row was clicked while highlighted."""

        def __init__(self, ticket: Ticket) -> None:
            super().__init__()
            self.ticket = ticket

    def __init__(self, t: Callable[..., str], **kwargs) -> None:
        super().__init__(**kwargs)
        self._t = t
        self.tickets: list[Ticket] = []
        self.cursor_row = 0
        self._now: datetime | None = None
        self._shown: tuple[tuple[int, int], ...] = ()
        self._row_of: dict[int, int] = {}
        # Row index -> (its clock cells' text, its segments before the row's style).
        self._rendered: dict[int, tuple[tuple[str, str, str], list[Segment]]] = {}
        self.virtual_size = Size(TABLE_WIDTH, 1)

    # ---- data ------------------------------------------------------------------------

    def show(self, tickets: tuple[Ticket, ...], now: datetime) -> None:
        """Replace the rows, keeping the cursor on the same ticket when it is still listed."""
        shown = tuple((ticket.id, ticket.version) for ticket in tickets)
        if shown == self._shown:
            self.tick(now)  # nothing changed but the time
            return
        current = self.highlighted()
        self._shown = shown
        self._now = now
        self.tickets = list(tickets)
        self._row_of = {ticket.id: index for index, ticket in enumerate(tickets)}
        self._rendered.clear()
        self.virtual_size = Size(TABLE_WIDTH, len(self.tickets) + 1)  # + the header
        kept = self._row_of.get(current.id) if current is not None else None
        self.cursor_row = kept if kept is not None else 0
        if kept is None:
            self.scroll_to(y=0, animate=False)
        else:
            self._scroll_to_cursor()
        self.refresh()

    def tick(self, now: datetime) -> None:
        """Move the countdown and age on the rows on screen; repaint only if one changed."""
        self._now = now
        changed = False
        for row in self._rows_on_screen():
            rendered = self._rendered.get(row)
            if rendered is None:
                continue  # not painted yet: it will be drawn with the new time
            if rendered[0] != _clock_key(*clock_cells(self.tickets[row], now, self._t)):
                del self._rendered[row]
                changed = True
        if changed:
            self.refresh()

    @property
    def row_count(self) -> int:
        return len(self.tickets)

    def get_row_at(self, row: int) -> list[Text]:
        """The cells of a row as they are drawn now."""
        return ticket_cells(self.tickets[row], self._now_or_opened(row), self._t)

    def highlighted(self) -> Ticket | None:
        if not 0 <= self.cursor_row < len(self.tickets):
            return None
        return self.tickets[self.cursor_row]

    def select_ticket(self, ticket_id: int) -> bool:
        row = self._row_of.get(ticket_id)
        if row is None:
            return False
        self.move_cursor(row)
        return True

    # ---- the cursor ------------------------------------------------------------------

    def move_cursor(self, row: int) -> None:
        if not self.tickets:
            return
        row = max(0, min(row, len(self.tickets) - 1))
        if row != self.cursor_row:
            self.cursor_row = row
            self.refresh()
        self._scroll_to_cursor()

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor_row - self._page())

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor_row + self._page())

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self.tickets) - 1)

    def _scroll_to_cursor(self) -> None:
        top = int(self.scroll_y)
        page = self._page()
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + page:
            self.scroll_to(y=self.cursor_row - page + 1, animate=False)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0:
            return  # the header
        row = int(self.scroll_y) + offset.y - 1
        if not 0 <= row < len(self.tickets):
            return
        if row == self.cursor_row:
            self.post_message(self.Selected(self.tickets[row]))
        else:
            self.move_cursor(row)

    def on_focus(self) -> None:
        self.refresh()  # the cursor's colour depends on focus

    def on_blur(self) -> None:
        self.refresh()

    # ---- drawing ---------------------------------------------------------------------

    def _rows_on_screen(self) -> range:
        first = int(self.scroll_y)
        return range(first, min(len(self.tickets), first + self._page()))

    def _now_or_opened(self, row: int) -> datetime:
        return self._now if self._now is not None else self.tickets[row].opened_at

    def _segments(self, cells: list[Text]) -> list[Segment]:
        console = self.app.console
        pad = Segment(" " * CELL_PADDING)
        segments: list[Segment] = []
        for cell, (_, _, width) in zip(cells, COLUMNS, strict=True):
            text = cell.copy()
            text.truncate(width, overflow="ellipsis")
            segments.append(pad)
            if text.spans:
                segments.extend(text.render(console))
            else:  # `Text.render` leaves the text's own style to its caller
                segments.append(Segment(text.plain, console.get_style(text.style)))
            # Pad outside the text's style: a breached countdown's red ends with its text.
            segments.append(Segment(" " * (width - text.cell_len + CELL_PADDING)))
        return segments

    def _row_segments(self, row: int) -> list[Segment]:
        rendered = self._rendered.get(row)
        if rendered is None:
            cells = ticket_cells(self.tickets[row], self._now_or_opened(row), self._t)
            rendered = (_clock_key(cells[SLA_COLUMN], cells[AGE_COLUMN]), self._segments(cells))
            self._rendered[row] = rendered
        return rendered[1]

    def _row_style(self, row: int) -> Style:
        style = self.rich_style
        stripe = "queue-table--odd-row" if row % 2 else "queue-table--even-row"
        style += self.get_component_rich_style(stripe)
        if row == self.cursor_row:
            style += self.get_component_rich_style("queue-table--cursor")
        return style

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        x = int(self.scroll_x)
        if y == 0:
            style = self.rich_style + self.get_component_rich_style("queue-table--header")
            labels = [Text(self._t(label)) for _, label, _ in COLUMNS]
            segments = self._segments(labels)
        else:
            row = int(self.scroll_y) + y - 1
            if row >= len(self.tickets):
                return Strip.blank(width, self.rich_style)
            style = self._row_style(row)
            segments = self._row_segments(row)
        strip = Strip(Segment.apply_style(segments, style), TABLE_WIDTH)
        return strip.crop_extend(x, x + width, style)
