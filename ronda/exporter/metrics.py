"""The metric table: every family the exporter publishes, its type, help and labels.

The names are the contract with `grafana/dashboards/*.json` and `grafana/rules.yml`; the
label values below keep every label set bounded (no case numbers, e-mails or URLs).
"""

from __future__ import annotations

from dataclasses import dataclass

from ronda.model import FailureClass
from ronda.store.metrics import RESPONSE_TIME_BOUNDS

# Compliance windows: label value -> seconds.
WINDOWS: dict[str, float] = {"7d": 7 * 86400.0, "30d": 30 * 86400.0}
LONGEST_WINDOW = max(WINDOWS.values())

# First-response histogram buckets (seconds): the bounds the store keeps its totals in, one
# for every target and limit of the default matrix, so "answered within the limit" reads
# exactly off one bucket.
BUCKETS: tuple[float, ...] = RESPONSE_TIME_BOUNDS

# Probe phases the exporter publishes (checks/http1.py measures these, in seconds). A fixed
# set keeps the label bounded whatever lands in probe_state.phases.
PHASES: tuple[str, ...] = ("dns", "connect", "tls", "first_byte", "transfer")

NO_CUSTOMER = "none"  # a ticket or site without a customer
OTHER_CUSTOMER = "other"  # a customer name that is not in the config (keeps labels bounded)
NO_CLASS = "none"  # a ticket without a failure class (e-mail, phone, manual)
OTHER_CLASS = "other"  # a failure class this exporter does not know
OUTCOMES = ("met", "missed")

FAILURE_CLASSES = frozenset(str(c) for c in FailureClass)


def class_label(failure_class: str | None) -> str:
    """Bounded: a known failure class, `none` or `other`."""
    if not failure_class:
        return NO_CLASS
    return failure_class if failure_class in FAILURE_CLASSES else OTHER_CLASS


def customer_label(customer: str | None, customers: frozenset[str]) -> str:
    """Bounded: only names from the customers table (synced from the config) are labels."""
    if not customer:
        return NO_CUSTOMER
    return customer if customer in customers else OTHER_CUSTOMER


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One metric family of the contract: its exposed name, type, help and labels."""

    name: str  # as exposed (counters end in _total)
    kind: str  # gauge | counter | histogram
    help: str
    labels: tuple[str, ...] = ()

    @property
    def family(self) -> str:
        """The family name prometheus_client uses (counters without `_total`)."""
        return self.name.removesuffix("_total") if self.kind == "counter" else self.name


def _spec(name: str, kind: str, help: str, *labels: str) -> MetricSpec:
    return MetricSpec(name, kind, help, labels)


# The contract, in exposition order.
METRICS: tuple[MetricSpec, ...] = (
    _spec(
        "ronda_open_tickets",
        "gauge",
        "Open tickets (new, open, pending_customer, reopened) by priority, impact, status, "
        "SLA state (ok, warning, breached, paused, met, missed, not_due), customer (none: no "
        "customer; other: not in the config) and the clock that decides the state "
        "(first_response; next_response while a reply to the customer's new message is "
        "owed).",
        "priority",
        "impact",
        "status",
        "sla_state",
        "customer",
        "clock",
    ),
    _spec(
        "ronda_first_responses_total",
        "counter",
        "First responses by SLA outcome (met: within the limit; missed: after it, or "
        "resolved by a probe past the limit unanswered), from tickets.sla_outcome.",
        "priority",
        "impact",
        "outcome",
    ),
    _spec(
        "ronda_sla_compliance_ratio",
        "gauge",
        "First responses met / due over the window ending now (due: limit fell in the "
        "window, or answered in it; unanswered and past the limit counts as missed; paused "
        "tickets are not due until they resume). 1 when nothing was due.",
        "priority",
        "impact",
        "window",
    ),
    _spec(
        "ronda_sla_first_responses_due",
        "gauge",
        "First responses due over the window ending now (the ratio's denominator).",
        "priority",
        "impact",
        "window",
    ),
    _spec(
        "ronda_sla_first_responses_met",
        "gauge",
        "First responses due over the window ending now and met (the ratio's numerator).",
        "priority",
        "impact",
        "window",
    ),
    _spec(
        "ronda_sla_customer_compliance_ratio",
        "gauge",
        "First responses met / due over the window for one customer (every customer with a "
        "configured site, and any with something due in 30 days; 1 when nothing was due in "
        "the window).",
        "customer",
        "window",
    ),
    _spec(
        "ronda_sla_customer_first_responses_due",
        "gauge",
        "First responses due over the window for one customer.",
        "customer",
        "window",
    ),
    _spec(
        "ronda_sla_customer_first_responses_met",
        "gauge",
        "First responses due over the window for one customer and met.",
        "customer",
        "window",
    ),
    _spec(
        "ronda_next_responses_total",
        "counter",
        "Replies to a customer's new message after the first response, by outcome (met: "
        "within the cell's limit counted from the message; missed: after it, or resolved by "
        "a probe past it). Apart from the contract's first responses.",
        "priority",
        "impact",
        "outcome",
    ),
    _spec(
        "ronda_sla_next_response_compliance_ratio",
        "gauge",
        "Next replies met / due over the window ending now (due: limit fell in the window, "
        "or answered in it; unanswered past the limit counts as missed; not due while "
        "paused). 1 when nothing was due.",
        "priority",
        "impact",
        "window",
    ),
    _spec(
        "ronda_sla_next_responses_due",
        "gauge",
        "Next replies due over the window ending now (the ratio's denominator).",
        "priority",
        "impact",
        "window",
    ),
    _spec(
        "ronda_sla_next_responses_met",
        "gauge",
        "Next replies due over the window ending now and met (the ratio's numerator).",
        "priority",
        "impact",
        "window",
    ),
    _spec(
        "ronda_first_response_business_seconds",
        "histogram",
        "Time to first response in the SLA cell's calendar (business seconds; wall-clock "
        "for 24x7 cells), pauses excluded.",
        "priority",
    ),
    _spec(
        "ronda_oldest_open_ticket_age_seconds",
        "gauge",
        "Wall-clock age of the oldest open ticket (0 when none is open).",
        "priority",
    ),
    _spec(
        "ronda_most_urgent_ticket_time_left_seconds",
        "gauge",
        "Seconds to the SLA limit of the most urgent unanswered, unpaused open ticket "
        "(negative once breached; absent when there is none).",
        "priority",
    ),
    _spec(
        "ronda_tickets_opened_total",
        "counter",
        "Tickets opened, by source and failure class (none: not from a probe).",
        "source",
        "failure_class",
    ),
    _spec(
        "ronda_site_info",
        "gauge",
        "A configured site, its customer, server and impact (always 1; join on site).",
        "site",
        "customer",
        "server",
        "impact",
    ),
    _spec(
        "ronda_site_up",
        "gauge",
        "1 if the last measured probe of the site succeeded, else 0. A probe a firewall "
        "blocked (class blocked, see ronda_site_blocked) measures nothing: the value stays "
        "the last measured one, and is absent until a probe gets through.",
        "site",
    ),
    _spec(
        "ronda_site_http_status_code",
        "gauge",
        "HTTP status of the last probe (0 when no response came).",
        "site",
    ),
    _spec(
        "ronda_probe_duration_seconds",
        "gauge",
        "Total duration of the last probe of the site.",
        "site",
    ),
    _spec(
        "ronda_probe_phase_duration_seconds",
        "gauge",
        "Duration of each phase of the last probe (dns, connect, tls, first_byte, transfer).",
        "site",
        "phase",
    ),
    _spec(
        "ronda_site_cert_expiry_timestamp_seconds",
        "gauge",
        "Expiry (notAfter, Unix time) of the last TLS certificate seen on the site, kept "
        "after it expires.",
        "site",
    ),
    _spec(
        "ronda_site_in_maintenance",
        "gauge",
        "1 while the site is in a planned maintenance window, else 0.",
        "site",
    ),
    _spec(
        "ronda_probe_last_check_timestamp_seconds",
        "gauge",
        "When the site was last probed (Unix time).",
        "site",
    ),
    _spec(
        "ronda_probe_failures_total",
        "counter",
        "Failed probe rounds by failure class.",
        "site",
        "failure_class",
    ),
    _spec("ronda_probe_rounds_total", "counter", "Probe rounds made of the site.", "site"),
    _spec(
        "ronda_prober_blind",
        "gauge",
        "1 while the desk cannot see (every canary failing, or most sites seen at once "
        "failing on several servers; its prober_blind incident says so): the site metrics "
        "are then not measurements and no site ticket opens. Else 0.",
    ),
    _spec(
        "ronda_domain_info",
        "gauge",
        "A configured customer domain and its customer (always 1; join on domain).",
        "domain",
        "customer",
    ),
    _spec(
        "ronda_domain_expiry_timestamp_seconds",
        "gauge",
        "When the customer domain's registration expires (Unix time), from its registry "
        "(RDAP, or WHOIS where the registry has no RDAP); absent until a lookup found it.",
        "domain",
    ),
    _spec(
        "ronda_dns_check_ok",
        "gauge",
        "1 if the domain's last DNS check passed, else 0, by check (resolves, mx, spf, "
        "dmarc, records); only the checks that ran.",
        "domain",
        "check",
    ),
    _spec(
        "ronda_outbox_messages_total",
        "counter",
        "Messages the desk sent (the relay or the channel took them) or gave up on, by kind "
        "(ack, reply, notice, notification) and outcome (sent, failed).",
        "kind",
        "outcome",
    ),
    _spec(
        "ronda_outbox_pending_messages",
        "gauge",
        "Messages waiting in the outbox, by kind and state (queued: waiting for their next "
        "attempt; sending: a sender holds them now).",
        "kind",
        "state",
    ),
    _spec(
        "ronda_site_blocked",
        "gauge",
        "1 while a firewall or WAF in front of the site blocks the desk's probes (failure "
        "class blocked: an address to unblock; the site itself may serve everyone else).",
        "site",
    ),
    _spec(
        "ronda_wordpress_outdated",
        "gauge",
        "1 when the site's WordPress core is due for its update (more than one feature "
        "release behind, or missing a security release of its branch), 0 when current; "
        "absent while its version or the current release is unknown.",
        "site",
    ),
    _spec(
        "ronda_php_eol_timestamp_seconds",
        "gauge",
        "End of security support (Unix time) of the PHP branch the site reports in "
        "X-Powered-By; absent when it reports none.",
        "site",
    ),
    _spec(
        "ronda_wordpress_check_failing",
        "gauge",
        "1 while a WordPress-health check of the site fails, 0 while it passes (check: core, "
        "php, mixed_content, php_warnings, images, rest_api, login, safe_browsing).",
        "site",
        "check",
    ),
    _spec(
        "ronda_wordpress_last_check_timestamp_seconds",
        "gauge",
        "When the site's WordPress health was last judged (Unix time).",
        "site",
    ),
    _spec(
        "ronda_exporter_scrape_duration_seconds",
        "gauge",
        "Time this scrape spent reading the store and building the metrics.",
    ),
    _spec(
        "ronda_exporter_scrape_errors_total",
        "counter",
        "Scrapes of this exporter process that could not read the store.",
    ),
    _spec(
        "ronda_service_up",
        "gauge",
        "1 if the last check of a server's mail or access service (service: its name and "
        "port, e.g. smtp:587) answered as its protocol promises, else 0.",
        "server",
        "service",
    ),
    _spec(
        "ronda_service_in_maintenance",
        "gauge",
        "1 while the service's server is in a planned maintenance window (its failures open "
        "no case), else 0.",
        "server",
        "service",
    ),
    _spec(
        "ronda_service_cert_expiry_timestamp_seconds",
        "gauge",
        "When the certificate a server's service last presented expires (Unix time).",
        "server",
        "service",
    ),
)
SPECS: dict[str, MetricSpec] = {s.name: s for s in METRICS}
METRIC_NAMES: tuple[str, ...] = tuple(s.name for s in METRICS)
