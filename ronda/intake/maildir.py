"""Import a Maildir folder (`new/` and `cur/`) through the same intake as the SMTP server.

The folder is only read, never changed: the mail log's Message-IDs make a second import of
the same folder a no-op. Acknowledgements are off by default - an old folder must not send
customers a pile of "we received your message". Only regular files are read: a symbolic
link (which could point at any file the desk's user can read) or a device, FIFO or socket
is skipped and named in the report.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ronda.config import Config
from ronda.intake.ingest import Intake
from ronda.store import Store

# Opened without following a link (checked again on the open file: no race with a swap),
# and without blocking on a FIFO.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


@dataclass(slots=True)
class ImportReport:
    opened: int = 0
    followups: int = 0
    flooded: int = 0
    duplicates: int = 0
    dropped: int = 0
    too_large: int = 0
    acknowledged: int = 0
    skipped: list[str] = field(default_factory=list)  # "key: why", not a regular file
    failed: list[str] = field(default_factory=list)  # "key: reason"

    def summary(self) -> str:
        text = (
            f"{self.opened} new cases, {self.followups} follow-ups, {self.duplicates} "
            f"duplicates, {self.dropped} dropped, {self.too_large} too large, "
            f"{self.acknowledged} acknowledged, {len(self.failed)} failed"
        )
        if self.flooded:
            text += f", {self.flooded} counted on a flood's ticket"
        skipped = [f"skipped {line}" for line in self.skipped]
        if self.skipped:
            skipped.append(f"{len(self.skipped)} skipped (not regular files)")
        return "\n".join([text, *self.failed, *skipped])


def _kind(mode: int) -> str | None:
    """Why a file of this mode is not read, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _read_regular(file: Path, limit: int) -> bytes | str | None:
    """The file's bytes; a reason (str) when it is not a regular file; None when it is
    over `limit` bytes."""
    try:
        fd = os.open(file, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a link swapped in after the listing
            return "a symbolic link"
        raise
    try:
        info = os.fstat(fd)
        why = _kind(info.st_mode)
        if why is not None:
            return why
        if info.st_size > limit:
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(limit + 1)
    finally:
        os.close(fd)


def import_maildir(path: Path | str, intake: Intake, *, ack: bool = False) -> ImportReport:
    """Store every message of the Maildir at `path`; one bad message does not stop the rest.
    Symbolic links and other non-regular files are skipped and listed in the report."""
    path = Path(path)
    if not (path / "cur").is_dir() or not (path / "new").is_dir():
        raise FileNotFoundError(f"{path} is not a Maildir (it needs cur/ and new/ folders)")
    report = ImportReport()
    limit = intake.settings.max_message_bytes
    files: list[Path] = []
    for folder in ("new", "cur"):
        for file in sorted((path / folder).iterdir()):
            if file.name.startswith("."):
                continue
            why = _kind(file.lstat().st_mode)
            if why is not None:
                report.skipped.append(f"{folder}/{file.name}: {why}")
                continue
            files.append(file)
    for file in files:
        key = f"{file.parent.name}/{file.name}"
        try:
            raw = _read_regular(file, limit)
            if isinstance(raw, str):
                report.skipped.append(f"{key}: {raw}")
                continue
            if raw is None or len(raw) > limit:
                report.too_large += 1
                continue
            outcome = intake.ingest(raw, None, ack=ack)
            if outcome.ack is not None:
                report.acknowledged += 1  # queued; the sender delivers it
        except Exception as exc:  # noqa: BLE001 - reported per message, the rest goes on
            report.failed.append(f"{key}: {type(exc).__name__}: {exc}")
            continue
        if outcome.action == "opened":
            report.opened += 1
        elif outcome.action == "followup":
            report.followups += 1
        elif outcome.action == "flooded":
            report.flooded += 1
        elif outcome.action == "duplicate":
            report.duplicates += 1
        elif outcome.action == "busy":
            report.failed.append(f"{key}: being stored by another process; import again")
        else:
            report.dropped += 1
    return report


def run_import(
    config: Config, path: Path | str, db_path: Path | str | None = None, *, ack: bool = False
) -> int:
    """`ronda mail import PATH [--ack] --config FILE [--db PATH]`: prints a summary; exit
    code 1 when any message failed."""
    store = Store(db_path)
    try:
        report = import_maildir(path, Intake.from_config(config, store), ack=ack)
    finally:
        store.close()
    print(report.summary())
    return 1 if report.failed else 0


__all__ = ["ImportReport", "import_maildir", "run_import"]
