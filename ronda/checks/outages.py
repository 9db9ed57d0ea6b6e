"""Server outages: many sites of one server failing together make one parent incident.

`correlate_server` looks at one server's round (`ServerRound`: its sites, those confirmed
down with a server-level class) and the server's latest parent ticket, and returns the
actions that open, update, reopen or resolve that parent and link the sites' own down
tickets under it. Pure: no I/O, no clock (the instant is passed in).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from ronda.checks.incident_model import (
    SERVER,
    Action,
    LinkChild,
    OpenTicket,
    RecordEvent,
    Reopen,
    Resolve,
    TicketView,
    category_of,
    class_priority_of,
    iso_utc,
    server_dedupe_key,
)
from ronda.config import IncidentSettings
from ronda.model import FailureClass, Impact, Priority

FC = FailureClass


@dataclass(frozen=True, slots=True)
class ServerRound:
    """One server as a round sees it: its sites and which of them are down together."""

    name: str
    sites: tuple[str, ...]
    failing: tuple[str, ...]  # confirmed down, seen failing within the outage window
    impact: Impact = Impact.MEDIUM  # the highest impact among its sites
    in_maintenance: bool = False


def outage_threshold_met(failing: int, total: int, settings: IncidentSettings) -> bool:
    """K sites, or a share of a server of at least two sites (and never a lone site)."""
    if failing >= settings.outage_min_sites:
        return True
    return total >= 2 and failing >= 2 and failing / total >= settings.outage_fraction


def correlate_server(
    server: ServerRound,
    parent: TicketView | None,
    children: Mapping[str, TicketView | None],
    settings: IncidentSettings,
    now: datetime,
    class_priority: Mapping[FailureClass, Priority] | None = None,
) -> list[Action]:
    """Open, update or resolve the one parent incident of a server.

    `parent` is the server's latest parent ticket (open or not); `children` maps each
    failing site to its open down ticket (or None), to be linked under the parent.
    """
    ts = now.timestamp()
    n, total = len(server.failing), len(server.sites)
    failing = sorted(server.failing)
    summary = f"{n} of {total} sites failing"
    evidence = {
        "server": server.name,
        "failing_sites": failing,
        "failing": n,
        "total": total,
        "checked_at": iso_utc(ts),
        "recovered": False,
    }
    parent_open = parent is not None and parent.is_open

    def recurrence(ticket_id: int) -> RecordEvent:
        text = f"Server {server.name}: {summary}: {', '.join(failing)}"
        return RecordEvent(SERVER, ticket_id, "recurrence", text, evidence)

    def new_failing_set(open_parent: TicketView) -> list[Action]:
        """A recurrence on the open parent when the set of failing sites changed."""
        if sorted(open_parent.evidence.get("failing_sites") or []) == failing:
            return []
        return [recurrence(open_parent.id)]

    actions: list[Action] = []
    if outage_threshold_met(n, total, settings):
        if parent_open:
            assert parent is not None
            actions += new_failing_set(parent)
            parent_id: int | None = parent.id
        elif server.in_maintenance:
            return []
        elif parent is not None and _server_recently_resolved(parent, ts, settings):
            if parent.touched_by_agent:
                return []  # an agent closed it minutes ago: the site tickets still speak
            actions += [Reopen(SERVER, parent.id, f"{summary} again"), recurrence(parent.id)]
            parent_id = parent.id
        else:
            subject = f"Server {server.name} down: {summary}"
            actions.append(
                OpenTicket(
                    family=SERVER,
                    dedupe_key=server_dedupe_key(server.name),
                    subject=subject,
                    failure_class=FC.SERVER_OUTAGE,
                    priority=class_priority_of(FC.SERVER_OUTAGE, class_priority),
                    impact=server.impact,
                    site=None,
                    customer=None,
                    evidence={**evidence, "first_failure_at": iso_utc(ts)},
                    body=f"{subject}: {', '.join(failing)}",
                    category=category_of(SERVER),
                )
            )
            parent_id = None
        for name in failing:
            child = children.get(name)
            if (
                child is not None
                and child.is_open
                and (parent_id is None or child.parent_id != parent_id)
            ):
                actions.append(LinkChild(child.id, parent_id))
        return actions
    if parent_open and n <= 1:
        assert parent is not None
        if parent.evidence.get("recovered"):
            return []  # said once; an agent keeps it open for their own reasons
        actions.append(
            RecordEvent(
                SERVER,
                parent.id,
                "recovered",
                f"Server {server.name} recovered: {summary}",
                {**evidence, "recovered": True},
            )
        )
        if not parent.touched_by_agent:
            actions.append(Resolve(SERVER, parent.id, "server recovered"))
    elif parent_open:
        assert parent is not None
        actions += new_failing_set(parent)
    return actions


def _server_recently_resolved(parent: TicketView, now: float, settings: IncidentSettings) -> bool:
    return parent.resolved_at is not None and now - parent.resolved_at.timestamp() < max(
        settings.flap_window, settings.outage_window
    )


__all__ = ["ServerRound", "correlate_server", "outage_threshold_met"]
