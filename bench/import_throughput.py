"""Import throughput against the sandboxes: how close reading gets to Amazon's usage plan, and how much
faster W workers create Commerce orders than one.

    python bench/import_throughput.py --orders 5000 --time-scale 100 --commerce-latency-ms 50 --workers 8

Each sandbox runs in a process of its own. The import runs here, as one DAG run would (one window,
one store taking every seeded marketplace). Afterwards the same creation work is repeated with one
worker on a sample of the orders, against a fresh Commerce sandbox and channel database, for the
speedup. Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from sales_channel.amazon.auth import LwaCredentials
from sales_channel.domain.settings import parse_settings
from sales_channel.pipeline.importer import ImportSummary, OrderImporter
from sales_channel.pipeline.standalone import open_importer
from sales_channel.ratelimit import USAGE_PLANS
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS as CREDS
from sales_channel.sandbox.common.config import SandboxConfig
from sales_channel.sandbox.common.server import ProcessServer
from sales_channel.sandbox.oracle import commerce_orders_created, importable
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.models import AmazonOrder as AmazonOrderRow
from sqlalchemy import select

MARKETPLACES = ["ATVPDKIKX0DER", "A1VC38T7YXB528", "A1PA6795UKMFR9", "A2NODRKZP88ZB9"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--time-scale", type=float, default=100.0)
    parser.add_argument("--commerce-latency-ms", type=float, default=50.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--sample", type=int, default=150, help="orders in the one-worker comparison")
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args()


def store_settings():
    since = (datetime.now(UTC) - timedelta(days=400)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return parse_settings({"bench": {"amazon_conn_id": "bench-seller", "marketplace_ids": MARKETPLACES,
                                     "commerce_conn_id": "commerce", "store_code": "default",
                                     "connected_since": since}})["bench"]


def importer(stack: ExitStack, amazon_url: str, commerce_url: str, db_url: str, scale: float,
             workers: int) -> OrderImporter:
    return stack.enter_context(open_importer(
        store_settings(), amazon_url=amazon_url, commerce_url=commerce_url, db_url=db_url,
        credentials=LwaCredentials(CREDS["lwa_client_id"], CREDS["lwa_client_secret"], CREDS["refresh_token"]),
        commerce_token=CREDS["commerce_token"], rate_scale=scale, workers=workers))


def channel_order_ids(channel: ChannelStore) -> list[str]:
    with channel.engine.connect() as connection:
        return [row[0] for row in connection.execute(select(AmazonOrderRow.amazon_order_id))]


def amazon_calls(amazon_url: str) -> tuple[int, int]:
    """SP-API calls (the faithful API only) and how many of them were throttled (429)."""
    counts = requests.get(f"{amazon_url}/_sandbox/calls", timeout=10).json()
    calls = sum(n for op, n in counts["calls"].items() if op not in ("unknown", "lwaToken"))
    throttled = sum(statuses.get("429", 0) for statuses in counts["by_status"].values())
    return calls, throttled


def main() -> int:
    args = parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="bench-import-"))
    common = {"credentials": dict(CREDS), "seed": args.seed}
    amazon = ProcessServer("amazon", SandboxConfig(state_dir=work / "amazon", orders=args.orders,
                                                   time_scale=args.time_scale, **common)).start()
    main_commerce = ProcessServer("commerce", SandboxConfig(state_dir=work / "commerce",
                                                            latency_ms=args.commerce_latency_ms, **common)).start()
    sample_commerce = ProcessServer("commerce", SandboxConfig(state_dir=work / "commerce-sample",
                                                              latency_ms=args.commerce_latency_ms, **common)).start()
    stack = ExitStack()
    try:
        run = importer(stack, amazon.url, main_commerce.url, f"sqlite:///{work / 'main.db'}", args.time_scale,
                       args.workers)
        sp_api, commerce, channel = run.amazon, run.commerce, run.channel
        requests.delete(f"{amazon.url}/_sandbox/calls", timeout=10)
        started = time.monotonic()
        summary: ImportSummary = run.run(run.plan_window())
        elapsed = time.monotonic() - started
        calls, throttled = amazon_calls(amazon.url)
        created = commerce_orders_created(main_commerce.url)
        links = channel.links.get_many("bench-seller", created)
        commerce_calls = commerce.stats.snapshot()["total"]
        imported = summary.outcomes["created"]
        plan = USAGE_PLANS["searchOrders"]
        # The least time the usage plan allows for the pages read: the burst is free, the rest come at the
        # (scaled) rate. Orders the sandbox's lifecycle touched during the run fall after the window's
        # end (two minutes back) and belong to the next run, so the pages read are what counts.
        fetch_floor = max(0, summary.pages - plan.burst) / (plan.rate * args.time_scale)

        # The same creation work with one worker, on a sample, against fresh state.
        sample_ids = sorted(links)[: args.sample]
        raws = [requests.get(f"{amazon.url}/_sandbox/orders/{i}", timeout=10).json()["order"] for i in sample_ids]
        one = importer(stack, amazon.url, sample_commerce.url, f"sqlite:///{work / 'sample.db'}",
                       args.time_scale, 1)
        one_commerce = one.commerce
        sample_summary = ImportSummary(store="sample")
        started_one = time.monotonic()
        one.import_orders(raws, sample_summary)
        sequential_rate = sample_summary.outcomes["created"] / (time.monotonic() - started_one)
        rate = imported / elapsed if elapsed else 0.0  # the run's wall time: reading overlaps creating

        # What a correct import creates, judged from the Amazon data as received (the PII-free snapshots).
        seen = channel.snapshots.get_many("bench-seller", list(channel_order_ids(channel)))
        expected = {i for i, snapshot in seen.items() if importable(snapshot.raw)}
        result = {
            "benchmark": "import_throughput",
            "orders": args.orders, "time_scale": args.time_scale, "commerce_latency_ms": args.commerce_latency_ms,
            "workers": args.workers,
            "imported": imported,
            "quarantined": summary.outcomes["quarantined"],
            "skipped_by_rule": summary.outcomes["skipped"],
            "duplicates": sum(n - 1 for n in created.values() if n > 1),
            "missing": len(expected - set(created)),
            "unexpected": len(set(created) - expected),
            "sp_api_calls": calls,
            "sp_api_calls_per_order": round(calls / args.orders, 5),
            "throttled": throttled,
            "orders_in_window": len(seen),
            "pages": summary.pages,
            "fetch_s": round(summary.fetch_s, 2),
            "fetch_floor_s": round(fetch_floor, 2),
            "fetch_floor_ratio": round(fetch_floor / summary.fetch_s, 3) if summary.fetch_s else None,
            "rate_limit_wait_s": round(sp_api.stats.total("rate_wait_s"), 2),
            "commerce_calls": commerce_calls,
            "commerce_calls_per_order": round(commerce_calls / imported, 3) if imported else None,
            "commerce_orders_per_s": round(rate, 2),
            "sequential_sample_orders": sample_summary.outcomes["created"],
            "sequential_orders_per_s": round(sequential_rate, 2),
            "speedup_vs_sequential": round(rate / sequential_rate, 2) if sequential_rate else None,
            "commerce_calls_per_order_sequential": round(one_commerce.stats.snapshot()["total"]
                                                         / max(1, sample_summary.outcomes["created"]), 3),
            "elapsed_s": round(elapsed, 2),
        }
        print(json.dumps(result))
        return 0
    finally:
        stack.close()
        for server in (amazon, main_commerce, sample_commerce):
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
