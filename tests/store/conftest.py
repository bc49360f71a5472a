"""Channel-database fixtures: every test runs on SQLite, and on PostgreSQL when one is configured.

Each PostgreSQL test gets a schema of its own (selected through ``search_path`` in the URL), so runs
never see each other's rows; the schema is dropped when the test ends.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sales_channel.store import ChannelStore, create_engine_for, migrate
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool


class FakeClock:
    """A settable UTC clock for behaviour about time (leases, backoff)."""

    def __init__(self, start: datetime = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    """A URL on a new, empty schema of ``base_url``'s database; the schema is dropped afterwards."""
    base = make_url(base_url)
    schema = f"sc_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """The URL of an empty (never migrated) channel database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'channel.db'}"
    else:
        with postgres_schema(request.getfixturevalue("postgres_url")) as url:
            yield url


@pytest.fixture
def migrated_url(db_url: str) -> str:
    migrate(db_url)
    return db_url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(migrated_url: str, clock: FakeClock) -> Iterator[ChannelStore]:
    """A migrated channel database on the fake clock."""
    channel_store = ChannelStore(create_engine_for(migrated_url), clock)
    yield channel_store
    channel_store.close()


@pytest.fixture
def live_store(migrated_url: str) -> Iterator[ChannelStore]:
    """A migrated channel database on the real clock (for concurrency tests across processes)."""
    channel_store = ChannelStore(create_engine_for(migrated_url))
    yield channel_store
    channel_store.close()
