"""Import a Maildir folder (`new/` and `cur/`) through the same intake as the SMTP server.

The folder is only read, never changed: the mail log's Message-IDs make a second import of
the same folder a no-op. Acknowledgements are off by default - an old folder must not send
customers a pile of "we received your message".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ronda.config import Config
from ronda.intake.ingest import Intake
from ronda.store import Store


@dataclass(slots=True)
class ImportReport:
    opened: int = 0
    followups: int = 0
    duplicates: int = 0
    dropped: int = 0
    too_large: int = 0
    acknowledged: int = 0
    failed: list[str] = field(default_factory=list)  # "key: reason"

    def summary(self) -> str:
        text = (
            f"{self.opened} new cases, {self.followups} follow-ups, {self.duplicates} "
            f"duplicates, {self.dropped} dropped, {self.too_large} too large, "
            f"{self.acknowledged} acknowledged, {len(self.failed)} failed"
        )
        return "\n".join([text, *self.failed])


def import_maildir(path: Path | str, intake: Intake, *, ack: bool = False) -> ImportReport:
    """Store every message of the Maildir at `path`; one bad message does not stop the rest."""
    path = Path(path)
    if not (path / "cur").is_dir() or not (path / "new").is_dir():
        raise FileNotFoundError(f"{path} is not a Maildir (it needs cur/ and new/ folders)")
    report = ImportReport()
    limit = intake.settings.max_message_bytes
    files = [
        file
        for folder in ("new", "cur")
        for file in sorted((path / folder).iterdir())
        if file.is_file() and not file.name.startswith(".")
    ]
    for file in files:
        key = f"{file.parent.name}/{file.name}"
        try:
            if file.stat().st_size > limit:
                report.too_large += 1
                continue
            outcome = intake.ingest(file.read_bytes(), None, ack=ack)
            if outcome.ack is not None and intake.send_ack(outcome):
                report.acknowledged += 1
        except Exception as exc:  # noqa: BLE001 - reported per message, the rest goes on
            report.failed.append(f"{key}: {type(exc).__name__}: {exc}")
            continue
        if outcome.action == "opened":
            report.opened += 1
        elif outcome.action == "followup":
            report.followups += 1
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
