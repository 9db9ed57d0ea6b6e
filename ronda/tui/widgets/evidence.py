"""What the probe saw, readable: one line on what failed and since when, the facts that
matter for that class of failure, and every raw fact below (folded on the ticket screen).

Certificates show their issuer and the days left; a slow site which phase took the time; a
WordPress or PHP error page the matched message, highlighted in the page excerpt; a refused
connection only what it has (no `status_code: None`). Instants are in the desk's zone.

Everything here comes from the probed site: it passes through `ronda.display.visible` and
is appended to `Text` objects, never parsed as markup, so `[red]` or `[@click=app.quit]` in
a page shows as written and does nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime

from rich.text import Text

from ronda.display import visible
from ronda.model import FailureClass
from ronda.page_signatures import matched_span
from ronda.store import from_epoch
from ronda.tui.data import format_when

# Raw facts shown first, in this order; any other key follows, so nothing is hidden.
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
# Characters of the page shown around a matched error message in the summary.
EXCERPT_AROUND = 100
PHASE_ORDER = ("dns", "connect", "tls", "first_byte", "transfer")
MATCH_STYLE = "bold black on yellow"

FC = FailureClass
_WHAT: dict[FailureClass, str] = {
    FC.REFUSED: "refused",
    FC.DNS: "dns",
    FC.TIMEOUT: "timeout",
    FC.HTTP_500: "http",
    FC.HTTP_502: "http",
    FC.HTTP_503: "http",
    FC.HTTP_403: "http",
    FC.HTTP_404: "http",
    FC.WP_DB_CONNECTION: "wordpress",
    FC.PHP_FATAL: "php",
    FC.PHP_FATAL_TIMEOUT: "php",
    FC.PHP_SYNTAX_ERROR: "php",
    FC.WHITE_SCREEN: "white_screen",
    FC.REDIRECT_LOOP: "redirect",
    FC.REDIRECT_REFUSED: "redirect",
    FC.SSL_EXPIRED: "certificate",
    FC.SSL_UNTRUSTED: "certificate",
    FC.SSL_HOSTNAME: "certificate",
    FC.SSL_EXPIRING: "expiring",
    FC.WP_MAINTENANCE: "maintenance",
    FC.SLOW: "slow",
    FC.CONTENT_MISSING: "content",
    FC.RSS_INVALID: "rss",
}
CERT_CLASSES = frozenset({FC.SSL_EXPIRED, FC.SSL_UNTRUSTED, FC.SSL_HOSTNAME, FC.SSL_EXPIRING})
PAGE_CLASSES = frozenset(
    {
        FC.WP_DB_CONNECTION,
        FC.PHP_FATAL,
        FC.PHP_FATAL_TIMEOUT,
        FC.PHP_SYNTAX_ERROR,
        FC.WP_MAINTENANCE,
        FC.WHITE_SCREEN,
        FC.HTTP_500,
        FC.HTTP_502,
        FC.HTTP_503,
        FC.HTTP_403,
        FC.HTTP_404,
    }
)


def _empty(value: object) -> bool:
    return value is None or value == "" or value == {} or value == []


def _scalar(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    if isinstance(value, (dict, list)):
        return visible(json.dumps(value, ensure_ascii=False, default=str))
    return visible(value)


def _parse_instant(value: object) -> datetime | None:
    try:
        if isinstance(value, bool):
            return None
        if isinstance(value, (int, float)):
            return from_epoch(float(value))
        if isinstance(value, str):
            at = datetime.fromisoformat(value)
            return at if at.tzinfo is not None else None
    except (ValueError, OverflowError, OSError):
        pass
    return None


def _instant(value: object) -> str:
    """Epoch floats and ISO strings as local times; anything else as it is."""
    at = _parse_instant(value)
    return format_when(at) if at is not None else _scalar(value)


def _ms(seconds: object) -> str:
    # Probes time phases in seconds (ronda.checks.classify.Observation.phases).
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
        return f"{seconds * 1000:.0f} ms"
    return _scalar(seconds)


def failure_of(evidence: Mapping[str, object], failure_class: object) -> FailureClass | None:
    value = failure_class or evidence.get("failure_class")
    try:
        return FailureClass(str(value)) if value else None
    except ValueError:
        return None


def headline(
    evidence: Mapping[str, object],
    failure_class: FailureClass | None,
    t: Callable[..., str],
    opened_at: datetime | None = None,
) -> Text:
    """`The server refused the connection · since 2026-12-04 08:20 -05`."""
    out = Text()
    what = _WHAT.get(failure_class) if failure_class else None
    if what == "http":
        code = evidence.get("status_code") or str(failure_class).removeprefix("http_")
        out.append(t("evidence.what.http", code=_scalar(code)), style="bold")
    elif what is not None:
        out.append(t(f"evidence.what.{what}"), style="bold")
    else:
        shown = str(failure_class) if failure_class else "-"
        out.append(t("evidence.what.other", code=shown), style="bold")
    since = _parse_instant(evidence.get("first_failure_at")) or opened_at
    if since is not None:
        out.append(" · ")
        out.append(t("evidence.since", when=format_when(since)))
    return out


def _fact(out: Text, label: str, value: str, style: str = "") -> None:
    out.append(f"{label}: ", style="dim")
    out.append(value, style=style)
    out.append("\n")


def _certificate(out: Text, cert: Mapping, t: Callable[..., str], now: datetime | None) -> None:
    if not _empty(cert.get("issuer")):
        _fact(out, t("evidence.issuer"), _scalar(cert["issuer"]))
    if not _empty(cert.get("subject")):
        _fact(out, t("evidence.cert_subject"), _scalar(cert["subject"]))
    not_after = _parse_instant(cert.get("not_after"))
    if not_after is None:
        return
    line = format_when(not_after)
    if now is not None:
        days = int((not_after - now).total_seconds() // 86400)
        if days >= 0:
            line += f" ({t('evidence.days_left', days=days)})"
            style = "bold red" if days <= 7 else ("yellow" if days <= 30 else "")
        else:
            line += f" ({t('evidence.expired_days', days=-days)})"
            style = "bold red"
        _fact(out, t("evidence.expires"), line, style)
    else:
        _fact(out, t("evidence.expires"), line)


def _phases(out: Text, phases: Mapping, elapsed: object, t: Callable[..., str]) -> None:
    timed = {k: v for k, v in phases.items() if isinstance(v, (int, float))}
    if not timed:
        return
    slowest = max(timed, key=lambda k: timed[k])
    total = sum(timed.values())
    share = f" ({timed[slowest] / total:.0%})" if total > 0 else ""
    _fact(
        out,
        t("evidence.slowest"),
        f"{t(f'phase.{slowest}', default=visible(slowest))} {_ms(timed[slowest])}{share}",
        "bold",
    )
    order = [k for k in PHASE_ORDER if k in timed] + [k for k in timed if k not in PHASE_ORDER]
    line = Text()
    for i, name in enumerate(order):
        if i:
            line.append("  ")
        line.append(
            f"{t(f'phase.{name}', default=visible(name))} {_ms(timed[name])}",
            style="bold" if name == slowest else "dim",
        )
    out.append(line)
    out.append("\n")
    if isinstance(elapsed, (int, float)) and not isinstance(elapsed, bool) and elapsed:
        _fact(out, t("evidence.total"), f"{elapsed:.0f} ms")


def excerpt_text(body: str, *, around: int | None = None) -> Text:
    """The page excerpt, literal, with a matched WordPress/PHP message highlighted; with
    `around`, only that many characters either side of the match."""
    body = visible(body, lines=True)
    span = matched_span(body)
    out = Text(style="italic")
    if span is None:
        out.append(body[:BODY_LIMIT] + (" …" if len(body) > BODY_LIMIT else ""))
        return out
    start, end = span
    lo, hi = 0, len(body)
    if around is not None:
        lo, hi = max(0, start - around), min(len(body), end + around)
    elif len(body) > BODY_LIMIT:
        lo = max(0, min(start - BODY_LIMIT // 2, len(body) - BODY_LIMIT))
        hi = lo + BODY_LIMIT
    if lo:
        out.append("… ")
    out.append(body[lo:start])
    out.append(body[start:end], style=MATCH_STYLE)
    out.append(body[end:hi])
    if hi < len(body):
        out.append(" …")
    return out


def summary_text(
    evidence: Mapping[str, object],
    t: Callable[..., str],
    *,
    failure_class: object = None,
    opened_at: datetime | None = None,
    now: datetime | None = None,
) -> Text:
    """What failed and since when, then the facts that matter for that class."""
    out = Text()
    if not evidence:
        out.append(t("ticket.no_evidence"), style="dim")
        return out
    cls = failure_of(evidence, failure_class)
    out.append(headline(evidence, cls, t, opened_at))
    out.append("\n")
    last = _parse_instant(evidence.get("last_failure_at"))
    if last is not None:
        out.append(t("evidence.last_seen", when=format_when(last)), style="dim")
        out.append("\n")
    url = evidence.get("url")
    if not _empty(url):
        _fact(out, t("evidence.url"), _scalar(url))
    final = evidence.get("final_url")
    if not _empty(final) and final != url:
        _fact(out, t("evidence.final_url"), _scalar(final))
    status = evidence.get("status_code")
    if not _empty(status):
        _fact(out, t("evidence.status"), _scalar(status))
    for key in ("detail", "error"):
        if not _empty(evidence.get(key)):
            _fact(out, t(f"evidence.{key}"), _scalar(evidence[key]))
    cert = evidence.get("cert")
    if cls in CERT_CLASSES and isinstance(cert, Mapping):
        _certificate(out, cert, t, now)
    phases = evidence.get("phases")
    if cls is FC.SLOW and isinstance(phases, Mapping):
        _phases(out, phases, evidence.get("elapsed_ms"), t)
    body = evidence.get("body_excerpt")
    if cls in PAGE_CLASSES and isinstance(body, str) and body.strip():
        out.append(f"{t('evidence.excerpt')}:\n", style="dim")
        out.append(excerpt_text(body, around=EXCERPT_AROUND))
        out.append("\n")
    out.rstrip()
    return out


def key_words(name: str, t: Callable[..., str]) -> str:
    """A raw fact's name in the UI language (English keeps the stored key)."""
    return t(f"evidence.key.{name}", default=visible(name))


def evidence_text(evidence: Mapping[str, object], t: Callable[..., str]) -> Text:
    """Every raw fact the probe recorded, literal; empty values left out."""
    out = Text()
    if not evidence:
        out.append(t("ticket.no_evidence"), style="dim")
        return out

    def label(name: str) -> None:
        out.append(f"{key_words(name, t)}: ", style="bold")

    keys = [k for k in KNOWN_KEYS if k in evidence]
    keys += sorted(k for k in evidence if k not in KNOWN_KEYS)
    for key in keys:
        value = evidence[key]
        if _empty(value):
            continue
        if key == "phases" and isinstance(value, Mapping):
            label(key)
            out.append("  ".join(f"{visible(name)} {_ms(v)}" for name, v in value.items()))
            out.append("\n")
        elif isinstance(value, Mapping):
            shown = {k: v for k, v in value.items() if not _empty(v)}
            if not shown:
                continue
            label(key)
            out.append("\n")
            for name, v in shown.items():
                text = _instant(v) if str(name).endswith(("_at", "not_after")) else _scalar(v)
                # Header names are the site's own words, shown as sent.
                shown_name = visible(name) if key == "headers" else key_words(str(name), t)
                out.append(f"  {shown_name}: {text}\n", style="dim" if key == "headers" else "")
        elif key == "body_excerpt":
            label(key)
            out.append("\n")
            out.append(excerpt_text(str(value)))
            out.append("\n")
        elif key.endswith("_at") or key in ("first_failure", "last_failure"):
            label(key)
            out.append(_instant(value) + "\n")
        else:
            label(key)
            out.append(_scalar(value) + "\n")
    out.rstrip()
    return out


__all__ = ["evidence_text", "excerpt_text", "headline", "key_words", "summary_text"]
