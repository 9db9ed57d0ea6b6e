"""The demo fleet serves what each site claims to show, switches at runtime, and cleans up.

These tests assert raw facts (status, body text, TLS verification reason), not a
classifier's verdict: the classifier is tested against this fleet elsewhere.
"""

from __future__ import annotations

import math
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from clocks import FakeClock
from polling import wait_until

from ronda.config import parse_config
from ronda.demo import error_pages
from ronda.demo.dns_fleet import DOMAINS
from ronda.demo.fleet import Fleet
from ronda.demo.lookup import DEMO_KEY
from ronda.demo.mail_fleet import SERVICES
from ronda.demo.specs import BEHAVIOURS, DEFAULT_SPECS, EXPIRING_DAYS, DemoSite
from ronda.demo.timeline import (
    DEGRADING_SITE,
    FLAPPING_SITE,
    OUTAGE_SERVER,
    RECOVERING_SITE,
    Step,
    Timeline,
    TimelineDriver,
    default_timeline,
)
from ronda.model import FailureClass, family_of

SLOW = 0.3  # the slow site's delay in these tests (default 2.5 s)
FLAP = 10.0  # intermittent half-period, on a fake clock
GENERATOR = b'<meta name="generator" content="WordPress 6.6.2" />'


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fleet(clock: FakeClock) -> Iterator[Fleet]:
    with Fleet(slow_delay=SLOW, flap_period=FLAP, clock=clock) as f:
        yield f


@pytest.fixture
def client(fleet: Fleet) -> Iterator[httpx.Client]:
    with httpx.Client(verify=fleet.ssl_context(), timeout=2.0, max_redirects=5) as c:
        yield c


def wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    wait_until(condition, "the fleet", timeout, poll=0.005)


def tls_error(fleet: Fleet, site: DemoSite) -> ssl.SSLCertVerificationError:
    """The verification error a client trusting the fleet's CA gets from `site`."""
    with socket.create_connection(("127.0.0.1", site.port), timeout=2) as raw:
        with pytest.raises(ssl.SSLCertVerificationError) as info:
            fleet.ssl_context().wrap_socket(raw, server_hostname="127.0.0.1")
    return info.value


def peer_not_after(fleet: Fleet, site: DemoSite) -> datetime:
    with socket.create_connection(("127.0.0.1", site.port), timeout=2) as raw:
        with fleet.ssl_context().wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            cert = tls.getpeercert()
    return datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]), UTC)


def refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


# --------------------------------------------------------------------------- coverage


def test_default_fleet_covers_every_failure_class() -> None:

    shown = {BEHAVIOURS[s.behaviour] for s in DEFAULT_SPECS}
    # The demo's mail server shows the service classes (no site can).
    by_mail = {FailureClass(svc.expect_class) for svc in SERVICES}
    assert FailureClass.OK in by_mail and not shown & (by_mail - {FailureClass.OK})
    # A server outage is a parent incident over sites, and prober_blind the desk's own
    # incident: neither is something one site shows. A customer domain's classes are shown
    # by the demo's domains (ronda/demo/dns_fleet.py), every one of them.
    domain_classes = {d.shows for d in DOMAINS if d.shows is not None}
    assert domain_classes == {
        c for c in FailureClass if family_of(c) in ("dns", "mail_auth", "registration")
    }
    assert shown | by_mail == set(FailureClass) - {
        FailureClass.SERVER_OUTAGE,
        FailureClass.PROBER_BLIND,
        *domain_classes,
    }
    healthy = [s for s in DEFAULT_SPECS if s.behaviour == "ok"]
    assert {s.https for s in healthy} == {True, False}
    assert [s.name for s in DEFAULT_SPECS if s.behaviour == "redirect_loop"]
    assert [s.name for s in DEFAULT_SPECS if s.behaviour == "login_loop"]
    assert len([s for s in DEFAULT_SPECS if s.server == OUTAGE_SERVER]) >= 3


# --------------------------------------------------------------------------- each site


def test_every_site_shows_its_class(fleet: Fleet, client: httpx.Client, clock: FakeClock) -> None:
    by_class: dict[str, list[DemoSite]] = {}
    for site in fleet.sites:
        assert site.expected_class is BEHAVIOURS[site.behaviour]
        by_class.setdefault(site.behaviour, []).append(site)
    checked = set()

    def sites(behaviour: str) -> list[DemoSite]:
        checked.add(behaviour)
        return by_class[behaviour]

    for site in sites("ok"):
        home = client.get(site.url)
        assert home.status_code == 200, site.name
        if not site.wordpress:
            assert b"wp-content" not in home.content
            continue
        assert GENERATOR in home.content and b"/wp-content/" in home.content
        assert b"/wp-includes/" in home.content
        login = client.get(site.url + "wp-login.php")
        assert login.status_code == 200 and b'id="user_login"' in login.content
        feed = client.get(site.url + "feed/")
        assert feed.headers["content-type"].startswith("application/rss+xml")
        assert ET.fromstring(feed.content).tag == "rss"
        for path, keyword in site.checks:
            page = client.get(site.url + path.lstrip("/"))
            assert page.status_code == 200 and keyword in page.text, (site.name, path)

    for site in sites("refused"):
        assert refuses(site.port)
    for site in sites("dns"):
        assert httpx.URL(site.url).host.endswith(".invalid")  # RFC 6761: never resolves
    for site in sites("timeout"):
        with pytest.raises(httpx.ReadTimeout):
            client.get(site.url, timeout=httpx.Timeout(2.0, read=0.2))

    for status in ("http_500", "http_502", "http_503", "http_403", "http_404"):
        for site in sites(status):
            answer = client.get(site.url)
            assert answer.status_code == int(status[-3:])
            assert GENERATOR not in answer.content  # the web server's page, not WordPress's

    [db] = sites("wp_db_connection")
    answer = client.get(db.url)
    assert answer.status_code == 500
    assert "<h1>Error establishing a database connection</h1>" in answer.text
    [fatal] = sites("php_fatal")
    answer = client.get(fatal.url)
    assert answer.status_code == 500
    assert "There has been a critical error on this website." in answer.text
    [exec_time] = sites("php_fatal_timeout")
    answer = client.get(exec_time.url)
    assert answer.status_code == 200  # display_errors=On: PHP does not change the status
    assert "Fatal error: Maximum execution time of 30 seconds exceeded in /" in answer.text
    assert "/wp-includes/" in answer.text
    [syntax] = sites("php_syntax_error")
    answer = client.get(syntax.url)
    assert answer.status_code == 200 and "Parse error: syntax error, unexpected" in answer.text
    [blank] = sites("white_screen")
    answer = client.get(blank.url)
    assert answer.status_code == 200 and answer.content.strip() == b""
    [maint] = sites("wp_maintenance")
    answer = client.get(maint.url)
    assert answer.status_code == 503 and error_pages.MAINTENANCE_TEXT in answer.text
    assert answer.headers["retry-after"] == "600"

    [loop] = sites("redirect_loop")
    with pytest.raises(httpx.TooManyRedirects):
        client.get(loop.url, follow_redirects=True)
    [login_loop] = sites("login_loop")
    assert client.get(login_loop.url, follow_redirects=True).status_code == 200
    assert ("/wp-login.php", "user_login") in login_loop.checks
    with pytest.raises(httpx.TooManyRedirects):
        client.get(login_loop.url + "wp-login.php", follow_redirects=True)
    [hijacked] = sites("redirect_refused")
    answer = client.get(hijacked.url)  # not followed here either: the target is link-local
    assert answer.status_code == 302
    assert answer.headers["location"] == "http://169.254.169.254/latest/meta-data/"

    [expired] = sites("ssl_expired")
    error = tls_error(fleet, expired)
    assert error.verify_message == "certificate has expired"
    [untrusted] = sites("ssl_untrusted")
    assert "self-signed certificate" in tls_error(fleet, untrusted).verify_message
    [wrong_host] = sites("ssl_hostname")
    assert "mismatch" in tls_error(fleet, wrong_host).verify_message
    [expiring] = sites("ssl_expiring")
    days_left = (peer_not_after(fleet, expiring) - datetime.now(UTC)).total_seconds() / 86400
    assert EXPIRING_DAYS - 1 < days_left <= EXPIRING_DAYS
    assert client.get(expiring.url).status_code == 200
    # The healthy HTTPS sites' certificate verifies and is far from expiry.
    healthy_https = next(s for s in by_class["ok"] if s.https)
    assert (peer_not_after(fleet, healthy_https) - datetime.now(UTC)).days > 300

    [slow] = sites("slow")
    started = time.monotonic()
    answer = client.get(slow.url)
    assert answer.status_code == 200 and GENERATOR in answer.content
    assert time.monotonic() - started >= SLOW * 0.9

    [missing] = sites("content_missing")
    assert client.get(missing.url).status_code == 200
    for path, keyword in missing.checks:
        page = client.get(missing.url + path.lstrip("/"))
        assert page.status_code == 200 and keyword not in page.text
        assert "[woocommerce_cart]" in page.text  # the plugin is off: its shortcode shows

    [rss] = sites("rss_invalid")
    assert client.get(rss.url).status_code == 200
    feed = client.get(rss.url + "feed/")
    assert feed.status_code == 200
    with pytest.raises(ET.ParseError):
        ET.fromstring(feed.content)

    [flapping] = sites("intermittent")
    seen = []
    for _ in range(4):
        seen.append(client.get(flapping.url).status_code)
        clock.now += FLAP
    assert seen == [200, 500, 200, 500]

    check_wordpress_health_sites(client, sites)
    assert checked == set(by_class), f"unchecked: {set(by_class) - checked}"


def check_wordpress_health_sites(
    client: httpx.Client, sites: Callable[[str], list[DemoSite]]
) -> None:
    """The sites whose WordPress is unwell in a way seen from outside, as a client sees them."""
    for site in sites("ok"):
        if site.wordpress:
            rest = client.get(site.url + "wp-json/")
            assert rest.status_code == 200 and "wp/v2" in rest.json()["namespaces"]
            assert b"X-Powered-By" not in rest.content
            home = client.get(site.url)
            assert home.headers["x-powered-by"] == "PHP/8.3.14"
            if site.https:  # an HTTPS page loads nothing over http://
                assert b'src="http://' not in home.content
                assert b"href='http://" not in home.content
    [old] = sites("wp_outdated")
    assert b'content="WordPress 6.4.5"' in client.get(old.url).content
    [php] = sites("php_eol")
    assert client.get(php.url).headers["x-powered-by"] == "PHP/7.4.33"
    [mixed] = sites("mixed_content")
    assert mixed.https and b'<script src="http://' in client.get(mixed.url).content
    [images] = sites("broken_images")
    home = client.get(images.url)
    assert b"/wp-content/uploads/" in home.content
    shop = client.get(
        fleet_url(sites, "ok", "tienda-ana") + "wp-content/uploads/2024/09/item-0-300x300.jpg"
    )
    assert shop.status_code == 200 and shop.headers["content-type"] == "image/jpeg"
    assert (
        client.get(images.url + "wp-content/uploads/2024/09/item-0-300x300.jpg").status_code == 404
    )
    [warning] = sites("php_warning")
    assert b"<b>Warning</b>:  Undefined array key" in client.get(warning.url).content
    [rest] = sites("wp_rest_broken")
    answer = client.get(rest.url + "wp-json/")
    assert answer.status_code == 403 and answer.headers["content-type"].startswith("text/html")
    [login] = sites("login_redirect_loop")
    assert not login.checks
    with pytest.raises(httpx.TooManyRedirects):
        client.get(login.url + "wp-login.php", follow_redirects=True)
    [blocked] = sites("blocked")
    answer = client.get(blocked.url)
    assert answer.status_code == 403 and b"Imunify360" in answer.content
    [flagged] = sites("flagged_unsafe")
    assert client.get(flagged.url).status_code == 200  # Google lists it; the site answers


def fleet_url(sites: Callable[[str], list[DemoSite]], behaviour: str, name: str) -> str:
    return next(s.url for s in sites(behaviour) if s.name == name)


def test_lookup_stand_in_answers_in_web_risk_format(fleet: Fleet) -> None:
    flagged = next(s for s in fleet.sites if s.behaviour == "flagged_unsafe")
    healthy = fleet.site("tienda-ana")
    headers = {"X-Goog-Api-Key": DEMO_KEY}
    with httpx.Client(timeout=2.0) as c:
        listed = c.get(fleet.lookup.url, params={"uri": flagged.url}, headers=headers)
        clean = c.get(fleet.lookup.url, params={"uri": healthy.url}, headers=headers)
        keyless = c.get(fleet.lookup.url, params={"uri": flagged.url})
    assert listed.json()["threat"]["threatTypes"] == ["MALWARE"]
    assert clean.json() == {}
    assert keyless.status_code == 403


def test_canonical_redirects_and_not_found(fleet: Fleet, client: httpx.Client) -> None:
    shop = fleet.site("tienda-ana")
    answer = client.get(shop.url + "carrito")
    assert answer.status_code == 301
    assert answer.headers["location"] == shop.url + "carrito/"
    assert answer.headers["x-redirect-by"] == "WordPress"
    missing = client.get(shop.url + "no-existe/")
    assert missing.status_code == 404 and "Página no encontrada" in missing.text
    head = client.head(shop.url)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) > 1000


# --------------------------------------------------------------------------- switching


def test_set_behaviour_switches_at_runtime(fleet: Fleet, client: httpx.Client) -> None:
    site = fleet.site("mercado-organico")
    assert client.get(site.url).status_code == 200
    fleet.set_behaviour(site.name, "http_500")
    assert client.get(site.url).status_code == 500
    fleet.set_behaviour(site.name, "refused")
    assert fleet.behaviour(site.name) == "refused"
    assert refuses(site.port)
    fleet.set_behaviour(site.name, "ssl_expired")  # back up on the same port, bad certificate
    assert tls_error(fleet, site).verify_message == "certificate has expired"
    fleet.set_behaviour(site.name, "wp_db_connection")
    assert "Error establishing a database connection" in client.get(site.url).text
    fleet.reset()
    assert fleet.behaviour(site.name) == "ok"
    assert client.get(site.url).status_code == 200

    down = fleet.site("inmobiliaria-sol")  # starts refused
    fleet.set_behaviour(down.name, "ok")
    assert client.get(down.url).status_code == 200

    with pytest.raises(ValueError, match="unknown behaviour"):
        fleet.set_behaviour(site.name, "on_fire")
    with pytest.raises(ValueError, match="HTTPS"):
        fleet.set_behaviour("blog-cafe", "ssl_expired")
    with pytest.raises(ValueError, match="resolve"):
        fleet.set_behaviour("eventos-luna", "ok")
    with pytest.raises(KeyError):
        fleet.set_behaviour("no-such-site", "ok")


async def test_async_callers_switch_and_fetch(fleet: Fleet) -> None:
    site = fleet.site("dental-care-miami")
    async with httpx.AsyncClient(verify=fleet.ssl_context(), timeout=2) as client:
        assert (await client.get(site.url)).status_code == 200
        await fleet.aset_behaviour(site.name, "wp_maintenance")
        answer = await client.get(site.url)
        assert answer.status_code == 503 and error_pages.MAINTENANCE_TEXT in answer.text


# --------------------------------------------------------------------------- cleanup


def test_stop_leaves_nothing_listening_or_open() -> None:
    threads_before = set(threading.enumerate())
    fleet = Fleet(slow_delay=5.0).start()
    ports = [s.port for s in fleet.sites if s.port]
    workdir = fleet.ca_pem_path.parent
    thread = fleet.thread
    assert thread is not None and thread.is_alive()
    # Two connections the fleet is holding: one never answered, one mid slow delay.
    held = []
    for name in ("abogados-mendez", "panaderia-el-trigal"):
        site = fleet.site(name)
        raw = socket.create_connection(("127.0.0.1", site.port), timeout=2)
        tls = fleet.ssl_context().wrap_socket(raw, server_hostname="127.0.0.1")
        tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        held.append(tls)
    wait_for(lambda: fleet.open_connections() == 2)

    fleet.stop()

    assert not thread.is_alive()
    assert set(threading.enumerate()) <= threads_before
    assert all(refuses(port) for port in ports)
    for tls in held:  # the fleet closed its side: the client reads end-of-stream
        tls.settimeout(2)
        try:
            assert tls.recv(100) == b""
        except (ssl.SSLError, ConnectionResetError):
            pass  # an abort (RST) is a close too
        tls.close()
    assert fleet.open_connections() == 0
    assert not workdir.exists()
    with pytest.raises(RuntimeError):
        fleet.start()


def test_connections_are_forgotten_after_use(fleet: Fleet, client: httpx.Client) -> None:
    for site in fleet.sites:
        if site.behaviour in ("ok", "ssl_expired", "http_500"):
            try:
                client.get(site.url)
            except httpx.ConnectError:
                pass
    wait_for(lambda: fleet.open_connections() == 0)
    assert fleet.hits("tienda-ana") == 1


# --------------------------------------------------------------------------- config


def test_config_toml_loads(fleet: Fleet) -> None:
    text = fleet.config_toml('lang = "es"\n[probe]\ndeadline = 1.5\n')
    raw = tomllib.loads(text)
    assert raw["lang"] == "es" and raw["probe"]["deadline"] == 1.5
    assert raw["tls"]["extra_ca"] == str(fleet.ca_pem_path)
    assert fleet.ca_pem_path.read_text().startswith("-----BEGIN CERTIFICATE-----")

    config = parse_config(text)  # the desk's own loader accepts it
    assert [s.name for s in config.sites] == [s.name for s in fleet.sites]
    assert {s.name for s in config.servers} == {"web-01", "web-02", "web-03", "web-04"}
    assert config.tls.extra_ca == fleet.ca_pem_path
    shop = config.site("tienda-ana")
    assert shop is not None and shop.url == fleet.site("tienda-ana").url
    assert shop.customer == "Ana Pérez" and shop.impact.value == "high"
    assert [(c.path, c.keyword) for c in shop.checks] == [("/carrito/", "Finalizar compra")]
    # With a test-sized slow delay, each site's threshold follows so "slow" still shows.
    assert shop.probe.slow_first_byte == pytest.approx(SLOW / 2)
    assert config.site("landing-evento").wordpress is False
    ana = next(c for c in config.customers if c.name == "Ana Pérez")
    assert ana.emails == ("ana@tienda-ana.example",)


def test_uniform_fleet_is_healthy_and_mixed() -> None:
    with Fleet.uniform(12, https_share=0.5, sites_per_server=5) as fleet:
        sites = fleet.sites
        assert len({s.port for s in sites}) == 12
        assert sum(s.https for s in sites) == 6
        assert {s.server for s in sites} == {"web-01", "web-02", "web-03"}
        assert all(s.expected_class is FailureClass.OK for s in sites)
        with httpx.Client(verify=fleet.ssl_context(), timeout=2) as client:
            for site in sites:
                answer = client.get(site.url)
                assert answer.status_code == 200 and GENERATOR in answer.content
        assert len(parse_config(fleet.config_toml()).sites) == 12


def test_command_line_serves_until_terminated(tmp_path: Path) -> None:
    config = tmp_path / "fleet.toml"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ronda.demo.fleet", "--uniform", "3", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == f"ready {config}"
        raw = tomllib.loads(config.read_text())
        ctx = ssl.create_default_context(cafile=raw["tls"]["extra_ca"])
        with httpx.Client(verify=ctx, timeout=2) as client:
            for site in raw["sites"]:
                assert client.get(site["url"]).status_code == 200
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0, stderr
    assert "RuntimeWarning" not in stderr


# --------------------------------------------------------------------------- timeline


def planned_sites() -> list[DemoSite]:
    """The default fleet's sites without serving them (the timeline is pure)."""
    return [
        DemoSite(s.name, f"http://127.0.0.1:{9000 + i}/", s.server, s.impact, s.customer,
                 BEHAVIOURS[s.behaviour], s.checks, behaviour=s.behaviour)
        for i, s in enumerate(DEFAULT_SPECS)
    ]  # fmt: skip


def test_default_timeline_script() -> None:
    sites = planned_sites()
    initial = {s.name: s.behaviour for s in sites}
    r = 60.0
    timeline = default_timeline(sites, round_seconds=r, flap_rounds=4)
    assert [s.at for s in timeline.steps] == sorted(s.at for s in timeline.steps)
    assert all(math.isclose((s.at / r) % 1, 0.5) for s in timeline.steps)  # mid-round

    flaps = [s.behaviour for s in timeline.steps if s.site == FLAPPING_SITE]
    assert flaps == ["http_500", "ok", "http_500", "ok", "ok"]
    degrading = [s.behaviour for s in timeline.steps if s.site == DEGRADING_SITE]
    assert degrading == ["slow", "wp_db_connection", "ok"]
    assert [s.behaviour for s in timeline.steps if s.site == RECOVERING_SITE] == ["ok"]
    assert initial[RECOVERING_SITE] == "http_503"

    outage = [s.name for s in sites if s.server == OUTAGE_SERVER]
    down_at = {s.at for s in timeline.steps if s.behaviour == "refused"}
    assert len(down_at) == 1  # the whole server at once
    during = timeline.state_at(down_at.pop(), initial)
    assert all(during[name] == "refused" for name in outage)
    assert sum(v != "refused" for k, v in during.items() if k not in outage) > 0
    after = timeline.state_at(timeline.duration, initial)
    assert all(after[name] == initial[name] for name in outage)  # back as they were
    assert after[DEGRADING_SITE] == "ok" and after[FLAPPING_SITE] == "ok"
    assert timeline.between(0, r) == (Step(r / 2, FLAPPING_SITE, "http_500", "flaps"),)

    with pytest.raises(ValueError, match="web-09"):
        default_timeline(sites, outage_server="web-09")
    with pytest.raises(ValueError, match="must not be on"):
        default_timeline(sites, flapping="mercado-organico")


def test_driver_applies_steps_to_the_fleet(fleet: Fleet, client: httpx.Client) -> None:
    timeline = default_timeline(fleet.sites, round_seconds=10.0, flap_rounds=2)
    seen: list[Step] = []
    driver = TimelineDriver(timeline, fleet, on_step=seen.append)
    assert driver.apply_until(4.9) == []
    assert [s.behaviour for s in driver.apply_until(5.0)] == ["http_500"]
    assert fleet.behaviour(FLAPPING_SITE) == "http_500"
    assert client.get(fleet.site(FLAPPING_SITE).url).status_code == 500

    driver.apply_until(65.0)  # web-04 is down
    for site in fleet.sites:
        if site.server == OUTAGE_SERVER:
            assert fleet.behaviour(site.name) == "refused" and refuses(site.port)
    driver.apply_until(timeline.duration)
    assert driver.finished and seen == list(timeline.steps) == driver.applied
    for site in fleet.sites:
        if site.server == OUTAGE_SERVER:
            assert client.get(site.url).status_code == 200
    assert client.get(fleet.site(RECOVERING_SITE).url).status_code == 200


def test_driver_plays_in_the_background(fleet: Fleet) -> None:
    timeline = Timeline(
        (
            Step(2.0, "tienda-ana", "ok"),
            Step(1.0, "tienda-ana", "http_502"),
            Step(3.0, "inmobiliaria-sol", "ok"),
        )
    )
    driver = TimelineDriver(timeline, fleet, speed=100.0)  # 3 script seconds in 30 ms
    driver.start()
    wait_for(lambda: driver.finished)
    driver.stop()
    assert [s.behaviour for s in driver.applied] == ["http_502", "ok", "ok"]
    assert fleet.behaviour("inmobiliaria-sol") == "ok"
    assert not refuses(fleet.site("inmobiliaria-sol").port)


async def test_driver_runs_on_the_callers_loop(fleet: Fleet) -> None:
    timeline = Timeline((Step(1.0, "law-office-garcia", "ok"), Step(2.0, "tienda-ana", "slow")))
    driver = TimelineDriver(timeline, fleet, speed=200.0)
    await driver.run()
    assert driver.finished and driver.elapsed >= 2.0
    assert fleet.behaviour("law-office-garcia") == "ok"
    assert fleet.behaviour("tienda-ana") == "slow"
