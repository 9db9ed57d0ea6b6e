"""Rate limits of the mail intake: which scope a message is counted in, which limit it passes.

Pure. New cases and acknowledgements are each limited per sender address, per sender domain
and for the desk as a whole, within a sliding window (`[mail]` settings; 0 is no limit).
The narrowest scope over its limit names the flood: its messages gather on one ticket.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from ronda.config import MailSettings
from ronda.config.values import format_duration
from ronda.store.mail import domain_of

ScopeKind = Literal["sender", "domain", "desk"]


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a message is counted: one address, one domain, or the whole desk."""

    kind: ScopeKind
    value: str | None = None  # the address or the domain; None for the desk

    @property
    def key(self) -> str:
        """`sender:ana@x.example`, `domain:x.example`, `desk`: stable, for dedupe keys."""
        return f"{self.kind}:{self.value}" if self.value else self.kind

    def describe(self, lang: str = "en") -> str:
        es = lang.lower().startswith("es")
        if self.kind == "sender":
            return str(self.value)
        if self.kind == "domain":
            return f"{'el dominio' if es else 'the domain'} {self.value}"
        return "la mesa" if es else "the desk"


def scopes(address: str | None) -> tuple[Scope, ...]:
    """The scopes a message of `address` counts in, narrowest first (only the desk's when
    there is no address)."""
    domain = domain_of(address)
    if not address or domain is None:
        return (Scope("desk"),)
    return (Scope("sender", address.strip().lower()), Scope("domain", domain), Scope("desk"))


def case_limit(settings: MailSettings, scope: Scope) -> int:
    return {
        "sender": settings.new_cases_per_sender,
        "domain": settings.new_cases_per_domain,
        "desk": settings.new_cases_per_desk,
    }[scope.kind]


def ack_limit(settings: MailSettings, scope: Scope) -> int:
    return {
        "sender": settings.acks_per_sender,
        "domain": settings.acks_per_domain,
        "desk": settings.acks_per_desk,
    }[scope.kind]


def first_over(
    candidates: Iterable[Scope], limit: Callable[[Scope], int], count: Callable[[Scope], int]
) -> tuple[Scope, int] | None:
    """The first scope whose `count` reached its `limit` (0: unlimited), with that limit.
    `count` is only asked for scopes that have a limit, narrowest first."""
    for scope in candidates:
        most = limit(scope)
        if most and count(scope) >= most:
            return scope, most
    return None


def window_text(seconds: float) -> str:
    """`1h`, `30m`: the window in the words of the config file."""
    return format_duration(timedelta(seconds=seconds))


def is_milestone(count: int) -> bool:
    """50, 100, 200, 500, 1000, ...: the counts a flood ticket notes after its first
    messages, so its history grows with the logarithm of the flood."""
    digits = str(count)
    return count >= 50 and digits[0] in "125" and set(digits[1:]) == {"0"}


def flood_subject(scope: Scope, limit: int, window: float, lang: str) -> str:
    """The flood ticket's subject: whose mail, and which limit it passed."""
    span = window_text(window)
    if lang.lower().startswith("es"):
        who = "" if scope.kind == "desk" else f" de {scope.describe('es')}"
        return f"Avalancha de correo{who}: más de {limit} casos nuevos en {span}"
    who = "" if scope.kind == "desk" else f" from {scope.describe()}"
    return f"Mail flood{who}: over {limit} new cases in {span}"


__all__ = [
    "Scope",
    "ScopeKind",
    "ack_limit",
    "case_limit",
    "first_over",
    "flood_subject",
    "is_milestone",
    "scopes",
    "window_text",
]
