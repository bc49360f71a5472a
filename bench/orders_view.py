"""The "Amazon Orders" view's queries on a large channel database: how long each page section takes.

    python bench/orders_view.py --links 100000 [--url postgresql://...]

Not timed: a migrated channel database (a SQLite file unless ``--url``) with N linked orders (snapshots
of two stores on one seller account: unshipped, shipped, pending, cancelled; merchant- and
Amazon-fulfilled), three timeline events and three confirmed outbox rows per order, 1 % of the orders
with a failed shipment row, 0.5 % quarantined. Timed (median of ``--repeat`` runs, milliseconds): the
orders list's first and a deep keyset page, with each filter, a search by increment id (no index: a
scan), an order's detail (its outbox rows: a scan, no index), the quarantine and failed-outbox pages.

Prints one JSON object: ``links``, ``backend``, ``ms`` (per query), ``rows`` (per query, to see each
returned what it should).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sales_channel.airflow.plugin import queries
from sales_channel.domain.settings import parse_settings
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.engine import read_only
from sales_channel.store.models import AmazonOrder, OrderEvent, OrderLink, OutboxItem, QuarantinedOrder
from sqlalchemy import insert
from sqlalchemy.orm import Session

ACCOUNT = "seller-1"
US, EU = ["ATVPDKIKX0DER"], ["A1PA6795UKMFR9"]
STATUSES = ["UNSHIPPED"] * 6 + ["SHIPPED"] * 3 + ["PENDING", "CANCELLED"]


def order_id(n: int) -> str:
    return f"{111 + n % 3:03d}-{n:07d}-{(n * 7919) % 10_000_000:07d}"


def fill(channel: ChannelStore, links: int) -> None:
    now = datetime.now(UTC)
    batch = 5000
    with channel.engine.begin() as conn:
        for start in range(0, links, batch):
            snapshots, rows, events, outbox, quarantine = [], [], [], [], []
            for n in range(start, min(start + batch, links)):
                oid, eu = order_id(n), n % 4 == 0
                status = STATUSES[n % len(STATUSES)]
                created = now - timedelta(minutes=links - n)
                snapshots.append({"seller_account": ACCOUNT, "amazon_order_id": oid,
                                  "marketplace_id": (EU if eu else US)[0],
                                  "fulfillment_channel": "AMAZON" if n % 5 == 0 else "MERCHANT", "status": status,
                                  "created_time": created, "last_updated_time": created, "order_total": 10,
                                  "currency": "EUR" if eu else "USD", "raw": {"orderId": oid},
                                  "content_hash": str(n), "first_seen_at": created, "last_seen_at": created,
                                  "last_changed_at": created})
                rows.append({"seller_account": ACCOUNT, "amazon_order_id": oid, "commerce_entity_id": n + 1,
                             "commerce_increment_id": f"{n + 1:09d}", "store_code": "de" if eu else "default",
                             "created_at": created})
                events += [{"seller_account": ACCOUNT, "amazon_order_id": oid, "occurred_at": created + timedelta(
                    seconds=k), "event_type": kind, "message": f"{kind} {oid}", "details": None}
                    for k, kind in enumerate(("created", "commented", "shipped"))]
                store = "eu" if eu else "us"
                outbox += [{"kind": kind, "source_id": source, "target": store, "payload": {}, "status": "confirmed",
                            "attempts": 1, "next_attempt_at": created, "created_at": created, "updated_at": created}
                           for kind, source in (("commerce_order_create", f"{ACCOUNT}/{oid}"),
                                                ("commerce_order_finish", f"{ACCOUNT}/{oid}"),
                                                ("commerce_stock_take", f"{ACCOUNT}/{oid}"))]
                outbox.append({"kind": "amazon_shipment_confirm", "source_id": f"{store}/shipment/{n + 1}",
                               "target": ACCOUNT, "payload": {"amazon_order_id": oid},
                               "status": "failed" if n % 100 == 0 else "confirmed", "attempts": 1,
                               "last_error": "InvalidInput: bad tracking" if n % 100 == 0 else None,
                               "next_attempt_at": created, "created_at": created, "updated_at": created})
                if n % 200 == 0:
                    quarantine.append({"seller_account": ACCOUNT, "amazon_order_id": order_id(links + n),
                                       "reason_code": "unknown_sku", "message": "SKU X is not in the catalog",
                                       "first_seen_at": created, "last_seen_at": created, "attempts": 1,
                                       "next_attempt_at": created})
            for model, values in ((AmazonOrder, snapshots), (OrderLink, rows), (OrderEvent, events),
                                  (OutboxItem, outbox), (QuarantinedOrder, quarantine)):
                if values:
                    conn.execute(insert(model), values)


def timed(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 2), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--links", type=int, default=100_000)
    parser.add_argument("--url", help="a channel database URL (default: a new SQLite file)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'channel.db'}"
    channel = ChannelStore.open(url, migrate=True)
    fill(channel, args.links)
    since = "2020-01-01T00:00:00Z"
    stores = queries.Stores(parse_settings({
        "us": {"amazon_conn_id": ACCOUNT, "marketplace_ids": US, "commerce_conn_id": "c", "store_code": "default",
               "connected_since": since},
        "eu": {"amazon_conn_id": ACCOUNT, "marketplace_ids": EU, "commerce_conn_id": "c", "store_code": "de",
               "connected_since": since}}))
    deep = args.links // 2
    cases: dict[str, Callable[[Session], Any]] = {
        "orders_first_page": lambda s: queries.orders(s, stores, queries.OrderFilter())[0],
        "orders_deep_page": lambda s: queries.orders(s, stores, queries.OrderFilter(before=deep))[0],
        "orders_status_cancelled": lambda s: queries.orders(s, stores, queries.OrderFilter(status="CANCELLED"))[0],
        "orders_store_eu": lambda s: queries.orders(s, stores, queries.OrderFilter(store="eu"))[0],
        "orders_fulfillment_amazon": lambda s: queries.orders(s, stores, queries.OrderFilter(fulfillment="AMAZON"))[0],
        "orders_search_amazon_id": lambda s: queries.orders(s, stores, queries.OrderFilter(q=order_id(deep)))[0],
        "orders_search_increment_id": lambda s: queries.orders(s, stores, queries.OrderFilter(q=f"{deep:09d}"))[0],
        "order_detail": lambda s: [queries.order_detail(s, stores, ACCOUNT, order_id(deep))],
        "quarantine_page": lambda s: queries.open_quarantine(s, stores),
        "failed_outbox_page": lambda s: queries.failed_outbox(s, stores),
    }
    ms, rows = {}, {}
    for name, case in cases.items():
        def run(case: Callable[[Session], Any] = case) -> Any:
            with Session(read_only(channel.engine)) as session, session.begin():
                return case(session)
        ms[name], result = timed(run, args.repeat)
        rows[name] = len(result)
    channel.close()
    print(json.dumps({"links": args.links, "backend": channel.engine.dialect.name, "ms": ms, "rows": rows}))


if __name__ == "__main__":
    main()
