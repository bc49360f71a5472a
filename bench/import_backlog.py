"""A backlog imported over successive short runs: how many pages each run boundary costs again, and
how close the whole stays to the usage plan's floor.

    python bench/import_backlog.py --orders 20000 --time-scale 1000 --budget-s 10

The Amazon sandbox holds a backlog of N orders updated between an hour and three minutes ago (so a
window ending two minutes back holds them all); the Commerce sandbox is restocked and the seed's one
mapped SKU is in the channel database. Then runs follow one another, each a new ``AccountImport`` (as
separate task runs: nothing carried in memory, only the checkpoint in the channel database) with an
execution budget of S seconds, until one completes the window. Each sandbox runs in a process of its
own, at time scale F, and the client's usage plans are scaled by F too. Prints one JSON object as its
last line.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from sales_channel.amazon.auth import LwaCredentials
from sales_channel.domain.settings import StoreSettings, parse_settings
from sales_channel.pipeline.importing.account import AccountSummary, ImportIncomplete
from sales_channel.pipeline.standalone import open_account_import
from sales_channel.ratelimit import USAGE_PLANS
from sales_channel.sandbox.catalog import PRODUCTS, CatalogIssue
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS as CREDS
from sales_channel.sandbox.common.config import SandboxConfig
from sales_channel.sandbox.common.server import ProcessServer
from sales_channel.sandbox.oracle import commerce_orders_created
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.models import AmazonOrder as AmazonOrderRow
from sqlalchemy import func, select

ACCOUNT = "bench-seller"
US = ["ATVPDKIKX0DER", "A1VC38T7YXB528"]  # Commerce store view "default" (store id 1)
EU = ["A1PA6795UKMFR9", "A2NODRKZP88ZB9"]  # Commerce store view "de" (store id 2)
PAGE_SIZE = 100  # searchOrders' maxResultsPerPage, as the client asks for it
MAX_RUNS = 500


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--time-scale", type=float, default=1000.0)
    parser.add_argument("--budget-s", type=float, default=2.0, help="each run's execution budget")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--commerce-latency-ms", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args()


def store_settings() -> list[StoreSettings]:
    since = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    base = {"amazon_conn_id": ACCOUNT, "commerce_conn_id": "commerce", "connected_since": since}
    return list(parse_settings({
        "bench-us": {**base, "marketplace_ids": US, "store_code": "default", "store_id": 1},
        "bench-de": {**base, "marketplace_ids": EU, "store_code": "de", "store_id": 2},
    }).values())


def sandbox(method: str, url: str, **kw) -> dict:
    response = requests.request(method, url, timeout=120, **kw)
    response.raise_for_status()
    return response.json()


def one_run(amazon_url: str, commerce_url: str, db_url: str, scale: float, workers: int,
            budget_s: float) -> AccountSummary | None:
    """One task run: a new import, its own clients, a deadline. None when it ended ImportIncomplete
    (some orders failed transiently; Airflow would retry it, and the next run does their work)."""
    with open_account_import(
            store_settings(), amazon_url=amazon_url, commerce_url=commerce_url, db_url=db_url,
            credentials=LwaCredentials(CREDS["lwa_client_id"], CREDS["lwa_client_secret"], CREDS["refresh_token"]),
            commerce_token=CREDS["commerce_token"], rate_scale=scale, workers=workers) as run:
        deadline = time.monotonic() + budget_s
        try:
            return run.run(run.plan_window(), deadline=deadline)
        except ImportIncomplete as exc:
            logging.warning("run ended incomplete: %s", exc)
            return None


def main() -> int:
    args = parse_args()
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="bench-backlog-"))
    common = {"credentials": dict(CREDS), "seed": args.seed}
    amazon = ProcessServer("amazon", SandboxConfig(state_dir=work / "amazon", orders=0, time_scale=args.time_scale,
                                                   **common)).start()
    commerce = ProcessServer("commerce", SandboxConfig(state_dir=work / "commerce", time_scale=args.time_scale,
                                                       latency_ms=args.commerce_latency_ms, **common)).start()
    db_url = f"sqlite:///{work / 'channel.db'}"
    try:
        until = (datetime.now(UTC) - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
        seeding = time.monotonic()
        backlog = sandbox("POST", f"{amazon.url}/_sandbox/orders/backlog",
                          json={"count": args.orders, "seed": args.seed, "lastUpdatedTo": until})
        backlog_seed_s = time.monotonic() - seeding  # the sandbox's own speed (was a timed test assertion)
        units = max(100_000, args.orders * 10)
        for product in (p for p in PRODUCTS if p.issue is CatalogIssue.NONE):
            sandbox("PUT", f"{commerce.url}/_sandbox/products/{product.sku}/stock", json={"qty": units})
        channel = ChannelStore.open(db_url, migrate=True)  # this script is its own deployment
        try:
            channel.skus.put(ACCOUNT, "FP-1000-AMZ", "FRENCH-PRESS-1L")  # the seed's one mapped SKU
        finally:
            channel.close()
        requests.delete(f"{amazon.url}/_sandbox/calls", timeout=10)

        runs = incomplete = 0
        started = time.monotonic()
        while runs < MAX_RUNS:
            runs += 1
            summary = one_run(amazon.url, commerce.url, db_url, args.time_scale, args.workers, args.budget_s)
            if summary is None:
                incomplete += 1
                continue
            logging.info("run %d: %s", runs, summary.line())
            if summary.window_complete:
                break
        elapsed = time.monotonic() - started
        complete = summary is not None and summary.window_complete

        counts = sandbox("GET", f"{amazon.url}/_sandbox/calls")
        pages_read = counts["calls"].get("searchOrders", 0)
        throttled = sum(statuses.get("429", 0) for statuses in counts["by_status"].values())
        created = commerce_orders_created(commerce.url)
        channel = ChannelStore.open(db_url)
        try:
            with channel.engine.connect() as connection:
                in_window = connection.execute(select(func.count()).select_from(AmazonOrderRow)).scalar_one()
        finally:
            channel.close()
        pages = math.ceil(in_window / PAGE_SIZE)
        plan = USAGE_PLANS["searchOrders"]
        floor = max(0, pages - plan.burst) / (plan.rate * args.time_scale)
        result = {
            "benchmark": "import_backlog",
            "orders": args.orders, "time_scale": args.time_scale, "budget_s": args.budget_s,
            "workers": args.workers, "commerce_latency_ms": args.commerce_latency_ms,
            "runs": runs,
            "runs_incomplete": incomplete,
            "window_complete": complete,
            "orders_in_window": in_window,
            "pages_read": pages_read,
            "pages_reread": pages_read - pages,
            "pages_reread_per_run": round((pages_read - pages) / runs, 2),
            "missing": len(set(backlog["orderIds"]) - set(created)),
            "duplicates": sum(n - 1 for n in created.values() if n > 1),
            "elapsed_s": round(elapsed, 2),
            "floor_s": round(floor, 2),
            "floor_ratio": round(elapsed / floor, 3) if floor else None,
            "throttled": throttled,
            "backlog_seed_s": round(backlog_seed_s, 2),
        }
        print(json.dumps(result))
        return 0 if complete else 1
    finally:
        for server in (amazon, commerce):
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
