"""Messages the workers post to the UI thread."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from ronda.tui.data import QueueSnapshot


@dataclass
class TicketsChanged(Message):
    """A fresh queue snapshot. Coalesced: if the UI is behind, only the newest counts."""

    snapshot: QueueSnapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, TicketsChanged)


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
