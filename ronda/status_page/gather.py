"""The facts of each status page read from the store and the config, then built, rendered
and written (`publish`): what `ronda status-page` and `ronda run` call."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ronda.config import Config, Site
from ronda.status_page.build import DAYS, RECENT_DAYS, Page, build_page, fold_outages
from ronda.status_page.render import (
    environment,
    logo_src,
    private_slug,
    render,
    write_site,
)
from ronda.store import Store
from ronda.store.public import incidents, outages, public_updates
from ronda.uptime import UNMEASURED, measured_gap

PUBLIC_FOLDER = "public"


@dataclass(frozen=True, slots=True)
class Written:
    """A page written: its folder, how many sites and open incidents it shows."""

    slug: str
    sites: int
    open_incidents: int


@dataclass(frozen=True, slots=True)
class PageSpec:
    """One page to make: its folder, whose it is (None: the public page), its language
    and its sites."""

    folder: str
    name: str | None
    lang: str | None
    sites: tuple[str, ...]


def specs(
    config: Config,
    *,
    customer: str | None = None,
    public: Sequence[str] | None = None,
    customers: bool = True,
) -> list[PageSpec]:
    """The pages asked for: one per customer with sites (or only `customer`), and the
    public page of `public` sites when given. Unknown names raise ValueError."""
    out: list[PageSpec] = []
    known = {s.name for s in config.sites}
    if customer is not None:
        match = [c for c in config.customers if c.name == customer]
        if not match:
            raise ValueError(f"no customer named {customer!r} in the config")
        chosen = match
    else:
        chosen = list(config.customers) if customers else []
    taken: set[str] = {PUBLIC_FOLDER}
    for entry in chosen:
        sites = tuple(s.name for s in config.sites if s.customer == entry.name)
        if not sites:
            continue
        folder = private_slug(entry.name, config.status_page.secret)
        while folder in taken:  # two names with the same slug: both get a page
            folder += "-2"
        taken.add(folder)
        out.append(PageSpec(folder, entry.name, entry.lang or config.lang, sites))
    if public:
        unknown = [s for s in public if s not in known]
        if unknown:
            raise ValueError(f"not sites of the config: {', '.join(unknown)}")
        lang = config.status_page.lang or config.lang
        out.append(PageSpec(PUBLIC_FOLDER, None, lang, tuple(dict.fromkeys(public))))
    return out


def now_states(store: Store, sites: Sequence[Site], now: float) -> dict[str, str]:
    """Each site's state now, from its latest history row: not measured when that row was
    last seen longer ago than the site's measured gap (Ronda stopped, the site not
    probed), or when the desk could not see."""
    by_name = {s.name: s for s in sites}
    out = dict.fromkeys(by_name, UNMEASURED)
    for name, head in store.history.heads(by_name).items():
        site = by_name[name]
        if now - head.seen_at <= measured_gap(site.probe.interval, site.probe.deadline):
            out[name] = head.state
    return out


def pages(
    store: Store, config: Config, page_specs: Sequence[PageSpec], now: datetime
) -> list[Page]:
    """Build every page of `page_specs` as of `now`."""
    return list(iter_pages(store, config, page_specs, now))


def iter_pages(
    store: Store, config: Config, page_specs: Sequence[PageSpec], now: datetime
) -> Iterator[Page]:
    """The pages of `page_specs` one at a time (the store read once for all of them)."""
    tz = ZoneInfo(config.calendar.timezone)
    all_sites = sorted({s for spec in page_specs for s in spec.sites})
    today = now.astimezone(tz).date()
    first = today - timedelta(days=DAYS - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=tz).timestamp()
    history = store.history.sites_intervals(all_sites, start, now.timestamp())
    states = now_states(
        store, [s for s in config.sites if s.name in set(all_sites)], now.timestamp()
    )
    since = (now - timedelta(days=RECENT_DAYS)).timestamp()
    found = incidents(store, all_sites, since)
    parents, children = outages(store, all_sites, since)
    updates = public_updates(store, [t.id for t in (*found, *parents, *children)])
    for spec in page_specs:
        mine = set(spec.sites)
        servers, alone = fold_outages(
            parents, children, [t for t in found if t.site in mine], spec.sites
        )
        yield (
            build_page(
                slug=spec.folder,
                name=spec.name,
                lang=spec.lang,
                sites=spec.sites,
                intervals=history,
                now_states=states,
                incidents=alone,
                outages=servers,
                updates=updates,
                now=now,
                tz=tz,
                zone_name=config.calendar.timezone,
            )
        )


def publish(
    store: Store,
    config: Config,
    out: Path,
    page_specs: Sequence[PageSpec],
    now: datetime,
) -> list[Written]:
    """Build, render and write the pages to `out` at once; returns what was written."""
    settings = config.status_page
    base = config.path.parent if config.path is not None else None
    env = environment(settings.templates)
    logo = logo_src(settings.logo, base)
    built: list[Written] = []

    def rendered() -> Iterator[tuple[str, str]]:
        # One page in memory at a time: at agency scale the HTML is tens of megabytes.
        for page in iter_pages(store, config, page_specs, now):
            built.append(Written(page.slug, len(page.sites), len(page.open_incidents)))
            yield page.slug, render(page, env, colour=settings.colour, logo=logo)

    write_site(out, rendered())
    return built


__all__ = [
    "PUBLIC_FOLDER",
    "PageSpec",
    "Written",
    "iter_pages",
    "now_states",
    "pages",
    "publish",
    "specs",
]
