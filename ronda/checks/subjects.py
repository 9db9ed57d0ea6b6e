"""Check subjects: everything the rounds check that is not a customer's web site.

A *subject* is a `Site` whose `kind` is not "web": a server's mail or access service
("service"), a customer's domain ("domain"). It carries what the incident rules read of a
site (a name that cannot collide with a site's, e.g. `srv-a/smtp:587`, the customer, the
server whose maintenance windows and concurrency budget it shares, an impact, an interval
in `probe`) and its kind's own settings in `check`. The config's readers build them into
`Config.subjects`; the scheduler schedules them with the sites, calls the kind's check
function instead of the web prober, and the round runner treats the `ProbeResult` it
returns like any site's: confirmation, dedupe per family, recovery, maintenance windows,
flapping and server correlation are the same rules.

A kind registers itself once, at import:

    register("service", check_service)

where `check_service(subject, context)` is an async function returning a `ProbeResult`
(site = the subject's name, url = what was checked, the findings, and what it saw in
`extra`) and never raising for anything the far end does. `KIND_MODULES` lists the modules
that register a kind; `load_kinds()` imports them.
"""

from __future__ import annotations

import importlib
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ronda.config import Config, Site
from ronda.model import FailureClass, Priority

if TYPE_CHECKING:
    from ronda.checks.probe import Prober, ProbeResult
    from ronda.store import Store

WEB = "web"
# The modules that register a subject kind (imported by `load_kinds`).
KIND_MODULES: tuple[str, ...] = ("ronda.checks.services", "ronda.checks.domains")

Subject = Site  # a subject is a Site-shaped entry whose `kind` is not "web"


@dataclass
class CheckContext:
    """What a kind's check may use, shared by every check of a process: the verifying SSL
    context (building one loads the CA store, far too slow per check), a non-verifying one
    to read a certificate that failed, the web prober (HTTPS ports are probed through it)
    and the wall clock (certificate days left)."""

    extra_ca: Path | None = None
    prober: Prober | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # Where a check keeps what outlives a round (a domain's expiry, looked up once a day).
    store: Store | None = None
    _verifying: ssl.SSLContext | None = field(default=None, repr=False)
    _insecure: ssl.SSLContext | None = field(default=None, repr=False)

    @classmethod
    def from_config(cls, config: Config, prober: Prober | None = None) -> CheckContext:
        return cls(extra_ca=config.tls.extra_ca, prober=prober)

    @property
    def ssl_context(self) -> ssl.SSLContext:
        """Verifying, with the system store and `[tls] extra_ca`; no ALPN (not HTTP)."""
        if self._verifying is None:
            ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
            if self.extra_ca is not None:
                if Path(self.extra_ca).is_dir():
                    ctx.load_verify_locations(capath=str(self.extra_ca))
                else:
                    ctx.load_verify_locations(cafile=str(self.extra_ca))
            self._verifying = ctx
        return self._verifying

    @property
    def insecure_context(self) -> ssl.SSLContext:
        """Accepts any certificate: only to read the facts of one that failed to verify."""
        if self._insecure is None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            self._insecure = ctx
        return self._insecure

    def get_prober(self) -> Prober:
        if self.prober is None:
            from ronda.checks.probe import Prober

            self.prober = Prober(self.extra_ca, use_uvloop=False)
        return self.prober


CheckFn = Callable[[Subject, CheckContext], Awaitable["ProbeResult"]]
_KINDS: dict[str, CheckFn] = {}


def register(kind: str, check: CheckFn) -> None:
    """Make `check` the check of every subject of `kind` (the last registration wins)."""
    if kind == WEB:
        raise ValueError("'web' subjects are the prober's own")
    _KINDS[kind] = check


def load_kinds() -> None:
    """Import every module of `KIND_MODULES` (each registers its kind)."""
    for module in KIND_MODULES:
        importlib.import_module(module)


def check_of(kind: str) -> CheckFn:
    """The registered check of `kind`; KeyError for an unknown one."""
    if kind not in _KINDS:
        load_kinds()
    return _KINDS[kind]


def kinds() -> tuple[str, ...]:
    return tuple(sorted(_KINDS))


def is_subject(site: Site) -> bool:
    return site.kind != WEB


def dispatching(
    probe: Callable[[Site], Awaitable[ProbeResult]], context: CheckContext
) -> Callable[[Site], Awaitable[ProbeResult]]:
    """A probe function for the scheduler: web sites go to `probe`, subjects to the check
    their kind registered."""

    def run(site: Site) -> Awaitable[ProbeResult]:
        if site.kind == WEB:
            return probe(site)
        return check_of(site.kind)(site, context)

    return run


def result(
    subject: Subject,
    url: str,
    started_at: datetime,
    failure_class: FailureClass = FailureClass.OK,
    detail: str = "",
    *,
    priority: Priority | None = None,
) -> ProbeResult:
    """A `ProbeResult` for a subject, to be filled in by its check."""
    from ronda.checks.probe import ProbeResult

    return ProbeResult(
        site=subject.name,
        url=url,
        started_at=started_at,
        failure_class=failure_class,
        priority=priority,
        detail=detail,
    )


__all__ = [
    "KIND_MODULES",
    "WEB",
    "CheckContext",
    "CheckFn",
    "Subject",
    "check_of",
    "dispatching",
    "is_subject",
    "kinds",
    "load_kinds",
    "register",
    "result",
]
