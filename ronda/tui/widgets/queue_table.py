"""The queue table: one row per ticket, most urgent first, with a live SLA countdown.

A Line API widget rather than a `DataTable`: a new queue (every keystroke in the search box
brings one) is a list swap, and a repaint renders only the rows on screen, each once until
it changes. DataTable rebuilt and measured every cell of every row and re-rendered every
visible cell on any change, which cost 30-40 ms of the UI thread per keystroke.

Cells are `rich.text.Text` objects, never strings parsed as markup: subjects come from
customers and probed pages, and are shown literally.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ronda.model import Impact, Priority, SlaState, Status, Ticket
from ronda.tui.data import format_duration
from ronda.tui.widgets.sla import sla_text
from ronda.tui.words import class_label, shown_subject


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the queue. `rank`: the order in which columns give way when the
    terminal is narrow (the highest goes first; rank 0 always shows). A `flex` column
    shrinks to `least` before any column is dropped and grows back first; the others keep
    the width of their widest text."""

    key: str
    label: str
    rank: int
    flex: bool = False
    least: int = 0  # a flex column's narrowest width
    ample: int = 0  # a flex column's width before the others grow past theirs
    most: int = 1000  # never wider than this


COLUMNS: tuple[Column, ...] = (
    Column("case", "col.case", 0),
    Column("priority", "col.pri", 0),
    Column("impact", "col.imp", 5),
    Column("who", "col.who", 2, flex=True, least=10, ample=24, most=48),
    Column("what", "col.what", 0, flex=True, least=26, ample=48),
    Column("status", "col.status", 3),
    Column("assignee", "col.assignee", 4, flex=True, least=6, ample=12, most=20),
    Column("sla", "col.sla", 0),
    Column("age", "col.age", 1),
)
_INDEX = {column.key: index for index, column in enumerate(COLUMNS)}
SLA_COLUMN = _INDEX["sla"]
AGE_COLUMN = _INDEX["age"]
CELL_PADDING = 1  # blank cells either side of a column's text
MINOR_RANK = 3  # status, assignee, impact: the first to go
_PADDED = 2 * CELL_PADDING


def fit_columns(available: int, natural: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """(column index, width) of the columns shown in `available` cells, in order.

    `natural` is each column's widest text. Columns are dropped, highest rank first, until
    the rest fit with their flex columns at their narrowest, and the minor ones (rank 3 and
    up) until the subject and customer can have an ample width; the width left goes to
    the flex columns, the lowest rank first, up to an ample width, then up to their natural
    width. So nothing is cut that fits, at 80 cells the case, priority, SLA and subject
    always show, and a long subject does not leave the customer at its narrowest.
    """
    natural = tuple(min(n, c.most) for c, n in zip(COLUMNS, natural, strict=True))
    least = [min(n, c.least) if c.flex else n for c, n in zip(COLUMNS, natural, strict=True)]
    kept = list(range(len(COLUMNS)))
    by_rank = sorted(kept, key=lambda i: (COLUMNS[i].rank, i))

    def needed(ample: bool = False) -> int:
        def width(i: int) -> int:
            column = COLUMNS[i]
            if ample and column.flex and column.rank < MINOR_RANK:
                return max(least[i], min(natural[i], column.ample))
            return least[i]

        return sum(width(i) + _PADDED for i in kept)

    while needed() > available and COLUMNS[by_rank[-1]].rank > 0:
        kept.remove(by_rank.pop())
    # The minor columns show only where the subject and the customer have ample room.
    while needed(ample=True) > available and COLUMNS[by_rank[-1]].rank >= MINOR_RANK:
        kept.remove(by_rank.pop())
    widths = {i: least[i] for i in kept}
    spare = available - needed()
    flex = [i for i in sorted(kept, key=lambda i: (COLUMNS[i].rank, i)) if COLUMNS[i].flex]
    for target in (lambda i: min(natural[i], COLUMNS[i].ample), lambda i: natural[i]):
        for i in flex:
            grow = min(spare, target(i) - widths[i])
            if grow > 0:
                widths[i] += grow
                spare -= grow
    if spare < 0:  # narrower than the columns that always show: the subject gives way
        what = next(i for i in kept if COLUMNS[i].key == "what")
        widths[what] = max(1, widths[what] + spare)
    return tuple((i, widths[i]) for i in kept)


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


def _who(ticket: Ticket) -> str:
    return " · ".join(part for part in (ticket.customer, ticket.site) if part)


def _class(ticket: Ticket, t: Callable[..., str]) -> str:
    return class_label(ticket.failure_class, t)


def natural_widths(tickets: Iterable[Ticket], t: Callable[..., str]) -> tuple[int, ...]:
    """Each column's widest text over `tickets` and its header. The words of a closed set
    (priorities, statuses, SLA states) count all their values, so a column does not change
    width as the list changes."""
    widths = [cell_len(t(c.label)) for c in COLUMNS]

    def at_least(key: str, *texts: str) -> None:
        index = _INDEX[key]
        widths[index] = max(widths[index], *(cell_len(x) for x in texts))

    at_least("priority", *(t(f"priority.{p}") for p in Priority))
    at_least("impact", *(t(f"impact.{i}") for i in Impact))
    at_least("status", *(t(f"status.{s}") for s in Status))
    at_least("sla", "-23h 59m", "‖ 23h 59m", *(t(f"sla.{s}") for s in SlaState))
    at_least("age", "23h 59m")
    at_least("assignee", "-")
    case = who = what = assignee = 0
    for ticket in tickets:
        case = max(case, len(ticket.case_number))
        who = max(who, cell_len(_who(ticket)))
        subject = cell_len(shown_subject(ticket, t))
        if ticket.failure_class:
            subject += cell_len(_class(ticket, t)) + 1
        what = max(what, subject)
        assignee = max(assignee, cell_len(ticket.assignee or ""))
    at_least("case", "R-" + "0" * max(0, case - 2))
    for key, width in (("who", who), ("what", what), ("assignee", assignee)):
        widths[_INDEX[key]] = max(widths[_INDEX[key]], width)
    return tuple(widths)


def ticket_cells(ticket: Ticket, now: datetime, t: Callable[..., str]) -> list[Text]:
    what = Text(no_wrap=True, overflow="ellipsis")
    if ticket.failure_class:
        what.append(_class(ticket, t), style="bold")
        what.append(" ")
    what.append(shown_subject(ticket, t))
    return [
        _cell(ticket.case_number, "bold"),
        _cell(t(f"priority.{ticket.priority}"), PRIORITY_STYLES[ticket.priority]),
        _cell(t(f"impact.{ticket.impact}")),
        _cell(_who(ticket)),
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
        self._natural = natural_widths((), t)
        # The columns shown and their widths (`fit_columns`), for the width they fit in.
        self._fit_width = -1
        self.columns_shown: tuple[tuple[int, int], ...] = ()
        # Never wider than the widget: the columns fit the width instead of scrolling.
        self.virtual_size = Size(1, 1)

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
        natural = natural_widths(self.tickets, self._t)
        if natural != self._natural:
            self._natural = natural
            self._fit_width = -1
        self.virtual_size = Size(1, len(self.tickets) + 1)  # + the header
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

    def fit(self, width: int) -> None:
        """Lay the columns out for `width` cells (`fit_columns`); rows are drawn anew."""
        if width != self._fit_width:
            self._fit_width = width
            self.columns_shown = fit_columns(width, self._natural)
            self._rendered.clear()

    def shown_columns(self) -> list[str]:
        """The keys of the columns on screen, in order."""
        return [COLUMNS[index].key for index, _ in self.columns_shown]

    def _segments(self, cells: list[Text]) -> list[Segment]:
        console = self.app.console
        pad = Segment(" " * CELL_PADDING)
        segments: list[Segment] = []
        for index, width in self.columns_shown:
            text = cells[index].copy()
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
        self.fit(width)
        x = int(self.scroll_x)
        if y == 0:
            style = self.rich_style + self.get_component_rich_style("queue-table--header")
            labels = [Text(self._t(column.label)) for column in COLUMNS]
            segments = self._segments(labels)
        else:
            row = int(self.scroll_y) + y - 1
            if row >= len(self.tickets):
                return Strip.blank(width, self.rich_style)
            style = self._row_style(row)
            segments = self._row_segments(row)
        table_width = sum(w + _PADDED for _, w in self.columns_shown)
        strip = Strip(Segment.apply_style(segments, style), table_width)
        return strip.crop_extend(x, x + width, style)
