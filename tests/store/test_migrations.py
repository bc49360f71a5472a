"""Alembic migrations: from empty to head, round trips, idempotence, concurrent first runs."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sales_channel.store import create_engine_for, current_revision, downgrade, head_revision, migrate
from sales_channel.store.models import Base
from sqlalchemy import inspect, text

from tests.store.workers import run_migrate, spawn_map

TABLES = {"amazon_orders", "order_links", "outbox", "quarantine", "watermarks", "order_events", "rate_buckets",
          "sku_map"}


def schema_differences(url: str) -> list:
    """What the database lacks or has beyond the models (empty when the migrations match them)."""
    engine = create_engine_for(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = create_engine_for(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_from_empty_to_head_matches_the_models(db_url):
    assert current_revision(db_url) is None
    assert table_names(db_url) == set()

    migrate(db_url)

    assert current_revision(db_url) == head_revision()
    assert table_names(db_url) == TABLES | {"alembic_version"}
    assert schema_differences(db_url) == []


def test_migrate_twice_is_a_no_op_and_keeps_data(db_url):
    migrate(db_url)
    engine = create_engine_for(db_url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO rate_buckets (key, level, updated_at) VALUES ('k', 3.5, 1.0)"))

    migrate(db_url)

    assert current_revision(db_url) == head_revision()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT key, level FROM rate_buckets")).all() == [("k", 3.5)]
    engine.dispose()


def test_downgrade_to_base_and_upgrade_again(db_url):
    migrate(db_url)

    downgrade(db_url, "base")
    assert current_revision(db_url) is None
    assert table_names(db_url) == {"alembic_version"}

    migrate(db_url)
    assert current_revision(db_url) == head_revision()
    assert schema_differences(db_url) == []


def test_concurrent_first_migrations_all_succeed(db_url):
    results = spawn_map(run_migrate, [(db_url,)] * 3)

    assert results == ["ok"] * 3
    assert current_revision(db_url) == head_revision()
    assert schema_differences(db_url) == []
