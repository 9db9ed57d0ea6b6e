"""Every action of the TUI, named once and bound to its keys in one place.

Screens take their `BINDINGS` from here (`bindings(scope, t)`), the help screen lists this
table, and the command palette offers it. Each binding carries an `id` equal to the action's
name so a user keymap (`App.set_keymap`) can remap it. Keys follow k9s/lazygit habits:
`?` help, `/` filter, `:` jump or command, `esc` back, `enter` open, `q` quit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.binding import Binding

# Where an action applies. "app" actions are bound on every full screen and run on the app;
# "ticket" actions work on the ticket open on screen or on the queue's highlighted row.
APP, QUEUE, TICKET, SITES, DETAIL = "app", "queue", "ticket", "sites", "detail"


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One action: its method name (`action_<name>`), keys and where it applies."""

    name: str
    keys: str
    scope: str
    key_display: str | None = None

    @property
    def label_key(self) -> str:
        return f"action.{self.name}"

    @property
    def target(self) -> str:
        """The action string a binding runs (app actions live on the app)."""
        return f"app.{self.name}" if self.scope == APP else self.name


ACTIONS: tuple[ActionSpec, ...] = (
    # Anywhere.
    ActionSpec("help", "question_mark", APP, key_display="?"),
    ActionSpec("jump", "colon", APP, key_display=":"),
    ActionSpec("new_ticket", "N", APP),
    ActionSpec("sites", "s", APP),
    ActionSpec("refresh", "ctrl+r", APP),
    ActionSpec("quit", "q", APP),
    # The queue.
    ActionSpec("open_ticket", "enter", QUEUE),
    ActionSpec("search", "slash", QUEUE, key_display="/"),
    ActionSpec("filter", "f", QUEUE),
    ActionSpec("view_mine", "1", QUEUE),
    ActionSpec("view_unassigned", "2", QUEUE),
    ActionSpec("view_open", "3", QUEUE),
    ActionSpec("view_breached", "4", QUEUE),
    ActionSpec("view_resolved", "5", QUEUE),
    ActionSpec("view_all", "6", QUEUE),
    ActionSpec("clear_filters", "escape", QUEUE, key_display="esc"),
    # A ticket: the one on screen, or the queue's highlighted row.
    ActionSpec("claim", "c", TICKET),
    ActionSpec("assign", "a", TICKET),
    ActionSpec("reply", "r", TICKET),
    ActionSpec("note", "n", TICKET),
    ActionSpec("pending", "w", TICKET),
    ActionSpec("reprioritize", "p", TICKET),
    ActionSpec("resolve", "x", TICKET),
    ActionSpec("reopen", "o", TICKET),
    ActionSpec("billable", "b", TICKET),
    ActionSpec("log_time", "t", TICKET),
    ActionSpec("link_parent", "l", TICKET),
    ActionSpec("public_update", "u", TICKET),
    # The ticket screen and the sites screen.
    ActionSpec("back", "escape", DETAIL, key_display="esc"),
    ActionSpec("open_site", "enter", SITES),
    ActionSpec("probe_now", "p", SITES),
)

BY_NAME: dict[str, ActionSpec] = {}
for _spec in ACTIONS:
    BY_NAME.setdefault(_spec.name, _spec)

# Which scopes each kind of screen binds, in footer order.
SCREEN_SCOPES: dict[str, tuple[str, ...]] = {
    "queue": (TICKET, QUEUE, APP),
    "ticket": (TICKET, DETAIL, APP),
    "sites": (SITES, DETAIL, APP),
}


# What each kind of screen shows in its footer (a terminal is narrow); `?` lists them all.
FOOTER: dict[str, frozenset[str]] = {
    "queue": frozenset(
        {"claim", "search", "filter", "view_mine", "view_unassigned", "view_open"}
        | {"view_breached", "jump", "new_ticket", "sites", "help", "quit"}
    ),
    "ticket": frozenset(
        {"claim", "assign", "reply", "note", "pending", "reprioritize", "resolve", "reopen"}
        | {"billable", "log_time", "link_parent", "back", "help", "quit"}
    ),
    "sites": frozenset({"open_site", "probe_now", "back", "jump", "new_ticket", "help", "quit"}),
}


# The footer's keys by importance, most first: a narrow terminal drops from the end (`?`,
# which lists every key, always stays; `ronda.tui.widgets.footer`).
FOOTER_RANK: dict[str, tuple[str, ...]] = {
    "queue": (
        "search",
        "filter",
        "claim",
        "jump",
        "view_breached",
        "view_mine",
        "new_ticket",
        "view_unassigned",
        "view_open",
        "sites",
        "quit",
    ),
    "ticket": (
        "reply",
        "claim",
        "note",
        "resolve",
        "log_time",
        "billable",
        "link_parent",
        "pending",
        "back",
        "reprioritize",
        "assign",
        "reopen",
        "quit",
    ),
    "sites": ("open_site", "probe_now", "back", "jump", "new_ticket", "quit"),
}


def bindings(kind: str, t: Callable[..., str]) -> list[Binding]:
    """Bindings of every action a `kind` of screen offers, described in `t`'s language."""
    return [
        Binding(
            spec.keys,
            spec.target,
            t(spec.label_key),
            show=spec.name in FOOTER[kind],
            key_display=spec.key_display,
            id=spec.name,
        )
        for spec in actions_for(SCREEN_SCOPES[kind])
    ]


def actions_for(scopes: tuple[str, ...]) -> list[ActionSpec]:
    return [spec for scope in scopes for spec in ACTIONS if spec.scope == scope]
