"""Orders Amazon no longer returns: created more than two years ago (getOrder agrees with searchOrders),
or forgotten through the control API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests
from sales_channel.sandbox.common.clock import parse_iso, to_iso

SEARCH = "/orders/2026-01-01/orders"
EPOCH = "2020-01-01T00:00:00Z"


def _ago(**delta: float) -> str:
    return to_iso(datetime.now(UTC) - timedelta(**delta))


def _search_ids(amazon) -> set[str]:
    body = amazon.get(SEARCH, params={"createdAfter": EPOCH}).json()
    return {order["orderId"] for order in body["orders"]}


def test_get_order_answers_404_for_an_order_created_more_than_two_years_ago(amazon, contract):
    old = amazon.control("POST", "/orders", json={
        "items": [{"sellerSku": "COASTER-CORK-6"}], "createdTime": _ago(days=731),
        "lastUpdatedTime": _ago(days=1)})["order"]["orderId"]
    response = amazon.get(f"{SEARCH}/{old}")
    assert response.status_code == 404
    assert contract.check("orders", "getOrder", response)["errors"][0] == {
        "code": "NotFound", "message": f"Order {old} was not found."}
    assert old not in _search_ids(amazon)
    young = amazon.control("POST", "/orders", json={
        "items": [{"sellerSku": "COASTER-CORK-6"}], "createdTime": _ago(days=729)})["order"]["orderId"]
    assert amazon.get(f"{SEARCH}/{young}").status_code == 200


def test_an_order_moved_past_the_horizon_disappears_from_both_reads(amazon, contract):
    order_id = next(iter(_search_ids(amazon)))
    assert amazon.get(f"{SEARCH}/{order_id}").status_code == 200
    moved = amazon.control("PATCH", f"/orders/{order_id}", json={"createdTime": _ago(days=800)})["order"]
    assert moved["createdTime"] == _ago(days=800)
    assert amazon.get(f"{SEARCH}/{order_id}").status_code == 404
    assert order_id not in _search_ids(amazon)
    # After the order's last update (whatever the lifecycle made it meanwhile): refused.
    after_update = parse_iso(moved["lastUpdatedTime"]) + timedelta(days=1)
    later = requests.patch(f"{amazon.url}/_sandbox/orders/{order_id}", timeout=30,
                           json={"createdTime": to_iso(after_update)})
    assert later.status_code == 400 and "createdTime" in later.json()["detail"]


def test_a_forgotten_order_is_not_found_anywhere(amazon, contract):
    order_id = next(iter(_search_ids(amazon)))
    assert amazon.control("DELETE", f"/orders/{order_id}") == {"deleted": order_id}
    response = amazon.get(f"{SEARCH}/{order_id}")
    assert response.status_code == 404 and contract.check("orders", "getOrder", response)
    assert order_id not in _search_ids(amazon) and len(_search_ids(amazon)) == 59
    assert requests.delete(f"{amazon.url}/_sandbox/orders/{order_id}", timeout=30).status_code == 404
    raw = amazon.control("POST", "/orders/raw", json={"no": "id"})["orderKey"]
    assert amazon.control("DELETE", f"/orders/{raw}") == {"deleted": raw}
