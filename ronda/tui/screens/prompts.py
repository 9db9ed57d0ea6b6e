"""Small modal forms: a line of text, priority and impact with a reason, time spent, filters.

Each returns its answer through `dismiss` (None when cancelled with `esc`) and validates
before closing; a problem is shown in the form and nothing reaches the desk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, Select, Static

from ronda.durations import BadDuration, parse_spent
from ronda.model import Impact, Priority, Status, Ticket
from ronda.tickets import QueueFilter


class Prompt(ModalScreen):
    """A modal box with a title, fields, an error line and OK/Cancel."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", show=False),
        Binding("ctrl+s", "submit", "OK", show=False),
    ]
    DEFAULT_CSS = """
    Prompt { align: center middle; }
    Prompt > Vertical {
        width: 72; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 1 2;
    }
    Prompt .title { text-style: bold; margin-bottom: 1; }
    Prompt .error { color: $error; height: auto; }
    Prompt Horizontal.buttons { height: auto; align-horizontal: right; margin-top: 1; }
    Prompt Button { margin-left: 1; }
    Prompt Select { margin-bottom: 1; }
    """

    def __init__(self, title: str, t: Callable[..., str] | None = None) -> None:
        super().__init__()
        self._title = title
        self._t = t

    def tr(self, key: str, **kwargs: object) -> str:
        t = self._t or self.app.t  # type: ignore[attr-defined]
        return t(key, **kwargs)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self._title), classes="title")
            yield from self.fields()
            yield Static("", id="error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button(self.tr("form.ok"), id="ok", variant="primary")
                yield Button(self.tr("form.cancel"), id="cancel")

    def fields(self) -> ComposeResult:
        yield from ()

    def answer(self) -> tuple[object, str | None]:
        """(the value to return, or an error message to show)."""
        raise NotImplementedError

    def submit(self) -> None:
        value, problem = self.answer()
        if problem:
            self.query_one("#error", Static).update(Text(problem))
            return
        self.dismiss(value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.input_submitted(event.input)

    def input_submitted(self, field: Input) -> None:
        """Enter in a field: submit (a form with several fields may move on instead)."""
        self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self.submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        self.submit()


class TextPrompt(Prompt):
    """One line of text; `required` refuses an empty answer, `validate` may refuse others.
    `note` is a line shown above the field (a reply's recipient)."""

    def __init__(
        self,
        title: str,
        *,
        placeholder: str = "",
        value: str = "",
        suggestions: Iterable[str] = (),
        required: bool = True,
        validate: Callable[[str], str | None] | None = None,
        note: str | None = None,
    ) -> None:
        super().__init__(title)
        self._placeholder = placeholder
        self._value = value
        self._suggestions = [s for s in dict.fromkeys(suggestions) if s]
        self._required = required
        self._validate = validate
        self._note = note

    def fields(self) -> ComposeResult:
        if self._note:
            yield Static(Text(self._note), id="note")
        suggester = (
            SuggestFromList(self._suggestions, case_sensitive=False) if self._suggestions else None
        )
        yield Input(
            value=self._value, placeholder=self._placeholder, suggester=suggester, id="text"
        )

    def answer(self) -> tuple[object, str | None]:
        text = self.query_one("#text", Input).value
        if self._required and not text.strip():
            return None, self.tr("form.required")
        if self._validate is not None:
            problem = self._validate(text)
            if problem:
                return None, problem
        return text, None


def _options(t: Callable[..., str], kind: str, values: Iterable[str]) -> list[tuple[Text, str]]:
    return [(Text(t(f"{kind}.{value}")), str(value)) for value in values]


class ReprioritizePrompt(Prompt):
    """New priority and/or impact, and the reason (required: it goes in the history)."""

    def __init__(self, ticket: Ticket, t: Callable[..., str]) -> None:
        super().__init__(t("prompt.reprioritize", case=ticket.case_number), t)
        self._ticket = ticket

    def fields(self) -> ComposeResult:
        yield Label(self.tr("col.priority"))
        yield Select(
            _options(self.tr, "priority", Priority),
            value=str(self._ticket.priority),
            allow_blank=False,
            id="priority",
        )
        yield Label(self.tr("col.impact"))
        yield Select(
            _options(self.tr, "impact", Impact),
            value=str(self._ticket.impact),
            allow_blank=False,
            id="impact",
        )
        yield Input(placeholder=self.tr("prompt.reason"), id="reason")

    def answer(self) -> tuple[object, str | None]:
        priority = Priority(self.query_one("#priority", Select).value)
        impact = Impact(self.query_one("#impact", Select).value)
        reason = self.query_one("#reason", Input).value.strip()
        if priority == self._ticket.priority and impact == self._ticket.impact:
            return None, self.tr("form.unchanged")
        if not reason:
            return None, self.tr("form.reason_required")
        return (priority, impact, reason), None


def parse_duration(text: str) -> float | None:
    """Seconds of a time spent (`ronda.durations.parse_spent`); None when it is not one."""
    try:
        return parse_spent(text)
    except BadDuration:
        return None


class LogTimePrompt(Prompt):
    """Time spent on a ticket (`1h15`, `75m`, `1:15`, `1.5h`, `45`) and an optional note; a
    time that does not read is refused naming what was written."""

    def __init__(self, ticket: Ticket, t: Callable[..., str]) -> None:
        super().__init__(t("prompt.log_time", case=ticket.case_number), t)

    def fields(self) -> ComposeResult:
        yield Input(placeholder=self.tr("prompt.duration_hint"), id="duration")
        yield Input(placeholder=self.tr("prompt.time_note"), id="time-note")

    def input_submitted(self, field: Input) -> None:
        if field.id == "duration":
            self.query_one("#time-note", Input).focus()
        else:
            self.submit()

    def answer(self) -> tuple[object, str | None]:
        text = self.query_one("#duration", Input).value
        try:
            seconds = parse_spent(text)
        except BadDuration as exc:
            return None, self.tr(f"duration.{exc.why}", text=exc.text)
        note = self.query_one("#time-note", Input).value.strip() or None
        return (seconds, note), None


class FilterPrompt(Prompt):
    """Priority, status and customer filters of the queue (blank: any)."""

    def __init__(self, current: QueueFilter, customers: Iterable[str], t: Callable[..., str]):
        super().__init__(t("prompt.filter"), t)
        self._current = current
        self._customers = list(customers)

    def fields(self) -> ComposeResult:
        any_ = self.tr("form.any")
        yield Label(self.tr("col.priority"))
        yield Select(
            _options(self.tr, "priority", Priority),
            value=str(self._current.priority) if self._current.priority else Select.NULL,
            prompt=any_,
            id="priority",
        )
        yield Label(self.tr("col.status"))
        yield Select(
            _options(self.tr, "status", Status),
            value=str(self._current.status) if self._current.status else Select.NULL,
            prompt=any_,
            id="status",
        )
        yield Label(self.tr("col.customer"))
        customers = self._customers
        if self._current.customer and self._current.customer not in customers:
            customers = [self._current.customer, *customers]
        yield Select(
            [(Text(name), name) for name in customers],
            value=self._current.customer or Select.NULL,
            prompt=any_,
            id="customer",
        )

    def answer(self) -> tuple[object, str | None]:
        def value(selector: str) -> str | None:
            v = self.query_one(selector, Select).value
            return None if v is Select.NULL else str(v)

        priority, status = value("#priority"), value("#status")
        return (
            Priority(priority) if priority else None,
            Status(status) if status else None,
            value("#customer"),
        ), None
