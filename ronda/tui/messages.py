"""Messages the workers post to the UI thread."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from ronda.store.queue import ChangeStamp
from ronda.tui.data import QueueSnapshot, SlaCounts


@dataclass
class TicketsChanged(Message):
    """A fresh queue snapshot. Coalesced: if the UI is behind, only the newest counts."""

    snapshot: QueueSnapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, TicketsChanged)


@dataclass
class CountsLoaded(Message):
    """The header's counts by SLA state for the store as of `stamp`."""

    stamp: ChangeStamp | None
    counts: SlaCounts


@dataclass
class PollFailed(Message):
    """The store could not be read; the poller retries after `retry_in` seconds."""

    error: str
    retry_in: float

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PollFailed)


@dataclass
class PollRecovered(Message):
    """The store answers again after a failure."""
