"""What the probe rounds write, shown in the UI language: the ticket screen's title and
class, the history's fixed phrases, the raw evidence's names. The store keeps English."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_tui import SIZE, build_store, make_app, open_case, settle, utc  # noqa: F401
from textual.widgets import Collapsible

from ronda.store import Store
from ronda.tickets import Desk
from ronda.tui.i18n import Catalogue
from ronda.tui.probe_words import event_words, phrase_words

EN, ES = Catalogue("en"), Catalogue("es")

# What `ronda.checks.incidents`, `outages` and `blind` write, and how Spanish says it.
WRITTEN = {
    "shop: still failing (for 3 h 05 min): HTTP 500": (
        "shop: sigue fallando (desde hace 3 h 05 min): HTTP 500"
    ),
    "shop: failing again (for 12 min): HTTP 502": (
        "shop: vuelve a fallar (desde hace 12 min): HTTP 502"
    ),
    "still failing: HTTP 500": "sigue fallando: HTTP 500",
    "shop: failing again: connection refused": "shop: vuelve a fallar: connection refused",
    "shop: now http_502: HTTP 502": "shop: ahora error HTTP 502: HTTP 502",
    "shop: failing again, now refused: x": "shop: vuelve a fallar, ahora conexión rechazada: x",
    "failing again 2 h 00 min after it was resolved": (
        "vuelve a fallar 2 h 00 min después de resuelto"
    ),
    "shop: recovered after 14 min of failures (2 good rounds)": (
        "shop: se recuperó tras 14 min de fallas (2 rondas buenas)"
    ),
    "http_502 is worse than http_500": "error HTTP 502 es peor que error HTTP 500",
    "refused: failing again": "conexión rechazada: vuelve a fallar",
    "site recovered": "el sitio se recuperó",
    "WordPress maintenance mode for 2 h 10 min": (
        "WordPress en modo mantenimiento desde hace 2 h 10 min"
    ),
    "shop: still failing (for 40 min): down and up 4 times within 30 min": (
        "shop: sigue fallando (desde hace 40 min): cae y vuelve 4 veces en 30 min"
    ),
}


@pytest.mark.parametrize("body", sorted(WRITTEN))
def test_each_phrase_reads_in_spanish_and_english_is_unchanged(body: str) -> None:
    assert phrase_words(body, ES) == WRITTEN[body]
    assert phrase_words(body, EN) == body


def test_only_the_probe_is_translated_and_unknown_text_is_kept() -> None:
    # An agent typing the same words wrote them: shown as typed.
    assert event_words("ana", "still failing: HTTP 500", ES) == "still failing: HTTP 500"
    assert event_words("probe", "still failing: HTTP 500", ES) == "sigue fallando: HTTP 500"
    # A code that is not a failure class is not taken for one.
    assert phrase_words("shop: now nothing_known: x", ES) == "shop: now nothing_known: x"
    assert phrase_words("something else entirely", ES) == "something else entirely"
    # Braces in a site's detail are data, never a format field.
    assert phrase_words("still failing: {x} [b]", ES) == "sigue fallando: {x} [b]"
    # The rest of a multi-line body is kept as it is.
    assert phrase_words("site recovered\nmore", ES) == "el sitio se recuperó\nmore"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return build_store(tmp_path / "ronda.db")


def shown(app, selector: str) -> str:  # noqa: ANN001
    return str(app.screen.query_one(selector).render())


async def test_the_ticket_screen_in_spanish_says_the_class_and_the_probe_in_spanish(
    store: Store,
) -> None:
    desk = Desk(store)
    desk.record(3, "probe", "recurrence", "blog: still failing (for 2 h 00 min): expires in 5 d")
    app = make_app(store, lang="es")
    async with app.run_test(size=SIZE) as pilot:
        await open_case(pilot, "R-1001")
        assert "sonda repetición: sigue fallando: HTTP 500" in shown(app, "#timeline")
        assert "still failing" not in shown(app, "#timeline")
        # The class in words, its code beside it where there is room.
        assert "Falla: error HTTP 500 (http_500)" in shown(app, "#meta")
        assert shown(app, "#title").startswith("R-1001  error HTTP 500 · shop: HTTP 500")
        await open_case(pilot, "R-1003")
        title = shown(app, "#title")
        assert title.startswith("R-1003  certificado por vencer · blog:")
        assert "blog: sigue fallando (desde hace 2 h 00 min)" in shown(app, "#timeline")
        # The store keeps what the rounds wrote.
        assert desk.get(3).subject == "blog: certificate expires in 5 days"
        assert desk.events(3)[-1].body.startswith("blog: still failing")


async def test_the_raw_evidence_names_its_facts_in_spanish(store: Store) -> None:
    app = make_app(store, lang="es")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_case(pilot, "R-1001")
        screen.query_one("#evidence-more", Collapsible).collapsed = False
        await settle(pilot)
        raw = shown(app, "#evidence-raw")
        assert "estado HTTP: 500" in raw and "status_code" not in raw
        assert "extracto de la página:" in raw and "fases:" in raw
        assert "  server: nginx" in raw  # header names are the site's: as sent
    app = make_app(store, lang="en")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_case(pilot, "R-1001")
        assert "status_code: 500" in shown(app, "#evidence-raw")


async def test_at_80_columns_the_class_is_named_without_its_code(store: Store) -> None:
    app = make_app(store, lang="es")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_case(pilot, "R-1001")
        meta = shown(app, "#meta")
        assert "Falla: error HTTP 500" in meta and "(http_500)" not in meta


# ---- at 80 columns -------------------------------------------------------------------


def footer_text(app) -> str:  # noqa: ANN001
    from ronda.tui.widgets.footer import FittedFooter

    footer = app.screen.query_one(FittedFooter)
    return " ".join(str(key.render()) for key in footer.children)


def test_the_footer_keeps_the_keys_that_matter_and_help_last() -> None:
    from ronda.tui.widgets.footer import Key, fit_keys

    keys = [
        Key("claim", "c", "Claim", "Claim"),
        Key("reply", "r", "Reply", "Reply"),
        Key("reopen", "o", "Reopen", "Reopen"),
        Key("log_time", "t", "Log time", "Time"),
        Key("help", "?", "Help", "More"),
    ]
    full = sum(k.width(False) for k in keys)
    assert fit_keys("ticket", keys, full + 10, 10).short is False
    short = sum(k.width(True) for k in keys)
    fit = fit_keys("ticket", keys, full + 9, 10)  # no room for the palette: short words
    assert fit.short and fit.palette and len(fit.names) == 5
    fit = fit_keys("ticket", keys, short + 9, 10)  # then the palette's key goes
    assert fit.short and not fit.palette and len(fit.names) == 5
    # Narrower still: the least important first (reopen), then claim; help stays.
    tight = sum(k.width(True) for k in keys) - 1
    assert fit_keys("ticket", keys, tight, 10).names == ("claim", "reply", "log_time", "help")
    assert fit_keys("ticket", keys, 15, 10).names == ("reply", "help")


def test_every_short_word_has_its_spanish() -> None:
    from ronda.tui.widgets.footer import EN_SHORT, ES_SHORT

    assert EN_SHORT.keys() <= ES_SHORT.keys()


@pytest.mark.parametrize("lang", ["en", "es"])
async def test_at_80_columns_the_ticket_footer_shows_t_b_l_and_the_count_shows(
    store: Store, lang: str
) -> None:
    app = make_app(store, lang=lang)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: bool(app.snapshot and app.snapshot.rows))
        await pilot.pause()
        header = shown(app, "#summary")
        assert ("6 of 6" if lang == "en" else "6 de 6") in header
        assert len(header.rstrip()) <= 78
        await open_case(pilot, "R-1004")
        await settle(pilot, lambda: " t " in f" {footer_text(app)} ", rounds=200)
        keys = footer_text(app)
        for key in ("c", "r", "n", "x", "t", "b", "l", "?"):
            assert f" {key} " in f" {keys} ", keys
        assert sum(len(str(k.render())) + 1 for k in app.screen.query("FooterKey")) <= 80
    app = make_app(store, lang=lang)
    async with app.run_test(size=(160, 45)) as pilot:
        await open_case(pilot, "R-1004")
        # Wide: every key (in full words where they fit) and the palette's key.
        await settle(pilot, lambda: "^p" in footer_text(app), rounds=200)
        keys = footer_text(app)
        assert ("Link parent" if lang == "en" else "Vincular") in keys
        assert ("q Quit" if lang == "en" else "q Salir") in keys
        assert ("? Help" if lang == "en" else "? Ayuda") in keys


async def test_the_sites_footer_shows_enter_though_the_table_shadows_it(store: Store) -> None:
    from ronda.tui.screens.sites import SitesScreen

    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot, lambda: isinstance(app.screen, SitesScreen))
        await settle(pilot, lambda: "Open" in footer_text(app), rounds=200)
        keys = footer_text(app)
        assert keys.startswith("⏎ Open") and "p Probe" in keys
