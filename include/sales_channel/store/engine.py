"""Engines for the channel database that are safe under concurrent writers on SQLite and PostgreSQL.

Every Airflow task is a process of its own, and several may write at once. On SQLite that needs WAL
(readers never block the writer), a busy timeout (a writer waits for the lock instead of failing),
foreign keys on, and write transactions that take the write lock when they *begin* (``BEGIN
IMMEDIATE``): with the driver's default deferred begin, two transactions that read then write can
deadlock and one fails with "database is locked" regardless of the timeout. Read-only work can use
``read_only(engine)``, which begins deferred and so never waits for a writer.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url

SQLITE_BUSY_TIMEOUT_S = 30.0
_BEGIN_OPTION = "sqlite_begin"  # execution option: "IMMEDIATE" (default) or "DEFERRED"


def normalize_url(url: str | URL) -> URL:
    """``url`` parsed, with the plain ``postgresql://`` (and Heroku-style ``postgres://``) people type
    mapped to the installed psycopg2 driver: SQLAlchemy's default for them is psycopg 3, which is not
    installed. Every entry point (the CLI, the Airflow hook, ``create_engine_for``) goes through here."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg2")
    return parsed


def create_engine_for(url: str | URL, **engine_args: Any) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql://...``) set up for concurrency."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, **engine_args)
    if parsed.get_backend_name() == "postgresql":
        defaults: dict[str, Any] = {"pool_size": 5, "max_overflow": 5, "pool_pre_ping": True, "pool_recycle": 1800}
        return create_engine(parsed, **{**defaults, **engine_args})
    raise ValueError(f"sales_channel_db: unsupported database {parsed.get_backend_name()!r} "
                     "(use sqlite:///path or postgresql://...)")


def read_only(engine: Engine) -> Engine:
    """The same engine for read-only transactions (deferred begin on SQLite; unchanged on PostgreSQL)."""
    return engine.execution_options(**{_BEGIN_OPTION: "DEFERRED"})


def _sqlite_engine(url: URL, **engine_args: Any) -> Engine:
    connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_S, **engine_args.pop("connect_args", {})}
    engine = create_engine(url, connect_args=connect_args, **engine_args)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Leave transaction control to SQLAlchemy's "begin" event below, not the driver's implicit BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if url.database not in (None, "", ":memory:"):
            _ensure_wal(cursor)
            # With WAL, NORMAL survives any crash of the process (SIGKILL included); only a power loss may
            # drop the last commits, which the pipelines then redo idempotently. FULL would fsync each one.
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _ensure_wal(cursor: Any) -> None:
    """Switch the file to WAL (a lasting property of the file, so usually already done).

    The switch needs the database to itself, and SQLite answers "database is locked" at once, without
    its busy handler, while another connection (e.g. a concurrent first migration) holds a lock: so
    retry, within the busy timeout.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
