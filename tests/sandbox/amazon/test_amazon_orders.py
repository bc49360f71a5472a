"""Orders API v2026-01-01 (searchOrders, getOrder) over HTTP, every body checked against the model."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sales_channel.sandbox.common.clock import parse_iso, to_iso

from tests.sandbox.amazon.support import ALL_DATA

SEARCH = "/orders/2026-01-01/orders"
EPOCH = "2020-01-01T00:00:00Z"
ORDER_ID = re.compile(r"^\d{3}-\d{7}-\d{7}$")


def _all_pages(amazon, contract, params):
    """Every order of a search, following nextToken; returns (orders, last body)."""
    found, body, token = [], None, None
    while True:
        page_params = dict(params, paginationToken=token) if token else params
        response = amazon.get(SEARCH, params=page_params)
        assert response.status_code == 200, response.text
        body = contract.check("orders", "searchOrders", response)
        found.extend(body["orders"])
        token = body.get("pagination", {}).get("nextToken")
        if not token:
            return found, body


def _ago(**delta: float) -> str:
    return to_iso(datetime.now(UTC) - timedelta(**delta))


def test_search_pages_through_every_order_once(amazon, contract):
    orders, last = _all_pages(amazon, contract, {"createdAfter": EPOCH, "maxResultsPerPage": 7,
                                                 "includedData": ALL_DATA})
    ids = [order["orderId"] for order in orders]
    assert len(ids) == 60 and len(set(ids)) == 60
    assert all(ORDER_ID.match(order_id) for order_id in ids)
    assert "pagination" not in last
    window_end = parse_iso(last["createdBefore"])
    assert timedelta(minutes=2) <= datetime.now(UTC) - window_end < timedelta(minutes=3)
    assert all(parse_iso(order["createdTime"]) <= window_end for order in orders)


def test_default_page_is_100_and_page_size_is_validated(amazon_factory, contract):
    amazon = amazon_factory(orders=130)
    first = contract.check("orders", "searchOrders", amazon.get(SEARCH, params={"createdAfter": EPOCH}))
    assert len(first["orders"]) == 100 and first["pagination"]["nextToken"]
    for bad in ("0", "101", "ten"):
        response = amazon.get(SEARCH, params={"createdAfter": EPOCH, "maxResultsPerPage": bad})
        assert response.status_code == 400
        assert "maxResultsPerPage" in contract.check("orders", "searchOrders", response)["errors"][0]["message"]


@pytest.mark.parametrize(("params", "named"), [
    ({}, "createdAfter"),
    ({"createdAfter": EPOCH, "lastUpdatedAfter": EPOCH}, "lastUpdatedAfter"),
    ({"createdAfter": EPOCH, "lastUpdatedBefore": "2021-01-01T00:00:00Z"}, "lastUpdatedBefore"),
    ({"lastUpdatedAfter": EPOCH, "createdBefore": "2021-01-01T00:00:00Z"}, "createdBefore"),
    ({"lastUpdatedAfter": "2021-01-01T00:00:00Z", "lastUpdatedBefore": EPOCH}, "lastUpdatedBefore"),
    ({"createdAfter": "2021-01-01T00:00:00Z", "createdBefore": EPOCH}, "createdBefore"),
    ({"lastUpdatedAfter": EPOCH, "lastUpdatedBefore": "NOW-60"}, "lastUpdatedBefore"),
    ({"createdAfter": EPOCH, "createdBefore": "NOW-60"}, "createdBefore"),
    ({"createdAfter": "yesterday"}, "createdAfter"),
    ({"createdAfter": EPOCH, "fulfillmentStatuses": "UNSHIPPED,LOST"}, "fulfillmentStatuses"),
    ({"createdAfter": EPOCH, "fulfilledBy": "SELLER"}, "fulfilledBy"),
    ({"createdAfter": EPOCH, "includedData": "BUYER,EVERYTHING"}, "includedData"),
    ({"createdAfter": EPOCH, "paginationToken": "not-a-token"}, "paginationToken"),
])
def test_search_validation_names_the_parameter(amazon, contract, params, named):
    params = {key: (_ago(seconds=60) if value == "NOW-60" else value) for key, value in params.items()}
    response = amazon.get(SEARCH, params=params)
    assert response.status_code == 400
    error = contract.check("orders", "searchOrders", response)["errors"][0]
    assert error["code"] == "InvalidInput" and named in error["message"]
    assert response.headers["x-amzn-RateLimit-Limit"]


def test_last_updated_window_and_the_returned_window_end(amazon, contract):
    before = _ago(hours=30)
    orders, last = _all_pages(amazon, contract, {"lastUpdatedAfter": EPOCH, "lastUpdatedBefore": before})
    assert last["lastUpdatedBefore"] == before and "createdBefore" not in last
    assert orders and all(order["lastUpdatedTime"] <= before for order in orders)
    later, last = _all_pages(amazon, contract, {"lastUpdatedAfter": before})
    assert all(order["lastUpdatedTime"] >= before for order in later)
    window_end = last["lastUpdatedBefore"]
    assert parse_iso(window_end) <= datetime.now(UTC) - timedelta(minutes=2)
    everything, _ = _all_pages(amazon, contract, {"createdAfter": EPOCH})
    assert {o["orderId"] for o in orders} | {o["orderId"] for o in later} == {
        o["orderId"] for o in everything if o["lastUpdatedTime"] <= window_end}


def test_filters_and_unknown_parameters(amazon, contract):
    everything, _ = _all_pages(amazon, contract, {"createdAfter": EPOCH, "includedData": "FULFILLMENT"})

    def expect(params, keep):
        found, _ = _all_pages(amazon, contract, {"createdAfter": EPOCH, "includedData": "FULFILLMENT", **params})
        assert {o["orderId"] for o in found} == {o["orderId"] for o in everything if keep(o)}
        return found

    assert expect({"marketplaceIds": "A1PA6795UKMFR9,A1VC38T7YXB528"},
                  lambda o: o["salesChannel"]["marketplaceId"] in ("A1PA6795UKMFR9", "A1VC38T7YXB528"))
    # Repeated parameters work like comma-separated ones.
    expect({"fulfillmentStatuses": ["UNSHIPPED", "PENDING"]},
           lambda o: o["fulfillment"]["fulfillmentStatus"] in ("UNSHIPPED", "PENDING"))
    assert expect({"fulfilledBy": "AMAZON"}, lambda o: o["fulfillment"]["fulfilledBy"] == "AMAZON")
    # What python-amazon-sp-api and others add is ignored.
    expect({"MarketplaceIds": "A2NODRKZP88ZB9", "marketplace_ids": "X", "foo": "bar"}, lambda o: True)


def test_included_data_decides_which_datasets_are_present(amazon, contract):
    mfn = next(o for o in _all_pages(amazon, contract, {"createdAfter": EPOCH, "fulfilledBy": "MERCHANT",
                                                        "fulfillmentStatuses": "UNSHIPPED"})[0])
    bare = contract.check("orders", "getOrder", amazon.get(f"{SEARCH}/{mfn['orderId']}"))["order"]
    assert set(bare) <= {"orderId", "orderAliases", "createdTime", "lastUpdatedTime", "programs", "salesChannel",
                         "orderItems"}
    assert all(set(item) == {"orderItemId", "quantityOrdered", "product"} for item in bare["orderItems"])
    buyer_only = contract.check("orders", "getOrder", amazon.get(
        f"{SEARCH}/{mfn['orderId']}", params={"includedData": "BUYER"}))["order"]
    assert buyer_only["buyer"]["buyerEmail"] and "recipient" not in buyer_only and "proceeds" not in buyer_only
    full = contract.check("orders", "getOrder", amazon.get(
        f"{SEARCH}/{mfn['orderId']}", params={"includedData": ALL_DATA}))["order"]
    assert {"buyer", "recipient", "proceeds", "fulfillment", "packages"} <= set(full)
    assert all({"proceeds", "fulfillment"} <= set(item) for item in full["orderItems"])


def test_amazon_fulfilled_orders_have_no_buyer_email_and_no_packages(amazon, contract):
    afn, _ = _all_pages(amazon, contract, {"createdAfter": EPOCH, "fulfilledBy": "AMAZON", "includedData": ALL_DATA})
    assert afn
    for order in afn:
        assert "packages" not in order and "buyerEmail" not in order.get("buyer", {})
    mfn, _ = _all_pages(amazon, contract, {"createdAfter": EPOCH, "fulfilledBy": "MERCHANT",
                                           "fulfillmentStatuses": "UNSHIPPED,PARTIALLY_SHIPPED,CANCELLED",
                                           "includedData": "BUYER,PACKAGES"})
    assert mfn and all("packages" in order and order["buyer"]["buyerEmail"] for order in mfn)


def test_pending_orders_hold_back_buyer_and_recipient(amazon, contract):
    order_id = amazon.control("POST", "/orders", json={
        "status": "PENDING", "createdTime": _ago(minutes=10), "lastUpdatedTime": _ago(minutes=10),
        "items": [{"sellerSku": "BEANS-ETH-1KG"}]})["order"]["orderId"]
    pending, _ = _all_pages(amazon, contract, {"createdAfter": EPOCH, "fulfillmentStatuses": "PENDING",
                                               "includedData": ALL_DATA})
    assert [o["orderId"] for o in pending] == [order_id]
    assert "buyer" not in pending[0] and "recipient" not in pending[0]
    amazon.control("PATCH", f"/orders/{order_id}", json={"status": "UNSHIPPED"})
    released = contract.check("orders", "getOrder", amazon.get(f"{SEARCH}/{order_id}",
                                                                params={"includedData": "BUYER,RECIPIENT"}))
    assert released["order"]["buyer"]["buyerName"] and released["order"]["recipient"]["deliveryAddress"]["name"]


def test_money_is_strings_and_proceeds_add_up_exactly(amazon_factory, contract):
    amazon = amazon_factory(orders=150)
    orders, _ = _all_pages(amazon, contract, {"createdAfter": EPOCH, "includedData": "PROCEEDS"})
    types_seen = set()
    for order in orders:
        proceeds = order["proceeds"]
        currency = proceeds["grandTotal"]["currencyCode"]
        places = 0 if currency == "JPY" else 2
        money = [proceeds["grandTotal"]] + [b["subtotal"] for b in proceeds["breakdowns"]]
        for item in order["orderItems"]:
            money += [item["proceeds"]["proceedsTotal"]] + [b["subtotal"] for b in item["proceeds"]["breakdowns"]]
            money.append(item["product"]["price"]["unitPrice"])
            item_sum = sum(Decimal(b["subtotal"]["amount"]) for b in item["proceeds"]["breakdowns"])
            assert item_sum == Decimal(item["proceeds"]["proceedsTotal"]["amount"]), order["orderId"]
            for breakdown in item["proceeds"]["breakdowns"]:
                if "detailedBreakdowns" in breakdown:
                    detail = sum(Decimal(d["value"]["amount"]) for d in breakdown["detailedBreakdowns"])
                    assert detail == Decimal(breakdown["subtotal"]["amount"])
        for value in money:
            assert isinstance(value["amount"], str) and value["currencyCode"] == currency
            assert len(value["amount"].partition(".")[2]) == places, value
        grand = Decimal(proceeds["grandTotal"]["amount"])
        assert sum(Decimal(b["subtotal"]["amount"]) for b in proceeds["breakdowns"]) == grand
        assert sum(Decimal(i["proceeds"]["proceedsTotal"]["amount"]) for i in order["orderItems"]) == grand
        types_seen |= {b["type"] for b in proceeds["breakdowns"]}
    assert {"ITEM", "SHIPPING", "GIFT_WRAP", "TAX", "DISCOUNT"} <= types_seen


def test_get_order_errors(amazon, contract):
    missing = amazon.get(f"{SEARCH}/999-0000000-0000000")
    assert missing.status_code == 404
    assert contract.check("orders", "getOrder", missing)["errors"][0]["code"] == "NotFound"
    assert missing.headers["x-amzn-RateLimit-Limit"]
    malformed = amazon.get(f"{SEARCH}/not-an-order")
    assert malformed.status_code == 400
    assert "orderId" in contract.check("orders", "getOrder", malformed)["errors"][0]["message"]


def test_an_order_updated_while_paging_is_never_skipped(amazon_factory, contract):
    amazon = amazon_factory(orders=80)
    params = {"lastUpdatedAfter": EPOCH, "lastUpdatedBefore": _ago(minutes=3), "maxResultsPerPage": 10}
    window, last = _all_pages(amazon, contract, params)
    window_ids = [o["orderId"] for o in window]
    first = contract.check("orders", "searchOrders", amazon.get(SEARCH, params=params))
    seen = [o["orderId"] for o in first["orders"]]
    # While the client is between pages, an order it has seen and two it has not yet seen change.
    touched = {seen[0], window_ids[35], window_ids[-1]}
    for order_id in touched:
        amazon.control("PATCH", f"/orders/{order_id}", json={"touch": True})
    token = first["pagination"]["nextToken"]
    while token:
        body = contract.check("orders", "searchOrders",
                              amazon.get(SEARCH, params={**params, "paginationToken": token}))
        seen += [o["orderId"] for o in body["orders"]]
        token = body.get("pagination", {}).get("nextToken")
    window_end = body["lastUpdatedBefore"]
    assert window_end == last["lastUpdatedBefore"]
    for order_id in window_ids:
        if order_id not in seen:
            # Only an order that moved past this window may be missing here: the next window has it.
            assert order_id in touched
            assert amazon.full_order(order_id)["lastUpdatedTime"] > window_end
    untouched = [order_id for order_id in window_ids if order_id not in touched]
    assert sorted(order_id for order_id in seen if order_id in untouched) == sorted(untouched)


def test_created_after_paging_keeps_updated_orders_in_place(amazon, contract):
    params = {"createdAfter": EPOCH, "maxResultsPerPage": 10}
    first = contract.check("orders", "searchOrders", amazon.get(SEARCH, params=params))
    window, _ = _all_pages(amazon, contract, params)
    amazon.control("PATCH", f"/orders/{window[-1]['orderId']}", json={"touch": True})
    rest, _ = [], None
    token = first["pagination"]["nextToken"]
    while token:
        body = contract.check("orders", "searchOrders", amazon.get(SEARCH, params={"paginationToken": token}))
        rest += body["orders"]
        token = body.get("pagination", {}).get("nextToken")
    assert [o["orderId"] for o in first["orders"] + rest] == [o["orderId"] for o in window]


def test_a_page_request_may_not_change_the_filters(amazon, contract):
    first = contract.check("orders", "searchOrders",
                           amazon.get(SEARCH, params={"createdAfter": EPOCH, "maxResultsPerPage": 5}))
    token = first["pagination"]["nextToken"]
    same = amazon.get(SEARCH, params={"createdAfter": EPOCH, "maxResultsPerPage": 20, "paginationToken": token})
    assert same.status_code == 200 and len(same.json()["orders"]) == 20
    changed = amazon.get(SEARCH, params={"createdAfter": "2021-01-01T00:00:00Z", "paginationToken": token})
    assert changed.status_code == 400
    assert "createdAfter" in contract.check("orders", "searchOrders", changed)["errors"][0]["message"]


def test_orders_older_than_two_years_are_not_returned(amazon, contract):
    old = amazon.control("POST", "/orders", json={
        "items": [{"sellerSku": "COASTER-CORK-6"}], "createdTime": _ago(days=800),
        "lastUpdatedTime": _ago(days=800)})["order"]["orderId"]
    found, _ = _all_pages(amazon, contract, {"createdAfter": EPOCH})
    assert old not in {o["orderId"] for o in found} and len(found) == 60
