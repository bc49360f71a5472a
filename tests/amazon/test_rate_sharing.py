"""Two processes calling for one seller account share its usage plan through the channel database.

Each process pages searchOrders far past the plan's burst (2 x 40 pages against a burst of 20) with its
own client; their buckets live in one SQLite file (``SqlBucketStore``). Between them they queue at the
plan's rate: at most one 429 for the operation. How close they get to the plan's floor is measured by
bench/sp_api_rate_sharing.py (the same ``measure``), not asserted here.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from .conftest import TIME_SCALE

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.slow
def test_two_processes_share_one_usage_plan(sandbox_factory, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH_DIR))  # spawned workers import the benchmark module too
    bench = importlib.import_module("sp_api_rate_sharing")
    server = sandbox_factory("amazon", orders=60, time_scale=TIME_SCALE)
    figures = bench.measure(server.url, f"sqlite:///{tmp_path / 'channel.db'}", TIME_SCALE,
                            pages_per_process=40, processes=2)
    assert figures["calls"] == 80
    assert figures["server_429"] <= 1 and figures["client_429"] <= 1
    assert figures["client_requests"] == 80 + figures["client_429"]
