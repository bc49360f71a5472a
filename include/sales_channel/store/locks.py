"""Named locks across processes, for read-modify-write sequences on another system.

Commerce's REST API sets stock quantities absolutely (no atomic decrement), so two workers taking
stock for the same SKU must not interleave their read and their write. On PostgreSQL a session-level
advisory lock per name serializes exactly those; on SQLite (one machine) the write lock of
``BEGIN IMMEDIATE`` serializes all holders, which is enough for the embedded default.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text


def _key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (PostgreSQL's advisory locks take a bigint)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def hold(engine: Engine, name: str) -> Iterator[None]:
    """Hold the lock ``name`` until the block ends (waits for another holder)."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _key(name)})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _key(name)})
                connection.commit()
        else:
            with connection.begin():  # BEGIN IMMEDIATE (see engine.py): the database's write lock
                yield
