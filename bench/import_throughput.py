"""Import throughput against the sandboxes: how close reading gets to Amazon's usage plan, and how much
faster W workers create Commerce orders than one.

    python bench/import_throughput.py --orders 5000 --time-scale 100 --commerce-latency-ms 50 --workers 8
    python bench/import_throughput.py ... --stores 2

Each sandbox runs in a process of its own. The import runs here, as one DAG run would: one
``AccountImport`` of seller account "bench-seller", one window. With ``--stores 1`` its one store
"bench" takes every seeded marketplace; with ``--stores N`` the account feeds N stores, each taking
its own share of the four marketplaces (the US ones in store view "default", the European ones in
"de"): they share one searchOrders search, so ``search_orders_calls`` and ``pages`` stay those of one
store. Afterwards the same creation work is repeated with one worker on a sample of the orders,
against a fresh Commerce sandbox and channel database, for the speedup. Prints one JSON object as its
last line (counts summed over the stores).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from sales_channel.amazon.auth import LwaCredentials
from sales_channel.domain.settings import StoreSettings, parse_settings
from sales_channel.pipeline.importing.account import AccountImport, AccountSummary
from sales_channel.pipeline.importing.store_importer import ImportSummary
from sales_channel.pipeline.standalone import open_account_import
from sales_channel.ratelimit import USAGE_PLANS
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS as CREDS
from sales_channel.sandbox.common.config import SandboxConfig
from sales_channel.sandbox.common.server import ProcessServer
from sales_channel.sandbox.oracle import commerce_orders_created, importable
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.models import AmazonOrder as AmazonOrderRow
from sqlalchemy import select

ACCOUNT = "bench-seller"
US = ["ATVPDKIKX0DER", "A1VC38T7YXB528"]  # Commerce store view "default" (store id 1)
EU = ["A1PA6795UKMFR9", "A2NODRKZP88ZB9"]  # Commerce store view "de" (store id 2)
MARKETPLACES = US + EU


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--time-scale", type=float, default=100.0)
    parser.add_argument("--commerce-latency-ms", type=float, default=50.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--stores", type=int, default=1, choices=range(1, 5), metavar="N",
                        help="stores on the seller account, each with its own marketplaces (1-4)")
    parser.add_argument("--sample", type=int, default=150, help="orders in the one-worker comparison")
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args()


def store_groups(n: int) -> list[tuple[str, int, list[str]]]:
    """(store code, store id, marketplaces) of N stores sharing the four marketplaces."""
    if n == 1:
        return [("default", 1, MARKETPLACES)]
    groups = [("default", 1, US)] if n < 4 else [("default", 1, US[:1]), ("default", 1, US[1:])]
    groups += [("de", 2, EU)] if n < 3 else [("de", 2, EU[:1]), ("de", 2, EU[1:])]
    return groups


def store_settings(n: int) -> list[StoreSettings]:
    since = (datetime.now(UTC) - timedelta(days=400)).strftime("%Y-%m-%dT%H:%M:%SZ")
    document = {}
    for i, (code, store_id, markets) in enumerate(store_groups(n)):
        document["bench" if i == 0 else f"bench-{i + 1}"] = {
            "amazon_conn_id": ACCOUNT, "marketplace_ids": markets, "commerce_conn_id": "commerce",
            "store_code": code, "store_id": store_id, "connected_since": since}
    return list(parse_settings(document).values())


def account_import(stack: ExitStack, stores: list[StoreSettings], amazon_url: str, commerce_url: str, db_url: str,
                   scale: float, workers: int) -> AccountImport:
    ChannelStore.open(db_url, migrate=True).close()  # this script is its own deployment
    return stack.enter_context(open_account_import(
        stores, amazon_url=amazon_url, commerce_url=commerce_url, db_url=db_url,
        credentials=LwaCredentials(CREDS["lwa_client_id"], CREDS["lwa_client_secret"], CREDS["refresh_token"]),
        commerce_token=CREDS["commerce_token"], rate_scale=scale, workers=workers))


def channel_order_ids(channel: ChannelStore) -> list[str]:
    with channel.engine.connect() as connection:
        return [row[0] for row in connection.execute(select(AmazonOrderRow.amazon_order_id))]


def amazon_calls(amazon_url: str) -> tuple[int, int, int]:
    """SP-API calls (the faithful API only), how many of them were throttled (429), and searchOrders calls."""
    counts = requests.get(f"{amazon_url}/_sandbox/calls", timeout=10).json()
    calls = sum(n for op, n in counts["calls"].items() if op not in ("unknown", "lwaToken"))
    throttled = sum(statuses.get("429", 0) for statuses in counts["by_status"].values())
    return calls, throttled, counts["calls"].get("searchOrders", 0)


def outcomes(summary: AccountSummary) -> Counter[str]:
    total: Counter[str] = Counter()
    for store in summary.stores.values():
        total.update(store.outcomes)
    return total


def commerce_stats(run: AccountImport) -> Counter[str]:
    """Commerce calls per operation, over the stores' clients."""
    calls: Counter[str] = Counter()
    for importer in run.importers.values():
        calls.update(importer.commerce.stats.snapshot()["calls"])
    return calls


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
        run = account_import(stack, store_settings(args.stores), amazon.url, main_commerce.url,
                             f"sqlite:///{work / 'main.db'}", args.time_scale, args.workers)
        sp_api, channel = run.amazon, run.channel
        requests.delete(f"{amazon.url}/_sandbox/calls", timeout=10)
        started = time.monotonic()
        summary = run.run(run.plan_window())
        elapsed = time.monotonic() - started
        calls, throttled, search_calls = amazon_calls(amazon.url)
        created = commerce_orders_created(main_commerce.url)
        links = channel.links.get_many(ACCOUNT, created)
        by_operation = commerce_stats(run)
        commerce_calls = sum(by_operation.values())
        counts = outcomes(summary)
        imported = counts["created"]
        plan = USAGE_PLANS["searchOrders"]
        # The least time the usage plan allows for the pages read: the burst is free, the rest come at the
        # (scaled) rate. Orders the sandbox's lifecycle touched during the run fall after the window's
        # end (two minutes back) and belong to the next run, so the pages read are what counts.
        fetch_floor = max(0, summary.pages - plan.burst) / (plan.rate * args.time_scale)

        # The same creation work with one worker, on a sample, against fresh state.
        sample_ids = sorted(links)[: args.sample]
        raws = [requests.get(f"{amazon.url}/_sandbox/orders/{i}", timeout=10).json()["order"] for i in sample_ids]
        one = account_import(stack, store_settings(1), amazon.url, sample_commerce.url,
                             f"sqlite:///{work / 'sample.db'}", args.time_scale, 1)
        sample_importer = one.importers["bench"]
        sample_summary = ImportSummary(store="sample")
        started_one = time.monotonic()
        with sample_importer.writers():
            future = sample_importer.import_orders(raws, sample_summary)
            if future is not None:
                future.result()
        sequential_rate = sample_summary.outcomes["created"] / (time.monotonic() - started_one)
        rate = imported / elapsed if elapsed else 0.0  # the run's wall time: reading overlaps creating

        # What a correct import creates, judged from the Amazon data as received (the PII-free snapshots).
        seen = channel.snapshots.get_many(ACCOUNT, list(channel_order_ids(channel)))
        expected = {i for i, snapshot in seen.items() if importable(snapshot.raw)}
        print(f"commerce calls by operation: {dict(by_operation.most_common())}", file=sys.stderr)
        result = {
            "benchmark": "import_throughput",
            "orders": args.orders, "time_scale": args.time_scale, "commerce_latency_ms": args.commerce_latency_ms,
            "workers": args.workers, "stores": args.stores,
            "imported": imported,
            "quarantined": counts["quarantined"],
            "skipped_by_rule": counts["skipped"],
            "duplicates": sum(n - 1 for n in created.values() if n > 1),
            "missing": len(expected - set(created)),
            "unexpected": len(set(created) - expected),
            "sp_api_calls": calls,
            "sp_api_calls_per_order": round(calls / args.orders, 5),
            "search_orders_calls": search_calls,
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
            "commerce_calls_per_order_sequential": round(sample_importer.commerce.stats.snapshot()["total"]
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
