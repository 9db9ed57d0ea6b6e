"""A footer that fits its terminal: every key with its full words when they fit; else short
words (`t Time`, `l Vincular`), then without the palette's key, and if still too wide only
the keys that matter most on that screen (`ronda.tui.actions.FOOTER_RANK`), `?` last of
all: the help lists every key.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey  # noqa: PLC2701 - the footer's own key widget

from ronda.tui.actions import FOOTER_RANK


@dataclass(frozen=True, slots=True)
class Key:
    """One footer key: the action's name, the key shown, its words and its short words."""

    name: str
    key: str
    words: str
    short: str

    def width(self, short: bool) -> int:
        # A compact footer key is "key words", keys one space apart.
        return cell_len(self.key) + 1 + cell_len(self.short if short else self.words) + 1


@dataclass(frozen=True, slots=True)
class Fit:
    names: tuple[str, ...]  # shown, in footer order
    short: bool
    palette: bool  # room for the command palette's key too


def fit_keys(kind: str, keys: list[Key], width: int, palette_width: int) -> Fit:
    """Which keys show at `width` columns, and in which words (pure: tested directly)."""
    names = tuple(k.name for k in keys)
    full = sum(k.width(False) for k in keys)
    if full + palette_width <= width:
        return Fit(names, short=False, palette=True)
    if sum(k.width(True) for k in keys) + palette_width <= width:
        return Fit(names, short=True, palette=True)
    shown = list(keys)
    rank = FOOTER_RANK.get(kind, ())
    # The least important goes first; keys the ranking does not name before any it does.
    order = sorted(
        (k for k in keys if k.name != "help"),
        key=lambda k: rank.index(k.name) if k.name in rank else len(rank),
        reverse=True,
    )
    while sum(k.width(True) for k in shown) > width and order:
        shown.remove(order.pop(0))
    return Fit(tuple(k.name for k in shown), short=True, palette=False)


class FittedFooter(Footer):
    """`Footer` choosing its keys and words by its width (`fit_keys`); `kind` is the
    screen's (`ronda.tui.actions.SCREEN_SCOPES`), `t` the UI's catalogue."""

    def __init__(self, kind: str, t, **kwargs) -> None:  # noqa: ANN001, ANN003
        super().__init__(compact=True, **kwargs)
        self.kind = kind
        self.t = t
        self.fit: Fit | None = None

    def _keys(self) -> tuple[list[Key], dict]:
        active = self.screen.active_bindings
        found: dict[str, tuple] = {}
        for _node, binding, enabled, tooltip in active.values():
            if binding.show and binding.id is not None and binding.id not in found:
                found[binding.id] = (binding, enabled, tooltip)
        # A screen's key that a focused widget shadows with a hidden binding of its own
        # (the sites table's `enter`, which selects the row the screen then opens) still
        # does what the screen says: shown too.
        own = [b for b in getattr(type(self.screen), "BINDINGS", ()) if isinstance(b, Binding)]
        for binding in own:
            shadow = active.get(binding.key)
            if (
                binding.show
                and binding.id is not None
                and binding.id not in found
                and shadow is not None
                and not shadow.binding.show
            ):
                found[binding.id] = (binding, shadow.enabled, "")
        order = {b.id: i for i, b in enumerate(own)}
        keys = [
            Key(name, self.app.get_key_display(b), b.description, self._short(name, b))
            for name, (b, _enabled, _tip) in found.items()
        ]
        keys.sort(key=lambda k: order.get(k.name, len(order)))
        return keys, found

    def _short(self, name: str, binding: Binding) -> str:
        return self.t(f"short.{name}", default=binding.description)

    def _palette_width(self) -> int:
        if not self.app.ENABLE_COMMAND_PALETTE:
            return 0
        try:
            _node, binding, _enabled, _tip = self.screen.active_bindings[
                self.app.COMMAND_PALETTE_BINDING
            ]
        except KeyError:
            return 0
        return cell_len(self.app.get_key_display(binding)) + cell_len(binding.description) + 3

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        keys, found = self._keys()
        width = self.size.width or self.app.size.width
        self.fit = fit = fit_keys(self.kind, keys, width, self._palette_width())
        self.show_command_palette = fit.palette
        by_name = {k.name: k for k in keys}
        dropped = len(fit.names) < len(keys)
        self.styles.grid_size_columns = len(fit.names) + fit.palette
        for name in fit.names:
            binding, enabled, tooltip = found[name]
            key = by_name[name]
            # `? More` only when keys were left out; with every key there, `? Help`.
            words = key.words if not fit.short or (name == "help" and not dropped) else key.short
            yield FooterKey(
                binding.key,
                key.key,
                words,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip or binding.description,
            ).data_bind(compact=Footer.compact)
        if fit.palette:
            _node, binding, enabled, _tip = self.screen.active_bindings[
                self.app.COMMAND_PALETTE_BINDING
            ]
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                classes="-command-palette",
                disabled=not enabled,
                tooltip=binding.tooltip or binding.description,
            )

    def on_resize(self) -> None:
        if not self._bindings_ready:
            return
        keys, _found = self._keys()
        fit = fit_keys(self.kind, keys, self.size.width, self._palette_width())
        if fit != self.fit:
            self.call_after_refresh(self.recompose)


# Short words for narrow terminals (the full ones are `action.<name>`).
EN_SHORT: dict[str, str] = {
    "short.log_time": "Time",
    "short.link_parent": "Link",
    "short.reprioritize": "Prio",
    "short.pending": "Pending",
    "short.help": "More",
    "short.view_mine": "Mine",
    "short.view_open": "Open",
    "short.new_ticket": "New",
    "short.open_site": "Open",
    "short.probe_now": "Probe",
}
ES_SHORT: dict[str, str] = {
    "short.log_time": "Tiempo",
    "short.link_parent": "Vincular",
    "short.reprioritize": "Prio.",
    "short.pending": "Espera",
    "short.help": "Más",
    "short.view_mine": "Míos",
    "short.view_open": "Abiertos",
    "short.new_ticket": "Nuevo",
    "short.open_site": "Abrir",
    "short.probe_now": "Sondear",
}


__all__ = ["EN_SHORT", "ES_SHORT", "Fit", "FittedFooter", "Key", "fit_keys"]
