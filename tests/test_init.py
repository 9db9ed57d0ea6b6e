"""`ronda init`: a starter config that `check-config` passes and that says what runs, and a
database at the current schema; nothing that exists is ever overwritten."""

from __future__ import annotations

from pathlib import Path

import pytest

from ronda.app.cli import main
from ronda.config import Config, load_config
from ronda.contract import default_matrix
from ronda.sla import SlaPolicy
from ronda.store import MIGRATIONS, Store


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_init_writes_a_config_that_checks_and_a_database(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "desk"
    code, out, err = run(capsys, "init", "--dir", str(folder))
    assert (code, err) == (0, "")
    config_path, db_path = folder / "ronda.toml", folder / "ronda.db"
    assert out.splitlines() == [
        f"wrote {config_path} (one example customer and site: replace them)",
        f"created {db_path}",
        "next:",
        f"  $EDITOR {config_path}",
        f"  ronda check-config {config_path}",
        f"  ronda run --config {config_path} --db {db_path}",
    ]
    for path in (config_path, db_path):
        assert path.stat().st_mode & 0o777 == 0o600  # sites' passwords, customers' names
    code, out, _ = run(capsys, "check-config", str(config_path))
    assert code == 0
    assert out.strip() == (
        f"ok: {config_path}: 1 site, 1 customer, 1 server, SLA matrix 9 cells (0 overridden)"
    )
    store = Store(db_path, migrate=False)
    assert store.schema_version() == len(MIGRATIONS)
    store.close()

    # What it writes is what runs: the contract's matrix and the code's defaults.
    config, defaults = load_config(config_path), Config()
    policy = SlaPolicy.from_config(config)
    assert config.sla == {}
    assert {cell: policy.cell(*cell) for cell in default_matrix()} == default_matrix()
    assert (config.probe, config.incidents, config.calendar, config.mail) == (
        defaults.probe,
        defaults.incidents,
        defaults.calendar,
        defaults.mail,
    )
    assert config.retention.probe_history_days == 90
    assert config.retention.mail_body_days == 365
    text = config_path.read_text()
    for cell in ("36h / 48h", "30m / 1h 24x7", "5m / 15m 24x7"):
        assert cell in text  # the matrix, in the file's comments


def test_init_refuses_to_overwrite_anything(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "desk"
    folder.mkdir()
    (folder / "ronda.toml").write_text("# mine\n")
    code, out, err = run(capsys, "init", "--dir", str(folder))
    assert (code, out) == (1, "")
    assert err.strip() == (
        f"ronda: {folder / 'ronda.toml'} exists already; nothing was written "
        "(move it or pick --dir)"
    )
    assert (folder / "ronda.toml").read_text() == "# mine\n"
    assert not (folder / "ronda.db").exists()

    db = tmp_path / "elsewhere.db"
    Store(db).close()
    code, _, err = run(capsys, "init", "--dir", str(tmp_path / "new"), "--db", str(db))
    assert code == 1 and f"{db} exists already" in err
    assert not (tmp_path / "new").exists()


def test_init_defaults_to_the_user_data_directory(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    code, out, _ = run(capsys, "init")
    assert code == 0
    folder = tmp_path / "data" / "ronda"
    assert (folder / "ronda.toml").is_file() and (folder / "ronda.db").is_file()
    # The database is where every command looks by default: no --db to pass.
    assert out.splitlines()[-1] == f"  ronda run --config {folder / 'ronda.toml'}"
