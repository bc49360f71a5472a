"""Shared bucket stores under test: SQL on SQLite (always) and PostgreSQL, and Redis, when configured."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import postgres_schema
from tests.ratelimit.workers import StoreSpec


@pytest.fixture(params=["sql-sqlite", "sql-postgres", "redis"])
def store_spec(request: pytest.FixtureRequest, tmp_path) -> Iterator[StoreSpec]:
    """How to reach a fresh shared bucket store (from this process or a child process)."""
    if request.param == "sql-sqlite":
        yield _migrated(StoreSpec("sql", f"sqlite:///{tmp_path / 'channel.db'}"))
    elif request.param == "sql-postgres":
        with postgres_schema(request.getfixturevalue("postgres_url")) as url:
            yield _migrated(StoreSpec("sql", url))
    else:
        import redis

        spec = StoreSpec("redis", request.getfixturevalue("redis_url"), prefix=f"test:{uuid.uuid4().hex}:")
        yield spec
        client = redis.Redis.from_url(spec.url)
        keys = list(client.scan_iter(match=f"{spec.prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


def _migrated(spec: StoreSpec) -> StoreSpec:
    from sales_channel.store import migrate

    migrate(spec.url)
    return spec
