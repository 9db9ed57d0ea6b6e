"""Agents of the desk ([[agents]]): replies signed with their name and signature, and names
checked against the list, with a did-you-mean, in the CLI and the TUI."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path

import pytest

from ronda.agents import UnknownAgent, check_agent, closest
from ronda.app.cli import main
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


# ---- names checked against [[agents]] ---------------------------------------------------

NAMES = ("laura", "maria", "mateo")


def test_a_near_miss_gets_a_did_you_mean() -> None:
    with pytest.raises(
        UnknownAgent, match=r"'mraia' is not an agent of this desk \(did you mean 'maria'\?\)"
    ):
        check_agent("mraia", NAMES)
    assert closest("Lara", NAMES) == "laura"
    with pytest.raises(UnknownAgent, match=r"'zz' is not an agent .*agents: laura, maria, mateo"):
        check_agent("zz", NAMES)


def test_declared_names_pass_in_their_own_spelling_and_without_agents_any_name() -> None:
    assert check_agent(" Maria ", NAMES) == "maria"
    assert check_agent("mateo", NAMES) == "mateo"
    assert check_agent("cualquiera", ()) == "cualquiera"


@pytest.fixture
def desk_dir(tmp_path: Path) -> Path:
    """A desk with its config beside the database (as `ronda init` leaves it)."""
    (tmp_path / "ronda.toml").write_text(
        '[[agents]]\nname = "laura"\n[[agents]]\nname = "maria"\n[[agents]]\nname = "mateo"\n'
    )
    store = Store(tmp_path / "ronda.db")
    _email_case(Desk(store, clock=lambda: NOW))
    store.close()
    return tmp_path


def run(capsys, *argv: str) -> tuple[int, str, str]:  # noqa: ANN001
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_cli_refuses_an_undeclared_assignee_and_actor(desk_dir: Path, capsys) -> None:  # noqa: ANN001
    db = str(desk_dir / "ronda.db")
    code, _, err = run(
        capsys, "tickets", "assign", "R-1001", "mraia", "--db", db, "--agent", "laura"
    )
    assert code != 0
    assert err.strip().endswith("'mraia' is not an agent of this desk (did you mean 'maria'?)")
    code, _, err = run(capsys, "tickets", "claim", "R-1001", "--db", db, "--agent", "luara")
    assert code != 0 and "did you mean 'laura'?" in err
    code, _, err = run(capsys, "tickets", "new", "--subject", "x", "--db", db, "--agent", "nadie")
    assert code != 0 and "agents: laura, maria, mateo" in err
    store = Store(desk_dir / "ronda.db")
    ticket = Desk(store).get(1)
    assert ticket.assignee is None and ticket.version == 1  # nothing was written
    assert len(store.query("SELECT id FROM tickets")) == 1
    store.close()
    code, _, _ = run(capsys, "tickets", "assign", "R-1001", "Maria", "--db", db, "--agent", "laura")
    assert code == 0
    store = Store(desk_dir / "ronda.db")
    assert Desk(store).get(1).assignee == "maria"  # as declared
    store.close()


def test_the_cli_reads_agents_from_config_and_accepts_anyone_without(
    tmp_path: Path,
    desk_dir: Path,
    capsys,  # noqa: ANN001
) -> None:
    db = str(desk_dir / "ronda.db")
    other = tmp_path / "other.toml"
    other.write_text('[[agents]]\nname = "pedro"\n')
    code, _, err = run(
        capsys, "tickets", "claim", "R-1001", "--db", db, "--agent", "laura", "--config", str(other)
    )
    assert code != 0 and "did you mean" not in err and "agents: pedro" in err
    (desk_dir / "ronda.toml").unlink()
    code, _, _ = run(capsys, "tickets", "claim", "R-1001", "--db", db, "--agent", "quien-sea")
    assert code == 0


def test_the_tui_refuses_an_undeclared_agent_at_start(desk_dir: Path, capsys) -> None:  # noqa: ANN001
    code, _, err = run(
        capsys,
        "tui",
        "--db",
        str(desk_dir / "ronda.db"),
        "--agent",
        "mraia",
        "--config",
        str(desk_dir / "ronda.toml"),
    )
    assert code != 0
    assert "'mraia' is not an agent of this desk (did you mean 'maria'?)" in err
