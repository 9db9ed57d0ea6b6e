"""What the notifier needs from the rest of the desk, wired here: whether the prober can
see at all (`ronda.checks.blind`, the prober-blind guard), so nobody is told of failures
that are the desk's own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ronda.checks.blind import desk_is_blind
from ronda.store import Store


def blind_check(store: Store) -> Callable[[datetime], bool]:
    """`now -> bool`: the desk cannot see (its canaries fail, or too many sites at once)."""

    def is_blind(now: datetime) -> bool:
        return desk_is_blind(store, now)

    return is_blind


__all__ = ["blind_check"]
