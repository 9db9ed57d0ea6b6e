"""The store: the one place that knows the database. It owns the file, the schema and its
migrations, and every SQL statement; components call its methods, named in the desk's words,
and never write SQL themselves (a test holds every other module to that)."""

from ronda.store.db import BUSY_TIMEOUT_MS, Store, StoreError, default_db_path
from ronda.store.instants import from_epoch, to_epoch
from ronda.store.schema import MIGRATIONS, OPEN_STATUSES_SQL

__all__ = [
    "BUSY_TIMEOUT_MS",
    "MIGRATIONS",
    "OPEN_STATUSES_SQL",
    "Store",
    "StoreError",
    "default_db_path",
    "from_epoch",
    "to_epoch",
]
