"""A desk with a known November 2026 (America/Bogota, UTC-5 all month), for the report tests:
two customers, three sites with a history of known uptime, cases whose first responses
were met, missed, not due and overdue, and time entries billable and not.

tienda-ana over November: down 2 h (http_500) on the 10th from 10:00, in maintenance 1 h on
the 20th from 02:00, not measured 6 h on the 25th from 06:00 (Ronda stopped), up the rest:
uptime = up / (up + down) = 2,559,600 / 2,566,800. blog-ana: up all month. web-luis: up,
except down 30 min (timeout) on the 5th from 09:00.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from clocks import Clock

from ronda.config import Config, parse_config
from ronda.model import FailureClass, Impact, Priority, Source
from ronda.sites import sync_config
from ronda.sla import SlaPolicy
from ronda.store import Store
from ronda.store.bulk import load
from ronda.store.history import load_history
from ronda.tickets import Desk
from ronda.uptime import Interval

BOGOTA = ZoneInfo("America/Bogota")
NOV_START = datetime(2026, 11, 1, tzinfo=BOGOTA)
NOV_END = datetime(2026, 12, 1, tzinfo=BOGOTA)
AFTER = datetime(2026, 12, 1, 9, 0, tzinfo=BOGOTA)  # when the reports are made

CONFIG = """
lang = "en"

[reports]
agency = "Hosting Andino"
colour = "#225588"

[[customers]]
name = "Ana Pérez"
emails = ["ana@tienda-ana.example"]
lang = "es"
reports = true

[[customers]]
name = "Luis Gómez"
contact = "luis@luis.example"
reports = true

[[customers]]
name = "Quiet"

[[sites]]
name = "tienda-ana"
url = "https://tienda-ana.example/"
customer = "Ana Pérez"
impact = "high"

[[sites]]
name = "blog-ana"
url = "https://blog.tienda-ana.example/"
customer = "Ana Pérez"

[[sites]]
name = "web-luis"
url = "https://luis.example/"
customer = "Luis Gómez"
"""

TIENDA_UP = 30 * 86400 - 7200 - 3600 - 21600
TIENDA_RATIO = TIENDA_UP / (TIENDA_UP + 7200)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BOGOTA)


def _ts(day: int, hour: int, minute: int = 0) -> float:
    return at(day, hour, minute).timestamp()


def history() -> list[tuple[str, Interval]]:
    """The three sites' November, as the rounds would have stored it (October's end too)."""
    begin = (NOV_START - timedelta(days=3)).timestamp()
    finish = (NOV_END + timedelta(hours=2)).timestamp()
    tienda = [
        Interval(begin, _ts(10, 10), "up"),
        Interval(_ts(10, 10), _ts(10, 12), "down", "http_500"),
        Interval(_ts(10, 12), _ts(20, 2), "up"),
        Interval(_ts(20, 2), _ts(20, 3), "maintenance"),
        Interval(_ts(20, 3), _ts(25, 6), "up"),
        # 06:00 to 12:00 on the 25th: no row, Ronda was stopped.
        Interval(_ts(25, 12), finish, "up"),
    ]
    luis = [
        Interval(begin, _ts(5, 9), "up"),
        Interval(_ts(5, 9), _ts(5, 9, 30), "down", "timeout"),
        Interval(_ts(5, 9, 30), finish, "up"),
    ]
    return (
        [("tienda-ana", i) for i in tienda]
        + [("blog-ana", Interval(begin, finish, "up"))]
        + [("web-luis", i) for i in luis]
    )


def build(tmp_path: Path) -> tuple[Config, Store]:
    """The config and a store holding November's history, cases and time entries."""
    config = parse_config(CONFIG, tmp_path / "ronda.toml")
    store = Store(tmp_path / "ronda.db")
    sync_config(store, config)
    load_history(store, history())
    clock = Clock(at(10, 10, 5))
    desk = Desk(store, SlaPolicy.from_config(config), clock=clock)

    # The outage's probe case: answered in 7 minutes of a 15-minute limit (met).
    outage = desk.open_ticket(
        source=Source.PROBE,
        subject="tienda-ana: http_500",
        priority=Priority.HIGH,
        impact=Impact.HIGH,
        actor="probe",
        site="tienda-ana",
        customer="Ana Pérez",
        failure_class=FailureClass.HTTP_500,
        dedupe_key="site:tienda-ana:down",
    )
    clock.now = at(10, 10, 12)
    desk.respond(outage.id, "maria", "Estamos en ello")
    desk.note(outage.id, "maria", "INTERNAL: the customer's password is hunter2")
    clock.now = at(10, 12, 0)
    desk.log_time(outage.id, "maria", 75 * 60, "Restauré la base de datos")
    desk.resolve(outage.id, "maria")

    # An e-mail case answered after its hour (high/medium: 60 min, 24x7): missed.
    clock.now = at(12, 9, 0)
    late = desk.open_ticket(
        source=Source.EMAIL,
        subject="<script>alert('x')</script> factura",
        priority=Priority.HIGH,
        impact=Impact.MEDIUM,
        actor="intake",
        customer="Ana Pérez",
        billable=True,
    )
    clock.now = at(12, 11, 0)
    desk.respond(late.id, "pedro", "Ya lo vemos")
    desk.log_time(late.id, "pedro", 30 * 60, '=HYPERLINK("http://evil.example")')
    desk.resolve(late.id, "pedro")

    # A probe case that resolved itself before anyone had to answer: not due.
    clock.now = at(15, 8, 0)
    blip = desk.open_ticket(
        source=Source.PROBE,
        subject="blog-ana: rss_invalid",
        priority=Priority.LOW,
        impact=Impact.LOW,
        actor="probe",
        site="blog-ana",
        customer="Ana Pérez",
        failure_class=FailureClass.RSS_INVALID,
        dedupe_key="site:blog-ana:feed",
    )
    clock.now = at(15, 9, 0)
    desk.resolve(blip.id, "probe")

    # Opened on the 30th at 23:50, never answered: its 15-minute limit falls in December.
    clock.now = at(30, 23, 50)
    desk.open_ticket(
        source=Source.EMAIL,
        subject="Sin respuesta",
        priority=Priority.HIGH,
        impact=Impact.HIGH,
        actor="intake",
        customer="Ana Pérez",
    )
    # Opened on the 28th, never answered, limit in November: overdue, counts as missed.
    clock.now = at(28, 10, 0)
    desk.open_ticket(
        source=Source.EMAIL,
        subject="Consulta",
        priority=Priority.HIGH,
        impact=Impact.HIGH,
        actor="intake",
        customer="Ana Pérez",
    )

    # Luis: one case, answered in time, an hour billable.
    clock.now = at(5, 9, 2)
    luis = desk.open_ticket(
        source=Source.PROBE,
        subject="web-luis: timeout",
        priority=Priority.HIGH,
        impact=Impact.MEDIUM,
        actor="probe",
        site="web-luis",
        customer="Luis Gómez",
        failure_class=FailureClass.TIMEOUT,
        dedupe_key="site:web-luis:down",
        billable=True,
    )
    clock.now = at(5, 9, 20)
    desk.respond(luis.id, "pedro", "On it")
    clock.now = at(5, 10, 0)
    desk.log_time(luis.id, "pedro", 3600, "Moved the site to a bigger plan")
    desk.resolve(luis.id, "pedro")

    # The certificates the last probes saw: tienda-ana's expires in December.
    load(
        store,
        "probe_state",
        ("site", "checked_at", "up", "failure_class", "cert_not_after"),
        [
            (
                "tienda-ana",
                AFTER.timestamp(),
                1,
                "ok",
                datetime(2026, 12, 15, tzinfo=UTC).timestamp(),
            ),
            ("blog-ana", AFTER.timestamp(), 1, "ok", datetime(2027, 6, 1, tzinfo=UTC).timestamp()),
        ],
    )
    return config, store


__all__ = ["AFTER", "BOGOTA", "CONFIG", "TIENDA_RATIO", "TIENDA_UP", "at", "build", "history"]
