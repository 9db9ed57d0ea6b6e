"""A deterministic stream of desk writes, for tests that copy a database while it is written.

Operation `n` is a pure function of `n` (its time included), and adds exactly ONE ticket
event, each operation in its own transaction: a database with `k` events is then exactly the
database after operations 0..k-1, which `replay` rebuilds anywhere.

As a process (`python tests/desk_load.py DB STOP_FILE`) it writes until STOP_FILE appears:
the "agents" of a backup test, in another process than the backup.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ronda.model import Impact, Priority, Source
from ronda.store import Store
from ronda.tickets import Desk

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PRIORITIES = (Priority.LOW, Priority.MEDIUM, Priority.HIGH)
IMPACTS = (Impact.HIGH, Impact.LOW, Impact.MEDIUM, Impact.LOW)


class LoadDesk:
    """A desk whose clock says operation n happened at T0 + n seconds."""

    def __init__(self, store: Store) -> None:
        self.at = T0
        self.desk = Desk(store, clock=lambda: self.at)

    def apply(self, n: int) -> None:
        """Operation n: open case k, note on it, claim it (one event each)."""
        self.at = T0 + timedelta(seconds=n)
        k, step = divmod(n, 3)
        if step == 0:
            self.desk.open_ticket(
                source=Source.EMAIL if k % 2 else Source.MANUAL,
                subject=f"case {k}: the shop's checkout fails",
                priority=PRIORITIES[k % 3],
                impact=IMPACTS[k % 4],
                actor="mail" if k % 2 else f"agent-{k % 4}",
                customer=f"customer {k % 7}",
                requester=f"user{k}@customer{k % 7}.example",
                body=f"message {k}\n" + "text " * (k % 50),
            )
        elif step == 1:
            self.desk.note(k + 1, f"agent-{k % 4}", f"note {n}: looked at it")
        else:
            self.desk.claim(k + 1, f"agent-{k % 4}")


def replay(store: Store, operations: int) -> None:
    """Operations 0..operations-1 on `store` (a fresh database)."""
    load = LoadDesk(store)
    for n in range(operations):
        load.apply(n)


def main(db: str, stop_file: str) -> int:
    store = Store(db)
    load = LoadDesk(store)
    stop = Path(stop_file)
    n = 0
    while not stop.exists():
        load.apply(n)
        n += 1
    store.close()
    print(n)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
