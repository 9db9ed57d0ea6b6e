"""What a service conversation means: its findings and its evidence. Pure.

A service that does not answer as its protocol promises is down (`mail_down`,
`access_down`: the family "down", a server-level class). Once it answers, TLS is judged
apart (the family "tls"): a certificate expired, untrusted or for another host, a handshake
that fails, or STARTTLS (AUTH TLS) not offered where it is expected; a valid certificate
close to its end is `mail_tls_expiring` (medium within the critical days).
"""

from __future__ import annotations

from datetime import datetime

from ronda.checks.classify import Finding
from ronda.checks.services.session import Seen
from ronda.config.services import ServiceCheck
from ronda.model import FailureClass as FC
from ronda.model import Priority

DOWN_ERRORS = frozenset({"dns", "refused", "timeout", "closed", "too_long", "greeting"})
CERT_ERRORS = {
    "ssl_expired": "certificate expired",
    "ssl_untrusted": "certificate not trusted",
    "ssl_hostname": "certificate for another host",
}


def days_left(seen: Seen, now: datetime) -> float | None:
    if seen.cert is None or seen.cert.not_after is None:
        return None
    return (seen.cert.not_after - now).total_seconds() / 86400


def findings(check: ServiceCheck, name: str, seen: Seen, now: datetime) -> list[Finding]:
    """The failing checks of one conversation, the availability one first."""
    mail = check.kind.family == "mail"
    down = FC.MAIL_DOWN if mail else FC.ACCESS_DOWN
    invalid = FC.MAIL_TLS_INVALID if mail else FC.ACCESS_TLS_INVALID
    error = seen.error
    if error in DOWN_ERRORS:
        return [Finding(down, None, f"{name}: {seen.detail}")]
    if error == "no_starttls":
        return [Finding(invalid, None, f"{name}: {seen.detail}")]
    if error == "tls":
        return [Finding(invalid, None, f"{name}: {seen.detail}")]
    if error in CERT_ERRORS:
        what = CERT_ERRORS[error]
        cls = FC.MAIL_TLS_EXPIRED if mail and error == "ssl_expired" else invalid
        left = days_left(seen, now)
        since = f", {-left:.0f} days ago" if error == "ssl_expired" and left is not None else ""
        return [Finding(cls, None, f"{name}: {what}{since}")]
    left = days_left(seen, now)
    if mail and left is not None and left < check.cert_warning_days:
        if left <= 0:  # verified moments before it ran out
            return [Finding(FC.MAIL_TLS_EXPIRED, None, f"{name}: certificate expired")]
        priority = Priority.MEDIUM if left < check.cert_critical_days else None
        return [Finding(FC.MAIL_TLS_EXPIRING, priority, f"{name}: {left:.0f} days left")]
    return []


def evidence(check: ServiceCheck, seen: Seen, now: datetime) -> dict:
    """What the conversation saw, for the ticket: plain, bounded, already visible text."""
    out: dict = {
        "service": check.service,
        "host": check.host,
        "port": check.port,
        "tls_mode": check.tls,
        "tls": seen.tls,
        "error": seen.error,
    }
    out["banner" if check.kind.protocol in ("ssh", "ftp") else "greeting"] = seen.greeting
    if seen.cert is not None:
        left = days_left(seen, now)
        out["cert"] = {
            "subject": seen.cert.subject,
            "issuer": seen.cert.issuer,
            "not_after": seen.cert.not_after.isoformat() if seen.cert.not_after else None,
            "days_left": round(left, 1) if left is not None else None,
        }
    return out
