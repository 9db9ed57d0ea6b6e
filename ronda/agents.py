"""Who may act on the desk: with `[[agents]]` in the config, only the agents it declares
(a near miss is refused with a "did you mean"); without, any name. Pure."""

from __future__ import annotations

import difflib
from collections.abc import Sequence


class UnknownAgent(ValueError):
    """A name that is not a declared agent; `close` is the nearest declared one, if any."""

    def __init__(self, name: str, close: str | None, known: Sequence[str]) -> None:
        self.name = name
        self.close = close
        self.known = tuple(known)
        hint = f"did you mean {close!r}?" if close else f"agents: {', '.join(self.known)}"
        super().__init__(f"{name!r} is not an agent of this desk ({hint})")


def closest(name: str, known: Sequence[str]) -> str | None:
    """The declared name `name` most likely meant (`mraia` -> `maria`), or None."""
    lowered = {k.lower(): k for k in known}
    close = difflib.get_close_matches(name.strip().lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def check_agent(name: str, known: Sequence[str]) -> str:
    """`name` as declared (letter case as in the config); any name when none is declared.
    Raises `UnknownAgent` for a name the config does not list."""
    name = name.strip()
    if not known:
        return name
    for declared in known:
        if declared == name or declared.lower() == name.lower():
            return declared
    raise UnknownAgent(name, closest(name, known), known)


__all__ = ["UnknownAgent", "check_agent", "closest"]
