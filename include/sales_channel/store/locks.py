"""Named locks across processes, for read-modify-write sequences on another system.

Commerce's REST API sets stock quantities absolutely (no atomic decrement), so two workers taking
stock for the same SKU must not interleave their read and their write. On PostgreSQL a session-level
advisory lock per name serializes exactly those; with SQLite (one machine) an exclusive ``flock`` on a
file beside the database does, without holding the database's write lock (which would stall every
other writer while the lock holder waits on HTTP calls).
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text


def _key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (PostgreSQL's advisory locks take a bigint)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def hold(engine: Engine, name: str) -> Iterator[None]:
    """Hold the lock ``name`` until the block ends (waits for another holder)."""
    if engine.dialect.name != "postgresql":
        with _file_lock(Path(f"{engine.url.database}.{_key(name) & 0xFFFFFFFF:08x}.lock")):
            yield
        return
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _key(name)})
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _key(name)})
            connection.commit()


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
