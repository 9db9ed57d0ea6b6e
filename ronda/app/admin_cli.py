"""The sysadmin's commands: `ronda init`, `ronda backup`, `ronda restore`.

`backup` copies the live database (the rounds and agents keep writing) to a new file, or
into a folder as `ronda-<UTC time>.db`, where `--keep N` then deletes all but the N newest
such copies. `restore` puts a backup back, after keeping the database as it was; it
refuses while `ronda run` or `ronda mail` holds the database.
"""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime
from pathlib import Path

from ronda.app.context import EXIT_OK, CliError
from ronda.store import default_db_path
from ronda.store.backup import BackupReport, backup_to, restore_from

BACKUP_NAME = re.compile(r"ronda-\d{8}T\d{6}Z\.db")


def _db_path(args: argparse.Namespace) -> Path:
    return Path(args.db) if args.db is not None else default_db_path()


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    raise AssertionError


def _describe(report: BackupReport) -> str:
    return (
        f"schema {report.schema_version}, {report.tickets} tickets, {report.events} events, "
        f"{_size(report.size)}"
    )


def cmd_init(args: argparse.Namespace) -> int:
    from ronda.app.init import InitRefused, init_desk

    folder = Path(args.dir) if args.dir is not None else default_db_path().parent
    try:
        desk = init_desk(folder, Path(args.db) if args.db is not None else None, datetime.now(UTC))
    except InitRefused as error:
        raise CliError(str(error)) from None
    db_flag = "" if desk.db == default_db_path() else f" --db {desk.db}"
    print(f"wrote {desk.config} (one example customer and site: replace them)")
    print(f"created {desk.db}")
    print("next:")
    print(f"  $EDITOR {desk.config}")
    print(f"  ronda check-config {desk.config}")
    print(f"  ronda run --config {desk.config}{db_flag}")
    return EXIT_OK


def backup_target(target: str, now: datetime) -> tuple[Path, bool]:
    """Where the copy goes, and whether `target` (a folder, or a name ending in `/`) is a
    folder of dated copies."""
    path = Path(target)
    if path.is_dir() or target.endswith("/"):
        return path / f"ronda-{now:%Y%m%dT%H%M%SZ}.db", True
    return path, False


def prune_backups(folder: Path, keep: int) -> list[Path]:
    """Delete all but the `keep` newest `ronda-<time>.db` copies in `folder`; the removed."""
    copies = sorted(p for p in folder.iterdir() if BACKUP_NAME.fullmatch(p.name) and p.is_file())
    doomed = copies[:-keep] if keep > 0 else []
    for path in doomed:
        path.unlink()
    return doomed


def cmd_backup(args: argparse.Namespace) -> int:
    source = _db_path(args)
    dest, dated = backup_target(args.target, datetime.now(UTC))
    if args.keep is not None and not dated:
        raise CliError("--keep needs a folder to back up into (the copies in it are kept)")
    if args.keep is not None and args.keep < 1:
        raise CliError("--keep: keep at least one copy")
    report = backup_to(source, dest)
    print(f"backup of {source} written to {dest} ({_describe(report)}) in {report.seconds:.2f} s")
    if dated and args.keep is not None:
        for path in prune_backups(dest.parent, args.keep):
            print(f"removed the older backup {path}")
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    db = _db_path(args)
    result = restore_from(Path(args.file), db)
    print(f"restored {args.file} into {db} ({_describe(result.restored)})")
    if result.kept is not None:
        print(f"the database as it was is kept in {result.kept}")
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """`init`, `backup` and `restore` on the top-level parser."""
    p = sub.add_parser("init", help="a new desk: starter config and database")
    p.add_argument("--dir", help="folder for ronda.toml (default: the user data directory)")
    p.add_argument("--db", help="database file (default: ronda.db in that folder)")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("backup", parents=[common], help="copy the live database")
    p.add_argument("target", help="new file, or a folder for ronda-<UTC time>.db")
    p.add_argument("--keep", type=int, help="in a folder: keep only the N newest copies")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", parents=[common], help="put a backup back (daemons stopped)")
    p.add_argument("file", help="a backup made by `ronda backup`")
    p.set_defaults(func=cmd_restore)


__all__ = ["add_parsers", "backup_target", "prune_backups"]
