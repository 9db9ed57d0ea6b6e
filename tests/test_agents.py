"""Agents of the desk ([[agents]]): replies signed with their name and signature, and names
checked against the list, with a did-you-mean, in the CLI and the TUI."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path

from ronda.app.service import Service
from ronda.config import Agent, Config, MailSettings
from ronda.model import Impact, Priority, Source
from ronda.store import Store
from ronda.tickets import Desk

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
AGENTS = (
    Agent("laura", signature="Laura Gómez\nSoporte · Agencia Ejemplo"),
    Agent("mateo"),
)


def _mailed_body(store: Store, ticket_id: int) -> str:
    reply = next(m for m in store.outbox.for_ticket(ticket_id) if m.kind == "reply")
    full = store.outbox.get(reply.key)
    assert full is not None
    return message_from_bytes(full.body).get_payload(decode=True).decode().replace("\r\n", "\n")


def _email_case(desk: Desk) -> int:
    return desk.open_ticket(
        source=Source.EMAIL,
        subject="No entra",
        priority=Priority.LOW,
        impact=Impact.LOW,
        actor="mail",
        requester="ana@tienda.example",
    ).id


def test_a_reply_is_mailed_with_the_agents_signature_after_the_text(tmp_path: Path) -> None:
    config = Config(
        mail=MailSettings(desk_address="soporte@agencia.example", relay="127.0.0.1:2"),
        agents=AGENTS,
        lang="es",
    )
    store = Store(tmp_path / "ronda.db")
    service = Service(config, store, clock=lambda: NOW)
    desk = Desk(store, clock=lambda: NOW)
    laura_case, mateo_case = _email_case(desk), _email_case(desk)
    service.mail_reply(desk, desk.get(laura_case), "laura", "Ya quedó.")
    service.mail_reply(desk, desk.get(mateo_case), "mateo", "Listo.")
    body = _mailed_body(store, laura_case)
    signed = "Ya quedó.\n\n-- \nLaura Gómez\nSoporte · Agencia Ejemplo\n\nCaso R-1001"
    assert body.startswith(signed)
    # Without a signature in the config, the agent's name signs.
    assert _mailed_body(store, mateo_case).startswith("Listo.\n\n-- \nmateo\n\nCaso R-1002")
    # What the desk records is the agent's text alone.
    assert [e.body for e in desk.events(laura_case) if e.kind == "replied"] == ["Ya quedó."]
    store.close()
