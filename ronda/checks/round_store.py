"""What a batch of rounds writes: each site's latest probe state, the counters, the rules'
memory and the site history, built from the batch and stored in ONE transaction."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ronda.checks.outcomes import failures_of, result_up
from ronda.store.history import HistoryRow
from ronda.store.probes import ProbeStateRow
from ronda.uptime import DOWN, MAINTENANCE, UNMEASURED, UP, measured_gap

if TYPE_CHECKING:
    from ronda.checks.incidents import SiteState
    from ronda.checks.probe import ProbeResult
    from ronda.config import Site
    from ronda.store import Store


def history_row(
    site: Site, result: ProbeResult, maintenance: bool, blind: bool = False
) -> HistoryRow:
    """The history's verdict on one (final) probe result: not measured while the desk
    cannot see or a firewall blocks its probes (`blocked`), maintenance whatever the site
    did inside a window, else up or down (with its class) as the home page answered."""
    up = result_up(result)
    if blind or up is None:
        state, cls = UNMEASURED, None
    elif maintenance:
        state, cls = MAINTENANCE, None
    elif up:
        state, cls = UP, None
    else:
        failures = failures_of(result)
        state = DOWN
        cls = str(failures[0].failure_class) if failures else str(result.failure_class)
    return HistoryRow(
        site.name,
        result.started_at.timestamp(),
        state,
        cls,
        measured_gap(site.probe.interval, site.probe.deadline),
    )


def store_batch(
    store: Store,
    latest: Mapping[str, tuple[ProbeResult, bool, SiteState]],
    failures: Mapping[tuple[str, str], int],
    rounds_count: Mapping[str, int],
    history: Sequence[HistoryRow] = (),
) -> dict[str, float]:
    """Store the batch; returns site -> the instant of its stored result."""
    states = []
    checked: dict[str, float] = {}
    for name, (result, maintenance, state) in latest.items():
        checked_at = result.started_at.timestamp()
        states.append(
            ProbeStateRow(
                site=name,
                checked_at=checked_at,
                # None for a blocked probe: the store keeps the last measured value.
                up=result_up(result),
                failure_class=str(result.failure_class),
                status_code=result.status_code,
                elapsed_ms=float(result.elapsed_ms or 0.0),
                phases_json=json.dumps(dict(result.phases or {})),
                cert_not_after=result.cert_not_after.timestamp() if result.cert_not_after else None,
                detail=result.detail or None,
                in_maintenance=maintenance,
                rules_json=json.dumps(state.to_json()),
                wordpress=(getattr(result, "extra", None) or {}).get("wordpress"),
            )
        )
        checked[name] = checked_at
    store.probes.write_round(states, failures, rounds_count, history)
    return checked
