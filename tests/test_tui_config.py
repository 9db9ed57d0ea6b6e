"""Which config the TUI works with, and what it says about it: the demo's reply editor says
why a reply is recorded only; `ronda tui` without --config reads the ronda.toml next to its
database and says which config is in use."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from test_tui import CONFIG, SIZE, build_store, make_app, open_case, settle, utc  # noqa: F401

from ronda.app.service import Service
from ronda.config import MailSettings
from ronda.demo.app import reply_channel
from ronda.store import Store
from ronda.tui.screens.compose import ComposeScreen


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return build_store(tmp_path / "ronda.db")


def test_the_demo_has_a_config_but_no_relay(store: Store) -> None:
    assert reply_channel(Service(CONFIG, store)) == (None, "why.demo_no_relay")
    relayed = replace(CONFIG, mail=MailSettings(relay="127.0.0.1:2525"))
    service = Service(relayed, store)
    mail_reply, why = reply_channel(service)
    assert mail_reply == service.mail_reply and why == ""


@pytest.mark.parametrize(
    ("lang", "words"),
    [("en", "the demo has no mail relay"), ("es", "la demo no tiene relay de correo")],
)
async def test_the_demo_reply_editor_says_the_true_reason(
    store: Store, lang: str, words: str
) -> None:
    mail_reply, why = reply_channel(Service(CONFIG, store))
    app = make_app(store, lang=lang, mail_reply=mail_reply, mail_off_reason=why)
    async with app.run_test(size=SIZE) as pilot:
        await open_case(pilot, "R-1002")  # a requester with an e-mail address
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, ComposeScreen))
        text = " ".join(str(w.render()) for w in app.screen.query("Static"))
        assert words in text
        assert "--config" not in text


# ---- the config next to the database -------------------------------------------------

SAVED = (
    "[[agents]]\n"
    'name = "ana"\n'
    "[[replies.saved]]\n"
    'name = "Looking into it"\n'
    'lang = "en"\n'
    'text = "Hello {customer}: we are on {case}."\n'
)


def test_tui_reads_the_config_next_to_the_database(tmp_path: Path) -> None:
    import argparse

    from ronda.app.context import config_path, load

    db = tmp_path / "ronda.db"
    args = argparse.Namespace(db=db, config=None)
    assert config_path(args) is None  # no file beside: the defaults
    (tmp_path / "ronda.toml").write_text(SAVED, encoding="utf-8")
    assert config_path(args) == tmp_path / "ronda.toml"
    config = load(config_path(args))
    assert [r.name for r in config.replies] == ["Looking into it"]
    assert [a.name for a in config.agents] == ["ana"]
    # --config wins over the file beside.
    other = tmp_path / "other.toml"
    other.write_text("", encoding="utf-8")
    assert config_path(argparse.Namespace(db=db, config=str(other))) == other


@pytest.mark.parametrize(
    ("source", "header", "toast"),
    [
        ("/desk/ronda.toml", "config ronda.toml", "Config: /desk/ronda.toml"),
        (None, "no config", "No config: SLA defaults"),
    ],
)
async def test_the_tui_says_which_config_is_in_use(
    store: Store, source: str | None, header: str, toast: str
) -> None:
    from test_tui import toasts

    app = make_app(store, config_source=source)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, lambda: bool(app.snapshot and app.snapshot.rows))
        await pilot.pause()
        assert header in str(app.screen.query_one("#summary").render())
        assert any(toast in text for text in toasts(app))
    # At 80 columns the count stays; the config gives way first.
    app = make_app(store, config_source=source)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: bool(app.snapshot and app.snapshot.rows))
        await pilot.pause()
        assert "6 of 6" in str(app.screen.query_one("#summary").render())


# ---- rows first, counts after --------------------------------------------------------


async def test_the_rows_paint_before_the_header_counts_which_follow(store: Store) -> None:
    from ronda.tui.app import RondaApp
    from ronda.tui.screens.queue import summary_text

    class Watched(RondaApp):
        """The app as it is, noting what each snapshot it shows holds."""

        CSS_PATH = Path(__file__).parents[1] / "ronda" / "tui" / "app.tcss"

        def _show_snapshot(self, snapshot) -> None:  # noqa: ANN001
            self.seen.append((len(snapshot.rows), snapshot.counts))
            super()._show_snapshot(snapshot)

    from test_tui import NOW

    app = Watched(store, "ana", clock=lambda: NOW, poll_interval=0.05)
    app.seen = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        rows, counts = app.seen[0]
        assert rows == 6 and counts is None  # the rows alone, first
        assert app.snapshot.counts is not None and app.snapshot.counts.breached == 1
        assert "breached 1" in str(app.screen.query_one("#summary").render())
        # A keystroke on the same store reuses the counts: no "…" flicker.
        await pilot.press("slash", "p")
        await settle(pilot, lambda: app.queue_filter.search == "p")
        assert app.seen[-1][1] is not None
    # While the counts are out, the header says so and still shows the rows' count.
    waiting = replace(app.snapshot, counts=None)
    text = str(summary_text(waiting, "ana", lambda key, **kw: key.split(".")[-1], 200))
    assert "breached …" in text
