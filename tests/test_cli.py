"""The `ronda` command as a script would use it: exit codes, one-line errors, JSON lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ronda.app.cli import main
from ronda.store import Store

CONFIG = """
[[customers]]
name = "Ana Pérez"

[[sites]]
name = "tienda-ana"
url = "https://tienda-ana.example/"
customer = "Ana Pérez"
impact = "high"
"""


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "ronda.db")


def test_check_config_valid_and_invalid(tmp_path: Path, capsys) -> None:
    good = tmp_path / "good.toml"
    good.write_text(CONFIG)
    code, out, _ = run(capsys, "check-config", str(good))
    assert code == 0
    assert out.startswith("ok: ") and "1 site" in out
    bad = tmp_path / "bad.toml"
    bad.write_text(CONFIG.replace('impact = "high"', 'impact = "hgh"').replace("url", "ulr"))
    code, out, err = run(capsys, "check-config", str(bad))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 3  # the unknown key, the missing url, the bad impact
    assert any("bad.toml:7: sites[0].ulr" in line and "did you mean" in line for line in lines)
    assert any("bad.toml:9: sites[0].impact: 'hgh' is not one of" in line for line in lines)


def test_sla_deadline_prints_target_and_limit(capsys) -> None:
    code, out, _ = run(
        capsys,
        "sla",
        "deadline",
        "--priority",
        "medium",
        "--impact",
        "high",
        "--opened",
        "2026-11-27T16:00:00-05:00",  # a Friday, two business hours left
    )
    assert code == 0
    # 4 h target: 2 h on Friday, 2 h on Monday from 08:00; 6 h limit: Monday 12:00.
    assert out.splitlines() == [
        "target 2026-11-30T10:00:00-05:00",
        "limit 2026-11-30T12:00:00-05:00",
    ]
    code, _, err = run(
        capsys, "sla", "deadline", "--priority", "low", "--impact", "low", "--opened", "monday"
    )
    assert code == 1 and "is not an ISO 8601 instant" in err


def test_tickets_from_a_script(db: str, capsys) -> None:
    code, out, _ = run(
        capsys,
        "tickets",
        "new",
        "--db",
        db,
        "--subject",
        "No puedo entrar al panel",
        "--source",
        "email",
        "--priority",
        "low",
        "--customer",
        "Ana Pérez",
        "--agent",
        "maria",
        "--json",
    )
    assert code == 0
    ticket = json.loads(out)
    assert ticket["case_number"] == "R-1001" and ticket["status"] == "new"
    assert ticket["sla_state"] == "ok"

    code, out, _ = run(capsys, "tickets", "claim", "R-1001", "--db", db, "--agent", "maria")
    assert code == 0 and out.startswith("R-1001 new (version 2)")
    # Another agent working from the version they saw: refused, one line, non-zero.
    code, _, err = run(
        capsys,
        "tickets",
        "respond",
        "R-1001",
        "hola",
        "--db",
        db,
        "--agent",
        "jorge",
        "--version",
        "1",
    )
    assert code == 1
    assert err.count("\n") == 1 and "changed by someone else" in err
    code, _, _ = run(
        capsys,
        "tickets",
        "respond",
        "R-1001",
        "Le ayudamos",
        "--db",
        db,
        "--agent",
        "maria",
        "--version",
        "2",
    )
    assert code == 0
    code, out, _ = run(capsys, "tickets", "show", "R-1001", "--db", db, "--json")
    shown = json.loads(out)
    assert shown["status"] == "open" and shown["first_response_at"] is not None
    assert [e["kind"] for e in shown["events"]] == [
        "opened",
        "claimed",
        "replied",
        "first_response",
        "status",
    ]
    code, out, _ = run(capsys, "tickets", "list", "--db", db, "--json")
    assert [json.loads(line)["case_number"] for line in out.splitlines()] == ["R-1001"]
    code, _, err = run(capsys, "tickets", "reopen", "R-1001", "--db", db)
    assert code == 1 and "cannot go from open to reopened" in err
    code, _, err = run(capsys, "tickets", "show", "R-4040", "--db", db)
    assert code == 1 and "no ticket" in err


def test_phone_needs_an_existing_case(db: str, capsys) -> None:
    code, _, err = run(
        capsys, "tickets", "new", "--db", db, "--subject", "llamada", "--source", "phone"
    )
    assert code == 1 and "existing case" in err


def test_sites_list_syncs_from_config(tmp_path: Path, db: str, capsys) -> None:
    config = tmp_path / "ronda.toml"
    config.write_text(CONFIG)
    Store(db).close()  # the desk exists: reading commands never create one
    code, out, _ = run(capsys, "sites", "list", "--db", db, "--config", str(config), "--json")
    assert code == 0
    site = json.loads(out)
    assert (site["name"], site["customer"], site["up"]) == ("tienda-ana", "Ana Pérez", None)


def test_a_broken_config_for_a_command_is_exit_2(tmp_path: Path, db: str, capsys) -> None:
    config = tmp_path / "ronda.toml"
    config.write_text("[[sites]]\nname = 1\n")
    code, _, err = run(capsys, "probe", "--config", str(config), "--db", db, "--dry-run")
    assert code == 2
    assert "ronda.toml:2: sites[0].name" in err
