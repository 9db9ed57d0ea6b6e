"""Webmail and cPanel: HTTPS ports probed through the web prober, seen as a service."""

from __future__ import annotations

from ronda.checks.probe import Prober
from ronda.checks.services.session import Seen, shown
from ronda.checks.tls import CertFacts
from ronda.config import ProbeSettings
from ronda.config.services import ServiceCheck

_DOWN = {"refused": "refused", "dns": "dns", "timeout": "timeout", "protocol": "greeting"}


async def converse(check: ServiceCheck, prober: Prober) -> Seen:
    """GET the service's page (redirects followed as for a site); any answer below 500
    means it serves, a login page included."""
    settings = ProbeSettings(deadline=check.deadline, max_body_bytes=64 * 1024)
    obs = await prober.probe_url(check.url, settings)
    seen = Seen(tls="implicit", peer=obs.peer, elapsed=obs.total, phases=dict(obs.phases))
    if obs.cert_not_after is not None or obs.cert_subject is not None:
        seen.cert = CertFacts(obs.cert_not_after, obs.cert_subject, obs.cert_issuer)
    if obs.status_code is not None:
        seen.greeting = shown(f"HTTP {obs.status_code} {obs.headers.get('server', '')}".strip())
    error = obs.error
    if error is not None and error.startswith("ssl_"):
        seen.error, seen.detail = error, shown(obs.error_detail)
    elif error is not None:
        seen.error = _DOWN.get(error, "greeting")
        seen.detail = shown(obs.error_detail or error)
    elif obs.status_code is None or obs.status_code >= 500:
        seen.error, seen.detail = "greeting", f"answered HTTP {obs.status_code}"
    return seen
