"""Stock moved by another sales channel (relative sales, possibly landing between a client's read and
its write) and a SKU whose salable-quantity call answers Magento's 'not assigned to given stock'."""

from __future__ import annotations

import time

from .support import CommerceApi, assert_magento_error

SALABLE = "inventory/get-product-salable-quantity/{sku}/1"


def _qty(api: CommerceApi, sku: str) -> float:
    return api.control("GET", "ledger", params={"sku": sku, "event": "stock_changed"}).json()["events"][-1]["qty"]


def test_another_channel_sells_relative_to_the_current_stock(api: CommerceApi) -> None:
    sold = api.control("POST", "products/MUG-CERAMIC-WHT/stock/sell", json={"qty": 3})
    assert sold.status_code == 200, sold.text
    assert sold.json()["status"] == "sold" and sold.json()["stock_item"]["qty"] == 497
    api.control("POST", "products/MUG-CERAMIC-WHT/stock/sell", json={"qty": 500})
    item = api.get("stockItems/MUG-CERAMIC-WHT").json()
    assert (item["qty"], item["is_in_stock"]) == (-3, False)  # oversold: not salable any more
    assert api.get(SALABLE.format(sku="MUG-CERAMIC-WHT")).json() == 0
    ledger = api.ledger(event="stock_changed", sku="MUG-CERAMIC-WHT")
    assert [(e["qty_before"], e["qty"]) for e in ledger] == [(500, 497), (497, -3)]


def test_a_sale_armed_for_the_next_read_lands_between_read_and_write(api: CommerceApi) -> None:
    armed = api.control("POST", "products/TEA-GREEN-100/stock/sell", json={"qty": 2, "after_next_read": True})
    assert armed.json()["status"] == "armed"
    assert api.ledger(event="stock_changed", sku="TEA-GREEN-100") == []  # untouched until a client reads
    read = api.get(SALABLE.format(sku="TEA-GREEN-100")).json()
    assert read == 500  # the client saw 500 ...
    assert _qty(api, "TEA-GREEN-100") == 498  # ... and the other channel sold 2 right after
    # A client that writes back "what it read minus its own order" loses the other channel's sale.
    api.put("products/TEA-GREEN-100/stockItems/1", {"stockItem": {"qty": read - 1, "is_in_stock": True}})
    assert api.get("stockItems/TEA-GREEN-100").json()["qty"] == 499  # should be 497
    assert api.get("stockItems/TEA-GREEN-100").json()["qty"] == 499  # armed sales fire once


def test_a_delayed_sale_lands_later(api: CommerceApi) -> None:
    scheduled = api.control("POST", "products/BOWL-RAMEN-2/stock/sell", json={"qty": 1, "delay_ms": 300})
    assert scheduled.json()["status"] == "scheduled"
    assert api.get("stockItems/BOWL-RAMEN-2").json()["qty"] == 500
    deadline = time.monotonic() + 5
    while api.get("stockItems/BOWL-RAMEN-2").json()["qty"] != 499:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    after_read = {"qty": 4, "after_next_read": True, "delay_ms": 200}
    api.control("POST", "products/BOWL-RAMEN-2/stock/sell", json=after_read)
    assert api.get("stockItems/BOWL-RAMEN-2").json()["qty"] == 499
    while api.get("stockItems/BOWL-RAMEN-2").json()["qty"] != 495:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_unknown_skus_and_bad_sales_are_refused(api: CommerceApi) -> None:
    for body in ({"qty": 1}, {"qty": 1, "delay_ms": 10}, {"qty": 1, "after_next_read": True}):
        assert api.control("POST", "products/NOPE/stock/sell", json=body).status_code == 404
    assert api.control("POST", "products/MUG-CERAMIC-WHT/stock/sell", json={"qty": 0}).status_code == 400


def test_a_sku_not_assigned_to_the_stock_answers_400(api: CommerceApi) -> None:
    switched = api.control("PUT", "products/mug-ceramic-blk/stock/assignment", json={"assigned": False})
    assert switched.json() == {"sku": "MUG-CERAMIC-BLK", "assigned": False}
    refused = api.get(SALABLE.format(sku="MUG-CERAMIC-BLK"))
    assert_magento_error(refused, 400, "The requested sku is not assigned to given stock.")
    assert "parameters" not in refused.json()
    assert api.get(SALABLE.format(sku="MUG-CERAMIC-WHT")).json() == 500  # only that SKU
    assert api.get("stockItems/MUG-CERAMIC-BLK").status_code == 200
    api.control("PUT", "products/MUG-CERAMIC-BLK/stock/assignment", json={"assigned": True})
    assert api.get(SALABLE.format(sku="MUG-CERAMIC-BLK")).json() == 500
    api.control("PUT", "products/MUG-CERAMIC-BLK/stock/assignment", json={"assigned": False})
    api.control("POST", "reset")
    assert api.get(SALABLE.format(sku="MUG-CERAMIC-BLK")).status_code == 200  # a reset clears the switch
