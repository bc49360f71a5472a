"""Channel-database fixtures: every test runs on SQLite, and on PostgreSQL when one is configured
(``db_url`` in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sales_channel.store import ChannelStore, create_engine_for, migrate


class FakeClock:
    """A settable UTC clock for behaviour about time (leases, backoff)."""

    def __init__(self, start: datetime = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


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
