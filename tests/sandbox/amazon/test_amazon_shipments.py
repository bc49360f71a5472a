"""Orders API v0 confirmShipment: partial and full shipments, every refusal, safe re-sends."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sales_channel.sandbox.common.clock import to_iso

from tests.sandbox.amazon.support import ALL_DATA

SEARCH = "/orders/2026-01-01/orders"


def _confirm(amazon, order_id, items, reference="1", **detail):
    body = {"marketplaceId": detail.pop("marketplaceId", "ATVPDKIKX0DER"), "packageDetail": {
        "packageReferenceId": reference, "carrierCode": "UPS", "shippingMethod": "Ground",
        "trackingNumber": f"1Z999AA1{reference:0>10}", "shipDate": "2026-11-29T10:00:00Z",
        "orderItems": [{"orderItemId": item_id, "quantity": quantity} for item_id, quantity in items], **detail}}
    return amazon.post(f"/orders/v0/orders/{order_id}/shipmentConfirmation", json=body)


def _new_order(amazon, **order):
    order.setdefault("items", [{"sellerSku": "MUG-CERAMIC-WHT", "quantity": 2}, {"sellerSku": "TEA-GREEN-100"}])
    an_hour_ago = to_iso(datetime.now(UTC) - timedelta(hours=1))
    order.update(createdTime=an_hour_ago, lastUpdatedTime=an_hour_ago)
    return amazon.control("POST", "/orders", json=order)["order"]


def test_partial_then_full_shipment(amazon, contract):
    order = _new_order(amazon)
    mug, tea = (item["orderItemId"] for item in order["orderItems"])
    first = _confirm(amazon, order["orderId"], [(mug, 1)])
    assert first.status_code == 204 and first.content == b""
    contract.check("ordersV0", "confirmShipment", first)
    assert first.headers["x-amzn-RateLimit-Limit"] and first.headers["x-amzn-RequestId"]
    after_first = contract.check("orders", "getOrder", amazon.get(
        f"{SEARCH}/{order['orderId']}", params={"includedData": ALL_DATA}))["order"]
    assert after_first["fulfillment"]["fulfillmentStatus"] == "PARTIALLY_SHIPPED"
    assert after_first["lastUpdatedTime"] > order["lastUpdatedTime"]
    (package,) = after_first["packages"]
    assert package["packageReferenceId"] == "1" and package["carrier"] == "UPS"
    assert package["trackingNumber"] == "1Z999AA10000000001"
    assert package["packageItems"] == [{"orderItemId": mug, "quantity": 1}]
    mug_item = next(i for i in after_first["orderItems"] if i["orderItemId"] == mug)
    assert mug_item["fulfillment"]["quantityFulfilled"] == 1 and mug_item["fulfillment"]["quantityUnfulfilled"] == 1

    assert _confirm(amazon, order["orderId"], [(mug, 1), (tea, 1)], reference="2").status_code == 204
    shipped = amazon.get(f"{SEARCH}/{order['orderId']}", params={"includedData": "FULFILLMENT,PACKAGES"}).json()
    assert shipped["order"]["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
    assert [p["packageReferenceId"] for p in shipped["order"]["packages"]] == ["1", "2"]
    ledger = amazon.control("GET", "/ledger", params={"kind": "shipment", "orderId": order["orderId"]})["entries"]
    assert [entry["packageReferenceId"] for entry in ledger] == ["1", "2"]


def test_the_identical_confirmation_resent_creates_no_second_package(amazon):
    order = _new_order(amazon)
    mug = order["orderItems"][0]["orderItemId"]
    assert _confirm(amazon, order["orderId"], [(mug, 1)]).status_code == 204
    updated = amazon.full_order(order["orderId"])["lastUpdatedTime"]
    assert _confirm(amazon, order["orderId"], [(mug, 1)]).status_code == 204
    again = amazon.full_order(order["orderId"])
    assert len(again["packages"]) == 1 and again["lastUpdatedTime"] == updated
    assert again["orderItems"][0]["fulfillment"]["quantityFulfilled"] == 1
    assert len(amazon.control("GET", "/ledger", params={"orderId": order["orderId"]})["entries"]) == 1


@pytest.mark.parametrize(("case", "message_part"), [
    ("unknown_item", "does not belong"),
    ("too_many", "exceeds"),
    ("reused_reference", "already used"),
    ("other_without_name", "carrierName"),
    ("missing_tracking", "trackingNumber"),
    ("missing_items", "orderItems"),
    ("bad_reference", "packageReferenceId"),
    ("zero_quantity", "quantity"),
    ("wrong_marketplace", "marketplaceId"),
    ("bad_ship_date", "shipDate"),
])
def test_refused_confirmations(amazon, contract, case, message_part):
    order = _new_order(amazon)
    mug = order["orderItems"][0]["orderItemId"]
    order_id = order["orderId"]
    if case == "reused_reference":
        assert _confirm(amazon, order_id, [(mug, 1)]).status_code == 204
    response = {
        "unknown_item": lambda: _confirm(amazon, order_id, [("99999999999999", 1)]),
        "too_many": lambda: _confirm(amazon, order_id, [(mug, 3)]),
        "reused_reference": lambda: _confirm(amazon, order_id, [(mug, 1)], trackingNumber="OTHER123"),
        "other_without_name": lambda: _confirm(amazon, order_id, [(mug, 1)], carrierCode="Other"),
        "missing_tracking": lambda: _confirm(amazon, order_id, [(mug, 1)], trackingNumber=""),
        "missing_items": lambda: _confirm(amazon, order_id, []),
        "bad_reference": lambda: _confirm(amazon, order_id, [(mug, 1)], reference="PKG-1"),
        "zero_quantity": lambda: _confirm(amazon, order_id, [(mug, 0)]),
        "wrong_marketplace": lambda: _confirm(amazon, order_id, [(mug, 1)], marketplaceId="A1PA6795UKMFR9"),
        "bad_ship_date": lambda: _confirm(amazon, order_id, [(mug, 1)], shipDate="29/11/2026"),
    }[case]()
    assert response.status_code == 400, response.text
    error = contract.check("ordersV0", "confirmShipment", response)["errors"][0]
    assert error["code"] == "InvalidInput" and message_part in error["message"]
    packages = amazon.full_order(order_id)["packages"]
    assert len(packages) == (1 if case == "reused_reference" else 0)


def test_other_carrier_with_a_name_is_accepted(amazon):
    order = _new_order(amazon)
    mug = order["orderItems"][0]["orderItemId"]
    assert _confirm(amazon, order["orderId"], [(mug, 2)], carrierCode="Other", carrierName="Bring").status_code == 204
    assert amazon.full_order(order["orderId"])["packages"][0]["carrier"] == "Bring"


@pytest.mark.parametrize("order", [{"status": "CANCELLED"}, {"status": "PENDING"},
                                   {"fulfilledBy": "AMAZON"}], ids=["cancelled", "pending", "amazon-fulfilled"])
def test_orders_that_cannot_be_shipped_by_the_merchant(amazon, contract, order):
    created = _new_order(amazon, **order)
    response = _confirm(amazon, created["orderId"], [(created["orderItems"][0]["orderItemId"], 1)])
    assert response.status_code == 400
    assert contract.check("ordersV0", "confirmShipment", response)["errors"][0]["code"] == "InvalidInput"


def test_unknown_order_and_malformed_body(amazon, contract):
    missing = _confirm(amazon, "111-0000000-0000000", [("1", 1)])
    assert missing.status_code == 404
    assert contract.check("ordersV0", "confirmShipment", missing)["errors"][0]["code"] == "NotFound"
    broken = amazon.post("/orders/v0/orders/111-0000000-0000000/shipmentConfirmation", data="{not json",
                         headers={"Content-Type": "application/json"})
    assert broken.status_code == 400
    assert contract.check("ordersV0", "confirmShipment", broken)["errors"][0]["code"] == "InvalidInput"
    no_detail = amazon.post("/orders/v0/orders/111-0000000-0000000/shipmentConfirmation",
                            json={"marketplaceId": "ATVPDKIKX0DER"})
    assert no_detail.status_code == 400 and "packageDetail" in no_detail.json()["errors"][0]["message"]


def test_concurrent_confirmations_never_ship_more_than_was_ordered(amazon):
    order = _new_order(amazon, items=[{"sellerSku": "CHOPSTICK-SET-5", "quantity": 4}])
    item_id = order["orderItems"][0]["orderItemId"]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda ref: _confirm(amazon, order["orderId"], [(item_id, 1)], reference=str(ref))
                                 .status_code, range(1, 9)))
        # The same package sent by several threads at once is one package.
        resent = list(pool.map(lambda _: _confirm(amazon, order["orderId"], [(item_id, 1)], reference="1")
                               .status_code, range(4)))
    assert sorted(statuses) == [204] * 4 + [400] * 4
    final = amazon.full_order(order["orderId"])
    assert len(final["packages"]) == 4 and final["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
    assert final["orderItems"][0]["fulfillment"] == {"quantityFulfilled": 4, "quantityUnfulfilled": 0}
    # Package 1 is among the winners or not; either way its re-sends all get the same answer, and no 5th.
    package_one_won = any(p["packageReferenceId"] == "1" for p in final["packages"])
    assert resent == [204 if package_one_won else 400] * 4
    assert len(amazon.full_order(order["orderId"])["packages"]) == 4
