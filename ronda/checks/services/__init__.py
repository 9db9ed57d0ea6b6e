"""A server's mail and access services as check subjects of kind "service".

SMTP (25, 587 with STARTTLS; 465 implicit TLS), IMAP (143 STARTTLS, 993), POP3 (110 STLS,
995), SSH's banner, FTP's banner and AUTH TLS, and webmail/cPanel as HTTPS. Each check
connects, reads the greeting or banner (bounded in size, lines and time), sets up TLS as
configured, verifies the certificate (trust, name, expiry, days left) and times each phase;
`verdict` says what that means. Configured on `[[servers.services]]`
(`ronda.config.services`).
"""

from __future__ import annotations

from ronda.checks import subjects
from ronda.checks.probe import ProbeResult
from ronda.checks.services import banner, imap, pop3, smtp, verdict
from ronda.checks.services.session import Dialogue, Seen, converse
from ronda.checks.subjects import CheckContext, Subject
from ronda.checks.tls import CertFacts
from ronda.config.services import KIND, ServiceCheck
from ronda.model import FailureClass

DIALOGUES: dict[str, Dialogue] = {
    "smtp": smtp.dialogue,
    "imap": imap.dialogue,
    "pop3": pop3.dialogue,
    "ssh": banner.ssh,
    "ftp": banner.ftp,
}


async def see(check: ServiceCheck, context: CheckContext) -> Seen:
    """One look at a service; a certificate that fails verification is read again over a
    non-verifying connection, so its dates and names can be reported."""
    protocol = check.kind.protocol
    if protocol == "https":
        from ronda.checks.services.https import converse as https

        return await https(check, context.get_prober())
    dialogue = DIALOGUES[protocol]
    seen = await converse(check, context.ssl_context, dialogue)
    if seen.error in verdict.CERT_ERRORS and seen.cert is None:
        again = await converse(check, context.insecure_context, dialogue)
        seen.cert = again.cert or CertFacts(None, None, None)
    return seen


async def check_service(subject: Subject, context: CheckContext) -> ProbeResult:
    check = subject.check
    assert isinstance(check, ServiceCheck)
    started = context.clock()
    seen = await see(check, context)
    now = context.clock()
    result = subjects.result(subject, subject.url, started)
    result.findings = verdict.findings(check, subject.name, seen, now)
    if result.findings:
        first = result.findings[0]
        result.failure_class, result.priority = first.failure_class, first.priority
        result.detail = first.detail
    else:
        result.failure_class = FailureClass.OK
    result.elapsed_ms = seen.elapsed * 1000
    result.phases = {k: round(v, 6) for k, v in seen.phases.items()}
    result.peer = seen.peer
    if seen.cert is not None:
        result.cert_not_after = seen.cert.not_after
        result.cert_subject, result.cert_issuer = seen.cert.subject, seen.cert.issuer
    result.extra = verdict.evidence(check, seen, now)
    return result


subjects.register(KIND, check_service)

__all__ = ["DIALOGUES", "check_service", "see"]
