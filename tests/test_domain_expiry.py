"""Domain expiry: RDAP through IANA's bootstrap, the WHOIS fallback for .co and .com.co,
against local registries; the parsing and the thresholds alone; hostile answers."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ronda.checks.expiry import (
    Expiry,
    expiry_finding,
    parse_date,
    rdap_base_urls,
    rdap_expiry,
    whois_expiry,
    whois_server_for,
)
from ronda.checks.expiry_fetch import (
    MAX_WHOIS_BYTES,
    BootstrapCache,
    lookup_expiry,
    make_client,
    whois_lookup,
)
from ronda.config.domains import ExpirySettings, allowed_url
from ronda.model import FailureClass, Priority
from tests.registry_servers import RdapServer, WhoisServer, co_whois, rdap_domain

FC = FailureClass
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


# ---- pure ---------------------------------------------------------------------------------


def test_bootstrap_longest_suffix_wins() -> None:
    doc = {
        "services": [
            [["com"], ["https://rdap.verisign.test/com/v1/"]],
            [["co.uk", "org.uk"], ["http://rdap.nominet.test/", "https://rdap.nominet.test"]],
            [["uk"], ["https://rdap.uk.test/"]],
            "garbage",
            [[1, None], "x"],
        ]
    }
    assert rdap_base_urls(doc, "shop.example.com") == ["https://rdap.verisign.test/com/v1/"]
    # https first, a trailing slash added
    assert rdap_base_urls(doc, "tienda.co.uk") == [
        "https://rdap.nominet.test/",
        "http://rdap.nominet.test/",
    ]
    assert rdap_base_urls(doc, "bbc.uk") == ["https://rdap.uk.test/"]
    assert rdap_base_urls(doc, "tienda.co") == []  # .co: not in the bootstrap
    assert rdap_base_urls(doc, "com") == []  # a TLD is not a registered domain
    assert rdap_base_urls({"services": "nope"}, "a.com") == []


def test_rdap_expiry_event() -> None:
    doc = rdap_domain("tienda.test", "2027-01-15T04:00:00Z")
    assert rdap_expiry(doc) == datetime(2027, 1, 15, 4, 0, tzinfo=UTC)
    assert rdap_expiry({"events": [{"eventAction": "registration", "eventDate": "x"}]}) is None
    assert rdap_expiry({"events": "x"}) is None
    assert rdap_expiry([]) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2027-03-04T23:59:59Z", datetime(2027, 3, 4, 23, 59, 59, tzinfo=UTC)),
        ("2027-03-04T23:59:59.0Z", datetime(2027, 3, 4, 23, 59, 59, tzinfo=UTC)),
        ("2027-03-04T18:59:59-05:00", datetime(2027, 3, 4, 23, 59, 59, tzinfo=UTC)),
        ("04-mar-2027", datetime(2027, 3, 4, tzinfo=UTC)),
        ("2027.03.04", datetime(2027, 3, 4, tzinfo=UTC)),
        ("2027-03-04 10:00:00 UTC", datetime(2027, 3, 4, 10, tzinfo=UTC)),
        ("Thu Mar 04 23:59:59 GMT 2027", datetime(2027, 3, 4, 23, 59, 59, tzinfo=UTC)),
        ("never", None),
        ("9999-12-31", None),  # outside any plausible registration
        ("", None),
    ],
)
def test_parse_date(text: str, expected: datetime | None) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected", "why"),
    [
        (co_whois("tienda.co", "2027-03-04T23:59:59Z"), datetime(2027, 3, 4, 23, 59, 59), ""),
        ("domain: x.com.co\nExpiration Date: 04-mar-2027\n", datetime(2027, 3, 4), ""),
        (
            "Registrar Registration Expiration Date: 2027-03-04T00:00:00Z\n",
            datetime(2027, 3, 4),
            "",
        ),
        ("nserver: a\npaid-till: 2027.03.04\n", datetime(2027, 3, 4), ""),
        ('No match for "NADA.CO".\r\n', None, "knows no such domain"),
        ("Registry Expiry Date: soon\n", None, "unreadable registry expiry date"),
        ("Domain Name: x.co\n", None, "no expiry date"),
    ],
)
def test_whois_expiry_formats(text: str, expected: datetime | None, why: str) -> None:
    when, reason = whois_expiry(text)
    assert when == (expected.replace(tzinfo=UTC) if expected else None)
    assert why in reason


def test_whois_server_by_longest_suffix() -> None:
    servers = {"co": "whois.nic.co:43", "com.co": "127.0.0.1:4343"}
    assert whois_server_for("tienda.com.co", servers) == "127.0.0.1:4343"
    assert whois_server_for("tienda.co", servers) == "whois.nic.co:43"
    assert whois_server_for("tienda.com", servers) is None


@pytest.mark.parametrize(
    ("days", "cls", "priority"),
    [
        (45, None, None),
        (30.5, None, None),
        (29, FC.DOMAIN_EXPIRING, None),  # the class's default: low
        (7.5, FC.DOMAIN_EXPIRING, None),
        (6.9, FC.DOMAIN_EXPIRING, Priority.HIGH),
        (0.1, FC.DOMAIN_EXPIRING, Priority.HIGH),
        (-0.1, FC.DOMAIN_EXPIRED, None),
    ],
)
def test_expiry_thresholds(days: float, cls, priority) -> None:
    expiry = Expiry("tienda.co", NOW + timedelta(days=days), "whois")
    finding = expiry_finding(expiry, NOW, warning_days=30, critical_days=7)
    if cls is None:
        assert finding is None
    else:
        assert finding is not None and finding.failure_class is cls
        assert finding.priority is priority
        assert "tienda.co" in finding.detail


def test_unknown_expiry_opens_nothing() -> None:
    assert expiry_finding(Expiry("x.co", None, ""), NOW) is None


def test_only_https_or_loopback_http() -> None:
    assert allowed_url("https://rdap.nic.test/")
    assert allowed_url("http://127.0.0.1:8080/rdap/")
    assert allowed_url("http://[::1]:8080/")
    assert not allowed_url("http://rdap.nic.test/")
    assert not allowed_url("ftp://127.0.0.1/")


# ---- against local registries -------------------------------------------------------------


@pytest.fixture
def rdap():
    server = RdapServer(
        ["test", "shop"],
        {
            "tienda.test": rdap_domain("tienda.test", "2027-01-15T04:00:00Z"),
            "soon.test": rdap_domain("soon.test", "2026-12-05T00:00:00Z"),
            "noevent.test": {"objectClassName": "domain", "events": []},
            "huge.test": b'{"events": [' + b" " * (300 * 1024) + b"]}",
            "broken.test": b"<html>not json</html>",
            "deep.test": b"[" * 100_000 + b"]" * 100_000,
        },
    )
    yield server
    server.stop()


@pytest.fixture
def whois():
    released = threading.Event()

    def silent(handler) -> str:
        released.wait(30)  # answers nothing until the test is over
        return ""

    server = WhoisServer(
        {
            "tienda.co": co_whois("tienda.co", "2027-03-04T23:59:59Z"),
            "tienda.com.co": co_whois("tienda.com.co", "2026-12-20T23:59:59Z"),
            "flood.co": b"Registry Expiry Date: 2027-01-01\r\n" + b"x" * (4 * MAX_WHOIS_BYTES),
            "silent.co": silent,
        }
    )
    yield server
    released.set()
    server.stop()


def _settings(rdap: RdapServer, whois: WhoisServer | None = None, **kw) -> ExpirySettings:
    servers = {"co": whois.address} if whois else {}
    return ExpirySettings(
        bootstrap_url=f"{rdap.base}/dns.json",
        whois_servers=tuple(servers.items()),
        timeout=kw.pop("timeout", 2.0),
        **kw,
    )


def _lookup(domain: str, settings: ExpirySettings, cache: BootstrapCache) -> Expiry:
    async def go() -> Expiry:
        async with make_client(settings) as client:
            return await lookup_expiry(domain, settings, cache, client)

    return asyncio.run(go())


def test_rdap_lookup_through_the_bootstrap(rdap: RdapServer, tmp_path: Path) -> None:
    settings = _settings(rdap)
    cache = BootstrapCache(tmp_path / "rdap-dns.json", settings.bootstrap_url)
    found = _lookup("tienda.test", settings, cache)
    assert found.expires_at == datetime(2027, 1, 15, 4, tzinfo=UTC)
    assert found.source == "rdap"
    assert found.server == f"{rdap.base}/rdap/"
    assert (tmp_path / "rdap-dns.json").exists()
    # The bootstrap is cached: a second lookup does not fetch it again.
    _lookup(
        "soon.test", settings, BootstrapCache(tmp_path / "rdap-dns.json", settings.bootstrap_url)
    )
    assert rdap.asked["/dns.json"] == 1
    assert rdap.asked["/rdap/domain/soon.test"] == 1


def test_bootstrap_refetched_when_old_and_stale_copy_serves(
    rdap: RdapServer, tmp_path: Path
) -> None:
    settings = _settings(rdap)
    path = tmp_path / "rdap-dns.json"
    _lookup("tienda.test", settings, BootstrapCache(path, settings.bootstrap_url, max_age=3600))
    old = time.time() - 7200
    os.utime(path, (old, old))
    _lookup("tienda.test", settings, BootstrapCache(path, settings.bootstrap_url, max_age=3600))
    assert rdap.asked["/dns.json"] == 2
    # IANA unreachable: the stale copy still names the registry.
    os.utime(path, (old, old))
    gone = BootstrapCache(path, "http://127.0.0.1:9/dns.json", max_age=3600)
    assert _lookup("tienda.test", settings, gone).source == "rdap"


@pytest.mark.parametrize(
    ("domain", "why"),
    [
        ("missing.test", "knows no such domain"),
        ("noevent.test", "no expiration event"),
        ("huge.test", "over 262144 bytes"),
        ("broken.test", "not JSON"),
        ("deep.test", "not JSON"),
    ],
)
def test_rdap_answers_without_a_date(rdap: RdapServer, tmp_path: Path, domain: str, why: str):
    settings = _settings(rdap)
    found = _lookup(domain, settings, BootstrapCache(tmp_path / "b.json", settings.bootstrap_url))
    assert found.expires_at is None
    assert why in found.detail


def test_rdap_redirect_off_loopback_http_is_refused(rdap: RdapServer, tmp_path: Path) -> None:
    rdap.bootstrap_extra = [[["redir"], [f"{rdap.base}/redirect/"]]]
    settings = _settings(rdap)
    found = _lookup(
        "x.redir", settings, BootstrapCache(tmp_path / "b.json", settings.bootstrap_url)
    )
    assert found.expires_at is None
    assert "refusing http://192.0.2.1/rdap/" in found.detail


@pytest.mark.parametrize(
    ("domain", "expires"),
    [
        ("tienda.co", datetime(2027, 3, 4, 23, 59, 59, tzinfo=UTC)),
        ("tienda.com.co", datetime(2026, 12, 20, 23, 59, 59, tzinfo=UTC)),
    ],
)
def test_whois_fallback_for_co(
    rdap: RdapServer, whois: WhoisServer, tmp_path: Path, domain: str, expires: datetime
) -> None:
    settings = _settings(rdap, whois)
    found = _lookup(domain, settings, BootstrapCache(tmp_path / "b.json", settings.bootstrap_url))
    assert (found.expires_at, found.source) == (expires, "whois")
    assert whois.asked[domain] == 1
    assert not any(path.startswith("/rdap/") for path in rdap.asked)


def test_whois_reads_are_bounded(whois: WhoisServer) -> None:
    found = asyncio.run(whois_lookup(whois.address, "flood.co", 5.0))
    assert found.expires_at == datetime(2027, 1, 1, tzinfo=UTC)  # read, then cut


def test_whois_silence_is_a_timeout(whois: WhoisServer) -> None:
    started = time.monotonic()
    found = asyncio.run(whois_lookup(whois.address, "silent.co", 0.3))
    assert found.expires_at is None and "no answer in time" in found.detail
    assert time.monotonic() - started < 2


def test_whois_refused_connection() -> None:
    found = asyncio.run(whois_lookup("127.0.0.1:9", "x.co", 1.0))
    assert found.expires_at is None and found.detail.startswith("WHOIS 127.0.0.1:")


def test_no_rdap_and_no_whois_server(rdap: RdapServer, tmp_path: Path) -> None:
    settings = _settings(rdap)
    found = _lookup(
        "tienda.co", settings, BootstrapCache(tmp_path / "b.json", settings.bootstrap_url)
    )
    assert found.expires_at is None
    assert "no RDAP service nor WHOIS server" in found.detail


def test_each_bootstrap_url_has_its_own_file() -> None:
    from ronda.checks.domains import BOOTSTRAP_FILE, bootstrap_file
    from ronda.config.domains import IANA_BOOTSTRAP

    assert bootstrap_file(IANA_BOOTSTRAP) == BOOTSTRAP_FILE
    a, b = (
        bootstrap_file("http://127.0.0.1:1/dns.json"),
        bootstrap_file("http://127.0.0.1:2/dns.json"),
    )
    assert a != b and a.startswith("rdap-dns-") and a.endswith(".json")
