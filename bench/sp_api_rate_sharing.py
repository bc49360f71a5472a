"""Two processes, one seller account, one usage plan: how close do they get to the plan's floor?

Each process pages searchOrders (small pages) through the Amazon sandbox at time scale F, with its own
``SpApiClient`` whose buckets live in a shared store: the channel database (``SqlBucketStore``, a SQLite
file by default, or PostgreSQL) or Redis (``RedisBucketStore``), chosen by ``--store-url``. The
floor is what the plan allows at best: the burst at once, then one call per token interval,
``(calls - burst) / (rate * F)`` seconds. Printed last, as one JSON object: calls, 429s (the sandbox's
count and the clients'), elapsed time, the floor and ``floor_ratio`` = floor / elapsed (1.0 is perfect).

    .venv/bin/python bench/sp_api_rate_sharing.py [--time-scale 200] [--pages 40] [--processes 2]
                                                  [--store-url sqlite:///... | postgresql+psycopg2://... | redis://...]

``measure()`` is also what tests/amazon/test_rate_sharing.py runs (asserting behaviour, not timing).
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from sales_channel.amazon import LwaCredentials, SpApiClient
from sales_channel.ratelimit import USAGE_PLANS, BucketStore
from sales_channel.ratelimit.redis import RedisBucketStore
from sales_channel.ratelimit.sql import SqlBucketStore
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS
from sales_channel.store import create_engine_for, migrate

OPERATION = "searchOrders"


def _credentials() -> LwaCredentials:
    return LwaCredentials(DEFAULT_CREDENTIALS["lwa_client_id"], DEFAULT_CREDENTIALS["lwa_client_secret"],
                          DEFAULT_CREDENTIALS["refresh_token"])


def bucket_store(store_url: str) -> BucketStore:
    """The shared bucket store behind ``store_url`` (redis://... or a channel database URL)."""
    if store_url.startswith(("redis://", "rediss://")):
        import redis

        return RedisBucketStore(redis.Redis.from_url(store_url))
    return SqlBucketStore(create_engine_for(store_url))


def _worker(base_url: str, store_url: str, seller_id: str, time_scale: float, pages: int,
            created_after: datetime, start: Any, results: Any) -> None:
    """One process: wait for the start signal, page ``pages`` searchOrders pages, report."""
    try:
        with SpApiClient(_credentials(), seller_id=seller_id, base_url=base_url, rate_scale=time_scale,
                         bucket_store=bucket_store(store_url)) as client:
            search = client.search_orders(created_after=created_after, max_results_per_page=1)
            results.put(("ready", None))
            start.wait()
            fetched = sum(1 for _ in itertools.islice(search.pages(), pages))
            stats = client.stats.as_dict()["operations"][OPERATION]
            results.put(("done", {"pages": fetched, "finished_at": time.time(), **stats}))
    except Exception as exc:  # reported to the parent, which fails with it
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def measure(base_url: str, store_url: str, time_scale: float, pages_per_process: int = 40,
            processes: int = 2) -> dict[str, Any]:
    """Run ``processes`` spawned workers against the sandbox at ``base_url``; return the figures.

    The sandbox must hold at least ``pages_per_process`` orders created in the last 5 days and must not
    have served searchOrders recently (its bucket starts full, as the clients' do). The seller id is new
    on every run, so buckets left in a shared store by an earlier run play no part.
    """
    if not store_url.startswith(("redis://", "rediss://")):
        migrate(store_url)
    seller_id = f"A1BENCH{uuid.uuid4().hex[:12].upper()}"
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    created_after = datetime.now(UTC) - timedelta(days=5)
    workers = [ctx.Process(target=_worker, args=(base_url, store_url, seller_id, time_scale, pages_per_process,
                                                 created_after, start, results)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    try:
        for _ in workers:
            _expect(results.get(timeout=120), "ready")
        started_at = time.time()
        start.set()
        reports = [_expect(results.get(timeout=600), "done") for _ in workers]
    finally:
        start.set()
        for worker in workers:
            worker.join(timeout=30)
    plan = USAGE_PLANS[OPERATION]
    calls = sum(report["pages"] for report in reports)
    elapsed = max(report["finished_at"] for report in reports) - started_at
    floor = max(0.0, calls - plan.burst) / (plan.rate * time_scale)
    server = requests.get(f"{base_url}/_sandbox/calls", timeout=10).json()
    return {
        "benchmark": "sp_api_rate_sharing",
        "operation": OPERATION,
        "time_scale": time_scale,
        "processes": processes,
        "store": store_url.split(":", 1)[0],
        "pages_per_process": pages_per_process,
        "calls": calls,
        "burst": plan.burst,
        "scaled_rate_per_s": plan.rate * time_scale,
        "server_429": server["by_status"].get(OPERATION, {}).get("429", 0),
        "client_429": sum(report["throttled"] for report in reports),
        "client_requests": sum(report["calls"] for report in reports),
        "rate_wait_s": round(sum(report["rate_wait_s"] for report in reports), 3),
        "elapsed_s": round(elapsed, 3),
        "floor_s": round(floor, 3),
        "floor_ratio": round(floor / elapsed, 4) if elapsed else None,
    }


def _expect(message: tuple[str, Any], kind: str) -> Any:
    if message[0] != kind:
        raise RuntimeError(f"a worker process failed: {message[1]}")
    return message[1]


def main() -> None:
    from sales_channel.sandbox.common.config import SandboxConfig
    from sales_channel.sandbox.common.server import ProcessServer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", type=float, default=200.0)
    parser.add_argument("--pages", type=int, default=40, help="searchOrders pages per process")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--store-url", help="where the buckets live (default: a SQLite file in a temporary directory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sp-api-rate-") as tmp:
        config = SandboxConfig(state_dir=Path(tmp) / "amazon", time_scale=args.time_scale, orders=args.pages + 20,
                               credentials=dict(DEFAULT_CREDENTIALS))
        server = ProcessServer("amazon", config).start()
        try:
            figures = measure(server.url, args.store_url or f"sqlite:///{tmp}/channel.db", args.time_scale,
                              args.pages, args.processes)
        finally:
            server.stop()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
