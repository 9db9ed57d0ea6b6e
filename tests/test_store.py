"""The SQLite file: permissions, migrations, and several processes writing at once."""

from __future__ import annotations

import multiprocessing
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ronda.model import FailureClass, Impact, Priority, Source
from ronda.store import MIGRATIONS, Store, StoreError
from ronda.store.metrics import MetricsReader
from ronda.tickets import Desk

WRITERS = 4
TICKETS_PER_WRITER = 25


def test_new_file_is_owner_only_and_in_wal(tmp_path: Path) -> None:
    store = Store(tmp_path / "sub" / "ronda.db")
    mode = stat.S_IMODE(os.stat(store.path).st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(os.stat(store.path.parent).st_mode) == 0o700
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.schema_version() == len(MIGRATIONS)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    store = Store(tmp_path / "ronda.db")
    store.db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    store.close()
    with pytest.raises(StoreError, match="newer than this Ronda knows"):
        Store(tmp_path / "ronda.db")


def test_reopening_keeps_data_and_version(tmp_path: Path) -> None:
    desk = Desk(Store(tmp_path / "ronda.db"))
    desk.open_ticket(
        source=Source.MANUAL, subject="x", priority=Priority.LOW, impact=Impact.LOW, actor="a"
    )
    desk.store.close()
    again = Store(tmp_path / "ronda.db")
    assert again.schema_version() == len(MIGRATIONS)
    assert again.query("SELECT COUNT(*) AS n FROM tickets")[0]["n"] == 1


def _writer(path: str, writer: int, barrier) -> None:
    desk = Desk(Store(path))
    barrier.wait()
    for n in range(TICKETS_PER_WRITER):
        ticket = desk.open_ticket(
            source=Source.MANUAL,
            subject=f"writer {writer} ticket {n}",
            priority=Priority.MEDIUM,
            impact=Impact.LOW,
            actor=f"agent{writer}",
        )
        desk.note(ticket.id, f"agent{writer}", "first note")
        # Everyone also notes on the shared first ticket: contention on one row.
        desk.note(1, f"agent{writer}", f"shared note {n}")


def test_parallel_writer_processes_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ronda.db"
    desk = Desk(Store(path))
    desk.open_ticket(
        source=Source.MANUAL, subject="shared", priority=Priority.LOW, impact=Impact.LOW, actor="a"
    )
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WRITERS)
    workers = [
        context.Process(target=_writer, args=(str(path), w, barrier)) for w in range(WRITERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [w.exitcode for w in workers] == [0] * WRITERS
    total = 1 + WRITERS * TICKETS_PER_WRITER
    assert desk.store.query("SELECT COUNT(*) AS n FROM tickets")[0]["n"] == total
    case_numbers = desk.store.query("SELECT COUNT(DISTINCT case_number) AS n FROM tickets")
    assert case_numbers[0]["n"] == total
    shared = desk.events(1)
    assert len([e for e in shared if e.kind == "note"]) == WRITERS * TICKETS_PER_WRITER
    # opened + first note for every writer's ticket, plus the shared ticket's events.
    events = desk.store.query("SELECT COUNT(*) AS n FROM ticket_events")[0]["n"]
    assert events == 1 + WRITERS * TICKETS_PER_WRITER * 3
    # Every note bumped the shared ticket's version exactly once.
    assert desk.get(1).version == 1 + WRITERS * TICKETS_PER_WRITER


def test_forward_migration_keeps_old_rows(tmp_path: Path) -> None:
    path = tmp_path / "ronda.db"
    old = Store(path, migrations=MIGRATIONS[:2])
    assert old.schema_version() == 2
    with old.write() as db:
        db.execute(
            "INSERT INTO tickets (case_number, source, subject, priority, impact, status, "
            "opened_at, failure_class, sla_outcome, updated_at) "
            "VALUES ('R-1001', 'probe', 'x', 'high', 'low', 'resolved', 0, 'slow', 'met', 0)"
        )
    old.close()
    new = Store(path)
    assert new.schema_version() == len(MIGRATIONS)
    row = new.query("SELECT opened_class, outcome_priority, outcome_impact FROM tickets")[0]
    assert row == {"opened_class": "slow", "outcome_priority": "high", "outcome_impact": "low"}


# ---- a file that cannot serve: one line, nothing lost ---------------------------------


def _open_one(desk: Desk, subject: str = "x"):  # type: ignore[no-untyped-def]
    return desk.open_ticket(
        source=Source.MANUAL, subject=subject, priority=Priority.LOW, impact=Impact.LOW, actor="a"
    )


def test_an_existing_wide_open_file_is_made_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "ronda.db"
    Desk(Store(path)).store.close()
    for suffix in ("", "-wal", "-shm"):
        extra = Path(f"{path}{suffix}")
        if not extra.exists():
            extra.touch()
        extra.chmod(0o644)
    store = Store(path)
    store.query("SELECT 1 AS x")
    for suffix in ("", "-wal", "-shm"):
        assert stat.S_IMODE(os.stat(f"{path}{suffix}").st_mode) == 0o600, suffix


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"[[sites]]\nname = 'x'\n" * 200, "is not a Ronda database"),  # a config as --db
        (b"SQLite format 3\x00" + b"\xff" * 4096, "is not a Ronda database"),  # garbage header
    ],
)
def test_a_file_that_is_not_a_database_is_one_line(
    tmp_path: Path, content: bytes, words: str
) -> None:
    path = tmp_path / "ronda.toml"
    path.write_bytes(content)
    with pytest.raises(StoreError) as caught:
        Store(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and words in message and "\n" not in message
    assert path.read_bytes() == content  # nothing written into someone else's file


def test_a_folder_given_as_the_database_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is not a file"):
        Store(tmp_path)


def test_a_read_only_database_refuses_writes_in_one_line_and_keeps_what_it_had(
    tmp_path: Path,
) -> None:
    desk = Desk(Store(tmp_path / "ronda.db"))
    _open_one(desk, "kept")
    desk.store.db.execute("PRAGMA query_only = ON")  # SQLite's own read-only refusal
    with pytest.raises(StoreError, match="is read-only"):
        _open_one(desk, "refused")
    desk.store.db.execute("PRAGMA query_only = OFF")
    assert [t.subject for t in desk.queue()] == ["kept"]


def test_a_full_disk_is_one_line_and_rolls_the_change_back(tmp_path: Path) -> None:
    desk = Desk(Store(tmp_path / "ronda.db"))
    _open_one(desk, "kept")
    pages = desk.store.db.execute("PRAGMA page_count").fetchone()[0]
    desk.store.db.execute(f"PRAGMA max_page_count = {pages}")  # the file may not grow
    with pytest.raises(StoreError, match="disk is full"):
        with desk.store.write() as db:
            db.execute(
                "INSERT INTO ticket_events (ticket_id, at, actor, kind, body) "
                "VALUES (1, 0, 'a', 'note', ?)",
                ("x" * 200_000,),
            )
    assert len(desk.events(1)) == 1  # the opening only
    assert desk.get(1).subject == "kept"


def _desk_history(desk: Desk, clock: list[datetime]) -> None:
    """Tickets of every kind the totals count: answered on time and late, reprioritized
    after the answer, resolved by a probe past the limit, reclassified, still open."""

    def at(minutes: float) -> None:
        clock[0] = datetime(2026, 11, 25, 15, 0, tzinfo=UTC) + timedelta(minutes=minutes)

    at(0)
    email = dict(source=Source.EMAIL, subject="x", priority=Priority.HIGH, impact=Impact.HIGH)
    on_time, late, moved, still_open = (desk.open_ticket(**email, actor="mail") for _ in range(4))
    probe = desk.open_ticket(
        source=Source.PROBE,
        subject="caído",
        priority=Priority.HIGH,
        impact=Impact.MEDIUM,
        actor="probe",
        failure_class=FailureClass.SLOW,
    )
    at(4)
    desk.respond(on_time.id, "ana", "Hola")
    desk.respond(moved.id, "ana", "Hola")
    desk.reprioritize(moved.id, "ana", priority=Priority.LOW, reason="no era urgente")
    desk.record(probe.id, "probe", "recurrence", failure_class=FailureClass.HTTP_500)
    at(40)
    desk.respond(late.id, "ana", "Perdón")
    at(120)
    desk.resolve(probe.id, "probe")


def _totals(path: Path) -> dict:
    reader = MetricsReader(path)
    try:
        with reader.snapshot():
            return {
                "opened": sorted(reader.opened_totals()),
                "responses": sorted(reader.outcome_totals()),
                "times": sorted(reader.response_time_totals()),
            }
    finally:
        reader.close()


def test_the_totals_migration_backfills_what_the_triggers_would_have_kept(tmp_path: Path) -> None:
    clock = [datetime(2026, 11, 25, 15, 0, tzinfo=UTC)]
    # The same history written before the totals existed, and after.
    old = Store(tmp_path / "old.db", migrations=MIGRATIONS[:4])
    _desk_history(Desk(old, clock=lambda: clock[0]), clock)
    with old.write() as db:  # a row from before migration 3: no frozen labels
        db.execute(
            "INSERT INTO tickets (case_number, source, subject, priority, impact, status, "
            "opened_at, failure_class, sla_outcome, first_response_seconds, updated_at) "
            "VALUES ('R-9001', 'probe', 'x', 'medium', 'low', 'closed', 0, 'dns', 'met', 30, 0)"
        )
    old.close()
    new = Store(tmp_path / "new.db")
    _desk_history(Desk(new, clock=lambda: clock[0]), clock)
    with new.write() as db:
        db.execute(
            "INSERT INTO tickets (case_number, source, subject, priority, impact, status, "
            "opened_at, failure_class, sla_outcome, first_response_seconds, updated_at) "
            "VALUES ('R-9001', 'probe', 'x', 'medium', 'low', 'closed', 0, 'dns', 'met', 30, 0)"
        )
    new.close()

    upgraded = Store(tmp_path / "old.db")
    assert upgraded.schema_version() == len(MIGRATIONS)
    upgraded.close()
    totals = _totals(tmp_path / "old.db")
    assert totals == _totals(tmp_path / "new.db")
    assert totals["responses"] == [
        ("high", "high", "met", 2),  # on time, and the one moved to low after its answer
        ("high", "high", "missed", 1),
        ("high", "medium", "missed", 1),  # the probe resolved it past its limit, unanswered
        ("medium", "low", "met", 1),
    ]
    assert totals["opened"] == [("email", "", 4), ("probe", "dns", 1), ("probe", "slow", 1)]
    assert sum(n for _, _, n, _ in totals["times"]) == 4  # the probe's miss has no time

    # Written after the upgrade, the triggers keep counting from the backfilled totals.
    upgraded = Store(tmp_path / "old.db")
    desk = Desk(upgraded, clock=lambda: clock[0])
    ticket = desk.open_ticket(
        source=Source.EMAIL, subject="y", priority=Priority.LOW, impact=Impact.LOW, actor="mail"
    )
    desk.respond(ticket.id, "ana", "Hola")
    upgraded.close()
    after = _totals(tmp_path / "old.db")
    assert ("low", "low", "met", 1) in after["responses"]
    assert ("email", "", 5) in after["opened"]
