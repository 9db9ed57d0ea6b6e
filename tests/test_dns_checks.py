"""DNS checks of customer domains against a real NSD on a loopback port, and the judge alone.

One NSD serves a healthy domain and one broken domain per failure; each class is raised by
the broken zone and not by the healthy one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ronda.checks import domains
from ronda.checks.dns_fetch import (
    DnsSettings,
    ask,
    check_domain_dns,
    make_resolver,
    split_resolver,
)
from ronda.checks.dns_judge import (
    Answer,
    DomainChecks,
    ExpectedRecord,
    dmarc_problem,
    judge,
    txt_strings,
)
from ronda.checks.subjects import CheckContext
from ronda.config import parse_config
from ronda.model import FailureClass, Priority
from tests.nsd_server import NsdServer, zone

FC = FailureClass

GOOD = """
@ IN A 127.0.0.10
@ IN MX 10 mail
@ IN MX 20 mail2
mail IN A 127.0.0.11
mail2 IN AAAA ::1
@ IN TXT "v=spf1 mx a include:_spf.{d} -all"
@ IN TXT "google-site-verification=abc"
_spf IN TXT "v=spf1 ip4:192.0.2.0/24 " "ip6:2001:db8::/32 ~all"
_dmarc IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@{d}"
_autodiscover._tcp IN SRV 0 0 443 mail.{d}.
"""

# Each broken domain: the good zone with one thing wrong.
BROKEN: dict[str, tuple[str, str]] = {
    "nomx": ("@ IN MX 10 mail\n@ IN MX 20 mail2", ";"),
    "nullmx": ("@ IN MX 10 mail\n@ IN MX 20 mail2", "@ IN MX 0 ."),
    "deadmx": ("@ IN MX 20 mail2", "@ IN MX 20 nothere"),
    "alldeadmx": ("@ IN MX 10 mail\n@ IN MX 20 mail2", "@ IN MX 10 gone"),
    "spf2": ('@ IN TXT "google-site-verification=abc"', '@ IN TXT "v=spf1 -all"'),
    "spfsyntax": ("include:_spf.{d} -all", "ip4:192.0.2.300 -all"),
    "nospf": ('@ IN TXT "v=spf1 mx a include:_spf.{d} -all"', ";"),
    "nodmarc": ("_dmarc IN TXT", "; _dmarc"),
    "baddmarc": ("p=quarantine;", "p=maybe;"),
    "nosrv": ("_autodiscover._tcp IN SRV 0 0 443", "_autodiscover._tcp IN SRV 0 0 8443"),
    "noaddress": ("@ IN A 127.0.0.10", ";"),
    # Discouraged but valid: ptr costs a lookup, asked of no server.
    "spfptr": ("mx a include", "ptr mx a include"),
}
# Eleven includes, each costing a lookup: one over RFC 7208's limit of 10.
SPF_MANY = "\n".join(
    [f'inc{i} IN TXT "v=spf1 include:inc{i + 1}.{{d}} ~all"' for i in range(11)]
    + ['inc11 IN TXT "v=spf1 ip4:192.0.2.1 ~all"']
)


def _zone_text(name: str) -> str:
    d = f"{name}.test"
    body = GOOD
    if name in BROKEN:
        old, new = BROKEN[name]
        assert old in body, old
        body = body.replace(old, new)
    if name == "spfmany":
        body = body.replace("include:_spf.{d}", "include:inc0.{d}") + SPF_MANY
    return zone(d, body.replace("{d}", d))


# Hostile text in records: control bytes, and more TXT records than a check keeps.
HOSTILE = "\n".join(
    [
        '@ IN TXT "v=spf1 \\027[2J\\027]0;owned\\007 -all"',
        "@ IN A 127.0.0.10",
        "@ IN MX 10 mail",
        "mail IN A 127.0.0.11",
        '_dmarc IN TXT "v=DMARC1; p=none; rua=mailto:\\027[31m@x.test"',
    ]
    + [f'many IN TXT "filler {i}"' for i in range(60)]
)
NAMES = ["good", *BROKEN, "spfmany"]


@pytest.fixture(scope="module")
def nsd(tmp_path_factory: pytest.TempPathFactory):
    root: Path = tmp_path_factory.mktemp("nsd")
    zones = {f"{n}.test": _zone_text(n) for n in NAMES}
    zones["hostile.test"] = zone("hostile.test", HOSTILE)
    server = NsdServer(root, zones)
    yield server
    server.stop()


def _checks(name: str, **kw) -> DomainChecks:
    d = f"{name}.test"
    kw.setdefault("nameservers", ("ns1.agencia.test",))
    kw.setdefault("records", (ExpectedRecord("_autodiscover._tcp", "SRV", f"0 0 443 mail.{d}."),))
    return DomainChecks(d, **kw)


def _run(nsd: NsdServer, checks: DomainChecks):
    resolver = make_resolver(DnsSettings(resolvers=(nsd.resolver,), timeout=2.0))
    return asyncio.run(check_domain_dns(checks, resolver))


def test_spf_ptr_is_counted_not_asked(nsd: NsdServer) -> None:
    v = _run(nsd, _checks("spfptr")).verdict
    assert v.findings == [] and v.evidence["spf_lookups"] == 4
    assert not any(rdtype == "PTR" for _, rdtype in _run(nsd, _checks("spfptr")).answers)


def test_healthy_domain_raises_nothing(nsd: NsdServer) -> None:
    result = _run(nsd, _checks("good"))
    v = result.verdict
    assert v.findings == []
    assert v.checks == dict.fromkeys(("resolves", "mx", "spf", "dmarc", "records"), True)
    assert v.evidence["spf_lookups"] == 3  # mx, a, include
    assert v.evidence["mx"] == ["10 mail.good.test.", "20 mail2.good.test."]
    assert not v.missing


@pytest.mark.parametrize(
    ("name", "cls", "check", "words", "priority"),
    [
        ("nomx", FC.DNS_NO_MX, "mx", "no MX records", None),
        ("nullmx", FC.DNS_NO_MX, "mx", "null MX", None),
        ("deadmx", FC.DNS_NO_MX, "mx", "nothere.deadmx.test", Priority.MEDIUM),
        ("alldeadmx", FC.DNS_NO_MX, "mx", "MX host gone.alldeadmx.test of", None),
        ("spf2", FC.DNS_SPF_INVALID, "spf", "2 SPF records", None),
        ("spfsyntax", FC.DNS_SPF_INVALID, "spf", "192.0.2.300", None),
        ("nospf", FC.DNS_SPF_INVALID, "spf", "no SPF record", None),
        ("spfmany", FC.DNS_SPF_INVALID, "spf", "Too many DNS lookups", None),
        ("nodmarc", FC.DNS_DMARC_MISSING, "dmarc", "no DMARC record", None),
        ("baddmarc", FC.DNS_DMARC_MISSING, "dmarc", "'maybe'", None),
        ("nosrv", FC.DNS_RECORD_MISMATCH, "records", "_autodiscover._tcp.nosrv.test SRV", None),
        ("noaddress", FC.DOMAIN_UNRESOLVED, "resolves", "no address", None),
    ],
)
def test_each_broken_zone_raises_its_class(
    nsd: NsdServer, name: str, cls: FailureClass, check: str, words: str, priority
) -> None:
    v = _run(nsd, _checks(name)).verdict
    assert [f.failure_class for f in v.findings] == [cls], v.findings
    assert words in v.findings[0].detail
    assert v.findings[0].priority is priority
    assert v.checks[check] is False
    assert all(ok for c, ok in v.checks.items() if c != check)


def test_agency_nameservers_expected_in_ns(nsd: NsdServer) -> None:
    v = _run(nsd, _checks("good", nameservers=("ns1.agencia.test", "ns2.agencia.test"))).verdict
    [finding] = v.findings
    assert finding.failure_class is FC.DNS_RECORD_MISMATCH
    assert "good.test NS ns2.agencia.test" in finding.detail
    assert v.evidence["records"]["good.test NS"] == ["ns1.agencia.test."]


def test_a_domain_that_does_not_exist_is_one_finding(nsd: NsdServer) -> None:
    v = _run(nsd, _checks("gone.good")).verdict
    assert [(f.failure_class, f.detail) for f in v.findings] == [
        (FC.DOMAIN_UNRESOLVED, "gone.good.test does not exist (NXDOMAIN)")
    ]
    assert v.checks["resolves"] is False and v.checks["mx"] is False


def test_a_missing_domain_fails_only_the_checks_that_run(nsd: NsdServer) -> None:
    v = _run(nsd, _checks("gone.good", mx=False, dmarc=False, records=(), nameservers=())).verdict
    assert v.checks == {"resolves": False, "spf": False}


def test_checks_turned_off_are_not_judged(nsd: NsdServer) -> None:
    v = _run(nsd, _checks("nomx", mx=False, records=())).verdict
    assert v.findings == []
    assert "mx" not in v.checks


def test_an_unreachable_resolver_is_a_timeout_not_a_crash() -> None:
    resolver = make_resolver(DnsSettings(resolvers=("127.0.0.1:9",), timeout=0.3))
    v = asyncio.run(check_domain_dns(DomainChecks("good.test"), resolver)).verdict
    [finding] = v.findings
    assert finding.failure_class is FC.DOMAIN_UNRESOLVED
    assert finding.detail == "good.test does not resolve: timeout (no answer within 0.3 s)"


def _strings(value: object):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def test_hostile_records_are_bounded_and_shown_safe(nsd: NsdServer, store) -> None:
    resolver = make_resolver(DnsSettings(resolvers=(nsd.resolver,)))
    many = asyncio.run(ask(resolver, "many.hostile.test", "TXT"))
    assert len(many.records) == 32  # of 60: the rest are not kept
    result = _run(nsd, _checks("hostile", records=(), nameservers=()))
    kinds = {f.failure_class for f in result.verdict.findings}
    assert kinds == {FC.DNS_SPF_INVALID, FC.DNS_DMARC_MISSING}  # a bad term; a mangled rua
    # What the rounds keep and show (evidence, details) has no control character left.
    config = parse_config(
        f'[dns]\nresolvers = ["{nsd.resolver}"]\n[[domains]]\nname = "hostile.test"\n'
        "[domains.checks]\nexpiry = false"
    )
    checked = asyncio.run(domains.check_domain(config.subjects[0], CheckContext(store=store)))
    seen = list(_strings(checked.extra)) + [f.detail for f in checked.findings] + [checked.detail]
    assert any("owned" in text for text in seen)
    for text in seen:
        assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in text), text


# ---- the judge alone ----------------------------------------------------------------------


def _answers(**records: tuple[str, ...]) -> dict[tuple[str, str], Answer]:
    out = {}
    for key, recs in records.items():
        name, rdtype = key.rsplit("__", 1)
        out[(name.replace("_", "."), rdtype)] = Answer("ok" if recs else "nodata", recs)
    return out


def test_judge_names_what_it_still_needs() -> None:
    answers = _answers(
        **{"x_test__A": ("127.0.0.1",), "x_test__AAAA": (), "x_test__MX": ("5 m.x.test.",)}
    )
    v = judge(DomainChecks("x.test", spf=False, dmarc=False), answers)
    assert v.missing == {("m.x.test", "A"), ("m.x.test", "AAAA")}
    assert "mx" not in v.checks  # not judged on half the answers


def test_txt_strings_joins_and_unescapes() -> None:
    assert txt_strings('"v=spf1 " "-all"') == "v=spf1 -all"
    assert txt_strings(r'"a\"b\\c\007"') == 'a"b\\c\x07'


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ("v=DMARC1; p=none", ""),
        ("v=DMARC1; p=reject; sp=quarantine; pct=50; adkim=s; rua=mailto:a@b.co!10m", ""),
        ("v=DMARC1", "second tag must be p="),
        ("p=none; v=DMARC1", "first tag must be v=DMARC1"),
        ("v=DMARC1; p=none; pct=150", "pct="),
        ("v=DMARC1; p=none; rua=https://x", "mailto"),
        ("v=DMARC1; p=none; p=reject", "twice"),
        ("v=DMARC1; p=none; bogus=1", "unknown tag"),
    ],
)
def test_dmarc_problem(record: str, problem: str) -> None:
    found = dmarc_problem(record)
    assert (problem in found) if problem else found == ""


def test_split_resolver() -> None:
    assert split_resolver("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert split_resolver("[::1]:53") == ("::1", 53)
    assert split_resolver("192.0.2.53") == ("192.0.2.53", 53)
