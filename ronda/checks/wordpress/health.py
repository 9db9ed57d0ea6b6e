"""WordPress health of one site's round: the judges fed, and the few extra requests made.

What the home page (and the feed the prober fetched anyway) already shows is judged every
round at no extra cost: the core version, PHP's end of life, mixed content, PHP warnings.
The checks that need requests of their own take turns, one per site per round, so a round
never fires a burst at a customer's shared server: a sample of the page's own images
(`images_per_round`, one after the other), the REST root, `/wp-login.php`, and (with an API
key, at most every `safe_browsing_every`) Google's lookup, which goes to Google, not to the
site: it runs after the site's own requests, with the site's per-server slot given back
(`ronda.checks.politeness.leave_slot`), at most `safe_browsing_concurrency` at once across
the desk. `WordPressHealth` keeps, between rounds, each site's turn and the last verdict of
each turn-taking check; every round reports the verdicts it holds, so a broken REST API
stays one steady finding while the other checks have their turns. A verdict that just
changed (a new failure, or a recovery) is looked at again on the site's next probe before
the turns move on: the incident rules' immediate re-probe then re-checks it for real. A
check never run yet (after a start) is reported as unchecked: its family gets no news.

The current WordPress release is `[wordpress] latest`, or the version-check API's answer,
fetched with httpx at most every `version_check_every` (a failed fetch is retried after an
hour, and the last good answer kept meanwhile).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import httpx

from ronda.checks.classify import Finding, Observation
from ronda.checks.politeness import leave_slot
from ronda.checks.wordpress import core, debug, page, php, rest, safe_browsing
from ronda.config import Site
from ronda.config.wordpress import WordPressSettings, switched
from ronda.model import FailureClass, family_of

if TYPE_CHECKING:
    from ronda.checks.probe import Prober

log = logging.getLogger(__name__)

# The checks that make requests of their own, in the order they take turns.
ROTATION = ("images", "rest_api", "login", "safe_browsing")
FAMILY_OF_CHECK = {
    "images": family_of(FailureClass.BROKEN_IMAGES),
    "rest_api": family_of(FailureClass.WP_REST_BROKEN),
    "login": family_of(FailureClass.LOGIN_REDIRECT_LOOP),
    "safe_browsing": family_of(FailureClass.FLAGGED_UNSAFE),
}
# The check that raises each class (the metrics' `check` label).
CHECK_OF_CLASS = {
    FailureClass.WP_OUTDATED: "core",
    FailureClass.PHP_EOL: "php",
    FailureClass.MIXED_CONTENT: "mixed_content",
    FailureClass.PHP_WARNING: "php_warnings",
    FailureClass.BROKEN_IMAGES: "images",
    FailureClass.WP_REST_BROKEN: "rest_api",
    FailureClass.LOGIN_REDIRECT_LOOP: "login",
    FailureClass.FLAGGED_UNSAFE: "safe_browsing",
}
IMAGE_BODY_BYTES = 16 * 1024  # an image's status is what matters, not its bytes
RETRY_FAILED_FETCH = 3600.0
MAX_API_BYTES = 256 * 1024


@dataclass(slots=True)
class HealthReport:
    """One round's WordPress health: findings, facts for metrics, families not yet checked."""

    findings: list[Finding] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    unchecked: frozenset[str] = frozenset()
    ran: str | None = None  # the turn-taking check this round ran


@dataclass(slots=True)
class _Memory:
    turn: int = 0
    verdicts: dict[str, Finding | None] = field(default_factory=dict)
    recheck: str | None = None
    lookup_at: float = 0.0  # when Google was last asked about this site


def enabled_checks(settings: WordPressSettings, site: Site) -> frozenset[str]:
    """The checks this site runs: `[wordpress.checks]` with its own switches applied."""
    return switched(settings.checks, site.wordpress_checks)


class WordPressHealth:
    """The WordPress-health checks of every site, with their memory between rounds.

    One per desk (the prober holds it); `clock` is epoch seconds (tests move it),
    `environ` is where `safe_browsing_key_env` is looked up, `every_turn` makes each round
    run every turn-taking check (a one-off probe).
    """

    def __init__(
        self,
        settings: WordPressSettings,
        *,
        clock: Callable[[], float] = time.time,
        environ: Mapping[str, str] | None = None,
        verify: Any = True,
        every_turn: bool = False,
    ) -> None:
        self.settings = settings
        # A one-off probe (`ronda probe`) runs every turn-taking check at once: it has no
        # next round to wait for.
        self.every_turn = every_turn
        self.clock = clock
        self.environ = os.environ if environ is None else environ
        self.verify = verify  # httpx's `verify` for WordPress.org and Google (tests: a CA)
        self._memory: dict[str, _Memory] = {}
        self._releases: core.Releases | None = None
        self._releases_at = float("-inf")
        self._releases_lock: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        self._lookups: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        self.lookups_in_flight = 0  # Google lookups running now (tests read the bound)
        self.lookups_peak = 0
        self.fetches = 0  # version-check API requests made (tests and the bench read it)
        self._fetch_ok = True  # the last request answered releases

    def update(self, settings: WordPressSettings, site_names: set[str] | None = None) -> None:
        """A new config: new settings, and the memory of sites no longer configured dropped."""
        if settings.latest != self.settings.latest or (
            settings.version_check_url != self.settings.version_check_url
        ):
            self._releases, self._releases_at = None, float("-inf")
        self.settings = settings
        if site_names is not None:
            for name in [n for n in self._memory if n not in site_names]:
                del self._memory[name]

    # ---- the current release ----------------------------------------------------------

    async def releases(self) -> core.Releases | None:
        """The current releases: the config's, or the API's (cached)."""
        if self.settings.latest:
            version = core.parse_version(self.settings.latest)
            return core.Releases(version) if version else None
        now = self.clock()
        if now - self._releases_at < self._fresh_for():
            return self._releases
        loop = asyncio.get_running_loop()
        if self._releases_lock is None or self._releases_lock[0] is not loop:
            self._releases_lock = (loop, asyncio.Lock())
        if self._releases_lock[1].locked():
            # Another probe is asking WordPress.org: this round uses what is known (a slow
            # API must not hold every probe, and their slots, for its deadline).
            return self._releases
        async with self._releases_lock[1]:
            if self.clock() - self._releases_at < self._fresh_for():
                return self._releases  # another probe fetched it meanwhile
            fetched = await self._fetch_releases()
            self._releases_at = self.clock()
            if fetched is not None:
                self._releases = fetched
            self._fetch_ok = fetched is not None
        return self._releases

    def _fresh_for(self) -> float:
        every = self.settings.version_check_every
        return every if self._fetch_ok else min(every, RETRY_FAILED_FETCH)

    async def _fetch_releases(self) -> core.Releases | None:
        self.fetches += 1
        url = self.settings.version_check_url
        try:
            async with httpx.AsyncClient(
                timeout=self.settings.deadline, verify=self.verify, follow_redirects=False
            ) as client:
                async with client.stream("GET", url) as answer:
                    data = await _bounded(answer, MAX_API_BYTES)
                    status = answer.status_code
        except (httpx.HTTPError, OSError) as exc:
            log.warning("WordPress version check failed: %s", type(exc).__name__)
            return None
        found = core.releases_from_api(data) if status == 200 and data is not None else None
        if found is None:
            log.warning("WordPress version check answered HTTP %d without releases", status)
        return found

    # ---- one round ----------------------------------------------------------------------

    def begin(self, site: Site, home: Observation) -> SiteRound:
        """This round of `site`, whose home page answered (`home`): its page scanned once."""
        on = enabled_checks(self.settings, site)
        wanted = {"core", "mixed_content", "images"} & on
        facts_page = page.scan_page(home.body) if wanted else None
        return SiteRound(self, site, home, on, facts_page)

    async def check(
        self,
        prober: Prober,
        site: Site,
        home: Observation,
        feed: Observation | None,
        now: datetime,
    ) -> HealthReport:
        """The whole round at once: the turn's request, then the report."""
        this = self.begin(site, home)
        await this.take_turn(prober)
        await this.finish_turn(prober)
        return await this.report(feed, now)

    def _judge(self, this: SiteRound, feed: Observation | None, now: datetime) -> HealthReport:
        """What the home page (and the feed) show, judged; no request."""
        settings, on, home, facts_page = self.settings, this.on, this.home, this.facts_page
        report = HealthReport()
        facts = report.facts
        body = home.body or b""
        if "core" in on:
            version = core.version_from_generator(facts_page.generator if facts_page else None)
            if version is None and feed is not None:
                version = core.version_from_feed(feed.body)
            releases = this.releases
            if version is not None:
                facts["core_version"] = core.shown(version)
            if releases is not None:
                facts["core_latest"] = core.shown(releases.current)
            finding = core.judge_core(version, releases)
            if version is not None and releases is not None:
                facts["core_outdated"] = finding is not None
            _add(report, finding)
        if "php" in on:
            version = php.php_version(home.headers.get("x-powered-by"))
            if version is not None:
                facts["php_version"] = ".".join(map(str, version))
                end = php.eol_of(version[:2])
                if end is not None:
                    facts["php_eol"] = end.timestamp()
            _add(report, php.judge_php(version, now, settings.php_warning_days))
        if "mixed_content" in on and facts_page is not None:
            shown = home.final_url or home.url
            finding = page.judge_mixed_content(shown, facts_page)
            facts["mixed_content"] = len(set(facts_page.insecure)) if finding else 0
            _add(report, finding)
        if "php_warnings" in on:
            _add(report, debug.judge_php_warnings(home.status_code, body))
        return report

    async def _take_turn(self, prober: Prober, this: SiteRound) -> None:
        """Run this round's turn-taking check and keep its verdict."""
        site, on = this.site, this.on
        memory = self._memory.setdefault(site.name, _Memory())
        now = self.clock()
        usable = [c for c in ROTATION if c in on and self._applies(c, site)]
        for gone in [c for c in memory.verdicts if c not in usable]:
            del memory.verdicts[gone]
        due = [c for c in usable if c != "safe_browsing" or self._lookup_due(memory, now)]
        pick: str | None = None
        recheck = memory.recheck is not None and memory.recheck in usable
        if recheck:
            pick = memory.recheck
        elif due:
            for step in range(len(ROTATION)):
                candidate = ROTATION[(memory.turn + step) % len(ROTATION)]
                if candidate in due:
                    pick = candidate
                    memory.turn = (memory.turn + step + 1) % len(ROTATION)
                    break
        memory.recheck = None
        if self.every_turn:  # a one-off probe: every check now, one after the other
            for check in due:
                if check == "safe_browsing":
                    this.lookup = (memory, now, True)
                else:
                    await self._run(prober, this, memory, check, now, recheck=True)
        elif pick == "safe_browsing":
            this.lookup = (memory, now, recheck)  # after the site's own requests
        elif pick is not None:
            await self._run(prober, this, memory, pick, now, recheck=recheck)

    async def _finish_turn(self, prober: Prober, this: SiteRound) -> None:
        """Google's lookup, when it is this round's turn: the site's own requests are over,
        so its per-server slot goes back first; the desk's lookups have their own bound."""
        if this.lookup is None:
            return
        memory, now, recheck = this.lookup
        this.lookup = None
        leave_slot()
        async with self._lookup_limit():
            self.lookups_in_flight += 1
            self.lookups_peak = max(self.lookups_peak, self.lookups_in_flight)
            try:
                await self._run(prober, this, memory, "safe_browsing", now, recheck=recheck)
            finally:
                self.lookups_in_flight -= 1

    def _lookup_limit(self) -> asyncio.Semaphore:
        """The lookups' semaphore of the running loop (a one-off probe runs its own)."""
        loop = asyncio.get_running_loop()
        if self._lookups is None or self._lookups[0] is not loop:
            limit = max(1, self.settings.safe_browsing_concurrency)
            self._lookups = (loop, asyncio.Semaphore(limit))
        return self._lookups[1]

    async def _run(
        self,
        prober: Prober,
        this: SiteRound,
        memory: _Memory,
        pick: str,
        now: float,
        *,
        recheck: bool,
    ) -> None:
        """Run one turn-taking check and keep its verdict (`recheck`: no second look)."""
        site, home = this.site, this.home
        base = site.url if site.url.endswith("/") else site.url + "/"
        ran = True
        if pick == "images":
            verdict = await self._images(prober, site, home, this.facts_page)
        elif pick == "rest_api":
            verdict = await self._rest(prober, site, home, base)
        elif pick == "login":
            verdict = await self._login(prober, site, base)
        else:
            memory.lookup_at = now
            verdict, ran = await self._lookup(site)
        if not ran:
            return
        old = memory.verdicts.get(pick, _NEVER)
        old_class = old.failure_class if isinstance(old, Finding) else None
        new_class = verdict.failure_class if verdict is not None else None
        if not recheck and new_class != old_class and (old is not _NEVER or verdict is not None):
            memory.recheck = pick  # a changed verdict: look again before the turns move on
        memory.verdicts[pick] = verdict
        this.ran = pick

    def _held(self, this: SiteRound, report: HealthReport) -> None:
        """Every verdict held for the site's turn-taking checks, into the report."""
        memory = self._memory.setdefault(this.site.name, _Memory())
        usable = [c for c in ROTATION if c in this.on and self._applies(c, this.site)]
        for check in usable:
            verdict = memory.verdicts.get(check, _NEVER)
            if verdict is _NEVER:
                report.unchecked |= {FAMILY_OF_CHECK[check]}
            elif verdict is not None:
                report.findings.append(verdict)
        report.ran = this.ran
        # Which checks ran or hold a verdict (for metrics: 0 or 1 each), and which fail.
        held = {c for c in usable if memory.verdicts.get(c, _NEVER) is not _NEVER}
        report.facts["checks"] = sorted((this.on - set(ROTATION)) | held)
        report.facts["failing"] = sorted({CHECK_OF_CLASS[f.failure_class] for f in report.findings})

    def _applies(self, check: str, site: Site) -> bool:
        if check == "login":
            # A configured check on the login page already watches it (and its loops).
            return not any(c.path.startswith("/wp-login.php") for c in site.checks)
        if check == "safe_browsing":
            return self.settings.safe_browsing is not None
        return True

    def _lookup_due(self, memory: _Memory, now: float) -> bool:
        return now - memory.lookup_at >= self.settings.safe_browsing_every

    async def _images(
        self,
        prober: Prober,
        site: Site,
        home: Observation,
        facts_page: page.PageFacts | None,
    ) -> Finding | None:
        if facts_page is None:
            return None
        limit = self.settings.images_per_round
        urls = page.own_images(home.final_url or home.url, facts_page, limit)
        settings = replace(site.probe, max_body_bytes=IMAGE_BODY_BYTES, max_redirects=3)
        answers = []
        for url in urls:  # one after the other: a shared server is not sent a burst
            obs = await prober.probe_url(url, settings, "image", site.basic_auth)
            answers.append((url, obs.status_code, obs.error or ""))
        return page.judge_images(answers)

    async def _rest(
        self, prober: Prober, site: Site, home: Observation, base: str
    ) -> Finding | None:
        url = _rest_root(home.headers.get("link", ""), base)
        obs = await prober.probe_url(url, site.probe, "rest", site.basic_auth)
        return rest.judge_rest(
            url,
            obs.status_code,
            obs.headers.get("content-type", ""),
            obs.body,
            error=obs.error,
            truncated=obs.body_truncated,
        )

    async def _login(self, prober: Prober, site: Site, base: str) -> Finding | None:
        url = urljoin(base, "wp-login.php")
        obs = await prober.probe_url(url, site.probe, "login", site.basic_auth)
        if obs.error != "redirect_loop":
            return None  # a renamed or firewalled login page is no loop
        return Finding(
            FailureClass.LOGIN_REDIRECT_LOOP,
            None,
            f"{url} redirects in a loop" + (f" ({obs.error_detail})" if obs.error_detail else ""),
        )

    async def _lookup(self, site: Site) -> tuple[Finding | None, bool]:
        """Google's verdict on the site; (None, False) when it could not be asked."""
        settings = self.settings
        api = settings.safe_browsing or "safebrowsing"
        key = self._key()
        if not key:
            log.warning("Safe Browsing lookup skipped: no API key where the config says")
            return None, False
        headers = {"X-Goog-Api-Key": key, "Accept": "application/json"}
        try:
            async with httpx.AsyncClient(
                timeout=settings.deadline, verify=self.verify, follow_redirects=False
            ) as client:
                if api == "webrisk":
                    url = settings.safe_browsing_url or safe_browsing.WEB_RISK_URL
                    request = client.build_request(
                        "GET", url, params=safe_browsing.web_risk_params(site.url), headers=headers
                    )
                else:
                    url = settings.safe_browsing_url or safe_browsing.SAFE_BROWSING_URL
                    body = safe_browsing.safe_browsing_body([site.url])
                    request = client.build_request("POST", url, json=body, headers=headers)
                answer = await client.send(request, stream=True)
                try:
                    data = await _bounded(answer, safe_browsing.MAX_ANSWER_BYTES)
                finally:
                    await answer.aclose()
        except (httpx.HTTPError, OSError) as exc:
            log.warning("Safe Browsing lookup failed: %s", type(exc).__name__)
            return None, False
        if answer.status_code != 200 or data is None:
            log.warning("Safe Browsing lookup answered HTTP %d", answer.status_code)
            return None, False
        try:
            threats = safe_browsing.threats_of(api, data)
        except safe_browsing.AnswerError as exc:
            log.warning("Safe Browsing lookup: %s", exc)
            return None, False
        return safe_browsing.judge_threats(site.url, api, threats), True

    def _key(self) -> str | None:
        """The API key, read at each lookup (a rotated key needs no restart); never logged."""
        settings = self.settings
        if settings.safe_browsing_key_env:
            value = self.environ.get(settings.safe_browsing_key_env, "").strip()
            if value:
                return value
        if settings.safe_browsing_key_file is not None:
            try:
                return settings.safe_browsing_key_file.read_text("utf-8").strip() or None
            except OSError:
                return None
        return None


_NEVER: Any = object()  # a check never run for this site


@dataclass(slots=True)
class SiteRound:
    """One round of one site's WordPress health: `take_turn` (its one request, alongside
    the feed and the keyword checks), then `report` (the judges and the verdicts held)."""

    health: WordPressHealth
    site: Site
    home: Observation
    on: frozenset[str]
    facts_page: page.PageFacts | None
    ran: str | None = None
    releases: core.Releases | None = None
    # Google's lookup when it is due this round: (memory, when, recheck), run by finish_turn.
    lookup: tuple[_Memory, float, bool] | None = None

    async def take_turn(self, prober: Prober) -> None:
        await self.health._take_turn(prober, self)

    async def finish_turn(self, prober: Prober) -> None:
        """What the turn leaves for after the site's own requests (Google's lookup)."""
        await self.health._finish_turn(prober, self)

    async def report(self, feed: Observation | None, now: datetime) -> HealthReport:
        if "core" in self.on:
            self.releases = await self.health.releases()
        report = self.health._judge(self, feed, now)
        self.health._held(self, report)
        return report


def _add(report: HealthReport, finding: Finding | None) -> None:
    if finding is not None:
        report.findings.append(finding)


def _rest_root(link: str, base: str) -> str:
    """The REST root the home page's `Link: <…>; rel="https://api.w.org/"` names, when it is
    on the site's own origin (a site without pretty permalinks uses `?rest_route=/`)."""
    own = urlsplit(base)
    for part in link.split(",")[:20]:
        if "api.w.org" not in part:
            continue
        target = part.split(";", 1)[0].strip().removeprefix("<").removesuffix(">")
        try:
            url = urljoin(base, target)
            there = urlsplit(url)
        except ValueError:
            continue
        if (there.scheme, there.netloc) == (own.scheme, own.netloc):
            return url
    return urljoin(base, "wp-json/")


async def _bounded(answer: httpx.Response, limit: int) -> bytes | None:
    """The answer's body, or None past `limit` bytes."""
    data = bytearray()
    async for chunk in answer.aiter_bytes():
        data += chunk
        if len(data) > limit:
            return None
    return bytes(data)
