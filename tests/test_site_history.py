"""Site history in the store: a row per change, gaps as not measured, written with the
round's batch, pruned by retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from ronda.app.retention import apply_retention
from ronda.checks.rounds import RoundRunner
from ronda.config import Config, MaintenanceWindow, RetentionSettings, Site
from ronda.model import FailureClass as FC
from ronda.store import Store
from ronda.store.history import HistoryRow, load_history, record
from ronda.uptime import Interval, uptime
from tests.test_rounds import CONFIG, at, result, round_

GAP = 180.0


@pytest.fixture
def clock():
    with freeze_time(at(0)) as frozen:
        yield frozen


T = at(0).timestamp()


def verdicts(store: Store, *rows: tuple[float, str, str | None], site: str = "s") -> None:
    with store.write() as db:
        record(db, [HistoryRow(site, T + m * 60, state, cls, GAP) for m, state, cls in rows])


def stored(store: Store) -> list[tuple]:
    return [
        (r["site"], r["state"], r["class"], (r["started_at"] - T) / 60, (r["seen_at"] - T) / 60)
        for r in store.query("SELECT * FROM site_history ORDER BY id")
    ]


def test_a_row_per_change_not_per_probe(store: Store) -> None:
    verdicts(store, *((m, "up", None) for m in range(10)))
    assert stored(store) == [("s", "up", None, 0, 9)]
    verdicts(store, (10, "down", "http_500"), (11, "down", "http_500"), (12, "down", "timeout"))
    verdicts(store, (13, "up", None))
    assert stored(store) == [
        ("s", "up", None, 0, 10),
        ("s", "down", "http_500", 10, 12),
        ("s", "down", "timeout", 12, 13),
        ("s", "up", None, 13, 13),
    ]


def test_a_silence_longer_than_the_gap_is_not_measured(store: Store) -> None:
    verdicts(store, (0, "up", None), (1, "up", None), (4, "up", None))  # 3 min: still measured
    verdicts(store, (8, "up", None))  # 4 min after: a gap (Ronda was stopped)
    assert stored(store) == [("s", "up", None, 0, 4), ("s", "up", None, 8, 8)]
    parts = store.history.site_intervals("s", T, T + 600)
    assert [(p.state, (p.start - T) / 60, (p.end - T) / 60) for p in parts] == [
        ("up", 0, 4),
        ("unmeasured", 4, 10),  # the row of minute 8 has no length yet
    ]
    assert uptime(parts, T, T + 600).unmeasured_seconds == 360


def test_results_stored_late_change_nothing(store: Store) -> None:
    verdicts(store, (0, "up", None), (2, "up", None))
    verdicts(store, (1, "down", "dns"))  # an older result from a slower prober
    assert stored(store) == [("s", "up", None, 0, 2)]


def test_reads_clip_to_the_period_and_fill_every_site(store: Store) -> None:
    verdicts(store, (0, "up", None), (2, "down", "refused"), (3, "maintenance", None))
    verdicts(store, (4, "maintenance", None))
    got = store.history.sites_intervals(["s", "never"], T + 60, T + 240)
    assert [(p.state, p.cls, (p.start - T) / 60, (p.end - T) / 60) for p in got["s"]] == [
        ("up", None, 1, 2),
        ("down", "refused", 2, 3),
        ("maintenance", None, 3, 4),
    ]
    assert [(p.state, p.start, p.end) for p in got["never"]] == [("unmeasured", T + 60, T + 240)]
    with pytest.raises(ValueError):
        verdicts(store, (9, "unmeasured", None))


def test_the_round_batch_writes_history_in_its_transaction(store: Store, clock) -> None:
    runner = RoundRunner(store, CONFIG)
    for minute in range(3):
        round_(runner, clock, minute, result("shop-b", at(minute)))
    round_(runner, clock, 3, result("shop-b", at(3), FC.HTTP_502))
    round_(runner, clock, 4, result("shop-b", at(4), FC.HTTP_502))
    round_(runner, clock, 5, result("shop-b", at(5)))
    assert stored(store) == [
        ("shop-b", "up", None, 0, 3),
        ("shop-b", "down", "http_502", 3, 5),
        ("shop-b", "up", None, 5, 5),
    ]
    # A restarted runner goes on from the stored head.
    again = RoundRunner(store, CONFIG)
    round_(again, clock, 6, result("shop-b", at(6)))
    assert stored(store)[-1] == ("shop-b", "up", None, 5, 6)


def test_a_failing_batch_stores_no_history(store: Store, clock, monkeypatch) -> None:
    runner = RoundRunner(store, CONFIG)
    round_(runner, clock, 0, result("shop-b", at(0)))

    def broken(*args, **kwargs):
        raise RuntimeError("disk went away")

    monkeypatch.setattr(store.probes.store, "write", broken)
    with pytest.raises(RuntimeError):
        round_(runner, clock, 1, result("shop-b", at(1), FC.TIMEOUT))
    monkeypatch.undo()
    assert stored(store) == [("shop-b", "up", None, 0, 0)]


def test_maintenance_is_its_own_state(store: Store, clock) -> None:
    window = MaintenanceWindow(start=at(1), end=at(3))
    maintained = Site(name="m", url="https://m.example/", maintenance=(window,))
    runner = RoundRunner(store, Config(sites=(maintained,)))
    for minute, cls in ((0, FC.OK), (1, FC.HTTP_500), (2, FC.OK), (3, FC.OK)):
        round_(runner, clock, minute, result("m", at(minute), cls))
    assert [row[1] for row in stored(store)] == ["up", "maintenance", "up"]


def test_retention_deletes_rows_last_seen_before_the_cut(store: Store) -> None:
    day = 86400.0
    now = datetime.fromtimestamp(T, UTC)
    load_history(
        store,
        [
            ("s", Interval(T - 500 * day, T - 450 * day, "up")),
            ("s", Interval(T - 450 * day, T - 399 * day, "down", "dns")),  # seen within 400 d
            ("s", Interval(T - 399 * day, T, "up")),
            ("s", Interval(T, T + 1, "unmeasured")),  # never stored
        ],
    )
    assert store.history.count() == 3
    report = apply_retention(store, RetentionSettings(), now)
    assert report.history_rows == 1 and store.history.count() == 2
    assert apply_retention(store, RetentionSettings(), now + timedelta(days=2)).history_rows == 1
    assert apply_retention(store, RetentionSettings(site_history_days=None), now).history_rows == 0
