"""Bring the channel database to the schema this code expects (Alembic, run programmatically).

Migrating is an explicit step of a deployment, never of a task: ``python -m sales_channel migrate``
(``make run`` runs it), or ``migrate(url)``. Tasks only ``check_schema`` when they open the store (one
query of the version table) and fail at once, saying what to run, when the database is not at head.
``migrate`` is idempotent; concurrent runs are serialized: on PostgreSQL by a transaction-level
advisory lock taken before Alembic looks at the version table (the whole upgrade is one transaction,
since PostgreSQL's DDL is transactional); on SQLite by the write lock of ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from sales_channel.store.engine import create_engine_for, normalize_url

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


class SchemaNotCurrentError(RuntimeError):
    """The channel database is not at the revision this code needs: empty, behind, or newer than the
    code. ``current`` is its revision (None when empty), ``head`` this code's, ``command`` what to run."""

    def __init__(self, current: str | None, head: str, command: str) -> None:
        self.current, self.head, self.command = current, head, command
        if current is not None and not _is_known(current):
            advice = "it was migrated by newer code: deploy that code here as well"
        else:
            advice = f"run `{command}` (`make run` does it for the sandbox)"
        state = "empty (never migrated)" if current is None else f"at revision {current}"
        super().__init__(f"the channel database is {state}; this code needs revision {head}: {advice}")


def migrate_command(url: str | URL) -> str:
    """The command that migrates ``url`` (its password hidden)."""
    return f"python -m sales_channel migrate --db-url '{normalize_url(url).render_as_string(hide_password=True)}'"


def check_schema(engine: Engine, command: str | None = None) -> None:
    """Raise ``SchemaNotCurrentError`` unless the database is at head (one query; never migrates).
    ``command`` is the migration to suggest (default: ``migrate_command`` of the engine's URL)."""
    current = current_revision(engine)
    if current != head_revision():
        raise SchemaNotCurrentError(current, head_revision(), command or migrate_command(engine.url))


@cache
def head_revision() -> str:
    """The newest revision shipped with this code (read once per process: the files do not change)."""
    head = _scripts().get_current_head()
    assert head is not None, "the migrations directory has no revision"
    return head


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def _is_known(revision: str) -> bool:
    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:
        return False


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
