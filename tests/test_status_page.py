"""Status pages from a store with known history: content per customer and language,
nothing internal, public updates, the atomic swap of the served folder, the CLI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ronda.app.cli import main
from ronda.config import Config
from ronda.status_page.gather import PageSpec, now_states, pages, publish, specs
from ronda.status_page.render import StatusPageError, write_site
from ronda.store import Store
from ronda.tickets import Desk, TicketError
from tests.status_data import NOW, SECRETS, T, build_desk


@pytest.fixture
def desk_store(tmp_path: Path) -> Iterator[tuple[Store, Desk, Config]]:
    store, desk, cfg = build_desk(tmp_path)
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
    assert "(America/Bogota), 1 h 15 min" in bob  # the zone next to an incident's times
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
    printed = capsys.readouterr().out
    assert (
        printed.strip()
        == f"{tmp_path / 'www' / 'tienda-ana' / 'index.html'}: 1 site, 1 open incident"
    )
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
