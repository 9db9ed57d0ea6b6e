"""What the notifier needs from the rest of the desk, wired here: whether the prober can
see at all (`ronda.checks.blind`, the prober-blind guard), so nobody is told of failures
that are the desk's own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ronda.reach.notifier import desk_is_blind_standin
from ronda.store import Store


def blind_check(store: Store) -> Callable[[datetime], bool]:
    """`now -> bool`: the desk cannot see (its canaries fail, or too many sites at once).
    A desk without the guard (`ronda.checks.blind` absent) always sees."""
    try:
        from ronda.checks.blind import desk_is_blind  # type: ignore[import-not-found]
    except ModuleNotFoundError as error:
        if error.name != "ronda.checks.blind":
            raise
        desk_is_blind = desk_is_blind_standin

    def is_blind(now: datetime) -> bool:
        return bool(desk_is_blind(store, now))

    return is_blind


__all__ = ["blind_check"]
