"""Site history through a real `ronda run`: killed with SIGKILL mid-rounds and restarted,
the history stays whole (every stored round in it, nothing beyond) and the time the
daemon was down reads as not measured."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from test_daemon import Daemon, wait_for

from ronda.demo.fleet import Fleet
from ronda.demo.specs import SiteSpec
from ronda.store import Store
from ronda.uptime import measured_gap, uptime

pytestmark = pytest.mark.timeout(120)

INTERVAL, DEADLINE = 0.3, 1.0
GAP = measured_gap(INTERVAL, DEADLINE)
EXTRA = f"""\
[probe]
interval = {INTERVAL}
deadline = {DEADLINE:g}
[incidents]
confirm_rounds = 2
recheck_immediately = false
"""
SPECS = (
    SiteSpec("healthy", "Sano", "t", "Cliente Sano", "web-01"),
    SiteSpec("late", "Tarde", "t", "Cliente Tarde", "web-01"),
    SiteSpec("e500", "Error 500", "t", "Cliente 500", "web-02", behaviour="http_500", https=False),
)


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet(SPECS) as f:
        yield f


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[[Path, Path], Daemon]]:
    """Start daemons; any still running at the end is killed by its pid."""
    started: list[Daemon] = []

    def go(config: Path, db: Path) -> Daemon:
        daemon = Daemon(config, db, tmp_path / f"daemon-{len(started) + 1}.log")
        started.append(daemon)
        return daemon

    yield go
    for daemon in started:
        daemon.kill()


def heads_match_probe_state(store: Store) -> dict[str, float]:
    """Each site's latest history row ends at its latest stored result: the round and its
    history were written together, or not at all."""
    checked = {
        r["site"]: r["checked_at"] for r in store.query("SELECT site, checked_at FROM probe_state")
    }
    heads = store.history.heads(checked)
    assert set(heads) == set(checked) == {s.name for s in SPECS}
    assert {site: head.seen_at for site, head in heads.items()} == checked
    return checked


def rows_in_order(store: Store) -> None:
    """Per site, rows never overlap and never go back in time."""
    rows = store.query("SELECT site, started_at, seen_at FROM site_history ORDER BY site, id")
    last: dict[str, float] = {}
    for row in rows:
        assert row["started_at"] <= row["seen_at"]
        assert row["started_at"] >= last.get(row["site"], float("-inf"))
        last[row["site"]] = row["seen_at"]


def test_history_survives_sigkill_and_the_downtime_is_not_measured(
    fleet: Fleet, tmp_path: Path, start: Callable[..., Daemon]
) -> None:
    config = tmp_path / "ronda.toml"
    config.write_text(
        fleet.config_toml(EXTRA) + '\n[status_page]\nout = "www"\nevery = "10s"\n',
        encoding="utf-8",
    )
    db = tmp_path / "ronda.db"
    daemon = start(config, db)
    daemon.wait_running()
    store = Store(db)
    began = time.time()

    def rounds() -> int:
        return store.query("SELECT COALESCE(SUM(count), 0) AS n FROM probe_rounds")[0]["n"]

    wait_for(lambda: rounds() >= 12, "a few rounds of every site", daemon=daemon)
    # `ronda run` writes the status pages too ([status_page]), apart from the rounds.
    page = tmp_path / "www" / "cliente-500" / "index.html"
    wait_for(page.exists, "the status pages", daemon=daemon)
    assert "e500" in page.read_text(encoding="utf-8")
    daemon.kill()  # SIGKILL, wherever the rounds are
    first = heads_match_probe_state(store)
    rows_in_order(store)

    # Down longer than the measured gap (polling the clock: no fixed sleep).
    wait_for(lambda: time.time() > max(first.values()) + GAP + 0.2, "a gap", bound=GAP + 5)
    daemon = start(config, db)
    daemon.wait_running()
    mark = rounds()
    wait_for(lambda: rounds() >= mark + 9, "rounds after the restart", daemon=daemon)
    daemon.kill()
    second = heads_match_probe_state(store)
    rows_in_order(store)
    ended = max(second.values())

    parts = store.history.sites_intervals([s.name for s in SPECS], began - 5, ended)
    for name, intervals in parts.items():
        # The kill's silence is one unmeasured span from the last round before the kill to
        # the first one after the restart: never up, never down.
        restart = min(
            r["started_at"]
            for r in store.query(
                "SELECT started_at FROM site_history WHERE site = ? AND started_at > ?",
                (name, first[name]),
            )
        )
        silent = [i for i in intervals if i.state == "unmeasured" and i.start >= first[name] - 1e-6]
        assert silent and silent[0].start == pytest.approx(first[name])
        assert silent[0].end == pytest.approx(restart)
        assert silent[0].end - silent[0].start > GAP
        measured = {i.state for i in intervals if i.state != "unmeasured"}
        assert measured == ({"down"} if name == "e500" else {"up"}), name
        figures = uptime(intervals, began - 5, ended)
        assert figures.unmeasured_seconds > GAP
        assert figures.ratio == (0.0 if name == "e500" else 1.0)
    downs = store.query("SELECT DISTINCT class FROM site_history WHERE site = 'e500'")
    assert downs == [{"class": "http_500"}]
    # A row per change, not per probe: two runs, each site steady, a row per run.
    assert store.history.count() == 2 * len(SPECS)
    assert store.query("PRAGMA integrity_check") == [{"integrity_check": "ok"}]
    store.close()
