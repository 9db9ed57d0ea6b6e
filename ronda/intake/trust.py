"""How far a message's sender is believed: its authentication, and whether it may add to a case.

Pure. A From address is only a claim. When the receiving MTA checks SPF, DKIM and DMARC and
writes an `Authentication-Results` header (RFC 8601) under the authserv-id the desk trusts,
a pass for the From domain confirms the claim and anything else refutes it; without such a
header the claim is taken as written (and the README says what that leaves open).

A case belongs to its requester and its customer: a message that names a case (by its tag,
or by answering one of the case's messages) adds to it only when its sender is the case's
requester or an address or domain of the case's customer, and is not refuted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import authres

from ronda.config import Customer
from ronda.intake.parse import ParsedMail
from ronda.intake.triage import match_customer
from ronda.model import Ticket
from ronda.store.mail import domain_of

AuthStatus = Literal["pass", "fail", "none"]


@dataclass(frozen=True, slots=True)
class AuthVerdict:
    """pass: the trusted MTA saw SPF, DKIM or DMARC pass for the From domain; fail: it saw
    none pass; none: no trusted header (or none configured), the address is taken as is."""

    status: AuthStatus
    detail: str

    @property
    def refuted(self) -> bool:
        return self.status == "fail"

    def as_evidence(self) -> dict:
        return {"status": self.status, "detail": self.detail}


def _aligned(domain: str | None, from_domain: str) -> bool:
    """`domain` is the From domain or a parent of it (relaxed alignment, without a public
    suffix list: a bare top-level domain never counts)."""
    if not domain:
        return False
    domain = domain.strip().lower().rstrip(".")
    if "." not in domain:
        return False
    return from_domain == domain or from_domain.endswith("." + domain)


def _property(result: authres.core.AuthenticationResult, ptype: str, name: str) -> str | None:
    for prop in result.properties:
        if prop.type == ptype and prop.name == name:
            return str(prop.value)
    return None


def _passes(result: authres.core.AuthenticationResult, from_domain: str) -> str | None:
    """`dmarc=pass header.from=x` when this result is a pass for the From domain, else None."""
    if str(result.result).lower() != "pass":
        return None
    method = str(result.method).lower()
    if method == "dmarc":
        value = _property(result, "header", "from")
        if value and value.strip().lower().rstrip(".") == from_domain:
            return f"dmarc=pass header.from={from_domain}"
    elif method == "dkim":
        value = _property(result, "header", "d")
        if _aligned(value, from_domain):
            return f"dkim=pass header.d={value}"
    elif method == "spf":
        value = _property(result, "smtp", "mailfrom")
        if _aligned(domain_of(value) if value and "@" in value else value, from_domain):
            return f"spf=pass smtp.mailfrom={value}"
    return None


def authenticate(mail: ParsedMail, authserv_id: str | None) -> AuthVerdict:
    """The verdict on `mail`'s From address from the topmost Authentication-Results header
    written under `authserv_id` (the receiving MTA adds its own on top; RFC 8601 asks it to
    remove any arriving with its id)."""
    if not authserv_id:
        return AuthVerdict("none", "no trusted authserv-id configured")
    wanted = authserv_id.strip().lower()
    for value in mail.auth_results:
        try:
            header = authres.AuthenticationResultsHeader.parse_value(value)
        except Exception:  # noqa: BLE001 - authres raises its own errors and others on junk
            continue
        if str(header.authserv_id or "").lower() != wanted:
            continue
        from_domain = domain_of(mail.from_addr)
        if from_domain is None:
            return AuthVerdict("fail", "no From address to authenticate")
        seen: list[str] = []
        for result in header.results:
            found = _passes(result, from_domain)
            if found:
                return AuthVerdict("pass", found)
            seen.append(f"{result.method}={result.result}")
        return AuthVerdict(
            "fail", f"no pass for {from_domain}: {' '.join(seen) or 'no results'} ({wanted})"
        )
    return AuthVerdict("none", f"no Authentication-Results from {wanted}")


def may_add_to(
    ticket: Ticket,
    sender: str | None,
    customers: Iterable[Customer],
    verdict: AuthVerdict,
) -> bool:
    """Whether a message from `sender` may add to `ticket` (and so reopen it or resume its
    SLA): the sender is its requester or belongs to its customer, and is not refuted."""
    if sender is None or verdict.refuted:
        return False
    sender = sender.strip().lower()
    if ticket.requester and sender == ticket.requester.strip().lower():
        return True
    if ticket.customer is None:
        return False
    customer = match_customer(customers, sender)
    return customer is not None and customer.name == ticket.customer


__all__ = ["AuthStatus", "AuthVerdict", "authenticate", "may_add_to"]
