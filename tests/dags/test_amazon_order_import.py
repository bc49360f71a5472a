"""End to end: the amazon_order_import DAG run with dag.test() against both sandboxes.

Expectations are computed from Amazon's own data (the sandbox, read over SP-API) and the shared
catalog, never from the importer's code: which orders the creation rules allow, what each buyer paid,
which SKUs block an order.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sales_channel.sandbox.catalog import BY_SELLER_SKU, BY_SKU, CatalogIssue

from tests.dags.conftest import ACCOUNT, US_MARKETS, World, run_dag

pytestmark = pytest.mark.slow

CREATABLE_MFN = {"UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED"}
REASON_BY_ISSUE = {CatalogIssue.MISSING_IN_COMMERCE: "unknown_sku", CatalogIssue.DISABLED: "product_disabled",
                   CatalogIssue.OUT_OF_STOCK: "out_of_stock"}


def creatable(order: dict[str, Any]) -> bool:
    status = order["fulfillment"]["fulfillmentStatus"]
    if order["fulfillment"]["fulfilledBy"] == "AMAZON":
        return status == "SHIPPED"
    return status in CREATABLE_MFN


def blocker(order: dict[str, Any]) -> str | None:
    """The quarantine reason the catalog gives this order, if any (the SKU map is empty at first)."""
    for item in order["orderItems"]:
        product = BY_SELLER_SKU[item["product"]["sellerSku"]]
        if product.amazon_sku and product.amazon_sku == item["product"]["sellerSku"]:
            return "unknown_sku"  # an Amazon SKU that needs a SKU-map entry
        if product.issue is not CatalogIssue.NONE:
            if product.issue is CatalogIssue.OUT_OF_STOCK and order["fulfillment"]["fulfilledBy"] == "AMAZON":
                continue  # Amazon ships from its own stock
            return REASON_BY_ISSUE[product.issue]
    return None


def buyer_paid(order: dict[str, Any]) -> Decimal:
    total = Decimal(0)
    for item in order["orderItems"]:
        for breakdown in item["proceeds"]["breakdowns"]:
            amount = Decimal(breakdown["subtotal"]["amount"])
            total += -abs(amount) if breakdown["type"] == "DISCOUNT" else amount
    return total


def to_ship(order: dict[str, Any]) -> Counter[str]:
    """Units the import must take from Commerce stock for a merchant-fulfilled order."""
    units: Counter[str] = Counter()
    for item in order["orderItems"]:
        shipped = (item.get("fulfillment") or {}).get("quantityFulfilled") or 0
        units[BY_SELLER_SKU[item["product"]["sellerSku"]].sku] += item["quantityOrdered"] - shipped
    return units


def salable(world: World, skus: set[str]) -> dict[str, Decimal]:
    client = world.commerce()
    return {sku: client.get_stock_item(sku).qty for sku in skus}


def test_import_creates_each_order_once_quarantines_blockers_and_resolves_them(world: World):
    orders = world.all_amazon_orders()
    statuses = Counter((o["fulfillment"]["fulfilledBy"], o["fulfillment"]["fulfillmentStatus"]) for o in orders)
    assert statuses[("MERCHANT", "UNSHIPPED")] and statuses[("AMAZON", "SHIPPED")] and statuses[("MERCHANT", "PENDING")]
    expected = {o["orderId"]: o for o in orders if creatable(o) and blocker(o) is None}
    blocked = {o["orderId"]: blocker(o) for o in orders if creatable(o) and blocker(o) is not None}
    assert expected and blocked, "the seed must exercise both paths"

    # An order another connector created already: adopted, not created again.
    adopted_id, adopted_order = next((i, o) for i, o in expected.items()
                                     if o["salesChannel"]["marketplaceId"] in US_MARKETS
                                     and o["fulfillment"]["fulfilledBy"] == "MERCHANT")
    existing = world.commerce_control("POST", "orders", json={"store_code": "default", "entity": {
        "ext_order_id": adopted_id, "base_grand_total": 1, "grand_total": 1, "customer_email": "x@example.com",
        "items": [{"sku": "MUG-CERAMIC-WHT", "qty_ordered": 1, "price": 1}]}})
    skus = {sku for o in orders for sku in to_ship(o) if BY_SKU[sku].issue is not CatalogIssue.MISSING_IN_COMMERCE}
    stock_before = salable(world, skus)

    assert run_dag("amazon_order_import").state == "success"

    commerce = world.commerce_orders()
    assert set(commerce) == set(expected), "exactly the creatable, unblocked orders exist in Commerce"
    assert all(len(found) == 1 for found in commerce.values()), "never twice"
    assert commerce[adopted_id][0].entity_id == existing["entity_id"]
    for order_id, order in expected.items():
        made = commerce[order_id][0]
        if order_id == adopted_id:
            continue
        assert made.grand_total == buyer_paid(order), f"{order_id}: total to the cent"
        assert made.currency == order["orderItems"][0]["proceeds"]["breakdowns"][0]["subtotal"]["currencyCode"]
        assert made.raw["payment"]["additional_information"][0] == f"Amazon order {order_id}"
        if order["fulfillment"]["fulfilledBy"] == "AMAZON":
            assert made.state == "complete", f"{order_id}: FBA orders are created complete"
        else:
            assert made.state == "processing"

    # Stock: taken once for every merchant-fulfilled order the import created (not the adopted one).
    taken: Counter[str] = Counter()
    for order_id, order in expected.items():
        if order["fulfillment"]["fulfilledBy"] == "MERCHANT" and order_id != adopted_id:
            taken.update(to_ship(order))
    stock_after = salable(world, skus)
    assert {sku: stock_before[sku] - stock_after[sku] for sku in skus if stock_before[sku] != stock_after[sku]} == {
        sku: n for sku, n in taken.items() if n}

    channel = world.channel()
    quarantine = {e.amazon_order_id: e.reason_code for e in channel.quarantine.open(ACCOUNT)}
    assert quarantine == blocked
    assert channel.links.get(ACCOUNT, adopted_id).commerce_entity_id == existing["entity_id"]
    assert [e.event_type for e in channel.events.for_order(ACCOUNT, adopted_id)] == ["adopted"]

    # A second run creates nothing and takes no stock again.
    ledger_before = len(world.commerce_control("GET", "ledger", params={"event": "order_created"})["events"])
    assert run_dag("amazon_order_import").state == "success"
    assert len(world.commerce_control("GET", "ledger", params={"event": "order_created"})["events"]) == ledger_before
    assert salable(world, skus) == stock_after

    # The causes go away: the missing product is added, the disabled one enabled, stock arrives, and the
    # Amazon SKU gets its mapping. The next run imports every quarantined order and resolves it.
    world.commerce_control("PUT", "products/GIFTCARD-PHYS-50", json={"name": "Gift card", "price": 50, "status": 1,
                                                                      "qty": 100, "is_in_stock": True})
    world.commerce_control("PUT", "products/MILK-FROTHER-OLD", json={"status": 1})
    world.commerce_control("PUT", "products/CANISTER-VAC-1L/stock", json={"qty": 100, "is_in_stock": True})
    channel.skus.put(ACCOUNT, "FP-1000-AMZ", "FRENCH-PRESS-1L")
    assert run_dag("amazon_order_import").state == "success"
    commerce = world.commerce_orders()
    assert set(commerce) == set(expected) | set(blocked)
    assert all(len(found) == 1 for found in commerce.values())
    assert channel.quarantine.open(ACCOUNT) == []
    resolved = channel.events.for_order(ACCOUNT, next(iter(blocked)))
    assert [e.event_type for e in resolved][-2:] in (["created", "quarantine_resolved"],)


def test_an_order_cancelled_on_amazon_gives_its_stock_back_once(world: World):
    assert run_dag("amazon_order_import").state == "success"
    commerce = world.commerce_orders()
    orders = {o["orderId"]: o for o in world.all_amazon_orders()}
    order_id = next(i for i in commerce if orders[i]["fulfillment"]["fulfilledBy"] == "MERCHANT"
                    and orders[i]["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED")
    units = to_ship(orders[order_id])
    before = salable(world, set(units))

    # Cancelled three minutes ago: old enough for the import's window, which ends two minutes back.
    when = (datetime.now(UTC) - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    world.amazon_control("PATCH", f"orders/{order_id}", json={"status": "CANCELLED", "cancelledBy": "BUYER",
                                                               "lastUpdatedTime": when})
    assert run_dag("amazon_order_import").state == "success"
    after = salable(world, set(units))
    assert {sku: after[sku] - before[sku] for sku in units} == dict(units)

    assert run_dag("amazon_order_import").state == "success"
    assert salable(world, set(units)) == after, "given back once"


def test_invalid_settings_fail_the_run_naming_store_and_field_and_change_nothing(world: World):
    world.set_stores(world.stores(stock_handling="sometimes"))
    run = run_dag("amazon_order_import")
    assert run.state == "failed"
    load = next(ti for ti in run.get_task_instances() if ti.task_id == "load_stores")
    assert load.state == "failed" and load.try_number == 1, "bad settings are not retried"
    assert world.commerce_control("GET", "ledger", params={"event": "order_created"})["events"] == []


def test_read_only_store_creates_nothing_and_keeps_its_watermark(world: World):
    world.set_stores(world.stores(read_only=True))
    assert run_dag("amazon_order_import").state == "success"
    assert world.commerce_orders() == {}
    assert world.channel().watermarks.get("us", "import") is None
