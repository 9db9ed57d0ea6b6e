"""The queue: open tickets by SLA urgency, with views, filters and incremental search."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Input, Static

from ronda.display import visible
from ronda.model import Status, Ticket
from ronda.tui.data import QueueSnapshot
from ronda.tui.screens.base import TicketActions
from ronda.tui.screens.prompts import FilterPrompt
from ronda.tui.widgets.footer import FittedFooter
from ronda.tui.widgets.queue_table import QueueTable
from ronda.tui.widgets.sla import SLA_STYLES

# Statuses of the "resolved" view; every other view but "all" holds the open ones.
DONE_STATUSES = frozenset({Status.RESOLVED, Status.CLOSED})


def view_excludes(view: str, status: Status) -> bool:
    """Whether a view can never hold a ticket in `status`."""
    if view == "all":
        return False
    return (status in DONE_STATUSES) != (view == "resolved")


VIEWS = ("mine", "unassigned", "open", "breached", "resolved", "all")


class QueueSummary(Static):
    """Header: counts by SLA state, the view and filters, how many rows are shown."""

    DEFAULT_CSS = """
    QueueSummary { height: 1; padding: 0 1; background: $boost; }
    """


def summary_text(
    snapshot: QueueSnapshot,
    agent: str,
    t: Callable[..., str],
    width: int | None = None,
    config: str | None = "",
) -> Text:
    """The header's line. Narrower than its text (`width`, padding left out), it gives way
    in this order: the config in use (`config`: its path, None for the defaults, "" not
    said), the name and agent, the states with no tickets, then the view's words are cut;
    the count of rows shown always stays whole."""
    c = snapshot.counts
    states = (
        ("breached", "sla.breached", c.breached if c else None),
        ("warning", "sla.warning", c.warning if c else None),
        ("ok", "sla.ok", c.ok if c else None),
        ("paused", "sla.paused", c.paused if c else None),
        ("met", "queue.answered", c.answered if c else None),
    )
    flt = snapshot.filter
    view = Text()
    view.append(t(f"view.{flt.view}"), style="bold")
    for key, value in (
        ("col.priority", flt.priority and t(f"priority.{flt.priority}")),
        ("col.status", flt.status and t(f"status.{flt.status}")),
        ("col.customer", flt.customer),
        ("col.site", flt.site),
        ("queue.search", flt.search),
    ):
        if value:
            view.append(f" · {t(key)}: ", style="dim")
            view.append(str(value))  # literal: a search or a customer name is user text
    tail = Text(" │ ", style="dim")
    total = "…" if snapshot.total is None else snapshot.total
    tail.append(t("queue.shown", shown=len(snapshot.rows), total=total), style="")
    said = Text()
    if config != "":
        said.append(" │ ", style="dim")
        name = Path(config).name if config else None
        words = t("queue.config", name=visible(name)) if name else t("queue.no_config")
        said.append(words, style="dim" if name else "yellow")

    def head(brand: bool, zeros: bool) -> Text:
        out = Text()
        if brand:
            out.append("Ronda ", style="bold")
            out.append(f"{agent}  ", style="dim")
        for state, label, count in states:
            if count == 0 and not zeros:
                continue
            shown = "…" if count is None else count  # counted after the rows (a second load)
            out.append(f"{t(label)} {shown}", style=SLA_STYLES[state] if count else "dim")
            out.append("  ")
        out.append("│ ", style="dim")
        return out

    start = head(True, True)
    if width is None or start.cell_len + view.cell_len + tail.cell_len + said.cell_len <= width:
        return Text.assemble(start, view, tail, said)
    for brand, zeros in ((True, True), (False, True), (False, False)):
        start = head(brand, zeros)
        if width is None or start.cell_len + view.cell_len + tail.cell_len <= width:
            return Text.assemble(start, view, tail)
    room = max(1, width - start.cell_len - tail.cell_len)
    view.truncate(room, overflow="ellipsis")
    return Text.assemble(start, view, tail)


class QueueScreen(TicketActions):
    """The agent's home screen."""

    KIND = "queue"
    DEFAULT_CSS = """
    QueueScreen #search { display: none; height: 3; }
    QueueScreen #search.visible { display: block; }
    QueueScreen #empty { display: none; padding: 1 2; color: $text-muted; }
    QueueScreen #empty.visible { display: block; }
    """

    def compose(self) -> ComposeResult:
        yield QueueSummary(id="summary")
        yield Input(placeholder=self.t("queue.search_hint"), id="search")
        yield QueueTable(self.t, id="queue")
        yield Static(Text(self.t("queue.loading")), id="empty", classes="visible")
        yield FittedFooter(self.KIND, self.t)

    @property
    def table(self) -> QueueTable:
        return self.query_one(QueueTable)

    def on_mount(self) -> None:
        self.table.focus()
        if self.ronda.snapshot is not None:
            self.data_changed(self.ronda.snapshot)

    # ---- data ------------------------------------------------------------------------

    def data_changed(self, snapshot: QueueSnapshot) -> None:
        if not self.is_mounted:
            return  # on_mount shows the app's latest snapshot
        now = self.ronda.clock()
        self._paint_summary(snapshot)
        self.table.show(snapshot.rows, now)
        empty = self.query_one("#empty", Static)
        empty.update(Text(self.t("queue.empty")))
        empty.set_class(not snapshot.rows, "visible")

    def _paint_summary(self, snapshot: QueueSnapshot) -> None:
        summary = self.query_one(QueueSummary)
        width = (summary.size.width or self.size.width or 120) - 2  # its padding
        text = summary_text(snapshot, self.ronda.agent, self.t, width, self.ronda.config_source)
        summary.update(text)

    def on_resize(self) -> None:
        if self.ronda.snapshot is not None and self.is_mounted:
            self._paint_summary(self.ronda.snapshot)

    def tick(self, now: datetime) -> None:
        if self.is_mounted:
            self.table.tick(now)

    def target_ticket(self) -> Ticket | None:
        return self.table.highlighted()

    # ---- actions ---------------------------------------------------------------------

    def on_queue_table_selected(self, event: QueueTable.Selected) -> None:
        event.stop()
        self.ronda.open_ticket(event.ticket.id)

    def action_open_ticket(self) -> None:
        ticket = self.table.highlighted()
        if ticket is not None:
            self.ronda.open_ticket(ticket.id)

    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.add_class("visible")
        search.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        # Incremental: every keystroke asks the poller for a new snapshot.
        if event.input.id == "search":
            event.stop()
            self.ronda.set_filter(search=event.value.strip() or None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "search":
            event.stop()
            self.table.focus()

    def action_clear_filters(self) -> None:
        """`esc`: leave the search box; pressed again, drop search and filters."""
        search = self.query_one("#search", Input)
        if search.has_focus:
            self.table.focus()
            if not search.value:
                search.remove_class("visible")
            return
        search.value = ""
        search.remove_class("visible")
        self.ronda.set_filter(search=None, priority=None, status=None, customer=None, site=None)

    def _view(self, view: str) -> None:
        self.ronda.set_filter(view=view)

    def action_view_mine(self) -> None:
        self._view("mine")

    def action_view_unassigned(self) -> None:
        self._view("unassigned")

    def action_view_open(self) -> None:
        self._view("open")

    def action_view_breached(self) -> None:
        self._view("breached")

    def action_view_resolved(self) -> None:
        self._view("resolved")

    def action_view_all(self) -> None:
        self._view("all")

    def action_filter(self) -> None:
        app = self.ronda

        def done(answer: tuple | None) -> None:
            if answer is not None:
                priority, status, customer = answer
                changes: dict[str, object] = {}
                if status is not None and view_excludes(app.queue_filter.view, status):
                    # A status the view cannot hold (resolved in "all open"): show the view
                    # that holds it rather than an empty list.
                    changes["view"] = "resolved" if status in DONE_STATUSES else "open"
                app.set_filter(priority=priority, status=status, customer=customer, **changes)

        app.with_directory(
            lambda d: app.push_screen(FilterPrompt(app.queue_filter, d.customers, app.t), done)
        )
