"""The reply and note editor: several lines of text (Textual's `TextArea`), who the reply
goes to shown above it, the signature the mail will close with below, saved replies to
start from, and the draft kept when the agent closes it or the desk refuses the change.

The editor answers a `Composed` (the text, and whether to send it); `esc` answers one that
is not sent, so the caller keeps the text as the ticket's draft.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from ronda.config.model import SavedReply
from ronda.saved_replies import fill

# An editor's text is a message, not a document: bounded like the mail it becomes.
MAX_CHARS = 20_000


@dataclass(frozen=True, slots=True)
class Composed:
    """What the agent wrote, and whether they asked to send it (False: closed, kept)."""

    text: str
    send: bool


@dataclass(frozen=True, slots=True)
class Draft:
    """A ticket's unsent text, and why it was not sent when the desk refused it."""

    text: str
    why: str | None = None


class ComposeScreen(ModalScreen[Composed | None]):
    """A multi-line editor in a modal box: ctrl+s sends, esc closes keeping the draft,
    ctrl+t offers the saved replies."""

    BINDINGS = [
        Binding("escape", "close", "Close", show=False),
        Binding("ctrl+s", "send", "Send", show=False),
        Binding("ctrl+t", "saved", "Saved replies", show=False),
    ]
    DEFAULT_CSS = """
    ComposeScreen { align: center middle; }
    ComposeScreen > Vertical {
        width: 90%; max-width: 100; height: auto; max-height: 95%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    ComposeScreen .title { text-style: bold; }
    ComposeScreen #why { color: $warning; height: auto; }
    ComposeScreen #why.-empty { display: none; }
    ComposeScreen #body { height: 12; min-height: 4; }
    ComposeScreen #signature { color: $text-muted; height: auto; max-height: 4; }
    ComposeScreen .error { color: $error; height: auto; }
    ComposeScreen .keys { color: $text-muted; }
    ComposeScreen Horizontal.buttons { height: auto; align-horizontal: right; }
    ComposeScreen Button { margin-left: 1; min-width: 10; }
    """

    def __init__(
        self,
        title: str,
        t: Callable[..., str],
        *,
        note: str | None = None,
        signature: str | None = None,
        draft: Draft | None = None,
        saved: Sequence[SavedReply] = (),
        values: Mapping[str, str] | None = None,
        send_label: str | None = None,
        keys: str | None = None,
    ) -> None:
        super().__init__()
        self._title = title
        self._t = t
        self._note = note
        self._signature = signature
        self._draft = draft or Draft("")
        self._saved = tuple(saved)
        self._values = dict(values or {})
        self._send_label = send_label or t("form.ok")
        self._keys = keys or t("editor.keys")

    def compose(self) -> ComposeResult:
        t = self._t
        with Vertical():
            yield Static(Text(self._title), classes="title")
            if self._note:
                yield Static(Text(self._note), id="note")
            yield Static(
                Text(t("editor.draft_kept", why=self._draft.why) if self._draft.why else ""),
                id="why",
                classes="" if self._draft.why else "-empty",
            )
            yield TextArea(self._draft.text, id="body", soft_wrap=True, tab_behavior="focus")
            if self._signature:
                yield Static(Text(t("editor.signed", signature=self._signature)), id="signature")
            yield Static("", id="error", classes="error")
            yield Static(Text(self._keys), classes="keys")
            with Horizontal(classes="buttons"):
                yield Button(self._send_label, id="send", variant="primary")
                if self._saved:
                    yield Button(t("editor.macro"), id="saved")
                yield Button(t("form.cancel"), id="cancel")

    def on_mount(self) -> None:
        area = self.query_one("#body", TextArea)
        self._fit()
        area.focus()
        area.move_cursor(area.document.end)

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """The text area takes what the terminal leaves (3 to 12 lines): on 80x24 the
        recipient, the reason of a refused draft and the buttons must all still show."""
        extra = 0
        for selector in ("#note", "#signature"):
            for widget in self.query(selector):
                extra += widget.size.height or 2
        if self._draft.why:
            extra += 2
        rows = self.app.size.height - 12 - extra
        self.query_one("#body", TextArea).styles.height = max(3, min(12, rows))

    @property
    def text(self) -> str:
        return self.query_one("#body", TextArea).text

    def _error(self, message: str) -> None:
        self.query_one("#error", Static).update(Text(message))

    def action_send(self) -> None:
        text = self.text
        if not text.strip():
            self._error(self._t("form.required"))
            return
        if len(text) > MAX_CHARS:
            self._error(self._t("editor.too_long", limit=MAX_CHARS))
            return
        self.dismiss(Composed(text, send=True))

    def action_close(self) -> None:
        self.dismiss(Composed(self.text, send=False))

    def action_saved(self) -> None:
        if not self._saved:
            self._error(self._t("editor.no_macros"))
            return
        self.app.push_screen(SavedReplyPicker(self._saved, self._t), self.use_saved)

    def use_saved(self, reply: SavedReply | None) -> None:
        """Start from a saved reply: it fills an empty editor, else goes in at the cursor."""
        if reply is None:
            return
        area = self.query_one("#body", TextArea)
        text = fill(reply.text, self._values)
        if area.text.strip():
            area.insert(text)
        else:
            area.load_text(text)
            area.move_cursor(area.document.end)
        area.focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "send":
            self.action_send()
        elif event.button.id == "saved":
            self.action_saved()
        else:
            self.action_close()


class SavedReplyPicker(ModalScreen[SavedReply | None]):
    """The saved replies by name (and language); enter picks one, esc goes back."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]
    DEFAULT_CSS = """
    SavedReplyPicker { align: center middle; }
    SavedReplyPicker > Vertical {
        width: 70; height: auto; max-height: 80%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    SavedReplyPicker OptionList { height: auto; max-height: 16; }
    SavedReplyPicker #preview { color: $text-muted; height: auto; max-height: 6; }
    """

    def __init__(self, replies: Sequence[SavedReply], t: Callable[..., str]) -> None:
        super().__init__()
        self._replies = tuple(replies)
        self._t = t

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self._t("editor.macro")), classes="title")
            options = []
            for i, reply in enumerate(self._replies):
                label = Text(reply.name)
                if reply.lang:
                    label.append(f"  [{reply.lang}]", style="dim")
                options.append(Option(label, id=str(i)))
            yield OptionList(*options, id="replies")
            yield Static("", id="preview")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self._preview(0)

    def _preview(self, index: int | None) -> None:
        if index is None or not 0 <= index < len(self._replies):
            return
        first = self._replies[index].text.splitlines()[:4]
        self.query_one("#preview", Static).update(Text("\n".join(first)))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._preview(event.option_index)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self._replies[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)


__all__ = ["MAX_CHARS", "ComposeScreen", "Composed", "Draft", "SavedReplyPicker"]
