"""Engine settings that make concurrent writers safe."""

from __future__ import annotations

import threading

import pytest
from sales_channel.store import create_engine_for, read_only
from sales_channel.store.engine import normalize_url
from sqlalchemy import text
from sqlalchemy.engine import make_url


def test_sqlite_runs_wal_with_foreign_keys_a_busy_timeout_and_immediate_writes(tmp_path):
    engine = create_engine_for(f"sqlite:///{tmp_path / 'channel.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000

    # A write transaction holds the write lock from BEGIN, so a second writer cannot start meanwhile,
    # while a read-only transaction can.
    other = engine.raw_connection()
    with engine.begin():
        other.driver_connection.execute("PRAGMA busy_timeout = 0")
        with pytest.raises(Exception, match="locked"):
            other.driver_connection.execute("BEGIN IMMEDIATE")
        with read_only(engine).begin() as reader:
            assert reader.execute(text("SELECT 1")).scalar() == 1
    other.close()
    engine.dispose()


def test_writers_queue_instead_of_failing(tmp_path):
    engine = create_engine_for(f"sqlite:///{tmp_path / 'channel.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE counter (n INTEGER)"))
        connection.execute(text("INSERT INTO counter VALUES (0)"))

    def increment() -> None:
        for _ in range(25):  # read then write: deadlocks under deferred BEGIN, queues under IMMEDIATE
            with engine.begin() as connection:
                n = connection.execute(text("SELECT n FROM counter")).scalar()
                connection.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})

    threads = [threading.Thread(target=increment) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM counter")).scalar() == 100
    engine.dispose()


def test_unsupported_database_is_refused():
    with pytest.raises(ValueError, match="sales_channel_db: unsupported database 'mysql'"):
        create_engine_for("mysql://user@localhost/channel")


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_plain_postgresql_urls_use_the_installed_psycopg2(scheme, postgres_url):
    assert normalize_url(f"{scheme}://u:p@db.example.com/channel").drivername == "postgresql+psycopg2"
    assert normalize_url("postgresql+psycopg://u@h/d").drivername == "postgresql+psycopg"  # chosen: kept
    plain = make_url(postgres_url).set(drivername=scheme).render_as_string(hide_password=False)
    engine = create_engine_for(plain)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()
