"""`ronda backup` and `ronda restore` on real files, with real processes writing.

The load (`desk_load.py`) is a deterministic stream of desk operations, one ticket event
each, in a process of its own: a copy holding k events must equal, table for table, the
database after the first k operations, i.e. the source as it was at the backup's instant.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from desk_load import replay
from polling import wait_until

from ronda.store import MIGRATIONS, Store, StoreError
from ronda.store.backup import DaemonLock, backup_to, check_backup, restore_from

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
BOUND = 20.0  # seconds a condition may take (CI: 2 cores)


def ronda(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ronda", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def events(path: Path) -> int:
    with sqlite3.connect(path, timeout=10) as conn:
        return conn.execute("SELECT COUNT(*) FROM ticket_events").fetchone()[0]


def table(path: Path, name: str) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT * FROM {name} ORDER BY 1, 2").fetchall()
    finally:
        conn.close()


@pytest.fixture
def load(tmp_path: Path) -> Iterator[tuple[Path, Path, subprocess.Popen]]:
    """A writer process on a new database; stopped by its stop file, killed by pid if not."""
    db, stop = tmp_path / "ronda.db", tmp_path / "stop"
    Store(db).close()
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{TESTS}"}
    proc = subprocess.Popen(
        [sys.executable, str(TESTS / "desk_load.py"), str(db), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    yield db, stop, proc
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


def test_backup_during_a_write_load_is_the_source_at_one_instant(
    tmp_path: Path, load: tuple[Path, Path, subprocess.Popen]
) -> None:
    db, stop, writer = load
    wait_until(lambda: events(db) >= 300, "300 operations of the load", BOUND)
    copy = tmp_path / "backups" / "copy.db"
    done = ronda("backup", "--db", str(db), str(copy))
    assert done.returncode == 0, done.stderr
    assert writer.poll() is None, writer.stderr  # the load went on through the backup
    taken = events(copy)
    # Writes land after the copy's instant, and none of them is in the copy.
    wait_until(lambda: events(db) >= taken + 100, "the load to go on after the backup", BOUND)
    stop.touch()
    out, err = writer.communicate(timeout=BOUND)
    assert writer.returncode == 0, err

    assert f"backup of {db} written to {copy}" in done.stdout
    assert f"{taken} events" in done.stdout
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one file
        assert conn.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
    assert not Path(f"{copy}-wal").exists()
    assert copy.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in copy.parent.iterdir()] == ["copy.db"]  # no partial left

    # The source at the backup's instant: the first `taken` operations, rebuilt elsewhere.
    expected = Store(tmp_path / "expected.db")
    replay(expected, taken)
    expected.close()
    for name in ("tickets", "ticket_events", "totals_opened", "ticket_changes"):
        assert table(copy, name) == table(tmp_path / "expected.db", name), name
    # And the source's own history up to that instant is the copy's.
    source_events = table(db, "ticket_events")
    assert len(source_events) >= taken + 100
    assert source_events[:taken] == table(copy, "ticket_events")


def test_backup_refuses_to_overwrite_and_needs_a_database(tmp_path: Path) -> None:
    db = tmp_path / "ronda.db"
    Store(db).close()
    existing = tmp_path / "taken.db"
    existing.write_bytes(b"keep me")
    done = ronda("backup", "--db", str(db), str(existing))
    assert done.returncode == 1
    assert done.stderr.strip() == f"ronda: {existing}: exists already; give the backup a new name"
    assert existing.read_bytes() == b"keep me"
    done = ronda("backup", "--db", str(tmp_path / "none.db"), str(tmp_path / "x.db"))
    assert done.returncode == 1
    assert "no database here" in done.stderr
    assert not (tmp_path / "none.db").exists()  # a backup never creates the source


def test_backup_into_a_folder_keeps_the_newest(tmp_path: Path) -> None:
    db = tmp_path / "ronda.db"
    Store(db).close()
    folder = tmp_path / "backups"
    folder.mkdir()
    old = [folder / f"ronda-2026010{d}T030000Z.db" for d in range(1, 5)]
    for path in old:
        backup_to(db, path)
    (folder / "notes.txt").write_text("not a backup")
    done = ronda("backup", "--db", str(db), f"{folder}/", "--keep", "2")
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == 3 and names[:2] == ["notes.txt", old[3].name]  # other files stay
    assert names[2] > old[3].name  # today's copy, named by its UTC time
    assert f"written to {folder / names[2]}" in done.stdout
    assert done.stdout.count("removed the older backup") == 3


def test_restore_refuses_while_a_daemon_holds_the_database(tmp_path: Path) -> None:
    """`ronda run` holds the database: restore refuses and changes nothing; once the daemon
    is stopped it restores, keeping the database as it was."""
    db = tmp_path / "ronda.db"
    replay(Store(db), 30)
    backup = tmp_path / "b.db"
    backup_to(db, backup)
    replay_more = Store(db)
    with replay_more.write() as conn:  # a later change the restore must undo
        conn.execute("UPDATE tickets SET subject = 'changed after the backup'")
    replay_more.close()
    config = tmp_path / "empty.toml"
    config.write_text("# no sites: the daemon only holds the database\n")
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "ronda", "run", "--config", str(config), "--db", str(db)]
            + ["--listen", "off"],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    try:
        wait_until(lambda: "rounds of 0 sites" in log.read_text(), "the daemon", BOUND)
        refused = ronda("restore", "--db", str(db), str(backup))
        assert refused.returncode == 1
        assert "`ronda run` or `ronda mail` is running on this database" in refused.stderr
        assert table(db, "tickets")[0][3] == "changed after the backup"
        daemon.terminate()
        assert daemon.wait(BOUND) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait(10)
    done = ronda("restore", "--db", str(db), str(backup))
    assert done.returncode == 0, done.stderr
    assert table(db, "tickets") == table(backup, "tickets")
    kept = next(tmp_path.glob("ronda.db.before-restore-*"))
    assert f"the database as it was is kept in {kept}" in done.stdout
    assert table(kept, "tickets")[0][3] == "changed after the backup"


def test_restore_reaches_open_connections_and_upgrades_an_old_backup(tmp_path: Path) -> None:
    """A TUI's connection sees the restored content at its next read; a backup of an older
    schema comes back at the current one."""
    old = Store(tmp_path / "old.db", migrations=MIGRATIONS[:4])
    with old.write() as conn:
        conn.execute(
            "INSERT INTO tickets (case_number, source, subject, priority, impact, status, "
            "opened_at, updated_at) VALUES ('R-1001', 'manual', 'from the old desk', 'low', "
            "'low', 'open', 0, 0)"
        )
    old.close()
    live = Store(tmp_path / "ronda.db")
    replay(live, 9)
    assert live.query("SELECT COUNT(*) AS n FROM tickets")[0]["n"] == 3
    report = restore_from(tmp_path / "old.db", live.path)
    assert report.restored.schema_version == 4 and report.kept is not None
    assert live.query("SELECT subject FROM tickets") == [{"subject": "from the old desk"}]
    assert live.schema_version() == len(MIGRATIONS)
    assert live.query("SELECT count FROM totals_opened") == [{"count": 1}]  # migration 5 ran
    live.close()


def test_restore_refuses_what_it_cannot_use(tmp_path: Path) -> None:
    db = tmp_path / "ronda.db"
    Store(db).close()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(StoreError, match="not a Ronda database"):
        check_backup(junk)
    newer = Store(tmp_path / "newer.db")
    newer.db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    newer.close()
    with pytest.raises(StoreError, match="newer than this Ronda knows"):
        restore_from(tmp_path / "newer.db", db)
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    with pytest.raises(StoreError, match="no such backup file|not a Ronda database"):
        check_backup(empty)
    with pytest.raises(StoreError, match="is the database itself"):
        restore_from(db, db)
    assert list(tmp_path.glob("*.before-restore-*")) == []  # nothing was touched


def test_a_daemon_does_not_start_while_a_restore_runs(tmp_path: Path) -> None:
    db = tmp_path / "ronda.db"
    with DaemonLock(db).hold_exclusive():
        config = tmp_path / "empty.toml"
        config.write_text("")
        done = ronda("run", "--config", str(config), "--db", str(db), "--listen", "off")
    assert done.returncode == 1
    assert "a restore is replacing this database" in done.stderr
