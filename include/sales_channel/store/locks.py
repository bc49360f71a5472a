"""Named locks across processes, for read-modify-write sequences on another system.

Commerce's REST API sets stock quantities absolutely (no atomic decrement), so two workers taking
stock for the same SKU must not interleave their read and their write. On PostgreSQL a session-level
advisory lock per name serializes exactly those, held on a connection of its own in AUTOCOMMIT: no
transaction stays open during the holder's HTTP calls, so ``idle_in_transaction_session_timeout``
cannot end the session (and with it the lock) under the holder. With SQLite (one machine) an exclusive
``flock`` on a file beside the database does, without holding the database's write lock (which would
stall every other writer while the lock holder waits on HTTP calls).

A wait is bounded (``LockTimeout``), and a lock found gone at release (its session was killed, so
another worker may have held it meanwhile) raises ``LockLost``: the caller's sequence was not exclusive.
"""

from __future__ import annotations

import fcntl
import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

DEFAULT_LOCK_TIMEOUT_S = 60.0
_POLL_S = (0.01, 0.25)  # first and longest pause between two attempts


class LockTimeout(TimeoutError):
    """Another holder kept the lock ``name`` longer than the caller would wait (``timeout_s``)."""

    def __init__(self, name: str, timeout_s: float) -> None:
        self.name, self.timeout_s = name, timeout_s
        super().__init__(f"lock {name!r}: still held by another worker after {timeout_s:g} s")


class LockLost(RuntimeError):
    """The lock ``name`` was no longer held when released: its database session ended while held (a
    server timeout, a restart, a killed backend), so the block may have overlapped another holder's."""

    def __init__(self, name: str, cause: str) -> None:
        self.name = name
        super().__init__(f"lock {name!r} was lost while held ({cause}): the locked sequence may have "
                         "overlapped another worker's; check what it changed")


def _key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (PostgreSQL's advisory locks take a bigint)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def hold(engine: Engine, name: str, timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the lock ``name`` until the block ends, waiting at most ``timeout_s`` for another holder."""
    if engine.dialect.name != "postgresql":
        with _file_lock(Path(f"{engine.url.database}.{_key(name) & 0xFFFFFFFF:08x}.lock"), name, timeout_s):
            yield
        return
    key = {"key": _key(name)}
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        _poll(lambda: bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), key).scalar()),
              name, timeout_s)
        try:
            yield
        finally:  # also after an error: the connection goes back to the pool, which must not keep the lock
            try:
                released = connection.execute(text("SELECT pg_advisory_unlock(:key)"), key).scalar()
            except DBAPIError as gone:
                raise LockLost(name, f"its session ended: {type(gone.orig).__name__}") from None
            if not released:
                raise LockLost(name, "its session no longer held it")


@contextmanager
def _file_lock(path: Path, name: str, timeout_s: float) -> Iterator[None]:
    with path.open("a") as handle:
        _poll(lambda: _try_flock(handle.fileno()), name, timeout_s)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _poll(attempt: Callable[[], bool], name: str, timeout_s: float) -> None:
    """Call ``attempt`` until it takes the lock, pausing a little longer each time, until ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    pause = _POLL_S[0]
    while not attempt():
        left = deadline - time.monotonic()
        if left <= 0:
            raise LockTimeout(name, timeout_s)
        time.sleep(min(pause, left))
        pause = min(pause * 2, _POLL_S[1])
