"""Full garbage collections wait for a pause in typing (ronda.tui.idle_gc)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from ronda.tui.idle_gc import (
    LONGEST_SECONDS,
    NO_AUTOMATIC_FULL,
    QUIET_SECONDS,
    IdleCollector,
    collection_due,
)


@pytest.mark.parametrize(
    ("now", "last_activity", "last_full", "due"),
    [
        (100.0, 99.0, 50.0, False),  # typing a second ago
        (100.0, 100.0 - QUIET_SECONDS, 50.0, True),  # a pause after typing
        (100.0, 40.0, 50.0, False),  # nothing typed since the last collection
        (50.0 + LONGEST_SECONDS, 50.0 + LONGEST_SECONDS, 50.0, True),  # typing non-stop
        (50.0 + LONGEST_SECONDS - 1, 50.0 + LONGEST_SECONDS - 1, 50.0, False),
    ],
)
def test_when_a_full_collection_is_due(
    now: float, last_activity: float, last_full: float, due: bool
) -> None:
    assert collection_due(now, last_activity, last_full) is due


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def collector() -> Iterator[tuple[IdleCollector, FakeMonotonic]]:
    clock = FakeMonotonic()
    collector = IdleCollector(clock)
    before = gc.get_threshold()
    try:
        yield collector, clock
    finally:
        collector.uninstall()  # the rest of the test run keeps its collector
        assert gc.get_threshold() == before


def test_install_stops_automatic_full_collections_and_uninstall_restores(
    collector: tuple[IdleCollector, FakeMonotonic],
) -> None:
    idle, _ = collector
    young, middle, old = gc.get_threshold()
    idle.install()
    idle.install()  # idempotent: the saved thresholds stay the original ones
    assert gc.get_threshold() == (young, middle, NO_AUTOMATIC_FULL)
    assert gc.get_freeze_count() > 0
    idle.uninstall()
    assert gc.get_threshold() == (young, middle, old)
    assert gc.get_freeze_count() == 0


def test_tick_collects_after_a_pause_not_while_typing(
    collector: tuple[IdleCollector, FakeMonotonic],
) -> None:
    idle, clock = collector
    assert idle.tick() is False  # not installed: the app is not a real session
    idle.install()
    full: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            full.append(1)

    gc.callbacks.append(seen)
    try:
        for _ in range(5):  # an agent typing, a key every half second
            clock.now += 0.5
            idle.activity()
            assert idle.tick() is False
        clock.now += QUIET_SECONDS
        assert idle.tick() is True
        assert idle.collections == 1 and len(full) == 1
        clock.now += QUIET_SECONDS
        assert idle.tick() is False  # nothing typed since: nothing to wait for
        clock.now += LONGEST_SECONDS
        assert idle.tick() is True  # but never longer than LONGEST_SECONDS
        assert idle.collections == 2 and len(full) == 2
    finally:
        gc.callbacks.remove(seen)
