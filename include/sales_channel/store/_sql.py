"""Small SQL helpers shared by the repositories (and the SQL bucket store)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from sales_channel.store.engine import read_only

Clock = Callable[[], datetime]
T = TypeVar("T")
ModelT = TypeVar("ModelT")

# Keep IN lists well under every backend's bound-parameter limit.
IN_CHUNK = 1000


def utc_now() -> datetime:
    return datetime.now(UTC)


class Sessions:
    """Short transactions on one engine: ``write()`` (takes SQLite's write lock at BEGIN) and ``read()``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._write = sessionmaker(engine, expire_on_commit=False)
        self._read = sessionmaker(read_only(engine), expire_on_commit=False)
        self._current = threading.local()
        # SQLite has one writer at a time, and its busy handler lets waiters sleep in growing steps: this
        # process's threads queue on a lock instead, which passes at once (other processes still wait
        # in the busy handler).
        self._writer = threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction committed on success and rolled back on error. Inside another ``write()`` of
        the same thread it is that transaction: several repositories' writes then commit as one."""
        outer = getattr(self._current, "session", None)
        if outer is not None:
            yield outer
            return
        with self._writer, self._write.begin() as session:
            self._current.session = session
            try:
                yield session
            finally:
                self._current.session = None

    def read(self) -> AbstractContextManager[Session]:
        return self._read.begin()


def insert_for(session: Session) -> Callable[..., Any]:
    """The dialect's ``insert`` (it has ``on_conflict_do_nothing/do_update`` on both backends)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def lock_row(session: Session, model: type[ModelT], key: dict[str, Any], defaults: dict[str, Any]) -> ModelT:
    """The row of ``model`` with primary/unique ``key``, created from ``defaults`` if missing, locked
    for the rest of the transaction (``FOR UPDATE`` on PostgreSQL; SQLite's BEGIN IMMEDIATE already
    holds the database's write lock)."""
    session.execute(insert_for(session)(model).values(**key, **defaults).on_conflict_do_nothing(
        index_elements=list(key)))
    conditions = [getattr(model, column) == value for column, value in key.items()]
    statement = select(model).where(*conditions).with_for_update().execution_options(populate_existing=True)
    return session.scalars(statement).one()


def chunked(values: Iterable[T], size: int = IN_CHUNK) -> Iterator[list[T]]:
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
