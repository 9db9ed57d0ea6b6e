"""What a round reports: its events (one log line each) and its items (a probe result with
the immediate re-probe the rules asked for). The round runner (`ronda.checks.rounds`) makes
them and re-exports them; callers hook `EventSink`s to log them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ronda.checks.probe import ProbeResult


class RoundEventKind(StrEnum):
    """What a round event says happened."""

    TICKET_OPENED = "ticket_opened"
    TICKET_UPDATED = "ticket_updated"
    TICKET_REPRIORITIZED = "ticket_reprioritized"
    TICKET_REOPENED = "ticket_reopened"
    TICKET_RECOVERED = "ticket_recovered"
    TICKET_RESOLVED = "ticket_resolved"
    TICKET_LINKED = "ticket_linked"
    SITE_DOWN = "site_down"
    SITE_UP = "site_up"
    CONFIG_RELOADED = "config_reloaded"
    DESK_BLIND = "desk_blind"  # the desk cannot see: nothing opens until it sees again
    DESK_SEES = "desk_sees"
    CANARIES = "canaries"  # a canary stopped (or started again) answering
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class RoundEvent:
    """One thing worth a log line: a ticket opened/updated/resolved, a site down or up."""

    kind: RoundEventKind
    message: str
    site: str | None = None
    case_number: str | None = None

    def __post_init__(self) -> None:
        # The rules' notices name their kind as text; an unknown one is a bug, said here.
        object.__setattr__(self, "kind", RoundEventKind(self.kind))

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class RoundItem:
    """One site's round: the probe result and, when the rules asked, the immediate re-probe."""

    result: ProbeResult
    reprobe: ProbeResult | None = None


EventSink = Callable[[RoundEvent], object]


__all__ = ["EventSink", "RoundEvent", "RoundEventKind", "RoundItem"]
