"""One ticket: who and what, the probe's evidence, the history, the notes; and its actions."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Collapsible, OptionList, Static

from ronda.durations import format_spent
from ronda.model import Ticket
from ronda.tui.data import QueueSnapshot, TicketDetail, format_when, load_detail
from ronda.tui.screens.base import TicketActions
from ronda.tui.widgets.evidence import evidence_text, summary_text
from ronda.tui.widgets.footer import FittedFooter
from ronda.tui.widgets.outgoing import outgoing_text
from ronda.tui.widgets.queue_table import PRIORITY_STYLES, STATUS_STYLES
from ronda.tui.widgets.related import related_options, ticket_of
from ronda.tui.widgets.sla import SlaBadge
from ronda.tui.widgets.timeline import notes_text, timeline_text
from ronda.tui.words import class_label, shown_subject


class TicketScreen(TicketActions):
    """Shows the ticket as last read; every action sends the version shown here."""

    KIND = "ticket"
    DEFAULT_CSS = """
    TicketScreen #head { height: auto; padding: 0 1; background: $boost; }
    TicketScreen #title { text-style: bold; }
    TicketScreen #panes { height: 2fr; }
    TicketScreen .pane { border: round $primary-darken-1; padding: 0 1; }
    TicketScreen #evidence-pane { width: 1fr; }
    TicketScreen #evidence-more { padding: 0; margin: 1 0 0 0; border: none; }
    TicketScreen #evidence-more > Contents { padding: 0 0 0 1; }
    TicketScreen #timeline-pane { width: 1fr; }
    TicketScreen #bottom { height: 1fr; max-height: 9; min-height: 5; }
    TicketScreen #notes-pane { width: 3fr; }
    TicketScreen #related { width: 2fr; height: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }
    TicketScreen #related.-empty { display: none; }
    TicketScreen #outgoing-pane { height: auto; max-height: 7; }
    TicketScreen #outgoing-pane.-empty { display: none; }
    """

    def __init__(self, ref: int | str, detail: TicketDetail | None = None) -> None:
        super().__init__()
        self.ref = ref
        self.detail: TicketDetail | None = detail
        self.loads = 0  # completed loads: tests wait on it
        self._seen_stamp = None
        self._load_seq = 0
        self._related_shown: tuple | None = None

    @property
    def ticket(self) -> Ticket | None:
        return self.detail.ticket if self.detail else None

    def compose(self) -> ComposeResult:
        with Vertical(id="head"):
            yield Static(Text(self.t("queue.loading")), id="title")
            yield Static("", id="meta")
            yield SlaBadge(self.t, id="sla")
        with Horizontal(id="panes"):
            with VerticalScroll(id="evidence-pane", classes="pane") as pane:
                pane.border_title = self.t("ticket.evidence")
                yield Static("", id="evidence")
                # Every fact the probe recorded, folded: the summary above says what matters.
                with Collapsible(title=self.t("evidence.raw"), collapsed=True, id="evidence-more"):
                    yield Static("", id="evidence-raw")
            with VerticalScroll(id="timeline-pane", classes="pane") as pane:
                pane.border_title = self.t("ticket.timeline")
                yield Static("", id="timeline")
        with Horizontal(id="bottom"):
            with VerticalScroll(id="notes-pane", classes="pane") as pane:
                pane.border_title = self.t("ticket.notes")
                yield Static("", id="notes")
            # The customer's other tickets and the site's history: enter opens one.
            related = OptionList(id="related", classes="pane")
            related.border_title = self.t("ticket.related")
            yield related
        # Shown only when the desk sent or queued something on the case.
        with VerticalScroll(id="outgoing-pane", classes="pane -empty") as pane:
            pane.border_title = self.t("ticket.outgoing")
            yield Static("", id="outgoing")
        yield FittedFooter(self.KIND, self.t)

    def on_mount(self) -> None:
        if self.detail is not None:
            self.loads += 1
            self._paint()
        self.reload()

    # ---- loading ---------------------------------------------------------------------

    def reload(self) -> None:
        """Read the ticket and its history off the UI thread (the newest request wins)."""
        self._load_seq += 1
        seq, ref, desk = self._load_seq, self.ref, self.ronda.desk

        def loaded(detail: TicketDetail) -> None:
            if seq == self._load_seq:
                self.show_detail(detail)

        self.ronda.run_io(lambda: load_detail(desk, ref), loaded)

    def show_detail(self, detail: TicketDetail) -> None:
        if not self.is_attached:
            return
        self.detail = detail
        self.ref = detail.ticket.id
        if self.is_mounted:  # else on_mount paints it
            self.loads += 1
            self._paint()

    def show_ticket(self, ticket: Ticket) -> None:
        """A fresher copy (after an action or a refused one) before the history reloads."""
        if self.detail is not None and ticket.id == self.detail.ticket.id:
            self.detail = replace(self.detail, ticket=ticket)
            if self.is_mounted:
                self._paint()
        self.reload()

    def data_changed(self, snapshot: QueueSnapshot) -> None:
        # The store changed: another agent or a probe may have touched this ticket.
        if snapshot.stamp != self._seen_stamp:
            self._seen_stamp = snapshot.stamp
            if self.detail is not None:
                self.reload()

    def tick(self, now: datetime) -> None:
        for badge in self.query(SlaBadge):
            badge.tick(now)

    def target_ticket(self) -> Ticket | None:
        return self.ticket

    # ---- painting --------------------------------------------------------------------

    def _paint(self) -> None:
        detail = self.detail
        assert detail is not None
        tk, t = detail.ticket, self.t
        title = Text()
        title.append(tk.case_number, style="bold reverse")
        title.append("  ")
        if tk.failure_class:  # as the queue shows it: the class in words, then the subject
            title.append(class_label(tk.failure_class, t), style="bold")
            title.append(" · ")
        title.append(shown_subject(tk, t))
        self.query_one("#title", Static).update(title)
        self.query_one("#meta", Static).update(self._meta(detail))
        self.query_one(SlaBadge).show(tk, self.ronda.clock())
        self.query_one("#evidence", Static).update(
            summary_text(
                tk.evidence,
                t,
                failure_class=tk.failure_class,
                opened_at=tk.opened_at,
                now=self.ronda.clock(),
            )
        )
        self.query_one("#evidence-raw", Static).update(evidence_text(tk.evidence, t))
        self.query_one("#evidence-more").display = bool(tk.evidence)
        self.query_one("#timeline", Static).update(timeline_text(detail.events, t, tk))
        self.query_one("#notes", Static).update(notes_text(detail.events, t))
        self.query_one("#outgoing", Static).update(outgoing_text(detail.outgoing, t))
        self.query_one("#outgoing-pane").set_class(not detail.outgoing, "-empty")
        self._paint_related(detail)
        self.sub_title = tk.case_number
        self.refresh_draft()

    def _paint_related(self, detail: TicketDetail) -> None:
        tk = detail.ticket
        shown = (
            tk.customer,
            tk.site,
            tuple((t.id, t.status, t.priority, t.subject) for t in detail.customer_tickets),
            tuple((t.id, t.status, t.priority, t.subject) for t in detail.site_tickets),
        )
        if shown == self._related_shown:
            return  # unchanged: keep the agent's place in the list
        self._related_shown = shown
        listing = self.query_one("#related", OptionList)
        highlighted = listing.highlighted
        listing.clear_options()
        listing.add_options(
            related_options(
                tk.customer, detail.customer_tickets, tk.site, detail.site_tickets, self.t
            )
        )
        listing.set_class(not (tk.customer or tk.site), "-empty")
        if highlighted is not None and highlighted < listing.option_count:
            listing.highlighted = highlighted

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        ticket_id = ticket_of(event.option.id)
        if ticket_id is not None:
            event.stop()
            self.ronda.open_ticket(ticket_id)

    def refresh_draft(self) -> None:
        """The notes pane says when a reply or a note waits as a draft."""
        if self.detail is None or not self.is_mounted:
            return
        drafts = self.ronda.drafts
        tid = self.detail.ticket.id
        marks = [
            self.t(key)
            for kind, key in (("reply", "ticket.draft"), ("note", "ticket.draft_note"))
            if (tid, kind) in drafts
        ]
        self.query_one("#notes-pane").border_subtitle = " · ".join(marks)

    def _meta(self, detail: TicketDetail) -> Text:
        """The case's fields in three groups (state, who, when), each flowed over as many
        lines as the width needs without splitting a field: at 80 columns nothing is cut."""
        tk, t = detail.ticket, self.t
        width = max(40, (self.size.width or 120) - 2)
        Field = tuple[str, str | None, str]
        narrow = width < 100  # what the evidence or the URL bar repeat is left out
        site = tk.site
        if site and detail.site_url and not narrow:
            site = f"{site} ({detail.site_url})"
        groups: list[list[Field]] = [
            [
                ("col.status", t(f"status.{tk.status}"), STATUS_STYLES[tk.status]),
                ("col.priority", t(f"priority.{tk.priority}"), PRIORITY_STYLES[tk.priority]),
                ("col.impact", t(f"impact.{tk.impact}"), ""),
                ("col.assignee", tk.assignee, ""),
                ("ticket.source", t(f"source.{tk.source}"), ""),
                ("ticket.version", str(tk.version), ""),
            ],
            [
                ("col.customer", tk.customer, ""),
                ("ticket.site", site, ""),
                ("ticket.requester", tk.requester, ""),
                ("ticket.class", self._class_words(tk, narrow), ""),
            ],
            [
                ("ticket.opened", format_when(tk.opened_at), ""),
                ("ticket.first_response", format_when(tk.first_response_at), ""),
                ("ticket.limit", format_when(tk.sla_limit_at), ""),
                ("ticket.billable", t("form.yes") if tk.billable else t("form.no"), ""),
                ("ticket.time_spent", format_spent(detail.time_spent), ""),
            ],
        ]
        links: list[Field] = []
        if detail.parent is not None:
            parent = f"{detail.parent.case_number} {detail.parent.subject}"
            links.append(("ticket.parent", parent, ""))
        if detail.children:
            links.append(("ticket.children", " ".join(c.case_number for c in detail.children), ""))
        if links:
            groups.append(links)
        if narrow:
            skip = {"ticket.source"}
            groups = [[f for f in group if f[0] not in skip] for group in groups]
        out = Text()
        for group in groups:
            used = 0
            for label, value, style in group:
                piece = Text()
                piece.append(f"{t(label)}: ", style="dim")
                piece.append(value or "-", style=style)
                size = piece.cell_len
                if used and used + 3 + size > width:
                    out.append("\n")
                    used = 0
                elif used:
                    out.append("   ")
                    used += 3
                out.append(piece)
                used += size
            out.append("\n")
        out.rstrip()
        return out

    def _class_words(self, tk: Ticket, narrow: bool) -> str | None:
        """The failure class in the UI language; its code too where there is room (the CLI,
        metrics and logs name it by the code)."""
        if not tk.failure_class:
            return None
        label = class_label(tk.failure_class, self.t)
        if narrow or label == str(tk.failure_class):
            return label
        return f"{label} ({tk.failure_class})"

    def on_resize(self) -> None:
        if self.detail is not None:
            self.query_one("#meta", Static).update(self._meta(self.detail))

    def action_back(self) -> None:
        self.dismiss()
