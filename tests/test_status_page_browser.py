"""A real browser opens a status page: headless Chromium (Debian package `chromium`)
renders it to a PNG and dumps its DOM, and `ronda run`'s status page part rewrites the
pages while the service runs."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from ronda.app.service import Service, ServiceOptions
from ronda.config import StatusPageSettings
from ronda.status_page.gather import publish, specs
from tests.polling import wait_until
from tests.status_data import NOW, SECRETS, build_desk

WIDTH, HEIGHT = 1000, 1400


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("chromium")
    assert exe is not None, "the Debian package chromium is needed (scripts/test installs it)"
    profile = tmp_path / "chromium-profile"  # its own: never the user's, never shared
    return subprocess.run(
        [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def test_chromium_renders_a_status_page(tmp_path: Path) -> None:
    store, _, cfg = build_desk(tmp_path)
    out = tmp_path / "www"
    publish(store, cfg, out, specs(cfg), NOW)
    store.close()
    page = (out / "tienda-ana" / "index.html").resolve()

    shot = tmp_path / "status.png"
    done = chromium(
        tmp_path, f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}", page.as_uri()
    )
    assert shot.exists(), done.stderr[-2000:]
    assert png_size(shot) == (WIDTH, HEIGHT)
    assert shot.stat().st_size > 20_000  # a drawn page, not a blank one

    dom = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = dom.stdout
    assert "Estado del servicio" in text and "de Tienda Ana" in text
    assert text.count("<rect") == 2 * 90  # two sites, 90 days each
    assert "Estamos restaurando la base de datos." in text
    assert 'data-state="down"' in text and 'data-state="up"' in text
    for secret in SECRETS:
        assert secret not in text


def test_the_service_keeps_the_pages_fresh(tmp_path: Path) -> None:
    store, desk, cfg = build_desk(tmp_path)
    out = tmp_path / "served"
    cfg = type(cfg)(
        **{
            **{f: getattr(cfg, f) for f in cfg.__dataclass_fields__},
            "status_page": StatusPageSettings(out=out, every=3600.0, public=("shop-b",)),
        }
    )
    events = []
    service = Service(
        cfg, store, ServiceOptions(status_page=True), on_event=events.append, clock=lambda: NOW
    )
    with service:
        wait_until(lambda: (out / "public" / "index.html").exists(), "the first pages", 20)
        assert service.status_pages is not None
        # A pass made by hand picks up a new public update.
        ticket = desk.find_open("tienda-ana:down")
        desk.public_update(ticket.id, "ana", "Servicio restablecido en breve.")
        assert service.status_pages.run_once() == 3
    assert "Servicio restablecido en breve." in (out / "tienda-ana" / "index.html").read_text()
    assert sorted(p.name for p in out.iterdir()) == ["bob-ltd", "public", "tienda-ana"]
    assert any(e.kind == "status_page" and "3 written" in e.message for e in events)
    store.close()


def test_a_failing_pass_is_reported_and_the_old_pages_stay(tmp_path: Path) -> None:
    store, _, cfg = build_desk(tmp_path)
    blocker = tmp_path / "not-ours"
    blocker.mkdir()
    (blocker / "index.html").write_text("someone else's site")
    cfg = type(cfg)(
        **{
            **{f: getattr(cfg, f) for f in cfg.__dataclass_fields__},
            "status_page": StatusPageSettings(out=blocker),
        }
    )
    reports: list[tuple[str, bool]] = []
    from ronda.app.status_pages import StatusPageThread

    thread = StatusPageThread(
        store, lambda: cfg, lambda t, f: reports.append((t, f)), clock=lambda: NOW
    )
    assert thread.run_once() is None
    assert reports and reports[0][1] is True and "not a status page Ronda wrote" in reports[0][0]
    assert (blocker / "index.html").read_text() == "someone else's site"
    store.close()


@pytest.mark.parametrize("lang", ["en"])
def test_english_page_in_the_browser(tmp_path: Path, lang: str) -> None:
    store, _, cfg = build_desk(tmp_path)
    out = tmp_path / "www"
    publish(store, cfg, out, specs(cfg), NOW)
    store.close()
    dom = chromium(tmp_path, "--dump-dom", (out / "bob-ltd" / "index.html").resolve().as_uri())
    assert '<html lang="en">' in dom.stdout and "All sites are working" in dom.stdout
