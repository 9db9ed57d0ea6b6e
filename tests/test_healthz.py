"""`/healthz` on a real exporter over loopback: 200 when the newest probe result is fresh and
the store takes a write, 503 with a one-line reason otherwise."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from clocks import Clock

from ronda.app.service import round_freshness
from ronda.config import Config, ProbeSettings, Site
from ronda.exporter.server import ExporterHandle, health_verdict, serve
from ronda.store import Store
from ronda.store.probes import ProbeStateRow

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def exporter(tmp_path: Path, clock: Clock) -> Iterator[tuple[Store, ExporterHandle]]:
    store = Store(tmp_path / "ronda.db")
    handle = serve(store, "127.0.0.1:0", clock, health_max_age=180.0)
    yield store, handle
    handle.stop()
    store.close()


def store_round(store: Store, at: datetime) -> None:
    row = ProbeStateRow(
        site="tienda",
        checked_at=at.timestamp(),
        up=True,
        failure_class="ok",
        status_code=200,
        elapsed_ms=80.0,
        phases_json="{}",
        cert_not_after=None,
        detail=None,
        in_maintenance=False,
        rules_json="{}",
    )
    store.probes.write_round([row], {}, {"tienda": 1})


def get(handle: ExporterHandle) -> tuple[int, str]:
    response = httpx.get(handle.health_url, timeout=10)
    assert response.headers["content-type"].startswith("text/plain")
    return response.status_code, response.text


def test_fresh_round_and_writable_store_is_200(exporter, clock: Clock) -> None:
    store, handle = exporter
    assert get(handle) == (503, "unhealthy: no probe result stored yet\n")
    store_round(store, NOW - timedelta(seconds=12))
    assert get(handle) == (200, "ok: newest probe result 12 s old; the store takes writes\n")
    head = httpx.head(handle.health_url, timeout=10)
    assert head.status_code == 200 and head.content == b""
    clock.advance(seconds=400)  # the rounds stopped storing
    assert get(handle) == (
        503,
        "unhealthy: the newest probe result is 412 s old (more than 180 s): "
        "are the rounds running?\n",
    )
    handle.health_max_age = 600.0  # a reloaded config with slower sites
    assert get(handle)[0] == 200


def test_a_store_that_cannot_take_a_write_is_503(exporter) -> None:
    store, handle = exporter
    store_round(store, NOW)
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # a writer stuck in its transaction
    try:
        assert get(handle) == (
            503,
            "unhealthy: another writer has held the store for over 1 s\n",
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert get(handle)[0] == 200  # and well again once it lets go


def test_without_sites_only_the_store_is_judged(tmp_path: Path, clock: Clock) -> None:
    store = Store(tmp_path / "ronda.db")
    handle = serve(store, "127.0.0.1:0", clock, health_max_age=None)
    try:
        assert get(handle) == (200, "ok: no sites to probe; the store takes writes\n")
        assert httpx.get(handle.url, timeout=10).status_code == 200  # /metrics as before
    finally:
        handle.stop()
        store.close()


def test_verdicts_and_freshness() -> None:
    assert health_verdict(100.0, 90.0, 60.0, "the store is read-only") == (
        503,
        "unhealthy: the store is read-only",
    )
    assert health_verdict(100.0, 130.0, 60.0, None)[1].startswith("ok: newest probe result 0 s")
    assert round_freshness(Config()) is None
    fast = Site("a", "http://127.0.0.1:1/", probe=ProbeSettings(interval=0.3, deadline=1))
    slow = Site("b", "http://127.0.0.1:2/", probe=ProbeSettings(interval=300, deadline=10))
    assert round_freshness(Config(sites=(fast,))) == 60.0  # at least a minute
    assert round_freshness(Config(sites=(fast, slow))) == 930.0  # 3 x (300 + 10)
