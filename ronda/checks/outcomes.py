"""A probe result as the incident rules see it: its failing checks, whether the site's home
page answered, the evidence a ticket keeps, and the rules' view of a round and of a ticket.
Pure: plain values in, plain values out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ronda.checks.incident_model import BLOCKING, Failure, Outcome, TicketView
from ronda.model import FailureClass, Ticket, family_of

if TYPE_CHECKING:
    from ronda.checks.probe import ProbeResult

EVIDENCE_BODY_CHARS = 2000  # the prober keeps less; a hard cap so a ticket row stays small


def failures_of(result: ProbeResult) -> tuple[Failure, ...]:
    """Every failing check of a result; the worst class alone when it lists no findings."""
    findings = [
        Failure(FailureClass(f.failure_class), f.priority, f.detail or "")
        for f in (getattr(result, "findings", None) or [])
        if FailureClass(f.failure_class) != FailureClass.OK
    ]
    if not findings and FailureClass(result.failure_class) != FailureClass.OK:
        findings = [
            Failure(FailureClass(result.failure_class), result.priority, result.detail or "")
        ]
    return tuple(findings)


def _home_class(failures: Sequence[Failure], home: FailureClass | None) -> FailureClass:
    """What the home page's own answer was: the prober says (`ProbeResult.home_class`);
    without it (a subject's check, a stand-in) the first failure, which is the home page's
    availability finding when there is one."""
    if home is not None:
        return FailureClass(home)
    return failures[0].failure_class if failures else FailureClass.OK


def home_up(failures: Sequence[Failure], home: FailureClass | None = None) -> bool:
    """The home page answered usefully (a 404 on a check path, a blocked feed, is a
    finding, not an outage)."""
    return _home_class(failures, home) not in BLOCKING


def blocked(failures: Sequence[Failure], home: FailureClass | None = None) -> bool:
    """A firewall or WAF stopped the probe of the home page (`blocked`): the round measured
    nothing of the site, which may serve every visitor but the desk."""
    return _home_class(failures, home) == FailureClass.BLOCKED


def measured_up(failures: Sequence[Failure], home: FailureClass | None = None) -> bool | None:
    """What the round says of the site's availability: `home_up`, or None when a firewall
    blocked the probe (not measured: neither up nor down)."""
    return None if blocked(failures, home) else home_up(failures, home)


def result_up(result: ProbeResult) -> bool | None:
    """`measured_up` of a result, with the home page's own class when the prober gave it."""
    return measured_up(failures_of(result), getattr(result, "home_class", None))


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def evidence_of(result: ProbeResult) -> dict:
    """The facts an agent needs on a ticket. The body excerpt stays raw: the TUI escapes."""
    return {
        "url": result.url,
        "final_url": result.final_url,  # after redirects (credentials masked)
        "peer": result.peer,  # the address the answer came from
        "status_code": result.status_code,
        "headers": dict(result.headers or {}),
        "body_excerpt": (result.body_excerpt or "")[:EVIDENCE_BODY_CHARS],
        "phases": {k: round(float(v), 6) for k, v in (result.phases or {}).items()},
        "elapsed_ms": round(float(result.elapsed_ms or 0.0), 3),
        "cert": {
            "not_after": _iso(result.cert_not_after),
            "subject": result.cert_subject,
            "issuer": result.cert_issuer,
        },
        "checked_at": _iso(result.started_at),
        # What a check saw besides the above (the WordPress checks: versions, PHP's end of
        # life, failing checks).
        **({"extra": dict(extra)} if (extra := getattr(result, "extra", None)) else {}),
    }


def outcome_of(result: ProbeResult, reprobe: ProbeResult | None = None) -> Outcome:
    """The rules' view of a round. With a re-probe, the re-probe is the round (fresher), and
    the families that failed both times are confirmed."""
    final = reprobe if reprobe is not None else result
    failures = failures_of(final)
    confirmed: frozenset[str] = frozenset()
    if reprobe is not None:
        first = {family_of(f.failure_class) for f in failures_of(result)}
        confirmed = frozenset(first & {family_of(f.failure_class) for f in failures})
    return Outcome(
        site=final.site,
        at=final.started_at,
        url=final.url,
        failures=failures,
        up=home_up(failures, getattr(final, "home_class", None)),
        evidence=evidence_of(final),
        confirmed_families=confirmed,
        reprobed=reprobe is not None,
        unchecked=frozenset(getattr(final, "unchecked", None) or ()),
    )


def ticket_view(ticket: Ticket) -> TicketView:
    return TicketView(
        id=ticket.id,
        case_number=ticket.case_number,
        is_open=ticket.status.is_open,
        priority=ticket.priority,
        failure_class=ticket.failure_class,
        touched_by_agent=ticket.touched_by_agent,
        resolved_at=ticket.resolved_at,
        parent_id=ticket.parent_id,
        evidence=ticket.evidence,
    )


__all__ = [
    "EVIDENCE_BODY_CHARS",
    "blocked",
    "evidence_of",
    "failures_of",
    "home_up",
    "measured_up",
    "outcome_of",
    "result_up",
    "ticket_view",
]
