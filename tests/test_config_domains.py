"""[dns], [expiry] and [[domains]]: the example's domains as subjects, and every refusal
as one `FILE:LINE: key.path: what` line."""

from __future__ import annotations

import pytest
from test_config import EXAMPLE, only_problem, problems

from ronda.config import load_config, parse_config
from ronda.config.domains import DomainSubject, ExpectedRecord
from ronda.model import Impact


def test_the_example_declares_two_domains() -> None:
    config = load_config(EXAMPLE)
    shop, clinic = (s for s in config.subjects if s.kind == "domain")
    assert shop.name == "domain:tienda-ana.example" and shop.server is None
    assert shop.customer == "Ana Pérez" and shop.impact is Impact.HIGH
    assert shop.probe.interval == 900.0
    settings = shop.check
    assert isinstance(settings, DomainSubject)
    assert settings.dns.resolvers == ("127.0.0.1:53",) and settings.dns.timeout == 3.0
    assert settings.checks.nameservers == ("ns1.agencia.example", "ns2.agencia.example")
    assert settings.checks.records == (
        ExpectedRecord("_autodiscover._tcp", "SRV", "0 0 443 mail.agencia.example."),
    )
    assert settings.expiry and settings.registrar == "agency"
    assert dict(settings.expiry_settings.whois_servers) == {
        "co": "whois.nic.co:43",
        "com.co": "whois.nic.co",
    }
    assert clinic.probe.interval == 3600.0
    assert clinic.maintenance[0].reason == "zone moved to the agency's nameservers"
    assert clinic.check.checks.enabled() == ("resolves",)


def test_no_domains_no_subjects() -> None:
    assert parse_config("").subjects == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[dns]\nresolvers = ["dns.example"]', "ronda.toml:2: dns.resolvers[0]: 'dns.example'"),
        ('[dns]\nresolvers = "127.0.0.1"', "ronda.toml:2: dns.resolvers: '127.0.0.1' is not"),
        ('[dns]\nresolvers = ["127.0.0.1:99999"]', "dns.resolvers[0]: '127.0.0.1:99999'"),
        ('[dns]\ninterval = "10s"', "ronda.toml:2: dns.interval: 10 s is too often"),
        ("[dns]\ntimeot = 3", "ronda.toml:2: dns.timeot: unknown key (did you mean 'timeout'?)"),
        ("[expiry]\nwarning_days = 0", "ronda.toml:2: expiry.warning_days: 0 is not"),
        ("[expiry]\ncritical_days = 40", "expiry.critical_days: 40 is not below warning_days"),
        ('[expiry]\nrdap_bootstrap = "http://iana.example/x"', "expiry.rdap_bootstrap: 'http://"),
        ('[expiry.whois_servers]\nco = "whois.nic.co:0"', "ronda.toml:2: expiry.whois_servers.co:"),
        ('[[domains]]\nname = "no spaces.co"', "ronda.toml:2: domains[0].name: 'no spaces.co'"),
        ("[[domains]]\ncustomer = 'x'", "domains[0].name: missing"),
        (
            '[[domains]]\nname = "a.co"\n[[domains]]\nname = "a.co"',
            "ronda.toml:4: domains[1].name: 'a.co' is already used by domains[0]",
        ),
        ('[[domains]]\nname = "a.co"\nimpact = "hgh"', "ronda.toml:3: domains[0].impact: 'hgh'"),
        ('[[domains]]\nname = "a.co"\ninterval = "5s"', "ronda.toml:3: domains[0].interval: 5 s"),
        (
            '[[domains]]\nname = "a.co"\nnameservers = ["ns 1"]',
            "ronda.toml:3: domains[0].nameservers[0]: 'ns 1' is not a host name",
        ),
        (
            '[[domains]]\nname = "a.co"\n[domains.checks]\nmx = "yes"',
            "ronda.toml:4: domains[0].checks.mx: 'yes' is not true or false",
        ),
        (
            '[[domains]]\nname = "a.co"\n[domains.checks]\nspam = true',
            "ronda.toml:4: domains[0].checks.spam: unknown key",
        ),
        (
            '[[domains]]\nname = "a.co"\n[[domains.records]]\nname = "www"\ntype = "AXFR"\n'
            'value = "x"',
            "ronda.toml:5: domains[0].records[0].type: 'AXFR' is not one of",
        ),
        (
            '[[domains]]\nname = "a.co"\n[[domains.records]]\nname = "www"\ntype = "A"',
            "domains[0].records[0].value: missing",
        ),
        ('[[domains]]\nname = "a.co"\nwat = 1', "ronda.toml:3: domains[0].wat: unknown key"),
        (
            '[[domains]]\nname = "a.co"\n[[domains.maintenance]]\nstart = 2026-12-01T22:00:00\n'
            "end = 2026-12-01T21:00:00",
            "ronda.toml:5: domains[0].maintenance[0].end: 2026-12-01T21:00:00-05:00 is not after",
        ),
    ],
)
def test_refusals_name_file_line_and_key(text: str, expected: str) -> None:
    assert expected in only_problem(text)


def test_a_domain_of_an_undeclared_customer_is_refused() -> None:
    text = '[[customers]]\nname = "Ana Pérez"\n[[domains]]\nname = "a.co"\ncustomer = "Ana Perez"'
    [problem] = problems(text)
    assert problem.startswith("ronda.toml:5: domains[0].customer: 'Ana Perez' is not a declared")
    assert "did you mean 'Ana Pérez'?" in problem


def test_whois_servers_add_to_the_defaults() -> None:
    config = parse_config(
        '[expiry.whois_servers]\n"com.co" = "127.0.0.1:4343"\n[[domains]]\nname = "a.com.co"'
    )
    [subject] = config.subjects
    assert dict(subject.check.expiry_settings.whois_servers) == {
        "co": "whois.nic.co:43",
        "com.co": "127.0.0.1:4343",
    }


def test_loopback_resolvers_may_check_more_often_than_a_minute() -> None:
    config = parse_config(
        '[dns]\nresolvers = ["127.0.0.1:5353"]\ninterval = 2\n[[domains]]\nname = "a.co"\n'
        "interval = 1"
    )
    assert config.subjects[0].probe.interval == 1.0
    assert "dns.interval: 2 s is too often" in only_problem(
        '[dns]\nresolvers = ["192.0.2.53"]\ninterval = 2'
    )
