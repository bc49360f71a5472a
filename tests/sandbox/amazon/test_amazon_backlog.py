"""Backlog mode (POST /_sandbox/orders/backlog): many valid, importable orders at once, all in a
lastUpdatedAfter window ending two minutes ago."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import requests
from sales_channel.sandbox.catalog import BY_SELLER_SKU, CatalogIssue
from sales_channel.sandbox.common.clock import parse_iso, to_iso

from tests.sandbox.amazon.support import ALL_DATA

SEARCH = "/orders/2026-01-01/orders"


def _ago(**delta: float) -> str:
    return to_iso(datetime.now(UTC) - timedelta(**delta))


def _window(amazon, contract, params):
    found, token = [], None
    while True:
        page = {"paginationToken": token, "includedData": params.get("includedData", "")} if token else params
        response = amazon.get(SEARCH, params=page)
        body = contract.check("orders", "searchOrders", response)
        found += body["orders"]
        token = body.get("pagination", {}).get("nextToken")
        if not token:
            return found, body


def test_a_backlog_is_importable_and_in_the_window_ending_two_minutes_ago(amazon_factory, contract):
    amazon = amazon_factory(orders=0)
    backlog = amazon.control("POST", "/orders/backlog", json={"count": 300})
    assert backlog["count"] == 300 and len(set(backlog["orderIds"])) == 300
    last, first = parse_iso(backlog["lastUpdatedTo"]), parse_iso(backlog["lastUpdatedFrom"])
    assert timedelta(minutes=2) <= datetime.now(UTC) - last < timedelta(minutes=2, seconds=10)
    assert last - first == timedelta(hours=1)
    found, body = _window(amazon, contract, {"lastUpdatedAfter": _ago(hours=2), "includedData": ALL_DATA})
    assert sorted(o["orderId"] for o in found) == sorted(backlog["orderIds"])
    assert all(backlog["lastUpdatedFrom"] <= o["lastUpdatedTime"] <= backlog["lastUpdatedTo"] for o in found)
    assert all(o["createdTime"] <= o["lastUpdatedTime"] for o in found)
    mix = Counter((o["fulfillment"]["fulfilledBy"], o["fulfillment"]["fulfillmentStatus"]) for o in found)
    assert mix == {("MERCHANT", "UNSHIPPED"): 270, ("AMAZON", "SHIPPED"): 30}
    for order in found:
        assert order["recipient"]["deliveryAddress"]["countryCode"]
        if order["fulfillment"]["fulfilledBy"] == "MERCHANT":
            assert order["buyer"]["buyerEmail"]
        grand = Decimal(order["proceeds"]["grandTotal"]["amount"])
        assert sum(Decimal(i["proceeds"]["proceedsTotal"]["amount"]) for i in order["orderItems"]) == grand > 0
        for item in order["orderItems"]:
            assert BY_SELLER_SKU[item["product"]["sellerSku"]].issue is CatalogIssue.NONE
            parts = sum(Decimal(b["subtotal"]["amount"]) for b in item["proceeds"]["breakdowns"])
            assert parts == Decimal(item["proceeds"]["proceedsTotal"]["amount"])


def test_a_backlog_is_deterministic_and_takes_its_range_and_marketplaces(amazon_factory):
    request = {"count": 50, "seed": 9, "lastUpdatedFrom": "2026-01-01T00:00:00Z",
               "lastUpdatedTo": "2026-01-01T00:49:00Z", "marketplaceIds": ["A1PA6795UKMFR9", "A1VC38T7YXB528"]}
    one, two = amazon_factory(orders=0), amazon_factory(orders=0)
    first = one.control("POST", "/orders/backlog", json=request)
    assert first == two.control("POST", "/orders/backlog", json=request)
    orders = [one.full_order(order_id) for order_id in first["orderIds"]]
    assert orders == [two.full_order(order_id) for order_id in first["orderIds"]]
    assert [o["lastUpdatedTime"] for o in orders][:3] == [
        "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z"]
    assert {o["salesChannel"]["marketplaceId"] for o in orders} == {"A1PA6795UKMFR9", "A1VC38T7YXB528"}


def test_a_backlog_range_must_end_two_minutes_ago(amazon_factory):
    amazon = amazon_factory(orders=0)
    for body in ({"count": 1, "lastUpdatedTo": _ago(seconds=60)},
                 {"count": 1, "lastUpdatedFrom": _ago(minutes=5), "lastUpdatedTo": _ago(minutes=10)},
                 {"count": 1, "marketplaceIds": ["XX"]}):
        response = requests.post(f"{amazon.url}/_sandbox/orders/backlog", json=body, timeout=30)
        assert response.status_code == 400, body
    assert amazon.control("GET", "/summary")["orders"] == 0


def test_twenty_thousand_orders_are_added_in_one_call(amazon_factory):
    """How fast is measured by bench/import_backlog.py (backlog_seed_s), not asserted here."""
    amazon = amazon_factory(orders=0)
    assert amazon.control("POST", "/orders/backlog", json={"count": 20_000})["count"] == 20_000
    assert amazon.control("GET", "/summary")["orders"] == 20_000
