"""Sites and customers as the store knows them: synced from the config, read with their
latest probe state."""

from __future__ import annotations

from ronda.config import Config, Site
from ronda.store import Store
from ronda.store.sites import SiteHealth


def sync_config(store: Store, config: Config) -> None:
    """Make the store's customers and sites match the config (sites removed from the
    config are removed from the store; their tickets and history stay)."""
    store.sites.sync(config.customers, config.sites)
    # A domain dropped from the config takes its metrics with it (bounded labels).
    from ronda.config.domains import DOMAIN_KIND

    domains = [(s.check.domain, s.customer) for s in config.subjects if s.kind == DOMAIN_KIND]
    store.domains.sync(domains)
    store.subjects.sync(
        (s.name, s.kind, s.server, subject_label(s), s.customer) for s in config.subjects
    )


def subject_label(subject: Site) -> str:
    """A subject's bounded label: its kind's own (`label` of its check, e.g. `smtp:587`),
    else its name."""
    label = getattr(subject.check, "label", None)
    return label if isinstance(label, str) else subject.name


def site_health(store: Store) -> list[SiteHealth]:
    """Every configured site with its latest probe state, by name."""
    return store.sites.health()


__all__ = ["SiteHealth", "site_health", "sync_config"]
