"""The demo fleet's certificates: a CA of its own and one server SSL context per kind.

`Certs` writes the CA to the fleet's work directory (a client trusts the fleet by naming
that file) and issues a leaf per kind: valid for a year, expired, expiring in
`EXPIRING_DAYS`, issued for another host, and one that signs itself as a control panel's
default certificate does.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import trustme

from ronda.demo.specs import EXPIRING_DAYS, WRONG_HOST

CERT_KINDS = ("valid", "expired", "expiring", "wrong_host", "self_signed")


class Certs:
    """The fleet's CA and one server SSL context per certificate kind."""

    def __init__(self, workdir: Path) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        self.ca = trustme.CA(organization_name="Ronda Demo CA")
        self.ca_pem_path = workdir / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_pem_path))
        hosts = ("127.0.0.1", "localhost")
        leaves = {
            # A year, as a real certificate has (trustme's default runs to the year 3000).
            "valid": self.ca.issue_cert(
                *hosts, not_before=now - timedelta(days=30), not_after=now + timedelta(days=335)
            ),
            "expired": self.ca.issue_cert(
                *hosts, not_before=now - timedelta(days=395), not_after=now - timedelta(days=30)
            ),
            "expiring": self.ca.issue_cert(
                *hosts,
                not_before=now - timedelta(days=85),
                not_after=now + timedelta(days=EXPIRING_DAYS),
            ),
            "wrong_host": self.ca.issue_cert(
                WRONG_HOST,
                f"www.{WRONG_HOST}",
                not_before=now - timedelta(days=30),
                not_after=now + timedelta(days=335),
            ),
        }
        self.contexts: dict[str, ssl.SSLContext] = {}
        for kind, leaf in leaves.items():
            ctx = _server_context()
            leaf.configure_cert(ctx)
            self.contexts[kind] = ctx
        cert_path, key_path = _self_signed(workdir, hosts, now)
        ctx = _server_context()
        ctx.load_cert_chain(str(cert_path), str(key_path))
        self.contexts["self_signed"] = ctx


def _server_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def _self_signed(workdir: Path, hosts: Sequence[str], now: datetime) -> tuple[Path, Path]:
    """A leaf that signs itself, like a control panel's default certificate."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    alt = [
        x509.IPAddress(ipaddress.ip_address(h)) if h[0].isdigit() else x509.DNSName(h)
        for h in hosts
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = workdir / "self-signed.pem", workdir / "self-signed.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
