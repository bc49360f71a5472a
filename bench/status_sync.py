"""The status sync of a busy day: how close the shipment confirmations get to confirmShipment's usage
plan, how few feeds and Commerce reads the rest takes, and that every effect reaches Amazon once.

    python bench/status_sync.py --orders 2000 --time-scale 10

Not timed: the Amazon sandbox holds a backlog of N importable orders (two stores on one seller
account: the US marketplaces in store view "default", the European ones in "de"), which one import run
creates in Commerce; then the merchant works on them through Commerce's REST API
(``sandbox.merchant``: most shipped — some in two packages, some in part — some refunded in full or
in part, some cancelled). Timed: one status sync run as the DAG makes it — each store
(``StoreSync.run``: Commerce read in batches, confirmations sent, Amazon → Commerce, effects), then
the account's feeds sent — and the feeds followed until Amazon has processed them. Each sandbox runs
in a process of its own at time scale F; the client's usage plans are scaled by F too.

Prints one JSON object as its last line: ``packages_expected`` / ``packages_sent`` / ``duplicates`` /
``missing`` (judged from the sandboxes' ledgers, ``oracle.status_sync_verdict``),
``confirm_shipment_floor_ratio`` (the plan's least time for the packages — a burst free per store,
the rest at rate × F — over the time the stores' confirmations took; 1.0 keeps the plan busy), ``feeds_sent`` (per
account and feed type), ``commerce_reads_per_effect`` (Commerce GET requests of the run ÷ the outbox
rows it made: packages, refunds, cancellations, Commerce effects) and ``elapsed_s``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from sales_channel.amazon.auth import LwaCredentials
from sales_channel.domain.settings import StoreSettings, parse_settings
from sales_channel.pipeline.standalone import open_account_import, open_status_sync
from sales_channel.pipeline.status_sync.kinds import (
    AMAZON_CANCEL_KIND,
    CANCEL_KIND,
    COMMENT_KIND,
    CONFIRM_KIND,
    INVOICE_KIND,
    REFUND_KIND,
)
from sales_channel.ratelimit import USAGE_PLANS
from sales_channel.sandbox.catalog import PRODUCTS, CatalogIssue
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS as CREDS
from sales_channel.sandbox.common.config import SandboxConfig
from sales_channel.sandbox.common.server import ProcessServer
from sales_channel.sandbox.merchant import Merchant, imported_orders
from sales_channel.sandbox.oracle import status_sync_verdict
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.models import OutboxItem
from sqlalchemy import func, select

ACCOUNT = "bench-seller"
US = ["ATVPDKIKX0DER", "A1VC38T7YXB528"]  # Commerce store view "default" (store id 1)
EU = ["A1PA6795UKMFR9", "A2NODRKZP88ZB9"]  # Commerce store view "de" (store id 2)
SYNC_KINDS = (CONFIRM_KIND, REFUND_KIND, AMAZON_CANCEL_KIND, COMMENT_KIND, CANCEL_KIND, INVOICE_KIND)
CREDENTIALS = LwaCredentials(CREDS["lwa_client_id"], CREDS["lwa_client_secret"], CREDS["refresh_token"])
FOLLOW_LIMIT_S = 1800.0  # feeds take 120 s / F to be processed


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--time-scale", type=float, default=10.0)
    parser.add_argument("--commerce-latency-ms", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args()


def store_settings() -> list[StoreSettings]:
    since = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    base = {"amazon_conn_id": ACCOUNT, "commerce_conn_id": "commerce", "connected_since": since,
            "shipments_without_tracking": "confirm"}
    return list(parse_settings({
        "bench-us": {**base, "marketplace_ids": US, "store_code": "default", "store_id": 1},
        "bench-de": {**base, "marketplace_ids": EU, "store_code": "de", "store_id": 2},
    }).values())


def sandbox(method: str, url: str, **kw) -> dict:
    response = requests.request(method, url, timeout=300, **kw)
    response.raise_for_status()
    return response.json()


def clients(amazon_url: str, commerce_url: str, db_url: str, scale: float) -> dict:
    return {"amazon_url": amazon_url, "commerce_url": commerce_url, "db_url": db_url, "credentials": CREDENTIALS,
            "commerce_token": CREDS["commerce_token"], "rate_scale": scale}


def prepare(amazon_url: str, commerce_url: str, db_url: str, args: argparse.Namespace) -> dict[str, int]:
    """The backlog imported and worked on by the merchant (untimed); what the merchant did."""
    until = (datetime.now(UTC) - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    sandbox("POST", f"{amazon_url}/_sandbox/orders/backlog",
            json={"count": args.orders, "seed": args.seed, "lastUpdatedTo": until})
    for product in (p for p in PRODUCTS if p.issue is CatalogIssue.NONE):
        sandbox("PUT", f"{commerce_url}/_sandbox/products/{product.sku}/stock", json={"qty": args.orders * 10})
    channel = ChannelStore.open(db_url, migrate=True)  # this script is its own deployment
    try:
        channel.skus.put(ACCOUNT, "FP-1000-AMZ", "FRENCH-PRESS-1L")  # the seed's one mapped SKU
    finally:
        channel.close()
    with open_account_import(store_settings(), **clients(amazon_url, commerce_url, db_url, args.time_scale)) as run:
        summary = run.run(run.plan_window())
        if not summary.window_complete:
            raise SystemExit(f"the import did not complete its window: {summary.to_json()}")
        merchant = Merchant({store.store_id: run.importers[store.key].commerce for store in run.stores},
                            seed=args.seed)
        activity = merchant.act(imported_orders(amazon_url, commerce_url))
    return activity.counts()


def sync_rows(db_url: str) -> Counter[str]:
    channel = ChannelStore.open(db_url)
    try:
        with channel.engine.connect() as connection:
            return Counter(dict(connection.execute(select(OutboxItem.kind, func.count()).where(
                OutboxItem.kind.in_(SYNC_KINDS)).group_by(OutboxItem.kind)).all()))
    finally:
        channel.close()


def main() -> int:
    args = parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="bench-status-sync-"))
    common = {"credentials": dict(CREDS), "seed": args.seed, "time_scale": args.time_scale}
    amazon = ProcessServer("amazon", SandboxConfig(state_dir=work / "amazon", orders=0, **common)).start()
    commerce = ProcessServer("commerce", SandboxConfig(state_dir=work / "commerce",
                                                       latency_ms=args.commerce_latency_ms, **common)).start()
    db_url = f"sqlite:///{work / 'channel.db'}"
    try:
        activity = prepare(amazon.url, commerce.url, db_url, args)
        requests.delete(f"{amazon.url}/_sandbox/calls", timeout=10)
        with open_status_sync(store_settings(), **clients(amazon.url, commerce.url, db_url, args.time_scale)) as sync:
            started = time.monotonic()
            runs = [sync.store(store.key).run() for store in sync.clients.stores]
            feeds = sync.feeds()
            sent = feeds.send()
            while sync.clients.channel.outbox.sent_feed_ids(target=ACCOUNT):
                if time.monotonic() - started > FOLLOW_LIMIT_S:
                    raise SystemExit("feeds still not processed")
                time.sleep(0.5)
                feeds.follow()
            elapsed = time.monotonic() - started
            commerce_calls: Counter[str] = Counter()
            for client in sync.clients.commerce.values():
                commerce_calls.update(client.stats.snapshot()["calls"])
            amazon_stats = sync.clients.amazon.stats.as_dict()

        verdict = status_sync_verdict(amazon.url, commerce.url)
        calls = sandbox("GET", f"{amazon.url}/_sandbox/calls")
        rows = sync_rows(db_url)
        effects = sum(rows.values())
        reads = sum(n for operation, n in commerce_calls.items() if operation.startswith("GET "))
        confirm_s = sum(run["confirmations"]["elapsed_s"] for run in runs)
        plan = USAGE_PLANS["confirmShipment"]
        # Each store's confirmations start with a full bucket: the steps between them refill it.
        floor = max(0, verdict.packages_sent - plan.burst * len(runs)) / (plan.rate * args.time_scale)
        feeds_sent: dict[str, dict[str, int]] = defaultdict(dict)
        for feed in sent.feeds:
            if feed.feed_id is not None:
                feeds_sent[ACCOUNT][feed.feed_type] = feeds_sent[ACCOUNT].get(feed.feed_type, 0) + 1
        print(f"merchant: {activity}; outbox rows: {dict(rows)}; commerce calls: {dict(commerce_calls)}; "
              f"SP-API calls: {calls['calls']}; client: {amazon_stats}; runs: {json.dumps(runs)[:4000]}",
              file=sys.stderr)
        result = {
            "benchmark": "status_sync",
            "orders": args.orders, "time_scale": args.time_scale, "commerce_latency_ms": args.commerce_latency_ms,
            "merchant": activity,
            "packages_expected": verdict.packages_expected,
            "packages_sent": verdict.packages_sent,
            "duplicates": verdict.duplicates,
            "missing": len(verdict.missing),
            "wrong": len(verdict.wrong),
            "unexpected": len(verdict.unexpected),
            "refunds_expected": verdict.refunds_expected, "refunds_sent": verdict.refunds_sent,
            "cancellations_expected": verdict.cancellations_expected,
            "cancellations_sent": verdict.cancellations_sent,
            "confirm_shipment_s": round(confirm_s, 2),
            "confirm_shipment_floor_s": round(floor, 2),
            "confirm_shipment_floor_ratio": round(floor / confirm_s, 3) if confirm_s else None,
            "feeds_sent": feeds_sent,
            "create_feed_calls": calls["calls"].get("createFeed", 0),
            "throttled": sum(statuses.get("429", 0) for statuses in calls["by_status"].values()),
            "commerce_reads": reads,
            "effects": effects,
            "commerce_reads_per_effect": round(reads / effects, 4) if effects else None,
            "elapsed_s": round(elapsed, 2),
        }
        print(json.dumps(result))
        return 0 if not verdict.problems() else 1
    finally:
        for server in (amazon, commerce):
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
