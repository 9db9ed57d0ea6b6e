"""[status_page] and [retention] site_history_days as the config reads them, and the
agency's own template and logo."""

from __future__ import annotations

from pathlib import Path

import pytest

from ronda.config import ConfigError, RetentionSettings, load_config
from ronda.status_page.gather import publish, specs
from ronda.status_page.render import StatusPageError, logo_src, private_slug
from tests.status_data import NOW, build_desk

SITES = '[[sites]]\nname = "shop"\nurl = "https://shop.example/"\n'


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "ronda.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    return [p.split(": ", 1)[1] for p in error.value.problems]


def test_status_page_settings_are_read_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "brand").mkdir()
    path = tmp_path / "ronda.toml"
    path.write_text(
        SITES + '[status_page]\nout = "www"\nevery = "5m"\npublic = ["shop"]\nlang = "es"\n'
        'templates = "brand"\nlogo = "brand/logo.png"\ncolour = "#112233"\ncustomers = false\n',
        encoding="utf-8",
    )
    settings = load_config(path).status_page
    assert settings.out == tmp_path / "www" and settings.every == 300.0
    assert settings.public == ("shop",) and settings.lang == "es" and not settings.customers
    assert settings.templates == tmp_path / "brand" and settings.colour == "#112233"


def test_status_page_mistakes_are_named(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        SITES + '[status_page]\nevery = "2s"\npublic = ["nope"]\ncolour = "blue"\n'
        'templates = "missing"\nsize = 3\n',
    )
    assert any(p.startswith("status_page.every") and "under 10 s" in p for p in found)
    assert any(p.startswith("status_page.public[0]") and "not a site" in p for p in found)
    assert any(p.startswith("status_page.colour") for p in found)
    assert any(p.startswith("status_page.templates") and "not a folder" in p for p in found)
    assert any(p.startswith("status_page.size: unknown key") for p in found)


def test_site_history_retention_defaults_to_400_days_and_has_a_floor(tmp_path: Path) -> None:
    path = tmp_path / "ronda.toml"
    path.write_text("[retention]\nsite_history_days = 730\n", encoding="utf-8")
    assert load_config(path).retention.site_history_days == 730
    assert RetentionSettings().site_history_days == 400
    found = problems(tmp_path, "[retention]\nsite_history_days = 60\n")
    assert found == [
        "retention.site_history_days: 60 is not a number of days of at least 92 "
        "(expected e.g. 400; leave the key out to keep 400 days)"
    ]


def test_the_agencys_template_replaces_the_built_in_one_and_stays_escaped(
    tmp_path: Path,
) -> None:
    store, desk, cfg = build_desk(tmp_path)
    brand = tmp_path / "brand"
    brand.mkdir()
    (brand / "status.html.j2").write_text(
        "<h1>Agencia Sol: {{ page.title }}</h1>{% for s in page.sites %}<p>{{ s.name }}"
        "</p>{% endfor %}{% for i in page.open_incidents %}{% for u in i.updates %}"
        "<q>{{ u.text }}</q>{% endfor %}{% endfor %}",
        encoding="utf-8",
    )
    (brand / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    cfg = type(cfg)(
        **{
            **{f: getattr(cfg, f) for f in cfg.__dataclass_fields__},
            "status_page": type(cfg.status_page)(templates=brand, logo=str(brand / "logo.svg")),
        }
    )
    publish(store, cfg, tmp_path / "www", specs(cfg), NOW)
    html = (tmp_path / "www" / "tienda-ana" / "index.html").read_text()
    assert html.startswith("<h1>Agencia Sol: Estado del servicio</h1>")
    assert "<p>tienda-ana</p>" in html and "&lt;script&gt;" in html
    # The sandbox: a template cannot reach Python's internals.
    (brand / "status.html.j2").write_text("{{ page.__class__.__mro__ }}")
    with pytest.raises(Exception, match="unsafe|not safely|access"):
        publish(store, cfg, tmp_path / "www2", specs(cfg), NOW)
    store.close()


def test_logos_are_embedded_or_refused(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    assert logo_src("logo.png", tmp_path).startswith("data:image/png;base64,")
    assert logo_src("https://agency.example/logo.png") == "https://agency.example/logo.png"
    assert logo_src(None) is None
    (tmp_path / "big.png").write_bytes(b"0" * (300 * 1024))
    for bad in ("big.png", "missing.png", "notes.txt"):
        with pytest.raises(StatusPageError):
            logo_src(bad, tmp_path)


def test_a_secret_makes_customer_folders_unguessable(tmp_path: Path) -> None:
    store, _, cfg = build_desk(tmp_path)
    secret = "k" * 24
    cfg = type(cfg)(
        **{
            **{f: getattr(cfg, f) for f in cfg.__dataclass_fields__},
            "status_page": type(cfg.status_page)(secret=secret, public=("shop-b",)),
        }
    )
    written = publish(store, cfg, tmp_path / "www", specs(cfg, public=["shop-b"]), NOW)
    folders = [w.slug for w in written]
    assert folders[0].startswith("tienda-ana-") and len(folders[0]) == len("tienda-ana-") + 16
    assert folders[1].startswith("bob-ltd-") and folders[2] == "public"
    assert folders[0] == private_slug("Tienda Ana", secret) != private_slug("Tienda Ana", "x" * 24)
    assert not (tmp_path / "www" / "tienda-ana").exists()
    assert secret not in repr(cfg.status_page)
    store.close()
    assert problems(tmp_path, '[status_page]\nsecret = "short"\n') == [
        "status_page.secret: is under 16 characters (a long random text)"
    ]
