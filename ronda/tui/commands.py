"""The command palette (`ctrl+p`): every action that applies where the agent is."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from ronda.tui.actions import APP, SCREEN_SCOPES, ActionSpec, actions_for


class RondaCommands(Provider):
    """Offers the registry's actions for the calling screen (app actions everywhere)."""

    def _commands(self) -> list[tuple[ActionSpec, str, str]]:
        t = self.app.t  # type: ignore[attr-defined]
        scopes = SCREEN_SCOPES.get(getattr(self.screen, "KIND", ""), (APP,))
        return [
            (spec, t(spec.label_key), t(f"help.{spec.name}"))
            for spec in actions_for(scopes)
            if spec.name != "clear_filters"
        ]

    async def _run(self, spec: ActionSpec) -> None:
        await self.app.run_action(spec.target, self.screen)

    async def discover(self) -> Hits:
        for spec, label, help_text in self._commands():
            yield DiscoveryHit(label, partial(self._run, spec), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for spec, label, help_text in self._commands():
            score = matcher.match(label)
            if score > 0:
                yield Hit(score, matcher.highlight(label), partial(self._run, spec), help=help_text)
