"""The persistent state file of a sandbox: one SQLite connection, guarded by a lock, with nestable
transactions. Both sandboxes keep their state this way; it survives a restart of the service."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class SqliteState:
    """``state_dir/file_name``, created with ``schema`` (and wiped first when ``fresh``)."""

    def __init__(self, state_dir: Path, file_name: str, schema: str, fresh: bool = False) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / file_name
        if fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        self.lock = threading.RLock()
        self._depth = 0
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(schema)

    def close(self) -> None:
        with self.lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock and commit every write inside as one SQLite transaction; nested use joins the
        outer transaction."""
        with self.lock:
            outermost = self._depth == 0
            if outermost:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outermost:
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outermost:
                self._db.execute("COMMIT")
