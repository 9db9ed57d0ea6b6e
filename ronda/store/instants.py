"""Instants as the store keeps them: UTC epoch seconds (REAL), so SLA arithmetic and ordering
stay cheap in SQL; the desk works with aware datetimes."""

from __future__ import annotations

from datetime import UTC, datetime


def to_epoch(at: datetime | None) -> float | None:
    if at is None:
        return None
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at.isoformat()} given to the store; use aware times")
    return at.timestamp()


def from_epoch(value: float | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(value, UTC)


__all__ = ["from_epoch", "to_epoch"]
