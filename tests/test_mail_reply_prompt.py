"""The TUI's reply editor says where a reply goes before the agent writes it: `To:` the case's
requester (where the mail then goes, queued in the outbox and delivered through a real relay
on 127.0.0.1), or that the reply is only recorded, and why. The ticket shows the message
queued, then sent once the relay took it. Driven with Textual's Pilot against a real SQLite
file."""

from __future__ import annotations

from email import message_from_bytes

import pytest
from test_tui import NOW, SIZE, make_app, open_case, settle, write
from textual.widgets import Static

from ronda.config import Config, MailSettings
from ronda.intake.replies import send_reply
from ronda.intake.server import SmtpThread
from ronda.model import Impact, Priority, Source
from ronda.reach.sender import Sender
from ronda.store import Store
from ronda.tickets import Desk
from ronda.tui.screens.compose import ComposeScreen
from ronda.tui.screens.ticket import TicketScreen


class Relay:
    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001
        self.received.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


def seed(store: Store) -> Desk:
    desk = Desk(store, clock=lambda: NOW)
    common = {"priority": Priority.MEDIUM, "impact": Impact.MEDIUM, "actor": "mail"}
    desk.open_ticket(
        source=Source.EMAIL,
        subject="No carga el sitio",
        requester="ana@cliente.co",
        evidence={"mail": {"reply_to": "mallory@evil.example"}},
        **common,
    )
    desk.open_ticket(source=Source.EMAIL, subject="Avalancha de correo", **common)
    return desk


def outgoing(pilot) -> str:  # noqa: ANN001
    """The ticket screen's pane of messages, as text ("" when it is hidden)."""
    screen = pilot.app.screen
    if not isinstance(screen, TicketScreen) or screen.query_one("#outgoing-pane").has_class(
        "-empty"
    ):
        return ""
    return str(screen.query_one("#outgoing", Static).render())


async def prompt_note(pilot, case: str) -> str:  # noqa: ANN001
    await open_case(pilot, case)
    await pilot.press("r")
    await settle(pilot, lambda: isinstance(pilot.app.screen, ComposeScreen))
    return str(pilot.app.screen.query_one("#note", Static).render())


async def test_the_reply_prompt_names_the_requester_and_the_reply_goes_there(
    store: Store,
) -> None:
    desk = seed(store)
    relay = Relay()
    with SmtpThread(relay, "127.0.0.1") as smtp:
        settings = MailSettings(desk_address="soporte@desk.example", relay=f"127.0.0.1:{smtp.port}")

        def mail_reply(d: Desk, ticket, agent: str, text: str):  # noqa: ANN001
            return send_reply(d, ticket.id, agent, text, settings=settings, version=ticket.version)

        app = make_app(store, mail_reply=mail_reply)
        async with app.run_test(size=SIZE) as pilot:
            assert await prompt_note(pilot, "R-1001") == "To: ana@cliente.co"
            await write(pilot, "Ya quedó")
            await settle(pilot, lambda: desk.get(1).first_response_at is not None)
            # Recorded and queued, not sent: the relay has not taken it yet.
            await settle(pilot, lambda: "reply → ana@cliente.co: queued" in outgoing(pilot))
            assert relay.received == []
            sender = Sender(store, lambda: Config(mail=settings), clock=lambda: NOW)
            assert sender.drain() == 1
            pilot.app.screen.reload()
            await settle(pilot, lambda: "reply → ana@cliente.co: sent" in outgoing(pilot))

            # A case with no requester: the prompt says so and why, and nothing is mailed.
            note = await prompt_note(pilot, "R-1002")
            assert note == (
                "No e-mail is sent: the reply is recorded only "
                "(the case has no requester e-mail address)."
            )
            await write(pilot, "Revisado")
            await settle(pilot, lambda: desk.get(2).first_response_at is not None)
            assert store.outbox.for_ticket(2) == []
    [(rcpt, raw)] = relay.received
    assert rcpt == ["ana@cliente.co"]  # not the Reply-To the first message carried
    assert message_from_bytes(raw)["To"] == "ana@cliente.co"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "en",
            "No e-mail is sent: the reply is recorded only "
            "(the TUI was started without --config, so it knows no relay).",
        ),
        (
            "es",
            "No se envía correo: la respuesta solo queda registrada "
            "(la TUI se abrió sin --config y no conoce ningún relay).",
        ),
    ],
)
async def test_without_a_relay_the_prompt_says_the_reply_is_recorded_only(
    store: Store, lang: str, expected: str
) -> None:
    seed(store)
    app = make_app(store, lang=lang)
    async with app.run_test(size=SIZE) as pilot:
        note = await prompt_note(pilot, "R-1001")
    assert note == expected
