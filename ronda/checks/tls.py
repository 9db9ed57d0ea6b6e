"""TLS for probes: one reusable verifying SSL context, and the facts of a peer certificate.

Building an `SSLContext` loads the CA store (tens of milliseconds), so a prober builds one
at start and reuses it for every handshake (see docs/probe-costs.md). When verification
fails the reason is kept (expired, untrusted, wrong host) and the certificate is fetched a
second time over a non-verifying context so its dates can still be reported.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

# OpenSSL X509_V_ERR_* codes carried by ssl.SSLCertVerificationError.verify_code.
_X509_EXPIRED = 10
_X509_NOT_YET_VALID = 9
_X509_HOSTNAME_MISMATCH = 62
_X509_IP_MISMATCH = 64


@dataclass(frozen=True, slots=True)
class CertFacts:
    """What a probe reports about the certificate a server presented."""

    not_after: datetime | None
    subject: str | None
    issuer: str | None


def build_ssl_context(extra_ca: Path | None = None) -> ssl.SSLContext:
    """The verifying client context: system trust store plus `extra_ca` (a PEM file or dir)."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if extra_ca is not None:
        path = Path(extra_ca)
        if path.is_dir():
            ctx.load_verify_locations(capath=str(path))
        else:
            ctx.load_verify_locations(cafile=str(path))
    # Probes speak HTTP/1.1 only; saying so lets a server skip h2 negotiation paths.
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def build_insecure_context() -> ssl.SSLContext:
    """A context that accepts any certificate: only to read a certificate that failed."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def verify_error_kind(exc: ssl.SSLCertVerificationError) -> str:
    """Map a verification failure to an error kind: ssl_expired, ssl_hostname or ssl_untrusted."""
    code = getattr(exc, "verify_code", None)
    if code == _X509_EXPIRED:
        return "ssl_expired"
    if code in (_X509_HOSTNAME_MISMATCH, _X509_IP_MISMATCH):
        return "ssl_hostname"
    message = str(getattr(exc, "verify_message", "") or exc).lower()
    if "expired" in message:
        return "ssl_expired"
    if "hostname mismatch" in message or "doesn't match" in message:
        return "ssl_hostname"
    return "ssl_untrusted"  # self-signed, unknown issuer, not yet valid, bad chain


@lru_cache(maxsize=4096)
def _parse_cert_time(value: str) -> datetime:
    # strptime is slow and the same certificate comes back every round: cache it.
    return datetime.fromtimestamp(ssl.cert_time_to_seconds(value), UTC)


@lru_cache(maxsize=4096)
def _format_name(rdns: tuple) -> str:
    parts = []
    for rdn in rdns:
        for key, value in rdn:
            parts.append(f"{_SHORT_NAMES.get(key, key)}={value}")
    return ", ".join(parts)


_SHORT_NAMES = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "stateOrProvinceName": "ST",
    "localityName": "L",
}


def facts_from_peercert(peercert: dict | None) -> CertFacts:
    """Facts from `SSLObject.getpeercert()` (the dict of a verified certificate)."""
    if not peercert:
        return CertFacts(None, None, None)
    not_after = peercert.get("notAfter")
    subject = peercert.get("subject")
    issuer = peercert.get("issuer")
    return CertFacts(
        _parse_cert_time(not_after) if not_after else None,
        _format_name(subject) if subject else None,
        _format_name(issuer) if issuer else None,
    )


def facts_from_der(der: bytes | None) -> CertFacts:
    """Facts from a DER certificate (read without verification, so `getpeercert()` is empty).

    Uses `cryptography` (already installed with trustme); only the failure path comes here.
    """
    if not der:
        return CertFacts(None, None, None)
    from cryptography import x509  # lazy: the hot path never needs it

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return CertFacts(None, None, None)
    return CertFacts(cert.not_valid_after_utc, _rfc4514(cert.subject), _rfc4514(cert.issuer))


def _rfc4514(name: object) -> str | None:
    try:
        return ", ".join(attr.rfc4514_string() for attr in name)  # type: ignore[attr-defined]
    except (ValueError, TypeError):  # a malformed name must not fail the probe
        return None
