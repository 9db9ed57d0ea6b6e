"""Customer notices: the round runner on a real SQLite file with probe results made here,
the notifier's sweeps and the sender on an injected clock, and a real SMTP relay on
127.0.0.1 receiving what the customers would read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path

import pytest
from clocks import Clock
from mailsink import Relay
from test_rounds import result

from ronda.checks.rounds import RoundRunner
from ronda.config import (
    Config,
    Customer,
    IncidentSettings,
    MailSettings,
    MaintenanceWindow,
    NoticeSettings,
    Server,
    Site,
)
from ronda.intake.parse import decode_header_value
from ronda.intake.replies import send_reply
from ronda.model import FailureClass as FC
from ronda.model import Impact, Priority
from ronda.reach import templates as tpl
from ronda.reach.notifier import Notifier
from ronda.reach.sender import Sender
from ronda.reach.words import FAILURES
from ronda.store import Store
from ronda.tickets import Desk

T0 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # Wednesday 10:00 in Bogota
DESK = "soporte@desk.example"
ANA = "ana@tienda-ana.example"
BO = "bo@bo.example"
OPS = "ops@tienda-ana.example"


def customers() -> tuple[Customer, ...]:
    return (
        Customer("Ana", emails=(ANA,), notices=True, lang="es"),
        Customer("Bo", emails=(BO,), notices=True),
        Customer("Carla", emails=("carla@c.example",)),  # did not opt in
    )


def sites() -> tuple[Site, ...]:
    return (
        Site("tienda", "https://tienda.example/", customer="Ana", server="web-1", contact=OPS),
        Site("blog", "https://blog.example/", customer="Ana", server="web-2", impact=Impact.LOW),
        Site("bo-1", "https://bo-1.example/", customer="Bo", server="web-1"),
        Site("bo-2", "https://bo-2.example/", customer="Bo", server="web-1"),
        Site("carla", "https://carla.example/", customer="Carla", server="web-3"),
        Site("quiet", "https://quiet.example/", customer="Bo", server="web-3", notices=False),
    )


class Desk_:
    """The rounds, the notifier and the sender of one desk, on one clock."""

    def __init__(self, store: Store, relay: Relay, **changes: object) -> None:
        self.clock = Clock(T0)
        self.store = store
        self.relay = relay
        values: dict = {
            "customers": customers(),
            "sites": sites(),
            "servers": (Server("web-1"), Server("web-2"), Server("web-3")),
            "mail": MailSettings(relay=relay.address, desk_address=DESK),
            "notices": NoticeSettings(delay=60, recovery_after=600),
            "incidents": IncidentSettings(recheck_immediately=False, outage_min_sites=3),
        }
        values.update(changes)
        self.config = Config(**values)
        self.blind = False
        self.runner = RoundRunner(store, self.config, clock=self.clock)
        self.notifier = Notifier(
            store, lambda: self.config, clock=self.clock, is_blind=lambda now: self.blind
        )
        self.sender = Sender(store, lambda: self.config, clock=self.clock)
        self.desk = Desk(store, clock=self.clock)

    def round(self, failing: dict[str, FC], minutes: float = 1) -> None:
        """Every site probed once: `failing` ones fail with their class."""
        self.clock.advance(minutes=minutes)
        self.runner.apply(
            [
                result(site.name, self.clock.now, failing.get(site.name, FC.OK))
                for site in self.config.sites
            ]
        )

    def deliver(self, minutes: float = 0) -> list[Message]:
        """Time passes; the notifier sweeps, the sender delivers: the new messages."""
        self.clock.advance(minutes=minutes)
        before = len(self.relay.received)
        self.notifier.sweep()
        self.sender.drain()
        return [msg for _, _, msg, _ in self.relay.received[before:]]


@pytest.fixture
def relay() -> Iterator[Relay]:
    with Relay() as relay:
        yield relay


@pytest.fixture
def desk(store: Store, relay: Relay) -> Desk_:
    return Desk_(store, relay)


def text(msg: Message) -> str:
    payload = msg.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode().replace("\r\n", "\n")  # as sent: SMTP's line ends


def subject(msg: Message) -> str:
    return decode_header_value(str(msg["Subject"]))


def case_of(desk: Desk_, site: str) -> str:
    [row] = desk.store.query(
        "SELECT case_number FROM tickets WHERE site = ? ORDER BY id DESC LIMIT 1", (site,)
    )
    return row["case_number"]


# ---- openings -----------------------------------------------------------------------------


def test_a_confirmed_failure_tells_the_customer_the_case_number_in_their_language(
    desk: Desk_,
) -> None:
    desk.round({"blog": FC.HTTP_500})
    desk.round({"blog": FC.HTTP_500})  # confirmed: the case opens
    case = case_of(desk, "blog")
    assert desk.deliver() == []  # [notices] delay: not yet
    [notice] = desk.deliver(minutes=1)
    assert notice["To"] == f"Ana <{ANA}>" and notice["From"] == DESK
    assert notice["Auto-Submitted"] == "auto-generated"
    assert subject(notice) == f"[{case}] Estamos atendiendo un problema en blog"
    body = text(notice)
    assert "El 2026-11-25 10:02 (America/Bogota) detectamos un problema en su sitio blog" in body
    assert FAILURES["es"][FC.HTTP_500] in body
    assert f"Abrimos el caso {case}" in body and f"número de caso {case}" in body
    ticket = desk.desk.get(case)
    assert ticket.requester == ANA  # the probe case's requester: the customer's contact
    assert "2026-11-25 14:02 (America/Bogota)" in body  # its limit: the next answer (4 h)
    assert [e.kind for e in desk.desk.events(case)][-1] == "notice_sent"
    assert desk.deliver(minutes=5) == []  # once


def test_the_sites_own_contact_and_opt_in_come_first(desk: Desk_) -> None:
    failing = {"tienda": FC.HTTP_502, "carla": FC.HTTP_502, "quiet": FC.HTTP_502}
    desk.round(failing)
    desk.round(failing)
    [notice] = desk.deliver(minutes=2)
    assert notice["To"] == f"Ana <{OPS}>"  # tienda's contact; Carla did not opt in
    assert desk.desk.get(case_of(desk, "quiet")).requester == BO  # a requester, no notice


def test_a_blip_resolved_within_the_delay_is_never_told(desk: Desk_) -> None:
    desk.round({"blog": FC.HTTP_500})
    desk.round({"blog": FC.HTTP_500})
    desk.round({}, minutes=0.2)
    desk.round({}, minutes=0.2)  # recovered and resolved before the delay passed
    assert desk.desk.get(case_of(desk, "blog")).resolved_at is not None
    assert desk.deliver(minutes=20) == []


def test_nothing_is_told_during_a_maintenance_window(store: Store, relay: Relay) -> None:
    window = MaintenanceWindow(T0 + timedelta(minutes=5), T0 + timedelta(hours=2), "kernel")
    desk = Desk_(store, relay, servers=(Server("web-1"), Server("web-2", (window,))))
    desk.round({"blog": FC.HTTP_500})
    desk.round({"blog": FC.HTTP_500})  # opens before the window...
    desk.clock.advance(minutes=4)
    assert desk.deliver(minutes=1) == []  # ...but the window has begun: nothing
    desk.round({"blog": FC.HTTP_500})
    assert desk.deliver(minutes=10) == []


def test_a_server_outage_is_one_notice_per_customer(desk: Desk_) -> None:
    failing = {"tienda": FC.HTTP_502, "bo-1": FC.HTTP_502, "bo-2": FC.HTTP_503}
    desk.round(failing)
    desk.round(failing)  # three sites of web-1: children of one server incident
    notices = {m["To"]: m for m in desk.deliver(minutes=2)}
    assert set(notices) == {f"Ana <{OPS}>", f"Bo <{BO}>"}
    bo = notices[f"Bo <{BO}>"]
    first = case_of(desk, "bo-1")
    assert subject(bo) == f"[{first}] We are working on a problem with 2 of your sites"
    body = text(bo)
    assert f"- bo-1 (https://bo-1.example/): {first}" in body
    assert f"- bo-2 (https://bo-2.example/): {case_of(desk, 'bo-2')}" in body
    assert f"We opened case {first}" in body
    assert subject(notices[f"Ana <{OPS}>"]).endswith("problema en tienda")  # one site: as one
    # Every case of the outage remembers it was told: nothing more goes out.
    assert desk.deliver(minutes=10) == []


# ---- recoveries ---------------------------------------------------------------------------


def test_the_recovery_is_told_once_the_case_stayed_resolved(desk: Desk_) -> None:
    desk.round({"blog": FC.HTTP_500})
    desk.round({"blog": FC.HTTP_500})
    assert len(desk.deliver(minutes=2)) == 1
    desk.round({})
    desk.round({})  # recovered: resolved by the probe
    case = case_of(desk, "blog")
    assert desk.desk.get(case).resolved_at is not None
    assert desk.deliver(minutes=5) == []  # [notices] recovery_after: not yet
    [recovered] = desk.deliver(minutes=6)
    assert subject(recovered) == f"[{case}] blog funciona de nuevo"
    assert f"resolvimos\nel caso {case}" in text(recovered)
    assert desk.deliver(minutes=30) == []


def test_a_flapping_site_sends_one_notice_and_one_recovery(store: Store, relay: Relay) -> None:
    desk = Desk_(
        store,
        relay,
        incidents=IncidentSettings(
            recheck_immediately=False, recover_rounds=1, flap_count=3, flap_window=1800
        ),
    )
    sent: list[Message] = []
    for _ in range(6):  # down, down, up, ... for half an hour
        desk.round({"blog": FC.HTTP_500})
        desk.round({"blog": FC.HTTP_500})
        sent += desk.deliver(minutes=1)
        desk.round({})
        sent += desk.deliver(minutes=1)
    assert len({row["id"] for row in store.query("SELECT id FROM tickets")}) == 1
    flapping = desk.desk.get(1)
    assert flapping.failure_class == FC.INTERMITTENT  # resolved and reopened on the way
    assert [e.new for e in desk.desk.events(1) if e.kind == "status"].count("reopened") == 2
    assert [subject(m).split("] ")[1] for m in sent] == ["Estamos atendiendo un problema en blog"]
    for _ in range(4):  # stays up: the flapping episode ends, the case resolves
        desk.round({}, minutes=10)
        sent += desk.deliver()
    sent += desk.deliver(minutes=11)
    assert [subject(m).split("] ")[1] for m in sent] == [
        "Estamos atendiendo un problema en blog",
        "blog funciona de nuevo",
    ]


def test_an_outage_recovery_waits_for_all_of_the_customers_sites(desk: Desk_) -> None:
    failing = {"tienda": FC.HTTP_502, "bo-1": FC.HTTP_502, "bo-2": FC.HTTP_502}
    desk.round(failing)
    desk.round(failing)
    assert len(desk.deliver(minutes=2)) == 2
    desk.round({"bo-2": FC.HTTP_502})
    desk.round({"bo-2": FC.HTTP_502})  # tienda and bo-1 recover, bo-2 does not
    recovered = desk.deliver(minutes=11)
    assert [m["To"] for m in recovered] == [f"Ana <{OPS}>"]
    desk.round({})
    desk.round({})
    [bo] = desk.deliver(minutes=11)
    assert bo["To"] == f"Bo <{BO}>" and subject(bo).endswith("Your sites are working again")
    assert "- bo-1" in text(bo) and "- bo-2" in text(bo)


# ---- the desk's own blindness, replies ----------------------------------------------------


def test_a_blind_desk_tells_nobody(desk: Desk_) -> None:
    desk.blind = True
    desk.round({"blog": FC.HTTP_500})
    desk.round({"blog": FC.HTTP_500})
    assert desk.deliver(minutes=2) == []
    assert desk.notifier.sweep().blind
    desk.blind = False
    assert len(desk.deliver()) == 1  # it sees again: what is due within catch_up goes


def test_an_agents_reply_on_a_probe_case_goes_to_the_customers_contact(desk: Desk_) -> None:
    desk.round({"blog": FC.HTTP_500})
    desk.round({"blog": FC.HTTP_500})
    desk.deliver(minutes=2)
    case = case_of(desk, "blog")
    send_reply(desk.desk, case, "laura", "Ya reiniciamos PHP", settings=desk.config.mail)
    [reply] = desk.deliver()
    assert reply["To"] == ANA and subject(reply).startswith(f"[{case}] ")
    assert desk.desk.get(case).first_response_at is not None


# ---- templates ----------------------------------------------------------------------------


def test_every_shipped_template_is_valid_in_both_languages() -> None:
    for lang in tpl.LANGS:
        names = {p.stem for p in (tpl.SHIPPED / lang).glob("*.txt")}
        assert names == set(tpl.PLACEHOLDERS)
    tpl.Templates()  # reads and checks every one
    assert set(FAILURES["en"]) == set(FAILURES["es"]) == set(FC) - {FC.OK}


def test_the_agencys_templates_replace_the_shipped_ones(
    store: Store, relay: Relay, tmp_path: Path
) -> None:
    (tmp_path / "es").mkdir()
    (tmp_path / "es" / "notice_opened.txt").write_text(
        "Subject: Caso $case: $site\n\nAgencia Ejemplo: $site falla ($failure). Caso $case.\n"
    )
    desk = Desk_(store, relay, notices=NoticeSettings(delay=0, templates=tmp_path))
    desk.round({"blog": FC.HTTP_500})
    desk.round({"blog": FC.HTTP_500})
    [notice] = desk.deliver()
    case = case_of(desk, "blog")
    assert subject(notice) == f"Caso {case}: blog"
    failure = FAILURES["es"][FC.HTTP_500]
    assert text(notice) == f"Agencia Ejemplo: blog falla ({failure}). Caso {case}.\n"


def test_a_template_naming_an_unknown_placeholder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "notice_resolved.txt").write_text("Subject: $case\n\nBack: $sitio\n")
    (tmp_path / "en" / "notice_openned.txt").write_text("Subject: x\n\ny\n")
    problems = tpl.check(tmp_path)
    assert len(problems) == 2
    assert "$sitio is not a placeholder of notice_resolved" in problems[0]
    assert "notice_openned.txt: not a template Ronda uses" in problems[1]
    with pytest.raises(tpl.TemplateError, match=r"\$sitio"):
        tpl.Templates(tmp_path)


def test_site_derived_text_reaches_a_notice_without_controls(store: Store, relay: Relay) -> None:
    evil = Site("blog\x1b]0;owned\x07", "https://blog.example/", customer="Ana", server="w")
    desk = Desk_(store, relay, sites=(evil,), notices=NoticeSettings(delay=0))
    desk.round({evil.name: FC.HTTP_500})
    desk.round({evil.name: FC.HTTP_500})
    [notice] = desk.deliver()
    assert "\x1b" not in text(notice) and "\x07" not in text(notice)
    assert "blog]0;owned" in text(notice)
    assert desk.desk.get(1).priority == Priority.HIGH
