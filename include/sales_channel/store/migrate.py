"""Bring the channel database to the schema this code expects (Alembic, run programmatically).

``migrate(url)`` is idempotent and cheap when the database is already at head, so every task may call
it on start. Concurrent first runs are serialized: on PostgreSQL by a transaction-level advisory lock
taken before Alembic looks at the version table (the whole upgrade is one transaction, since
PostgreSQL's DDL is transactional); on SQLite by the write lock of ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from sales_channel.store.engine import create_engine_for

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# An arbitrary 64-bit key naming "the channel database's migration" among advisory locks.
_ADVISORY_LOCK_KEY = 0x5A1E5C4A
_ENGINE_ATTRIBUTE = "sales_channel_connection"


def migrate(url: str | URL | Engine, revision: str = "head") -> None:
    """Upgrade the database at ``url`` (or behind ``engine``) to ``revision``."""
    _run(url, lambda cfg: command.upgrade(cfg, revision))


def downgrade(url: str | URL | Engine, revision: str) -> None:
    """Downgrade to ``revision`` ("base" drops every table). For operators and tests, never run by tasks."""
    _run(url, lambda cfg: command.downgrade(cfg, revision))


def current_revision(url: str | URL | Engine) -> str | None:
    """The revision the database is at (None when it was never migrated)."""
    engine = url if isinstance(url, Engine) else create_engine_for(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        if engine is not url:
            engine.dispose()


def head_revision() -> str:
    """The newest revision shipped with this code."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "the migrations directory has no revision"
    return head


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _run(url: str | URL | Engine, action: Callable[[Config], None]) -> None:
    engine = url if isinstance(url, Engine) else create_engine_for(url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
            config = _config()
            config.attributes[_ENGINE_ATTRIBUTE] = connection
            action(config)
    finally:
        if engine is not url:
            engine.dispose()
