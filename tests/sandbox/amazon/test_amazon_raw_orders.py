"""Raw orders (POST /_sandbox/orders/raw): stored exactly as given, served by the faithful searchOrders
and getOrder, never crashing the sandbox whatever their shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sales_channel.sandbox.common.clock import to_iso

from tests.sandbox.amazon.support import ALL_DATA

SEARCH = "/orders/2026-01-01/orders"
EPOCH = "2020-01-01T00:00:00Z"


@pytest.fixture
def amazon(amazon_factory):
    """No seeded orders: every window holds only the raw orders a test adds."""
    return amazon_factory(orders=0)


def _ago(**delta: float) -> str:
    return to_iso(datetime.now(UTC) - timedelta(**delta))


def _raw(amazon, body, **hints):
    response = requests.post(f"{amazon.url}/_sandbox/orders/raw", params=hints, timeout=30,
                             data=body if isinstance(body, bytes) else json.dumps(body),
                             headers={"content-type": "application/json"})
    return response


def _add(amazon, order, **hints):
    response = _raw(amazon, order, **hints)
    assert response.status_code == 201, response.text
    return response.json()


def _window(amazon, after, before, **params):
    """Every order of a lastUpdatedAfter window, following nextToken."""
    found, token = [], None
    while True:
        page = {"paginationToken": token} if token else {"lastUpdatedAfter": after, "lastUpdatedBefore": before,
                                                          **params}
        response = amazon.get(SEARCH, params=page)
        assert response.status_code == 200, response.text
        body = response.json()
        found += body["orders"]
        token = body.get("pagination", {}).get("nextToken")
        if not token:
            return found


def test_a_malformed_order_is_served_exactly_as_given_in_its_hinted_window(amazon):
    order = {"buyer": {"buyerEmail": 42}, "orderItems": None, "lastUpdatedTime": "yesterday-ish",
             "fulfillment": {"fulfillmentStatus": "TELEPORTED", "fulfilledBy": ["MERCHANT"]}, "extra": {"x": [1.5]}}
    stored = _add(amazon, order, served_updated_time=_ago(hours=50), marketplace_id="A1PA6795UKMFR9")
    assert stored["orderKey"].startswith("raw:")
    assert stored["served"] == {"createdTime": _ago(hours=50), "lastUpdatedTime": _ago(hours=50),
                                "marketplaceId": "A1PA6795UKMFR9", "fulfillmentStatus": "TELEPORTED",
                                "fulfilledBy": ""}
    found = _window(amazon, _ago(hours=51), _ago(hours=49), includedData=ALL_DATA)
    assert found == [order]
    # Served by marketplace hint; without BUYER the buyer dataset is left out; the rest stays as it is.
    assert _window(amazon, _ago(hours=51), _ago(hours=49), marketplaceIds="A1PA6795UKMFR9") == [
        {key: value for key, value in order.items() if key not in ("buyer", "fulfillment")}]
    assert _window(amazon, _ago(hours=51), _ago(hours=49), marketplaceIds="ATVPDKIKX0DER") == []
    assert _window(amazon, _ago(hours=51), _ago(hours=49), fulfillmentStatuses="UNSHIPPED") == []
    assert order in amazon.get(SEARCH, params={"createdAfter": EPOCH, "includedData": ALL_DATA}).json()["orders"]


def test_a_raw_order_with_an_order_id_is_served_by_get_order_and_filtered_by_included_data(amazon):
    order = {"orderId": "113-0000001-0000001", "createdTime": "2026-01-05T10:00:00.123+01:00",
             "lastUpdatedTime": _ago(minutes=30), "salesChannel": {"marketplaceId": "A1VC38T7YXB528"},
             "buyer": {"buyerEmail": "x@example.com"}, "proceeds": {"grandTotal": {"amount": 12.5}},
             "orderItems": [{"orderItemId": 7, "quantityOrdered": "2", "proceeds": None, "tax": {},
                             "product": {"sellerSku": "NOT-IN-ANY-CATALOG", "condition": {"conditionType": "USED?"}}},
                            "not an item"]}
    stored = _add(amazon, order)
    assert stored["orderKey"] == order["orderId"]
    assert stored["served"]["createdTime"] == "2026-01-05T09:00:00Z"
    assert stored["served"]["marketplaceId"] == "A1VC38T7YXB528"
    full = amazon.get(f"{SEARCH}/113-0000001-0000001", params={"includedData": ALL_DATA})
    assert full.status_code == 200 and full.json() == {"order": order}
    bare = amazon.get(f"{SEARCH}/113-0000001-0000001").json()["order"]
    assert "buyer" not in bare and "proceeds" not in bare
    assert bare["orderItems"] == [{"orderItemId": 7, "quantityOrdered": "2", "product": order["orderItems"][0][
        "product"]}, "not an item"]
    assert amazon.control("GET", "/orders/113-0000001-0000001") == {"order": order}
    found = _window(amazon, _ago(hours=1), _ago(minutes=3), marketplaceIds="A1VC38T7YXB528",
                    includedData="PROCEEDS")
    assert [o["orderId"] for o in found] == ["113-0000001-0000001"]


def test_hostile_shapes_never_crash_the_sandbox(amazon):
    deep: object = "bottom"
    for _ in range(99):  # 199 levels of nesting
        deep = {"orderItems": [deep]}
    shapes = [None, [], "just a string", 3.25, True, {"orderId": 5, "orderItems": {"a": 1}}, deep,
              {"orderId": None, "lastUpdatedTime": 1700000000, "salesChannel": "ATVPDKIKX0DER"},
              {"createdTime": "0001-01-01T00:00:00+01:00", "lastUpdatedTime": "9999-12-31T23:59:59-01:00"},
              {"orderId": "", "orderItems": [[], None, {"orderItemId": {"nested": True}}]}, {"名前": "注文 🎁"}]
    when = _ago(hours=70)
    for shape in shapes:
        _add(amazon, shape, served_updated_time=when)
    served = _window(amazon, _ago(hours=71), _ago(hours=69), includedData=ALL_DATA)
    assert sorted(map(json.dumps, served)) == sorted(map(json.dumps, shapes))
    # Paging over raw orders with no orderId of their own works.
    assert len(_window(amazon, _ago(hours=71), _ago(hours=69), maxResultsPerPage=1)) == len(shapes)
    assert amazon.get(SEARCH, params={"createdAfter": EPOCH, "includedData": ALL_DATA}).status_code == 200
    assert amazon.control("GET", "/health")["status"] == "ok"


def test_without_hints_an_order_is_served_by_its_own_times_else_now(amazon):
    own = _add(amazon, {"lastUpdatedTime": _ago(hours=5)})["served"]
    assert own["lastUpdatedTime"] == own["createdTime"] == _ago(hours=5)
    assert own["marketplaceId"] == "ATVPDKIKX0DER"
    unparseable = _add(amazon, {"lastUpdatedTime": "9999-12-31T23:59:59-01:00", "createdTime": 17})["served"]
    assert abs(datetime.fromisoformat(unparseable["lastUpdatedTime"]) - datetime.now(UTC)) < timedelta(seconds=5)


def test_what_no_response_could_carry_is_refused(amazon):
    too_deep = "[" * 5000 + "]" * 5000
    for body in (b"{not json", b'{"amount": NaN}', b'{"a": Infinity}', b'"\\ud800"', too_deep.encode(),
                 json.dumps(json.loads("[" * 250 + "]" * 250)).encode()):
        response = _raw(amazon, body)
        assert response.status_code == 400, body[:20]
        assert response.json()["detail"]
    assert _raw(amazon, {"x": 1}, served_updated_time="soon").status_code == 422


def test_a_raw_order_replacing_a_seeded_one_gets_no_state_rule(amazon_factory):
    amazon = amazon_factory(settle=False)
    pending = amazon.get(SEARCH, params={"createdAfter": EPOCH, "fulfillmentStatuses": "PENDING"}).json()["orders"]
    order_id = pending[0]["orderId"]
    _add(amazon, {"orderId": order_id, "orderItems": "gone"}, served_updated_time=_ago(hours=3))
    applied = amazon.control("POST", "/lifecycle/advance", json={"seconds": None})["applied"]
    assert [entry["outcome"] for entry in applied if entry["ref"] == order_id] == ["skipped: raw order"]
    assert amazon.get(f"{SEARCH}/{order_id}").json() == {"order": {"orderId": order_id, "orderItems": "gone"}}
    shipped = amazon.post(f"/orders/v0/orders/{order_id}/shipmentConfirmation", json={
        "marketplaceId": "ATVPDKIKX0DER", "packageDetail": {
            "packageReferenceId": "1", "carrierCode": "UPS", "trackingNumber": "1Z", "shipDate": _ago(minutes=5),
            "orderItems": [{"orderItemId": "1", "quantity": 1}]}})
    assert shipped.status_code == 400 and "raw order" in shipped.json()["errors"][0]["message"]
    changed = requests.patch(f"{amazon.url}/_sandbox/orders/{order_id}", json={"touch": True}, timeout=30)
    assert changed.status_code == 409
    assert amazon.control("GET", "/summary")["orders"] == 60
