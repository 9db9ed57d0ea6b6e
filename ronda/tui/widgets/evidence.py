"""What the probe saw, as literal text: status, phase timings, certificate, headers, body.

The body excerpt and headers come from the probed site; they are appended to `Text`
objects, so `[red]` or `[@click=app.quit]` in a page shows as written and does nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime

from rich.text import Text

from ronda.store import from_epoch
from ronda.tui.data import format_when

# Shown first, in this order; any other key follows, so nothing a probe records is hidden.
KNOWN_KEYS = (
    "url",
    "final_url",
    "peer",
    "status_code",
    "elapsed_ms",
    "phases",
    "cert",
    "first_failure",
    "first_failure_at",
    "last_failure",
    "last_failure_at",
    "detail",
    "error",
    "headers",
    "body_excerpt",
)
BODY_LIMIT = 2000


def _scalar(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _instant(value: object) -> str:
    """Epoch floats and ISO strings as local times; anything else as it is."""
    try:
        if isinstance(value, (int, float)):
            return format_when(from_epoch(float(value)))
        if isinstance(value, str):
            return format_when(datetime.fromisoformat(value))
    except (ValueError, OverflowError, OSError):
        pass
    return _scalar(value)


def _phase(value: object) -> str:
    # Probes time phases in seconds (ronda.checks.classify.Observation.phases).
    if isinstance(value, (int, float)):
        return f"{value * 1000:.0f} ms"
    return _scalar(value)


def evidence_text(evidence: Mapping[str, object], t: Callable[..., str]) -> Text:
    """A readable, literal rendering of `ticket.evidence`."""
    out = Text()
    if not evidence:
        out.append(t("ticket.no_evidence"), style="dim")
        return out

    def label(name: str) -> None:
        out.append(f"{name}: ", style="bold")

    keys = [k for k in KNOWN_KEYS if k in evidence]
    keys += sorted(k for k in evidence if k not in KNOWN_KEYS)
    for key in keys:
        value = evidence[key]
        if key == "phases" and isinstance(value, Mapping):
            label(key)
            out.append("  ".join(f"{name} {_phase(v)}" for name, v in value.items()))
            out.append("\n")
        elif key == "cert" and isinstance(value, Mapping):
            label(key)
            out.append("\n")
            for name, v in value.items():
                out.append(f"  {name}: {_scalar(v)}\n")
        elif key == "headers" and isinstance(value, Mapping):
            label(key)
            out.append("\n")
            for name, v in value.items():
                out.append(f"  {name}: {_scalar(v)}\n", style="dim")
        elif key == "body_excerpt":
            label(key)
            out.append("\n")
            body = str(value)
            if len(body) > BODY_LIMIT:
                body = body[:BODY_LIMIT] + " …"
            out.append(body + "\n", style="italic")
        elif key.endswith("_at") or key in ("first_failure", "last_failure"):
            label(key)
            out.append(_instant(value) + "\n")
        else:
            label(key)
            out.append(_scalar(value) + "\n")
    out.rstrip()
    return out
