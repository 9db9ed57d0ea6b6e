"""Status pages from a store with known history: content per customer and language,
nothing internal, public updates, the atomic swap of the served folder, the CLI."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ronda.app.cli import main
from ronda.config import Config, Customer, Site, StatusPageSettings
from ronda.model import FailureClass, Impact, Priority, Source
from ronda.sla import SlaPolicy
from ronda.status_page.gather import PageSpec, now_states, pages, publish, specs
from ronda.status_page.render import StatusPageError, write_site
from ronda.store import Store
from ronda.store.history import load_history
from ronda.store.probes import ProbeStateRow
from ronda.tickets import Desk, TicketError
from ronda.uptime import Interval
from tests.clocks import Clock

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # 10:00 in Bogotá
DAY = 86400.0
T = NOW.timestamp()
M = datetime(2026, 11, 20, tzinfo=ZoneInfo("America/Bogota")).timestamp()  # local midnight
# What must never reach a customer's page: evidence, headers, addresses, notes, mail.
SECRETS = (
    "X-Internal-Trace",
    "10.20.30.40",
    "PHP Fatal error in /var/www",
    "AGENT NOTE: the customer's plugin again",
    "ana.private@cliente.example",
    "wp-admin/secret-path",
    "web-04",
)


def config(tmp_path: Path, **status: object) -> Config:
    return Config(
        path=tmp_path / "ronda.toml",
        customers=(Customer("Tienda Ana", lang="es"), Customer("Bob Ltd", lang="en")),
        sites=(
            Site(
                "tienda-ana", "https://tienda-ana.example/", customer="Tienda Ana", server="web-04"
            ),
            Site("blog-ana", "https://blog-ana.example/", customer="Tienda Ana", server="web-04"),
            Site("shop-b", "https://shop-b.example/", customer="Bob Ltd"),
        ),
        status_page=StatusPageSettings(**status),  # type: ignore[arg-type]
    )


def probe_state(store: Store, site: str, at: float, up: bool, maintenance: bool = False) -> None:
    row = ProbeStateRow(
        site, at, up, "ok" if up else "http_500", 200, 12.0, "{}", None, None, maintenance, "{}"
    )
    store.probes.write_round([row], {}, {site: 1})


@pytest.fixture
def desk_store(tmp_path: Path):
    store = Store(tmp_path / "ronda.db")
    cfg = config(tmp_path)
    clock = Clock(NOW - timedelta(hours=3))
    desk = Desk(store, SlaPolicy.from_config(cfg), clock=clock)
    # History: tienda-ana up for 89 days, down 2 h this morning (still down), maintenance
    # one day; a gap of two days where Ronda was stopped. blog-ana up. shop-b up.
    load_history(
        store,
        [
            ("tienda-ana", Interval(T - 89 * DAY, M - 40 * DAY, "up")),
            ("tienda-ana", Interval(M - 38 * DAY, M - 10 * DAY, "up")),  # 2 days unmeasured
            ("tienda-ana", Interval(M - 10 * DAY, M - 9 * DAY, "maintenance")),
            ("tienda-ana", Interval(M - 9 * DAY, T - 3 * 3600, "up")),
            ("tienda-ana", Interval(T - 3 * 3600, T - 30, "down", "http_500")),
            ("blog-ana", Interval(T - 89 * DAY, T - 30, "up")),
            ("shop-b", Interval(T - 89 * DAY, T - 30, "up")),
        ],
    )
    probe_state(store, "tienda-ana", T - 30, False)
    probe_state(store, "blog-ana", T - 30, True)
    probe_state(store, "shop-b", T - 30, True)
    ticket = desk.open_ticket(
        source=Source.PROBE,
        subject="tienda-ana: HTTP 500 on https://tienda-ana.example/wp-admin/secret-path",
        priority=Priority.HIGH,
        impact=Impact.HIGH,
        actor="probe",
        failure_class=FailureClass.HTTP_500,
        site="tienda-ana",
        customer="Tienda Ana",
        requester="ana.private@cliente.example",
        dedupe_key="tienda-ana:down",
        evidence={
            "peer": "10.20.30.40",
            "headers": {"X-Internal-Trace": "abc"},
            "body_excerpt": "PHP Fatal error in /var/www",
        },
        body="PHP Fatal error in /var/www on web-04",
    )
    desk.note(ticket.id, "ana", "AGENT NOTE: the customer's plugin again")
    clock.advance(minutes=30)
    desk.public_update(
        ticket.id, "ana", "Estamos restaurando la base de datos.\n<script>x</script>"
    )
    # A resolved incident of shop-b last week, and an old one (out of the recent window).
    clock.now = NOW - timedelta(days=6)
    old = desk.open_ticket(
        source=Source.PROBE,
        subject="shop-b: timeout",
        priority=Priority.HIGH,
        impact=Impact.MEDIUM,
        actor="probe",
        failure_class=FailureClass.TIMEOUT,
        site="shop-b",
        customer="Bob Ltd",
        dedupe_key="shop-b:down",
    )
    desk.public_update(old.id, "bob", "The provider fixed a network fault.")
    clock.advance(minutes=75)
    desk.resolve(old.id, "probe", reason="recovered")
    clock.now = NOW - timedelta(days=60)
    ancient = desk.open_ticket(
        source=Source.PROBE,
        subject="shop-b: dns",
        priority=Priority.HIGH,
        impact=Impact.MEDIUM,
        actor="probe",
        failure_class=FailureClass.DNS,
        site="shop-b",
        customer="Bob Ltd",
        dedupe_key="shop-b:down",
    )
    clock.advance(hours=1)
    desk.resolve(ancient.id, "probe", reason="recovered")
    yield store, desk, cfg
    store.close()


def html_of(out: Path, folder: str) -> str:
    return (out / folder / "index.html").read_text(encoding="utf-8")


def test_one_page_per_customer_in_their_language(desk_store, tmp_path: Path) -> None:
    store, _, cfg = desk_store
    out = tmp_path / "www" / "status"
    built = publish(store, cfg, out, specs(cfg), NOW)
    assert [p.slug for p in built] == ["tienda-ana", "bob-ltd"]
    ana, bob = html_of(out, "tienda-ana"), html_of(out, "bob-ltd")
    assert '<html lang="es">' in ana and "Estado del servicio" in ana
    assert "Algunos sitios tienen problemas" in ana and "Caído" in ana
    assert "tienda-ana: responde con un error del servidor (HTTP 500)" in ana
    assert "Estamos restaurando la base de datos." in ana
    assert "&lt;script&gt;x&lt;/script&gt;" in ana and "<script>x" not in ana
    assert "shop-b" not in ana  # another customer's site
    assert '<html lang="en">' in bob and "All sites are working" in bob
    assert "The provider fixed a network fault." in bob and "1 h 15 min" in bob
    assert "No open incidents." in bob
    assert "dns" not in bob.lower().split("<footer>")[0]  # 60 days ago: out of the window
    assert "tienda-ana" not in bob
    # Times in the desk's zone (Bogotá, UTC-5): updated at 10:00.
    assert "2026-11-20 10:00 (America/Bogota)" in bob


def test_nothing_internal_reaches_a_page(desk_store, tmp_path: Path) -> None:
    store, _, cfg = desk_store
    out = tmp_path / "status"
    publish(store, cfg, out, specs(cfg, public=["tienda-ana", "shop-b"]), NOW)
    for folder in ("tienda-ana", "bob-ltd", "public"):
        html = html_of(out, folder)
        for secret in SECRETS:
            assert secret not in html, (folder, secret)
        assert "<script" not in html


def test_uptime_bars_count_gaps_and_maintenance(desk_store, tmp_path: Path) -> None:
    store, _, cfg = desk_store
    (ana,) = pages(store, cfg, [PageSpec("a", "Tienda Ana", "es", ("tienda-ana",))], NOW)
    (site,) = ana.sites
    assert len(site.bars) == 90 and site.state == "down"
    css = [b.css for b in site.bars]
    assert css.count("maint") == 1 and css.count("none") == 2
    assert css[-11] == "maint" and css[-41:-39] == ["none", "none"]
    assert css[-1] == "bad"  # today: 2 h 59 min down out of 10 h
    assert "sin medición" in site.bars[css.index("none")].label
    assert "caído 2 h 59 min" in site.bars[-1].label
    # The 90-day figure leaves maintenance and the gap out: 3 h down over the measured time.
    assert "99,8" in site.uptime_text and "de disponibilidad" in site.uptime_text


def test_state_now_is_unmeasured_once_the_probes_went_quiet(desk_store) -> None:
    store, _, cfg = desk_store
    assert now_states(store, cfg.sites, T)["blog-ana"] == "up"
    later = now_states(store, cfg.sites, T + 10 * 60)  # gap of 60 s x 3 + 2 x 10 s passed
    assert set(later.values()) == {"unmeasured"}


def test_the_served_folder_is_swapped_whole(tmp_path: Path) -> None:
    out = tmp_path / "status"
    first = write_site(out, [("a", "<p>one</p>")])
    assert out.is_symlink() and (out / "a" / "index.html").read_text() == "<p>one</p>"
    assert oct((out / "a" / "index.html").stat().st_mode & 0o777) == "0o644"
    second = write_site(out, [("a", "<p>two</p>"), ("b", "<p>b</p>")])
    third = write_site(out, [("a", "<p>three</p>")])
    assert (out / "a" / "index.html").read_text() == "<p>three</p>"
    assert not (out / "b").exists()
    assert not first.exists() and second.exists() and third.exists()  # two generations kept
    assert os.readlink(out) == third.name
    with pytest.raises(StatusPageError):
        write_site(out, [("../x", "no")])
    assert (out / "a" / "index.html").read_text() == "<p>three</p>"  # a failed write: no change
    real = tmp_path / "mine"
    real.mkdir()
    (real / "keep.txt").write_text("someone's file")
    with pytest.raises(StatusPageError, match="not a status page Ronda wrote"):
        write_site(real, [("a", "x")])


def test_public_update_rules(desk_store) -> None:
    _, desk, _ = desk_store
    ticket = desk.find_open("tienda-ana:down")
    assert ticket is not None
    with pytest.raises(TicketError):
        desk.public_update(ticket.id, "ana", "   ")
    with pytest.raises(TicketError):
        desk.public_update(ticket.id, "ana", "x" * 2001)
    kinds = [e.kind for e in desk.events(ticket.id)]
    assert kinds.count("public_update") == 1
    assert desk.get(ticket.id).first_response_at is None  # an update is not a reply


def test_cli_update_and_status_page(desk_store, tmp_path: Path, capsys) -> None:
    store, desk, _ = desk_store
    cfg_path = tmp_path / "ronda.toml"
    cfg_path.write_text(
        '[[customers]]\nname = "Tienda Ana"\nlang = "es"\n'
        '[[sites]]\nname = "tienda-ana"\nurl = "https://tienda-ana.example/"\n'
        'customer = "Tienda Ana"\n'
        '[status_page]\nout = "www"\n',
        encoding="utf-8",
    )
    db = str(tmp_path / "ronda.db")
    case = desk.find_open("tienda-ana:down").case_number
    code = main(
        [
            "tickets",
            "update",
            case,
            "--db",
            db,
            "--agent",
            "ana",
            "--public",
            "Ya casi: la base vuelve en 10 min.",
        ]
    )
    assert code == 0
    assert main(["tickets", "update", case, "--db", db]) == 1
    assert "--public" in capsys.readouterr().err
    assert main(["status-page", "--db", db, "--config", str(cfg_path)]) == 0
    html = html_of(tmp_path / "www", "tienda-ana")
    assert "Ya casi: la base vuelve en 10 min." in html
    assert (
        main(
            [
                "status-page",
                "--db",
                db,
                "--config",
                str(cfg_path),
                "--public",
                "tienda-ana",
                "--out",
                str(tmp_path / "pub"),
            ]
        )
        == 0
    )
    assert (tmp_path / "pub" / "public" / "index.html").exists()
    assert not (tmp_path / "pub" / "tienda-ana").exists()
    assert main(["status-page", "--db", db, "--config", str(cfg_path), "--customer", "Nobody"]) == 1
    assert "no customer named" in capsys.readouterr().err
