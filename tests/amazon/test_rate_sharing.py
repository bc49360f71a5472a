"""Two processes calling for one seller account share its usage plan through the channel database.

Each process pages searchOrders far past the plan's burst (2 x 40 pages against a burst of 20) with its
own client; their buckets live in one shared store (``SqlBucketStore`` on a SQLite file; PostgreSQL and
Redis too when their test URLs are set). Between them they queue at the
plan's rate: at most one 429 for the operation. How close they get to the plan's floor is measured by
bench/sp_api_rate_sharing.py (the same ``measure``), not asserted here.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from .conftest import TIME_SCALE

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres),
                        pytest.param("redis", marks=pytest.mark.redis)])
def store_url(request, tmp_path) -> str:
    """Where the two processes keep the buckets: the channel database (SQLite, PostgreSQL) or Redis."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'channel.db'}"
    return request.getfixturevalue(f"{request.param}_url")


@pytest.mark.slow
def test_two_processes_share_one_usage_plan(sandbox_factory, store_url, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH_DIR))  # spawned workers import the benchmark module too
    bench = importlib.import_module("sp_api_rate_sharing")
    server = sandbox_factory("amazon", orders=60, time_scale=TIME_SCALE)
    figures = bench.measure(server.url, store_url, TIME_SCALE, pages_per_process=40, processes=2)
    assert figures["calls"] == 80
    assert figures["server_429"] <= 1 and figures["client_429"] <= 1
    assert figures["client_requests"] == 80 + figures["client_429"]
