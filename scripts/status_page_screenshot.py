"""Make docs/status-page.png, the README's picture of a status page: a throwaway desk with
90 days of made-up history (an outage, a maintenance day, a stretch Ronda was stopped), an
open incident with a public update, rendered by `ronda.status_page` and photographed by
headless Chromium (Debian package `chromium`).

    python scripts/status_page_screenshot.py [--out docs/status-page.png]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ronda.config import Config, Customer, Site
from ronda.model import FailureClass, Impact, Priority, Source
from ronda.sla import SlaPolicy
from ronda.status_page.gather import publish, specs
from ronda.store import Store
from ronda.store.history import load_history
from ronda.store.probes import ProbeStateRow
from ronda.tickets import Desk
from ronda.uptime import Interval

DAY = 86400.0
ZONE = "America/Bogota"


def make_desk(folder: Path, now: datetime) -> tuple[Store, Config]:
    config = Config(
        customers=(Customer("Tienda Ana", lang="es"),),
        sites=(
            Site("tienda-ana.com", "https://tienda-ana.com/", customer="Tienda Ana"),
            Site("blog.tienda-ana.com", "https://blog.tienda-ana.com/", customer="Tienda Ana"),
            Site(
                "reservas.tienda-ana.com", "https://reservas.tienda-ana.com/", customer="Tienda Ana"
            ),
        ),
    )
    store = Store(folder / "ronda.db")
    t = now.timestamp()
    midnight = datetime.combine(
        now.astimezone(ZoneInfo(ZONE)).date(), datetime.min.time(), ZoneInfo(ZONE)
    ).timestamp()
    load_history(
        store,
        [
            ("tienda-ana.com", Interval(t - 90 * DAY, midnight - 51 * DAY, "up")),
            (
                "tienda-ana.com",
                Interval(midnight - 51 * DAY, midnight - 51 * DAY + 5400, "down", "http_502"),
            ),
            ("tienda-ana.com", Interval(midnight - 51 * DAY + 5400, t - 2400, "up")),
            ("tienda-ana.com", Interval(t - 2400, t - 20, "down", "wp_db_connection")),
            ("blog.tienda-ana.com", Interval(t - 90 * DAY, midnight - 20 * DAY, "up")),
            (
                "blog.tienda-ana.com",
                Interval(midnight - 20 * DAY, midnight - 19 * DAY, "maintenance"),
            ),
            ("blog.tienda-ana.com", Interval(midnight - 19 * DAY, t - 20, "up")),
            ("reservas.tienda-ana.com", Interval(t - 60 * DAY, midnight - 33 * DAY, "up")),
            ("reservas.tienda-ana.com", Interval(midnight - 31 * DAY, t - 20, "up")),
        ],
    )
    for name, up in (
        ("tienda-ana.com", False),
        ("blog.tienda-ana.com", True),
        ("reservas.tienda-ana.com", True),
    ):
        store.probes.write_round(
            [ProbeStateRow(name, t - 20, up, "ok", 200, 80.0, "{}", None, None, False, "{}")],
            {},
            {name: 1},
        )
    clock = [now - timedelta(minutes=40)]
    desk = Desk(store, SlaPolicy.from_config(config), clock=lambda: clock[0])
    ticket = desk.open_ticket(
        source=Source.PROBE,
        subject="tienda-ana.com down",
        priority=Priority.HIGH,
        impact=Impact.HIGH,
        actor="probe",
        failure_class=FailureClass.WP_DB_CONNECTION,
        site="tienda-ana.com",
        customer="Tienda Ana",
        dedupe_key="tienda-ana.com:down",
    )
    clock[0] = now - timedelta(minutes=25)
    desk.public_update(
        ticket.id,
        "ana",
        "Encontramos la causa: el servidor de base de datos "
        "se quedó sin espacio. Lo estamos ampliando.",
    )
    clock[0] = now - timedelta(minutes=5)
    desk.public_update(ticket.id, "ana", "Ampliado. El sitio vuelve en unos minutos.")
    return store, config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/status-page.png"))
    args = parser.parse_args()
    exe = shutil.which("chromium")
    if exe is None:
        print("needs the Debian package chromium", file=sys.stderr)
        return 1
    now = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store, config = make_desk(folder, now)
        publish(store, config, folder / "www", specs(config), now)
        store.close()
        page = (folder / "www" / "tienda-ana" / "index.html").resolve()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={folder / 'profile'}",
                "--window-size=1000,1080",
                f"--screenshot={args.out.resolve()}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    print(f"{args.out}: {args.out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
