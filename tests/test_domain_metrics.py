"""The domains' metrics: registration expiry and each DNS check, from the store, bounded to
the configured domains and the known checks."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client.parser import text_string_to_metric_families

from ronda.config import parse_config
from ronda.exporter.collector import RondaCollector
from ronda.sites import sync_config
from ronda.store import Store


def _samples(store: Store) -> dict[tuple, float]:
    collector = RondaCollector(store, lambda: datetime(2026, 12, 2, tzinfo=UTC))
    try:
        text = collector.render().decode()
    finally:
        collector.close()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name.startswith(("ronda_domain", "ronda_dns")):
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_expiry_and_checks_are_published_per_domain(store: Store) -> None:
    with store.write() as db:
        db.execute("INSERT INTO customers (name) VALUES ('Ana')")
    store.domains.sync([("tienda.co", "Ana"), ("otra.co", "Nadie")])
    store.domains.save_expiry("tienda.co", 1_800_000_000.0, "whois", "", 1_764_000_000.0)
    store.domains.save_dns("tienda.co", {"resolves": True, "mx": False}, 1_764_000_000.0)
    store.domains.save_dns("otra.co", {"spf": True, "weird": False}, 1_764_000_000.0)
    # A lookup that found nothing keeps the date found before.
    store.domains.save_expiry("tienda.co", None, "", "WHOIS: no answer", 1_764_086_400.0)
    samples = _samples(store)
    assert samples == {
        ("ronda_domain_info", (("customer", "Ana"), ("domain", "tienda.co"))): 1.0,
        ("ronda_domain_info", (("customer", "other"), ("domain", "otra.co"))): 1.0,
        ("ronda_domain_expiry_timestamp_seconds", (("domain", "tienda.co"),)): 1.8e9,
        ("ronda_dns_check_ok", (("check", "resolves"), ("domain", "tienda.co"))): 1.0,
        ("ronda_dns_check_ok", (("check", "mx"), ("domain", "tienda.co"))): 0.0,
        ("ronda_dns_check_ok", (("check", "spf"), ("domain", "otra.co"))): 1.0,
    }
    row = store.domains.get("tienda.co")
    assert row.expiry_detail == "WHOIS: no answer" and row.expiry_source == "whois"


def test_a_domain_removed_from_the_config_leaves_the_metrics(store: Store) -> None:
    store.domains.save_dns("tienda.co", {"mx": True}, 1.0)
    store.domains.save_dns("gone.co", {"mx": True}, 1.0)
    sync_config(store, parse_config('[[domains]]\nname = "tienda.co"'))
    assert [r.domain for r in store.domains.all()] == ["tienda.co"]
    assert store.domains.get("tienda.co").dns_checks == {"mx": True}  # kept
    sync_config(store, parse_config(""))
    assert store.domains.all() == []
