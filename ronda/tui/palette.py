"""Textual's own words in the UI language: the palette's system commands, its
placeholder, the footer's `^p` key and the `ctrl+c` hint. A mixin of `RondaApp`, which
provides `t` (the catalogue) and is a Textual `App`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from textual.app import SystemCommand
from textual.command import CommandPalette
from textual.screen import Screen

if TYPE_CHECKING:
    from textual.app import App

    _Base = App[None]
else:
    _Base = object

# Textual's own palette commands (by their English title) -> the catalogue's words for them.
SYSTEM_COMMANDS = {
    "Theme": "theme",
    "Quit": "quit",
    "Keys": "keys",
    "Minimize": "minimize",
    "Maximize": "maximize",
    "Screenshot": "screenshot",
}


class TextualWords(_Base):
    """What Textual says by itself, said in the catalogue's words."""

    t: Any  # the app's catalogue: key -> text in the UI language

    def _localize_palette_key(self) -> None:
        """The footer's `^p palette`, which Textual binds in English, in the UI language."""
        by_key = self._bindings.key_to_bindings
        by_key[self.COMMAND_PALETTE_BINDING] = [
            replace(b, description=self.t("palette.key"), tooltip=self.t("palette.placeholder"))
            if b.action in ("command_palette", "app.command_palette")
            else b
            for b in by_key.get(self.COMMAND_PALETTE_BINDING, [])
        ]

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's palette commands (theme, quit, keys...) in the UI language."""
        for command in super().get_system_commands(screen):
            name = SYSTEM_COMMANDS.get(command.title)
            if name is None:
                yield command
                continue
            if name == "keys" and screen.query("HelpPanel"):
                name = "keys_hide"
            yield SystemCommand(
                self.t(f"palette.{name}"),
                self.t(f"palette.{name}_help"),
                command.callback,
                command.discover,
            )

    def action_command_palette(self) -> None:
        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(
                CommandPalette(id="--command-palette", placeholder=self.t("palette.placeholder"))
            )

    def search_themes(self) -> None:
        from textual.theme import ThemeProvider

        self.push_screen(
            CommandPalette(providers=[ThemeProvider], placeholder=self.t("palette.themes"))
        )

    def action_help_quit(self) -> None:
        """`ctrl+c` does not quit (it copies in a text box): say which key does."""
        for key, active in self.active_bindings.items():
            if active.binding.action in ("quit", "app.quit"):
                self.notify(self.t("quit.how", keys=key), title=self.t("quit.title"), markup=False)
                return
