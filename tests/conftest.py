"""Fixtures every part of the suite shares: a real store in a fresh SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ronda.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A new desk database (WAL, migrated) in the test's own directory, closed after."""
    store = Store(tmp_path / "ronda.db")
    yield store
    store.close()
