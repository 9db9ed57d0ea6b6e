"""Probing a site: the home page, its keyword checks and its feed, classified into findings.

A `Prober` lives once per process and holds the SSL contexts (building one loads the CA
store: far too slow per probe). Every request goes over a fresh connection through the
hand-written HTTP/1.1 client in `ronda.checks.http1` (see its docstring for why not httpx), under
one overall deadline (`asyncio.timeout`) so a slow-drip server cannot hold a probe.

A site is a stranger's server, some of them hostile, so redirects are followed with care:
public addresses only, besides the site's own kind of address (`targets.allowed_from`),
checked on the address each hop actually connects to; a Location that cannot be followed
(bad syntax, a host that is not valid IDNA, a port out of range, another scheme) ends the
probe at that redirect, classified from it. A site's Basic credentials go to its own
origin only, and no password in a Location is stored (`targets.mask_userinfo`). Whatever a
site sends, a probe ends in an `Observation`, never an exception.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urljoin, urlsplit

from ronda.checks.classify import Finding, Observation, classify_all, looks_like_wordpress, worst
from ronda.checks.http1 import REDIRECT_STATUSES, Progress, exchange, peer_certificate_der
from ronda.checks.targets import (
    Connector,
    ProbeError,
    Resolver,
    allowed_from,
    basic_authorization,
    mask_userinfo,
    parse_url,
)
from ronda.checks.tls import (
    CertFacts,
    build_insecure_context,
    build_ssl_context,
    facts_from_der,
    facts_from_peercert,
)
from ronda.checks.wordpress.debug import redact_paths
from ronda.config import ProbeSettings, Site
from ronda.model import HOME_DOWN, FailureClass, Priority

if TYPE_CHECKING:
    from ronda.checks.wordpress.health import WordPressHealth

# Response headers worth keeping as evidence on a ticket.
KEPT_HEADERS = frozenset(
    {
        "server",
        "content-type",
        "content-length",
        "content-encoding",
        "location",
        "retry-after",
        "x-powered-by",
        "cache-control",
        "x-cache",
        "cf-cache-status",
        "cf-ray",
        "x-pingback",
        "link",
        "www-authenticate",
    }
)
EXCERPT_CHARS = 500
# C0 and C1 controls except tab and newline; a terminal must never see them raw.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

T = TypeVar("T")


def body_excerpt(body: bytes | None, limit: int = EXCERPT_CHARS) -> str:
    """The first `limit` characters of a body, decoded leniently, control characters removed.

    Not markup-escaped: whoever renders it escapes for its own medium.
    """
    if not body:
        return ""
    text = body[: limit * 4].decode("utf-8", errors="replace")
    return _CONTROL.sub("", text)[:limit]


@dataclass
class ProbeResult:
    """One round of one site: the worst finding first, then the evidence."""

    site: str
    url: str  # the URL asked for
    started_at: datetime
    failure_class: FailureClass = FailureClass.OK
    priority: Priority | None = None
    status_code: int | None = None
    elapsed_ms: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    cert_not_after: datetime | None = None
    cert_subject: str | None = None
    cert_issuer: str | None = None
    detail: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body_excerpt: str = ""
    findings: list[Finding] = field(default_factory=list)
    wordpress: bool | None = None
    final_url: str | None = None  # where the home page's redirects ended (password masked)
    peer: str | None = None  # "ip:port" the last answer came from
    # What a check subject's check saw besides the above (a greeting, a banner, a
    # certificate's days left): plain JSON values, already made safe with `visible`. A
    # WordPress site's round keeps its WordPress checks' facts under "wordpress".
    extra: dict[str, Any] = field(default_factory=dict)
    # Failure families whose checks have not run yet (their tickets get no news this round).
    unchecked: frozenset[str] = frozenset()
    # The home page's own availability: OK when it answered usefully, else the class that
    # says it did not (`HOME_DOWN`), so a check path or the feed failing (a 404, a firewall
    # blocking /feed/) never reads as the site down. None: not a web probe (subjects).
    home_class: FailureClass | None = None

    @property
    def ok(self) -> bool:
        return self.failure_class is FailureClass.OK

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (ticket evidence, `ronda probe --json`)."""
        return {
            "site": self.site,
            "url": self.url,
            "started_at": self.started_at.isoformat(),
            "class": str(self.failure_class),
            "priority": str(self.priority) if self.priority else None,
            "status_code": self.status_code,
            "elapsed_ms": round(self.elapsed_ms, 3),
            "phases": {k: round(v, 6) for k, v in self.phases.items()},
            "cert_not_after": self.cert_not_after.isoformat() if self.cert_not_after else None,
            "cert_subject": self.cert_subject,
            "cert_issuer": self.cert_issuer,
            "detail": self.detail,
            "headers": dict(self.headers),
            "body_excerpt": self.body_excerpt,
            "findings": [
                {
                    "class": str(f.failure_class),
                    "priority": str(f.priority) if f.priority else None,
                    "detail": f.detail,
                }
                for f in self.findings
            ],
            "wordpress": self.wordpress,
            "final_url": self.final_url,
            "peer": self.peer,
            **({"extra": dict(self.extra)} if self.extra else {}),
        }


def run(main: Coroutine[Any, Any, T], use_uvloop: bool = True) -> T:
    """`asyncio.run` on uvloop when installed and wanted (cheaper TLS and I/O per probe)."""
    if use_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                return runner.run(main)
    return asyncio.run(main)


class Prober:
    """Probes sites. One per process: it holds the SSL contexts every handshake reuses.

    `resolver` and `connector` replace `getaddrinfo` and the socket connect (see
    `ronda.checks.targets.Resolver` and `Connector`): tests stand a local server in for a
    public host with them. The address screening applies to whatever they return.
    `wordpress` adds the WordPress-health checks to every WordPress site's round
    (`ronda.checks.wordpress.health`); without it a round is the home page, checks and feed.
    """

    def __init__(
        self,
        extra_ca: Path | None = None,
        use_uvloop: bool = True,
        *,
        resolver: Resolver | None = None,
        connector: Connector | None = None,
        wordpress: WordPressHealth | None = None,
    ) -> None:
        self.wordpress = wordpress
        self.ssl_context = build_ssl_context(extra_ca)
        self._insecure_context = build_insecure_context()
        # The loop belongs to the caller and global policy is left alone: `Prober.run` (or
        # `ronda.checks.probe.run`) starts a uvloop loop when this is true and uvloop is installed.
        self.use_uvloop = use_uvloop
        self.resolver = resolver
        self.connector = connector

    def run(self, main: Coroutine[Any, Any, T]) -> T:
        """Run `main` to completion on a new loop: uvloop when wanted and installed."""
        return run(main, use_uvloop=self.use_uvloop)

    async def aclose(self) -> None:
        """Nothing is pooled (every probe has its own connection); kept for symmetry."""

    async def probe_url(
        self,
        url: str,
        settings: ProbeSettings,
        path_kind: str = "home",
        basic_auth: tuple[str, str] | None = None,
    ) -> Observation:
        """GET `url` following redirects, within `settings.deadline`; never raises.

        `url` is the site's own (any address is fine for it); every redirect hop may reach
        public addresses and the kind the first hop connected to. `basic_auth` is sent to
        `url`'s origin only.
        """
        start = perf_counter()
        phases: dict[str, float] = {}
        progress = Progress()
        current = url
        answered = url  # the URL `response` (the last answer) came from
        seen = {url}
        redirects = 0
        facts = CertFacts(None, None, None)
        response = None
        error: ProbeError | None = None
        allowed: frozenset[str] | None = None  # the first hop: the configured site itself
        location_error = ""
        answered_peer = None
        authorization = basic_authorization(*basic_auth) if basic_auth else None
        origin = _origin(url) if authorization else None
        try:
            async with asyncio.timeout(settings.deadline):
                while True:
                    response = await exchange(
                        current,
                        self.ssl_context,
                        settings.max_body_bytes,
                        stop_at_redirect=True,
                        progress=progress,
                        phases=phases,
                        allowed=allowed,
                        authorization=(
                            authorization if authorization and _origin(current) == origin else None
                        ),
                        resolver=self.resolver,
                        connector=self.connector,
                    )
                    answered, answered_peer = current, progress.peer
                    if response.peercert is not None:
                        facts = facts_from_peercert(response.peercert)
                    location = response.headers.get("location")
                    if response.status not in REDIRECT_STATUSES or not location:
                        break
                    try:
                        following = _follow(current, location)
                    except ProbeError as exc:
                        location_error = exc.detail  # classified from the 3xx itself
                        break
                    if following in seen:
                        raise ProbeError(
                            "redirect_loop", f"{_shown(following)} redirects back to itself"
                        )
                    if redirects >= settings.max_redirects:
                        raise ProbeError(
                            "redirect_loop", f"more than {settings.max_redirects} redirects"
                        )
                    if allowed is None:
                        allowed = allowed_from(progress.peer[0] if progress.peer else None)
                    redirects += 1
                    seen.add(following)
                    current = following
        except TimeoutError:
            error = ProbeError(
                "timeout", f"deadline of {settings.deadline:g} s passed {progress.phase}"
            )
            response = None
        except OSError as exc:  # anything the socket layer says that no branch above expected
            error = ProbeError("reset", f"{type(exc).__name__}: {exc}")
            response = None
        except ValueError as exc:  # a parse no branch above expected: a result, never a crash
            error = ProbeError("protocol", f"{type(exc).__name__}: {exc}")
            response = None
        except ProbeError as exc:
            error = exc
            if exc.kind == "redirect_refused":
                # Not followed: the evidence is the redirect that pointed there.
                redirects -= 1
                current = answered
                progress.peer = answered_peer
            else:
                response = None
            if exc.kind.startswith("ssl_") and exc.kind != "ssl_error":
                # Verification failed: still read the certificate's dates, unverified.
                remaining = max(0.2, settings.deadline - (perf_counter() - start))
                der = await peer_certificate_der(
                    current,
                    self._insecure_context,
                    remaining,
                    allowed=allowed,
                    resolver=self.resolver,
                    connector=self.connector,
                )
                facts = facts_from_der(der)
        total = perf_counter() - start
        headers = response.headers if response is not None else {}
        if "location" in headers:
            shown = mask_userinfo(_utf8(headers["location"]))
            headers["location"] = shown.replace("\n", ", ")
        seen_fields = dict(
            url=url,
            path=urlsplit(url).path or "/",
            ttfb=phases.get("first_byte"),
            total=total,
            cert_not_after=facts.not_after,
            redirects=redirects,
            kind=path_kind,
            final_url=url if current == url else _shown(current),
            phases=phases,
            cert_subject=facts.subject,
            cert_issuer=facts.issuer,
            peer=_peer(progress.peer),
        )
        if response is None:
            assert error is not None
            return Observation(**seen_fields, error=error.kind, error_detail=error.detail)
        return Observation(
            **seen_fields,
            status_code=response.status,
            headers=headers,
            body=response.body,
            body_truncated=response.truncated,
            error=error.kind if error is not None else None,
            error_detail=error.detail if error is not None else "",
            location_error=location_error,
        )

    async def probe_site(self, site: Site, now: datetime | None = None) -> ProbeResult:
        """The home page, then the keyword checks and /feed/ (WordPress) side by side.

        Extra paths are skipped when the home page itself is down: they would fail the
        same way and only add noise to the desk.
        """
        started = now or datetime.now(UTC)
        settings = site.probe
        home = await self.probe_url(site.url, settings, "home", site.basic_auth)
        findings = [_named(site, f) for f in classify_all(home, settings, started)]
        base = site.url if site.url.endswith("/") else site.url + "/"
        wordpress = site.wordpress
        if wordpress is None and home.status_code is not None:
            wordpress = looks_like_wordpress(home.body, home.headers)
        home_class = next(
            (f.failure_class for f in findings if f.failure_class in HOME_DOWN), FailureClass.OK
        )
        home_down = home_class is not FailureClass.OK
        seen: list[Observation] = []  # the feed's observation, for the WordPress checks
        excerpt, redact = body_excerpt(home.body), False
        extra_facts: dict[str, Any] = {}
        unchecked: frozenset[str] = frozenset()
        if not home_down:
            jobs: list[Coroutine[Any, Any, list[Finding]]] = [
                self._check(site, urljoin(site.url, check.path), check.keyword, started)
                for check in site.checks
            ]
            health = self.wordpress.begin(site, home) if wordpress and self.wordpress else None
            if wordpress:
                feed_url = urljoin(base, "feed/")
                jobs.append(self._check(site, feed_url, None, started, "feed", seen))
            if health is not None:
                jobs.append(_nothing(health.take_turn(self)))  # its one request, alongside
            if jobs:
                for extra in await asyncio.gather(*jobs):
                    findings.extend(extra)
            if health is not None:
                await health.finish_turn(self)  # to Google: outside the server's budget
                report = await health.report(seen[0] if seen else None, started)
                findings.extend(_named(site, f) for f in report.findings)
                extra_facts["wordpress"] = report.facts
                unchecked = report.unchecked
                redact = any(f.failure_class is FailureClass.PHP_WARNING for f in report.findings)
        top = worst(findings)
        return ProbeResult(
            site=site.name,
            url=site.url,
            started_at=started,
            failure_class=top.failure_class,
            priority=top.priority,
            status_code=home.status_code,
            elapsed_ms=home.total * 1000.0,
            phases=dict(home.phases),
            cert_not_after=home.cert_not_after,
            cert_subject=home.cert_subject,
            cert_issuer=home.cert_issuer,
            detail=top.detail,
            headers={k: v for k, v in home.headers.items() if k in KEPT_HEADERS},
            body_excerpt=redact_paths(excerpt) if redact else excerpt,
            findings=findings,
            wordpress=wordpress,
            final_url=home.final_url,
            peer=home.peer,
            extra=extra_facts,
            unchecked=unchecked,
            home_class=home_class,
        )

    async def _check(
        self,
        site: Site,
        url: str,
        keyword: str | None,
        now: datetime,
        kind: str = "check",
        seen: list[Observation] | None = None,
    ) -> list[Finding]:
        obs = await self.probe_url(url, site.probe, kind, site.basic_auth)
        if seen is not None:
            seen.append(obs)
        return [_named(site, f) for f in classify_all(obs, site.probe, now, keyword)]


async def _nothing(job: Coroutine[Any, Any, None]) -> list[Finding]:
    """A job that finds nothing itself (its findings come later), among those that do."""
    await job
    return []


def _named(site: Site, finding: Finding) -> Finding:
    """Details name the site, so a finding read alone still says where it happened."""
    return Finding(finding.failure_class, finding.priority, f"{site.name}: {finding.detail}")


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of `url`; None for a URL that is not one (it gets no credentials)."""
    try:
        return parse_url(url).origin
    except ProbeError:
        return None


def _shown(url: str) -> str:
    """`url` as evidence shows it: as requested (printable ASCII), any password masked."""
    try:
        return parse_url(url).shown
    except ProbeError:
        return mask_userinfo(url)


def _peer(sockaddr: tuple[Any, ...] | None) -> str | None:
    if sockaddr is None:
        return None
    host, port = sockaddr[0], sockaddr[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _utf8(value: str) -> str:
    """A header value read as latin-1, read again as UTF-8 when it is that."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _follow(current: str, location: str) -> str:
    """The absolute URL a Location leads to; ProbeError (why, no URL) when none can be followed.

    Headers are read as latin-1; browsers read a Location as UTF-8 (an IDN host, a path in
    Spanish), so it is read again that way when it decodes (`_utf8`).
    """
    if "\n" in location:  # two different Location headers, kept apart by the reader
        raise ProbeError("protocol", "more than one Location")
    text = _utf8(location.strip())
    if "\\" in text:
        # Browsers read a backslash before the query as a slash in http(s) URLs, so
        # "http:\\user:pw@host/" names host (and a password), not a path on this site.
        cut = min((i for i in (text.find("?"), text.find("#")) if i >= 0), default=len(text))
        text = text[:cut].replace("\\", "/") + text[cut:]
    try:
        following = urljoin(current, text)
    except ValueError as exc:
        raise ProbeError("protocol", f"invalid URL: {exc}") from None
    parse_url(following)  # raises ProbeError for another scheme, a bad host or port
    return following
