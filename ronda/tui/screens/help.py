"""`?`: every action and its key, from the registry, in the agent's language."""

from __future__ import annotations

from collections.abc import Callable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ronda.tui.actions import ACTIONS, APP, DETAIL, QUEUE, SITES, TICKET, ActionSpec

SECTIONS = (
    (APP, "help.section_anywhere"),
    (QUEUE, "help.section_queue"),
    (TICKET, "help.section_ticket"),
    (DETAIL, "help.section_detail"),
    (SITES, "help.section_sites"),
)

EDITOR_KEYS = (
    ("ctrl+s", "help.editor_send"),
    ("esc", "help.editor_close"),
    ("ctrl+t", "help.editor_saved"),
    ("enter", "help.editor_enter"),
)


def key_label(spec: ActionSpec) -> str:
    if spec.key_display:
        return spec.key_display
    return ", ".join(spec.keys.split(","))


class HelpScreen(ModalScreen):
    """A modal over the current screen; `?`, `esc` or `q` closes it."""

    BINDINGS = [
        Binding("escape,question_mark,q", "close", "Close", show=False),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 84; height: 90%; border: thick $accent; background: $surface; padding: 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        t = self.app.t  # type: ignore[attr-defined]
        with VerticalScroll() as box:
            box.border_title = t("help.title")
            yield Static(self._table(t))

    def _table(self, t: Callable[..., str]) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True, width=10)
        table.add_column()
        for scope, title in SECTIONS:
            table.add_row(Text(""), Text(t(title), style="bold underline"))
            for spec in ACTIONS:
                if spec.scope == scope:
                    table.add_row(Text(key_label(spec)), Text(t(f"help.{spec.name}")))
        # The reply and note editor's own keys (it is a modal, not in the registry).
        table.add_row(Text(""), Text(t("help.section_editor"), style="bold underline"))
        for keys, key in EDITOR_KEYS:
            table.add_row(Text(keys), Text(t(key)))
        table.add_row(Text(""), Text(""))
        table.add_row(Text("ctrl+p"), Text(t("help.palette")))
        return table

    def action_close(self) -> None:
        self.dismiss()
