"""The sandbox's state: the documented seed mix, determinism, persistence across a restart, and the
lifecycle clock."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import requests
from sales_channel.sandbox.catalog import BROKEN
from sales_channel.sandbox.common.clock import parse_iso
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS, SandboxConfig
from sales_channel.sandbox.common.server import ProcessServer, ThreadServer

from tests.sandbox.amazon.support import ALL_DATA, access_token

SEARCH = "/orders/2026-01-01/orders"
EPOCH = "2020-01-01T00:00:00Z"
# The seed mix as documented in docs/amazon-sandbox.md: floor(N * share) orders each, the rest UNSHIPPED MFN.
DOCUMENTED_MIX = {("PENDING", None): "0.10", ("PARTIALLY_SHIPPED", "MERCHANT"): "0.08",
                  ("UNSHIPPED", "AMAZON"): "0.06", ("SHIPPED", "AMAZON"): "0.10", ("CANCELLED", None): "0.06"}


def _everything(amazon):
    orders, token = [], None
    while True:
        params = {"paginationToken": token} if token else {"createdAfter": EPOCH}
        params["includedData"] = ALL_DATA
        body = amazon.get(SEARCH, params=params).json()
        orders += body["orders"]
        token = body.get("pagination", {}).get("nextToken")
        if not token:
            return orders


def test_a_fresh_seed_holds_the_documented_mix(amazon_factory):
    n = 200
    amazon = amazon_factory(orders=n, time_scale=1.0, settle=False)
    orders = _everything(amazon)
    assert len(orders) == n

    def count(status, fulfilled_by=None):
        return sum(1 for o in orders if o["fulfillment"]["fulfillmentStatus"] == status
                   and fulfilled_by in (None, o["fulfillment"]["fulfilledBy"]))

    expected_rest = n
    for (status, fulfilled_by), share in DOCUMENTED_MIX.items():
        expected = int(n * Decimal(share))
        assert count(status, fulfilled_by) == expected, (status, fulfilled_by)
        expected_rest -= expected
    assert count("UNSHIPPED", "MERCHANT") == expected_rest
    unshipped_mfn = [o for o in orders if o["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED"
                     and o["fulfillment"]["fulfilledBy"] == "MERCHANT"]
    requested = [o for o in unshipped_mfn if any("cancellationRequest" in i.get("cancellation", {})
                                                 for i in o["orderItems"])]
    assert len(requested) == int(n * Decimal("0.04"))
    broken_skus = {p.seller_sku for p in BROKEN}
    with_broken = [o for o in orders if any(i["product"]["sellerSku"] in broken_skus for i in o["orderItems"])]
    assert len(with_broken) == int(n * Decimal("0.04")) and all(o in unshipped_mfn for o in with_broken)
    later_requests = [e for e in amazon.control("GET", "/lifecycle")["pending"] if e["kind"] == "cancel_request"]
    assert len(later_requests) == int(n * Decimal("0.02"))
    assert not {e["ref"] for e in later_requests} & {o["orderId"] for o in requested + with_broken}
    assert {i["product"]["sellerSku"] for o in with_broken for i in o["orderItems"]} >= broken_skus

    # What the seed promises to cover.
    assert {o["salesChannel"]["marketplaceId"]: o["proceeds"]["grandTotal"]["currencyCode"] for o in orders} == {
        "ATVPDKIKX0DER": "USD", "A1PA6795UKMFR9": "EUR", "A2NODRKZP88ZB9": "SEK", "A1VC38T7YXB528": "JPY"}
    assert all("." not in o["proceeds"]["grandTotal"]["amount"] for o in orders
               if o["proceeds"]["grandTotal"]["currencyCode"] == "JPY")
    assert any(len(o["orderItems"]) > 1 for o in orders) and any(len(o["orderItems"]) == 1 for o in orders)
    items = [i for o in orders for i in o["orderItems"]]
    assert any(i.get("promotion", {}).get("breakdowns") for i in items)
    assert any(i["fulfillment"].get("packing", {}).get("giftOption", {}).get("giftMessage") for i in items)
    business = [o for o in orders if "AMAZON_BUSINESS" in o.get("programs", []) and "buyer" in o]
    assert business and all(o["buyer"]["buyerCompanyName"] and o["buyer"]["buyerPurchaseOrderNumber"]
                            for o in business)
    assert any("PRIME" in o.get("programs", []) for o in orders)
    names = " ".join(o["recipient"]["deliveryAddress"]["name"] + o["recipient"]["deliveryAddress"]["city"]
                     for o in orders if "recipient" in o)
    for script in (r"[\u3040-\u30ff\u4e00-\u9fff]", r"[\u0400-\u04ff]", r"[\u0370-\u03ff]", "[åäöÅÄÖ]", "[üÜß]"):
        assert re.search(script, names), script
    now = datetime.now(UTC)
    for o in orders:
        created = parse_iso(o["createdTime"])
        assert now - timedelta(days=4, minutes=5) <= created <= now - timedelta(minutes=2)
        assert o["createdTime"] <= o["lastUpdatedTime"] <= (now - timedelta(minutes=2)).isoformat()


def _content(orders):
    return json.dumps(sorted(orders, key=lambda o: o["orderId"]), sort_keys=True, ensure_ascii=False)


def test_same_seed_same_orders(amazon_factory):
    # F = 1: no lifecycle event falls due while the two are compared (it would stamp lastUpdatedTime).
    first, second = (amazon_factory(orders=40, seed=7, time_scale=1.0, settle=False) for _ in range(2))
    anchor = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:00:00Z")
    for amazon in (first, second):
        amazon.control("POST", "/seed", json={"orders": 40, "seed": 7, "anchor": anchor})
    assert _content(_everything(first)) == _content(_everything(second))
    # Without a fixed anchor only the absolute times differ: the orders themselves are the same.
    assert sorted(o["orderId"] for o in _everything(amazon_factory(orders=40, seed=7))) == sorted(
        o["orderId"] for o in _everything(first))
    second.control("POST", "/seed", json={"orders": 40, "seed": 8, "anchor": anchor})
    assert _content(_everything(first)) != _content(_everything(second))


def _drive(url: str) -> tuple[str, str]:
    """Change the state through the API: a shipment and an added order. Returns (shipped id, added id)."""
    session = requests.Session()
    session.headers["x-amz-access-token"] = access_token(url)
    added = requests.post(f"{url}/_sandbox/orders", json={"items": [{"sellerSku": "CUP-TRAVEL-450"}]},
                          timeout=10).json()["order"]
    item_id = added["orderItems"][0]["orderItemId"]
    assert session.post(f"{url}/orders/v0/orders/{added['orderId']}/shipmentConfirmation", timeout=10, json={
        "marketplaceId": "ATVPDKIKX0DER", "packageDetail": {
            "packageReferenceId": "1", "carrierCode": "UPS", "trackingNumber": "1ZPERSIST",
            "shipDate": "2026-11-29T10:00:00Z", "orderItems": [{"orderItemId": item_id, "quantity": 1}]}}
    ).status_code == 204
    return added["orderId"], session.headers["x-amz-access-token"]


def test_state_survives_a_restart_and_fresh_discards_it(tmp_path):
    config = SandboxConfig(state_dir=tmp_path, orders=30, seed=3, credentials=dict(DEFAULT_CREDENTIALS))
    server = ProcessServer("amazon", config).start()
    try:
        order_id, token = _drive(server.url)
        before = requests.get(f"{server.url}/_sandbox/orders/{order_id}", timeout=10).json()["order"]
    finally:
        server.stop()
    restarted = ProcessServer("amazon", config).start()
    try:
        after = requests.get(f"{restarted.url}/_sandbox/orders/{order_id}", timeout=10).json()["order"]
        assert after == before and after["packages"][0]["trackingNumber"] == "1ZPERSIST"
        assert requests.get(f"{restarted.url}/_sandbox/summary", timeout=10).json()["orders"] == 31
        # An access token issued before the restart still works, like Amazon's.
        assert requests.get(f"{restarted.url}{SEARCH}/{order_id}", headers={"x-amz-access-token": token},
                            timeout=10).status_code == 200
    finally:
        restarted.stop()
    fresh = ThreadServer("amazon", SandboxConfig(state_dir=tmp_path, orders=30, seed=3, fresh=True,
                                                 credentials=dict(DEFAULT_CREDENTIALS))).start()
    try:
        assert requests.get(f"{fresh.url}/_sandbox/orders/{order_id}", timeout=10).status_code == 404
        assert requests.get(f"{fresh.url}/_sandbox/summary", timeout=10).json()["orders"] == 30
    finally:
        fresh.stop()


def test_advancing_the_lifecycle_moves_orders_on(amazon_factory):
    amazon = amazon_factory(orders=100, time_scale=1.0, settle=False)
    before = {o["orderId"]: o for o in _everything(amazon)}
    pending = [i for i, o in before.items() if o["fulfillment"]["fulfillmentStatus"] == "PENDING"]
    afn_waiting = [i for i, o in before.items() if o["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED"
                   and o["fulfillment"]["fulfilledBy"] == "AMAZON"]
    assert pending and afn_waiting
    assert amazon.control("POST", "/lifecycle/advance", json={"seconds": 60})["applied"] == []
    applied = amazon.control("POST", "/lifecycle/advance", json={"seconds": 3600})["applied"]
    assert {a["ref"] for a in applied if a["kind"] in ("release", "buyer_cancel")} == set(pending)
    amazon.control("POST", "/lifecycle/advance", json={"seconds": None})
    assert amazon.control("GET", "/lifecycle")["pending"] == []
    after = {o["orderId"]: o for o in _everything(amazon)}
    # A released AFN order is shipped by Amazon later on: by now it is SHIPPED.
    released = [i for i in pending if after[i]["fulfillment"]["fulfillmentStatus"] in ("UNSHIPPED", "SHIPPED")]
    cancelled = [i for i in pending if after[i]["fulfillment"]["fulfillmentStatus"] == "CANCELLED"]
    assert released and cancelled and len(released) + len(cancelled) == len(pending)
    for order_id in cancelled:
        executions = [i["cancellation"]["cancellationExecution"] for i in after[order_id]["orderItems"]]
        assert all(e["cancelledBy"] == "BUYER" for e in executions)
    for order_id in released:
        assert after[order_id]["buyer"]["buyerName"] and after[order_id]["recipient"]["deliveryAddress"]
    afn_pending = [i for i in pending if before[i]["fulfillment"]["fulfilledBy"] == "AMAZON" and i in released]
    for order_id in afn_waiting + afn_pending:
        order = after[order_id]
        assert order["fulfillment"]["fulfillmentStatus"] == "SHIPPED" and "packages" not in order
        assert all(i["fulfillment"]["quantityUnfulfilled"] == 0 for i in order["orderItems"])
    now = datetime.now(UTC)
    for order_id in pending + afn_waiting:
        assert now - parse_iso(after[order_id]["lastUpdatedTime"]) < timedelta(seconds=30)
    ledger = amazon.control("GET", "/ledger")["entries"]
    assert {e["orderId"] for e in ledger if e["kind"] == "cancellation"} == set(cancelled)
    assert {e["orderId"] for e in ledger if e["kind"] == "shipment"} == set(afn_waiting + afn_pending)


def test_the_lifecycle_runs_on_its_own_in_scaled_time(amazon_factory):
    amazon = amazon_factory(orders=60, time_scale=7200.0, settle=False)  # four lifecycle hours in two seconds
    deadline = time.monotonic() + 10
    while amazon.control("GET", "/lifecycle")["pending"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert amazon.control("GET", "/lifecycle")["pending"] == []
    summary = amazon.control("GET", "/summary")
    assert "PENDING" not in summary["byStatus"] and "UNSHIPPED/AMAZON" not in summary["byStatusAndFulfilledBy"]


def test_control_api_changes_orders(amazon, contract):
    created = amazon.control("POST", "/orders", json={
        "marketplaceId": "A1VC38T7YXB528", "fulfilledBy": "AMAZON", "status": "PENDING", "business": True,
        "items": [{"sellerSku": "TEAPOT-CAST-800", "quantity": 3, "promotion": True, "gift": True}],
        "createdTime": "2026-11-28T00:00:00Z", "lastUpdatedTime": "2026-11-28T01:00:00Z"})["order"]
    assert created["createdTime"] == "2026-11-28T00:00:00Z" and created["lastUpdatedTime"] == "2026-11-28T01:00:00Z"
    assert created["proceeds"]["grandTotal"]["currencyCode"] == "JPY"
    order_id = created["orderId"]
    fetched = contract.check("orders", "getOrder", amazon.get(f"{SEARCH}/{order_id}", params={"includedData": ALL_DATA}))
    assert fetched["order"]["fulfillment"]["fulfillmentStatus"] == "PENDING"
    released = amazon.control("PATCH", f"/orders/{order_id}", json={"status": "UNSHIPPED"})["order"]
    assert released["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED"
    assert released["lastUpdatedTime"] > created["lastUpdatedTime"]
    requested = amazon.control("PATCH", f"/orders/{order_id}", json={"buyerCancellationRequest": "Changed my mind"})
    assert requested["order"]["orderItems"][0]["cancellation"]["cancellationRequest"] == {
        "requester": "BUYER", "cancelReason": "Changed my mind"}
    shipped = amazon.control("PATCH", f"/orders/{order_id}", json={"status": "SHIPPED"})["order"]
    assert shipped["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
    refused = requests.patch(f"{amazon.url}/_sandbox/orders/{order_id}", json={"status": "CANCELLED"}, timeout=10)
    assert refused.status_code == 409 and "nothing shipped" in refused.json()["detail"]
    unknown_sku = requests.post(f"{amazon.url}/_sandbox/orders", json={"items": [{"sellerSku": "NOPE"}]}, timeout=10)
    assert unknown_sku.status_code == 400 and "items[0].sellerSku" in unknown_sku.json()["detail"]
