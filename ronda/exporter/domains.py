"""The customer domains' families: registration expiry and each DNS check's result, from
the store's `domain_state` (a few hundred rows at agency scale: rendered every scrape)."""

from __future__ import annotations

import json

from ronda.config.domains import DNS_CHECKS
from ronda.exporter.metrics import SPECS, customer_label
from ronda.exporter.textformat import Family
from ronda.store.metrics import MetricsReader


def domain_families(reader: MetricsReader, customers: frozenset[str]) -> list[Family]:
    info = Family(SPECS["ronda_domain_info"])
    expiry = Family(SPECS["ronda_domain_expiry_timestamp_seconds"])
    ok = Family(SPECS["ronda_dns_check_ok"])
    for domain, customer, expires_at, checks_json in reader.domain_rows():
        info.add((domain, customer_label(customer, customers)), 1.0)
        if expires_at is not None:
            expiry.add((domain,), float(expires_at))
        try:
            checks = json.loads(checks_json or "{}")
        except ValueError:
            checks = {}
        if not isinstance(checks, dict):
            continue
        for check in DNS_CHECKS:  # a fixed set: the label stays bounded whatever is stored
            if check in checks:
                ok.add((domain, check), 1.0 if checks[check] else 0.0)
    return [info, expiry, ok]
