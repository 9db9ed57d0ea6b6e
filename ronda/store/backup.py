"""Backups and restores of the database file, while the desk runs.

`backup_to` copies the database with SQLite's online backup API in ONE step: the copy reads
inside one read transaction, so in WAL mode the rounds, the mail intake and every agent go on
writing, and the copy is the database exactly as it was at one instant (never a half-written
ticket). The copy is checked (`PRAGMA integrity_check`), switched to a self-contained
rollback journal (one file, no -wal to forget), made owner-only, and appears under its name
only when whole.

`restore_from` copies a backup back over the desk's database through the same API (other
connections, an agent's TUI or the exporter, see the restored content at their next read),
after keeping the database as it was next to it. It refuses while a daemon (`ronda run`,
`ronda mail`) holds the database: `DaemonLock` is a shared lock those take on
`<database>.lock` for as long as they run, and a restore needs it exclusively.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ronda.store.db import BUSY_TIMEOUT_MS, Store, StoreError
from ronda.store.schema import MIGRATIONS, Migration


@dataclass(frozen=True, slots=True)
class BackupReport:
    """A database file as checked: where, which schema, what it holds."""

    path: Path
    schema_version: int
    tickets: int
    events: int
    size: int  # bytes
    seconds: float = 0.0  # how long the copy took


@dataclass(frozen=True, slots=True)
class RestoreReport:
    restored: BackupReport  # the backup, as restored
    kept: Path | None  # the database as it was before, or None when there was none


class DaemonLock:
    """An advisory lock on `<database>.lock`: shared by each daemon while it runs, exclusive
    for a restore. The kernel drops it when the process ends, however it ends."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = Path(db_path)
        self.path = Path(f"{self.db_path}.lock")
        self._fd: int | None = None

    def _take(self, mode: int) -> bool:
        if self._fd is not None:
            raise RuntimeError("this lock is already held")
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def hold_shared(self) -> DaemonLock:
        """A daemon's: refused (StoreError) while a restore runs."""
        if not self._take(fcntl.LOCK_SH):
            raise StoreError(
                f"{self.db_path}: a restore is replacing this database; start again when it ends"
            )
        return self

    def hold_exclusive(self) -> DaemonLock:
        """A restore's: refused (StoreError) while a daemon runs on the database."""
        if not self._take(fcntl.LOCK_EX):
            raise StoreError(
                f"{self.db_path}: `ronda run` or `ronda mail` is running on this database; "
                "stop it first (systemctl stop ronda ronda-mail)"
            )
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the lock
            self._fd = None

    def __enter__(self) -> DaemonLock:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


def _connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    mode = "ro" if read_only else "rw"  # never create a file that is not there
    conn = sqlite3.connect(
        f"file:{path}?mode={mode}",
        uri=True,
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


def _report(conn: sqlite3.Connection, path: Path, seconds: float = 0.0) -> BackupReport:
    """Check a database (integrity, a Ronda schema) and say what it holds."""
    problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise StoreError(f"{path}: damaged ({problems[0]}); it is not a usable backup")
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if version < 1 or not {"tickets", "ticket_events"} <= tables:
        raise StoreError(f"{path}: not a Ronda database (no desk tables in it)")
    (tickets,) = conn.execute("SELECT COUNT(*) FROM tickets").fetchone()
    (events,) = conn.execute("SELECT COUNT(*) FROM ticket_events").fetchone()
    return BackupReport(path, version, tickets, events, path.stat().st_size, seconds)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(partial: Path, dest: Path) -> None:
    """Give the whole copy its name: a hard link never replaces a file that appeared
    meanwhile; where the file system has none, a rename after a last look."""
    try:
        os.link(partial, dest)
    except FileExistsError:
        raise
    except OSError:
        if dest.exists():
            raise FileExistsError(dest) from None
        os.rename(partial, dest)


def backup_to(
    source: str | Path, dest: str | Path, *, clock: Callable[[], float] = time.monotonic
) -> BackupReport:
    """Copy the database at `source` to the new file `dest` (refused if it exists), while
    others keep writing to `source`. Returns the copy's report; StoreError when the source
    is not a Ronda database or the copy cannot be made."""
    source, dest = Path(source), Path(dest)
    if not source.is_file():
        raise StoreError(f"{source}: no database here; give --db the desk's database file")
    if dest.exists():
        raise StoreError(f"{dest}: exists already; give the backup a new name")
    dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = dest.with_name(f".{dest.name}.{os.getpid()}.partial")
    fd = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)  # owner-only from byte 1
    os.close(fd)
    started = clock()
    try:
        src = _connect(source)
        try:
            src.execute("PRAGMA query_only = ON")
            copy = sqlite3.connect(partial, isolation_level=None)
            try:
                # pages=-1: the whole file in one step, inside one read transaction of the
                # source; a copy made in several steps would start over at every write.
                src.backup(copy, pages=-1)
                copy.execute("PRAGMA journal_mode = DELETE")
                report = _report(copy, partial, clock() - started)
            finally:
                copy.close()
        finally:
            src.close()
        with open(partial, "rb+") as fh:
            os.fsync(fh.fileno())
        _publish(partial, dest)
    except sqlite3.Error as error:
        raise StoreError(f"{source}: backup to {dest} failed ({error})") from error
    except FileExistsError:
        raise StoreError(f"{dest}: exists already; give the backup a new name") from None
    except OSError as error:  # a full disk, a folder not ours: one line, no traceback
        raise StoreError(f"{dest}: backup not written ({error.strerror or error})") from error
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    _fsync_dir(dest.parent)
    return BackupReport(
        dest,
        report.schema_version,
        report.tickets,
        report.events,
        dest.stat().st_size,
        report.seconds,
    )


def check_backup(path: str | Path, migrations: Sequence[Migration] = MIGRATIONS) -> BackupReport:
    """A backup file as `restore_from` would take it: whole, a Ronda database, and a schema
    this Ronda knows (an older one is upgraded after the restore)."""
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"{path}: no such backup file")
    try:
        conn = _connect(path, read_only=True)
        try:
            report = _report(conn, path)
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        raise StoreError(f"{path}: not a Ronda database ({error})") from error
    if report.schema_version > len(migrations):
        raise StoreError(
            f"{path}: schema version {report.schema_version} is newer than this Ronda knows "
            f"({len(migrations)}); restore it with a newer Ronda"
        )
    return report


def restore_from(
    backup: str | Path,
    db_path: str | Path,
    *,
    migrations: Sequence[Migration] = MIGRATIONS,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RestoreReport:
    """Replace the database at `db_path` with the backup's content, upgraded to this Ronda's
    schema. The database as it was is kept first as `<database>.before-restore-<UTC time>`.
    StoreError when the backup is not usable or a daemon holds the database."""
    backup, db_path = Path(backup), Path(db_path)
    report = check_backup(backup, migrations)
    if db_path.exists() and backup.resolve() == db_path.resolve():
        raise StoreError(f"{backup}: is the database itself; give a backup file")
    with DaemonLock(db_path).hold_exclusive():
        kept = None
        if db_path.is_file() and db_path.stat().st_size > 0:
            stamp = now().strftime("%Y%m%dT%H%M%SZ")
            kept = db_path.with_name(f"{db_path.name}.before-restore-{stamp}")
            backup_to(db_path, kept)
        store = Store(db_path, migrate=False, migrations=migrations)  # creates it if missing
        try:
            src = _connect(backup, read_only=True)
            try:
                src.backup(store.db.conn, pages=-1)
            except sqlite3.Error as error:
                raise StoreError(f"{db_path}: restore from {backup} failed ({error})") from error
            finally:
                src.close()
            store.migrate()
        finally:
            store.close()
    return RestoreReport(report, kept)


__all__ = [
    "BackupReport",
    "DaemonLock",
    "RestoreReport",
    "backup_to",
    "check_backup",
    "restore_from",
]
