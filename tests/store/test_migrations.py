"""Alembic migrations: from empty to head, round trips, idempotence, concurrent first runs; opening the
store only checks the revision, and says what to run when it is not head."""

from __future__ import annotations

import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sales_channel.store import (
    ChannelStore,
    create_engine_for,
    current_revision,
    downgrade,
    head_revision,
    migrate,
)
from sales_channel.store.migrate import SchemaNotCurrentError, migrate_command
from sales_channel.store.models import Base
from sqlalchemy import inspect, text

from tests.store.workers import run_migrate, spawn_map

TABLES = {"amazon_orders", "order_links", "outbox", "quarantine", "watermarks", "order_events", "rate_buckets",
          "sku_map", "window_checkpoints", "reconciliation_runs", "reconciliation_findings", "api_calls", "alerts"}


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


def test_opening_the_store_checks_the_revision_and_never_migrates(db_url):
    with pytest.raises(SchemaNotCurrentError) as empty:
        ChannelStore.open(db_url)
    assert empty.value.current is None and empty.value.head == head_revision()
    assert "is empty (never migrated)" in str(empty.value)
    assert "run `python -m sales_channel migrate --db-url '" in str(empty.value)
    assert table_names(db_url) == set()

    migrate(db_url, "0001")  # a database one release behind
    with pytest.raises(SchemaNotCurrentError, match="is at revision 0001; this code needs revision"):
        ChannelStore.open(db_url)

    ChannelStore.open(db_url, migrate=True).close()  # tests and one-off scripts may migrate on open
    assert current_revision(db_url) == head_revision()
    ChannelStore.open(db_url).close()


def test_a_database_migrated_by_newer_code_is_refused_without_suggesting_migrate(db_url):
    migrate(db_url)
    engine = create_engine_for(db_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(SchemaNotCurrentError, match="migrated by newer code: deploy that code") as newer:
        ChannelStore.open(db_url)
    assert "sales_channel migrate" not in str(newer.value)


def test_the_migrate_command_is_idempotent_and_its_hint_hides_the_password(db_url):
    def cli() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "sales_channel", "migrate", "--db-url", db_url],
                              capture_output=True, text=True, timeout=120)

    first = cli()
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[-1] == f"channel database: empty -> {head_revision()}"
    assert cli().stdout.splitlines()[-1] == f"channel database: {head_revision()} -> {head_revision()}"
    hint = migrate_command("postgresql://ops:s3cret@db.example.com/channel")
    assert hint == "python -m sales_channel migrate --db-url 'postgresql+psycopg2://ops:***@db.example.com/channel'"
