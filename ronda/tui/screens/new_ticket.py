"""Intake: a case from an e-mail or opened by hand; a phone call only for an existing case.

The contract (docs/contract.md): requests come in by ticket or e-mail; phone help is only for
cases that already have a case number. So "phone" here asks for the case number the
customer reads out and jumps to it; it never opens a new case.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from ronda.model import Impact, Priority, Source
from ronda.tickets import ticket_id_from_case
from ronda.tui.data import Directory

EMAIL = re.compile(r"^[^@\s<>\[\]]+@[^@\s<>\[\]]+\.[^@\s<>\[\]]+$")
INTAKE_SOURCES = (Source.EMAIL, Source.PHONE, Source.MANUAL)


@dataclass(frozen=True, slots=True)
class Intake:
    """A new case to open (the form's answer)."""

    source: Source
    subject: str
    priority: Priority
    impact: Impact
    customer: str | None = None
    site: str | None = None
    requester: str | None = None
    body: str | None = None
    category: str | None = None


@dataclass(frozen=True, slots=True)
class PhoneCall:
    """A customer on the phone with a case number: open that case."""

    case_number: str


def validate_intake(
    source: Source,
    *,
    case_number: str = "",
    requester: str = "",
    subject: str = "",
    customer: str | None = None,
    site: str | None = None,
) -> list[str]:
    """Catalogue keys of every problem with the form (empty when it can be submitted)."""
    problems: list[str] = []
    if source == Source.PHONE:
        if ticket_id_from_case(case_number) is None:
            problems.append("intake.phone_needs_case")
        return problems
    if not subject.strip():
        problems.append("intake.subject_required")
    if source == Source.EMAIL and not EMAIL.match(requester.strip()):
        problems.append("intake.email_invalid")
    if source == Source.MANUAL and requester.strip() and "@" in requester:
        if not EMAIL.match(requester.strip()):
            problems.append("intake.email_invalid")
    if source == Source.MANUAL and not (customer or site):
        problems.append("intake.customer_or_site")
    return problems


class NewTicketScreen(ModalScreen):
    """Returns an `Intake`, a `PhoneCall`, or None when cancelled."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", show=False),
        Binding("ctrl+s", "submit", "Open", show=False),
    ]
    DEFAULT_CSS = """
    NewTicketScreen { align: center middle; }
    NewTicketScreen > VerticalScroll {
        width: 84; height: auto; max-height: 95%;
        border: thick $accent; background: $surface; padding: 1 2;
    }
    NewTicketScreen Grid {
        grid-size: 2; grid-columns: 26 1fr; grid-rows: auto; grid-gutter: 1 1; height: auto;
    }
    NewTicketScreen .error { color: $error; height: auto; margin-top: 1; }
    NewTicketScreen .phone-only, NewTicketScreen .case-only { display: none; }
    NewTicketScreen.-phone .phone-only { display: block; }
    NewTicketScreen.-case .case-only { display: block; }
    NewTicketScreen Horizontal.buttons { height: auto; align-horizontal: right; margin-top: 1; }
    NewTicketScreen Button { margin-left: 1; }
    """

    def __init__(self, directory: Directory, t: Callable[..., str]) -> None:
        super().__init__()
        self._dir = directory
        self._t = t
        self._sites = {site.name: site for site in directory.sites}

    def compose(self) -> ComposeResult:
        t = self._t

        def row(label: str, widget: Input | Select, only: str = "") -> ComposeResult:
            widget.compact = True
            if only:
                widget.add_class(only)
            yield Label(t(label), classes=only)
            yield widget

        def choices(kind: str, values: Iterable[str]) -> list[tuple[Text, str]]:
            return [(Text(t(f"{kind}.{v}")), str(v)) for v in values]

        none = t("form.none")
        with VerticalScroll() as box:
            box.border_title = t("intake.title")
            with Grid():
                yield from row(
                    "intake.source",
                    Select(
                        choices("source", INTAKE_SOURCES),
                        value=str(Source.EMAIL),
                        allow_blank=False,
                        id="source",
                    ),
                )
                yield from row("intake.case", Input(placeholder="R-1234", id="case"), "phone-only")
                yield from row(
                    "intake.requester",
                    Input(placeholder="ana@example.com", id="requester"),
                    "case-only",
                )
                yield from row(
                    "col.customer",
                    Select(
                        [(Text(name), name) for name in self._dir.customers],
                        prompt=none,
                        id="customer",
                    ),
                    "case-only",
                )
                yield from row(
                    "ticket.site",
                    Select(
                        [(Text(site.name), site.name) for site in self._dir.sites],
                        prompt=none,
                        id="site",
                    ),
                    "case-only",
                )
                yield from row("intake.subject", Input(id="subject"), "case-only")
                yield from row("intake.body", Input(id="body"), "case-only")
                yield from row(
                    "col.priority",
                    Select(
                        choices("priority", Priority),
                        value=str(Priority.MEDIUM),
                        allow_blank=False,
                        id="priority",
                    ),
                    "case-only",
                )
                yield from row(
                    "col.impact",
                    Select(
                        choices("impact", Impact),
                        value=str(Impact.MEDIUM),
                        allow_blank=False,
                        id="impact",
                    ),
                    "case-only",
                )
                yield from row("intake.category", Input(id="category"), "case-only")
            yield Static("", id="error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button(t("intake.open"), id="ok", variant="primary", compact=True)
                yield Button(t("form.cancel"), id="cancel", compact=True)

    def on_mount(self) -> None:
        self._apply_source(Source.EMAIL)
        self.query_one("#source", Select).focus()

    def _apply_source(self, source: Source) -> None:
        self.set_class(source == Source.PHONE, "-phone")
        self.set_class(source != Source.PHONE, "-case")
        self.query_one("#ok", Button).label = self._t(
            "intake.jump" if source == Source.PHONE else "intake.open"
        )

    @property
    def source(self) -> Source:
        return Source(self.query_one("#source", Select).value)

    def _value(self, selector: str) -> str | None:
        value = self.query_one(selector, Select).value
        return None if value is Select.NULL else str(value)

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "source":
            self._apply_source(Source(event.value))
        elif event.select.id == "site" and event.value is not Select.NULL:
            # A site brings its customer and its impact (a shop is high, a brochure low).
            site = self._sites.get(str(event.value))
            if site is not None:
                if site.customer and site.customer in self._dir.customers:
                    self.query_one("#customer", Select).value = site.customer
                self.query_one("#impact", Select).value = str(Impact(site.impact))

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "requester":
            # A known sender address or domain names its customer.
            customer = self._dir.customer_for(event.value)
            select = self.query_one("#customer", Select)
            if customer and select.value is Select.NULL and customer in self._dir.customers:
                select.value = customer

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self.action_submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        source = self.source
        text = {
            name: self.query_one(f"#{name}", Input).value
            for name in ("case", "requester", "subject", "body", "category")
        }
        customer, site = self._value("#customer"), self._value("#site")
        problems = validate_intake(
            source,
            case_number=text["case"],
            requester=text["requester"],
            subject=text["subject"],
            customer=customer,
            site=site,
        )
        if problems:
            self.query_one("#error", Static).update(Text("\n".join(self._t(p) for p in problems)))
            return
        if source == Source.PHONE:
            self.dismiss(PhoneCall(text["case"].strip()))
            return
        self.dismiss(
            Intake(
                source=source,
                subject=text["subject"].strip(),
                priority=Priority(self._value("#priority")),
                impact=Impact(self._value("#impact")),
                customer=customer,
                site=site,
                requester=text["requester"].strip() or None,
                body=text["body"].strip() or None,
                category=text["category"].strip() or None,
            )
        )
