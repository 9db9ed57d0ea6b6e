"""What "probe now" answers in the TUI, and the one line that tells it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ronda.display import visible


class ProbedSite(Protocol):
    """What "probe now" answers for a site (`ronda.checks.probe_now.SiteProbe`): the TUI
    reads the result's class, HTTP status and time."""

    @property
    def result(self) -> Any: ...


# site name -> what the probe saw (a ProbedSite; a plain text is shown as it is).
ProbeNow = Callable[[str], "ProbedSite | str | None"]


def probe_summary(probed: ProbedSite | str | None) -> str:
    """One line for the toast: `http_500 (HTTP 500, 42 ms)`, or `timeout (no answer, ...)`;
    for a check subject, what was checked: `mail_down (smtp://mail.srv-a:587, 40 ms)`."""
    if probed is None or isinstance(probed, str):
        return probed or ""
    result = probed.result
    elapsed = round(float(result.elapsed_ms or 0.0), 3)
    if getattr(probed, "subject", False):  # a service or a domain: what was checked
        return f"{result.failure_class} ({visible(str(result.url))}, {elapsed:.0f} ms)"
    seen = f"HTTP {result.status_code}" if result.status_code else "no answer"
    return f"{result.failure_class} ({seen}, {elapsed:.0f} ms)"


__all__ = ["ProbeNow", "ProbedSite", "probe_summary"]
