"""Named locks exclude each other across processes, on SQLite (a lock file) and PostgreSQL (advisory)."""

from __future__ import annotations

import multiprocessing
import time

from sales_channel.store import create_engine_for
from sales_channel.store.locks import hold


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
