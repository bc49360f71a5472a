"""Named locks exclude each other across processes, on SQLite (a lock file) and PostgreSQL (advisory);
waits are bounded, no transaction stays open while a lock is held, and a lost lock is an error."""

from __future__ import annotations

import multiprocessing
import time
import uuid

import pytest
from sales_channel.store import create_engine_for
from sales_channel.store.locks import LockLost, LockTimeout, _key, hold
from sqlalchemy import event, text

from tests.conftest import postgres_schema


def _hold_and_record(url: str, name: str, log_path: str, seconds: float) -> None:
    engine = create_engine_for(url)
    with hold(engine, name):
        with open(log_path, "a") as log:
            log.write(f"start {time.monotonic()}\n")
        time.sleep(seconds)
        with open(log_path, "a") as log:
            log.write(f"end {time.monotonic()}\n")
    engine.dispose()


def test_holders_of_one_name_never_overlap_across_processes(db_url, tmp_path):
    log_path = tmp_path / "holds.log"
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_hold_and_record, args=(db_url, "stock:shop", str(log_path), 0.3)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    events = [line.split() for line in log_path.read_text().splitlines()]
    assert [kind for kind, _ in events] == ["start", "end"] * 3, "each hold ends before the next starts"


def test_different_names_do_not_wait_for_each_other(db_url):
    engine = create_engine_for(db_url)
    entered = []
    with hold(engine, "stock:a"):
        with hold(engine, "stock:b"):  # would wait forever if the names shared one lock
            entered.append("b")
    assert entered == ["b"]
    engine.dispose()


def test_a_wait_is_bounded_and_an_error_in_the_block_releases(db_url):
    holder, waiter = create_engine_for(db_url), create_engine_for(db_url)
    with hold(holder, "stock:shop"):
        started = time.monotonic()
        with pytest.raises(LockTimeout, match="'stock:shop': still held by another worker after 0.3 s"), \
                hold(waiter, "stock:shop", timeout_s=0.3):
            pass
        assert 0.3 <= time.monotonic() - started < 2
    with pytest.raises(ValueError), hold(holder, "stock:shop"):
        raise ValueError("an HTTP call failed")
    with hold(waiter, "stock:shop", timeout_s=1):  # released, and not kept by the pooled connection
        pass
    holder.dispose()
    waiter.dispose()


@pytest.fixture
def pg_url(postgres_url):
    with postgres_schema(postgres_url) as url:
        yield url


def test_a_server_ending_idle_transactions_does_not_end_the_lock(pg_url):
    holder, rival = create_engine_for(pg_url), create_engine_for(pg_url)

    @event.listens_for(holder, "connect")
    def _short_idle_transactions(dbapi_connection, _record):
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET idle_in_transaction_session_timeout = 200")
        dbapi_connection.commit()

    name = f"stock:{uuid.uuid4().hex}"
    with hold(holder, name):
        time.sleep(0.8)  # the holder's HTTP calls, four times longer than the server's idle limit
        with pytest.raises(LockTimeout):
            with hold(rival, name, timeout_s=0.2):
                pass
    with hold(rival, name, timeout_s=1):
        pass
    holder.dispose()
    rival.dispose()


def test_a_lock_whose_session_was_killed_is_reported_lost(pg_url):
    engine, admin = create_engine_for(pg_url), create_engine_for(pg_url)
    name = f"stock:{uuid.uuid4().hex}"
    key = _key(name) & 0xFFFFFFFFFFFFFFFF
    with pytest.raises(LockLost, match=f"lock '{name}' was lost while held"), hold(engine, name):
        with admin.connect() as connection:
            killed = connection.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid::bigint = :high AND objid::bigint = :low AND objsubid = 1"),
                {"high": key >> 32, "low": key & 0xFFFFFFFF}).scalars().all()
        assert killed == [True]
    engine.dispose()
    admin.dispose()
