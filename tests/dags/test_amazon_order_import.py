"""End to end: the amazon_order_import DAG run with dag.test() against both sandboxes.

Expectations are computed from Amazon's own data (the sandbox, read over SP-API) and the shared
catalog, never from the importer's code: which orders the creation rules allow, what each buyer paid,
which SKUs block an order.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sales_channel.sandbox.catalog import BY_SKU, CatalogIssue
from sales_channel.sandbox.oracle import buyer_paid, catalog_blocker, creatable, stock_units

from tests.dags.conftest import ACCOUNT, US_MARKETS, World, run_dag

pytestmark = pytest.mark.slow

def salable(world: World, skus: set[str]) -> dict[str, Decimal]:
    client = world.commerce()
    return {sku: client.catalog.get_stock_item(sku).qty for sku in skus}


def test_import_creates_each_order_once_quarantines_blockers_and_resolves_them(world: World):
    orders = world.all_amazon_orders()
    statuses = Counter((o["fulfillment"]["fulfilledBy"], o["fulfillment"]["fulfillmentStatus"]) for o in orders)
    assert statuses[("MERCHANT", "UNSHIPPED")] and statuses[("AMAZON", "SHIPPED")] and statuses[("MERCHANT", "PENDING")]
    expected = {o["orderId"]: o for o in orders if creatable(o) and catalog_blocker(o) is None}
    blocked = {o["orderId"]: catalog_blocker(o) for o in orders if creatable(o) and catalog_blocker(o) is not None}
    assert expected and blocked, "the seed must exercise both paths"

    # An order another connector created already: adopted, not created again.
    adopted_id, adopted_order = next((i, o) for i, o in expected.items()
                                     if o["salesChannel"]["marketplaceId"] in US_MARKETS
                                     and o["fulfillment"]["fulfilledBy"] == "MERCHANT")
    existing = world.commerce_control("POST", "orders", json={"store_code": "default", "entity": {
        "ext_order_id": adopted_id, "base_grand_total": 1, "grand_total": 1, "customer_email": "x@example.com",
        "items": [{"sku": "MUG-CERAMIC-WHT", "qty_ordered": 1, "price": 1}]}})
    skus = {sku for o in orders for sku in stock_units(o) if BY_SKU[sku].issue is not CatalogIssue.MISSING_IN_COMMERCE}
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
            taken.update(stock_units(order))
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
    units = stock_units(orders[order_id])
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


def test_an_invalid_store_fails_its_own_task_naming_the_field_and_the_others_import(world: World):
    stores = world.stores()
    stores["eu"]["stock_handling"] = "sometimes"
    world.set_stores(stores)
    run = run_dag("amazon_order_import")
    assert run.state == "failed", "the invalid store's task fails the run: someone must fix it"
    checks = {ti.map_index: ti for ti in run.get_task_instances() if ti.task_id == "check_store"}
    failed = [ti for ti in checks.values() if ti.state == "failed"]
    assert len(failed) == 1 and failed[0].try_number == 1, "bad settings are not retried"
    assert failed[0].rendered_map_index == "eu"
    imports = [ti for ti in run.get_task_instances() if ti.task_id == "import_account.import_orders"]
    assert [ti.state for ti in imports] == ["success"]
    created = world.commerce_orders()
    markets = {o["orderId"]: o["salesChannel"]["marketplaceId"] for o in world.all_amazon_orders()}
    assert created and all(markets[i] in US_MARKETS for i in created), "us imports, eu waits for its fix"
    assert world.channel().watermarks.get("eu", "import") is None


def test_an_unreadable_settings_document_fails_at_once_and_changes_nothing(world: World):
    world.set_stores("{not json")
    run = run_dag("amazon_order_import")
    assert run.state == "failed"
    listed = next(ti for ti in run.get_task_instances() if ti.task_id == "list_stores")
    assert listed.state == "failed" and listed.try_number == 1
    assert world.commerce_control("GET", "ledger", params={"event": "order_created"})["events"] == []


def test_read_only_store_creates_nothing_and_moves_on(world: World):
    world.set_stores(world.stores(read_only=True))
    assert run_dag("amazon_order_import").state == "success"
    assert world.commerce_orders() == {}
    # Read-only sends nothing to either side; its window still advances (it shares the account's search).
    assert world.channel().watermarks.get("us", "import") is not None


def test_customer_accounts_are_created_once_per_buyer_when_the_store_asks(world: World):
    world.set_stores(world.stores(customer_creation="create"))
    assert run_dag("amazon_order_import").state == "success"
    orders = {o["orderId"]: o for o in world.all_amazon_orders()}
    commerce = world.commerce_orders()
    buyers = set()
    for order_id, (made,) in commerce.items():
        email = (orders[order_id].get("buyer") or {}).get("buyerEmail")
        if email:
            buyers.add((made.raw["store_id"], email.casefold()))
            assert made.raw["customer_is_guest"] == 0 and made.raw["customer_id"], order_id
        else:  # Amazon-fulfilled: Amazon gives no email, so a guest order with the placeholder address
            assert made.raw["customer_is_guest"] == 1 and made.raw["customer_email"].endswith(".invalid")
    created = world.commerce_control("GET", "ledger", params={"event": "customer_created"})["events"]
    assert len(created) == len(buyers) > 0, "one account per buyer and website"

    assert run_dag("amazon_order_import").state == "success"
    assert len(world.commerce_control("GET", "ledger", params={"event": "customer_created"})["events"]) == len(created)


def test_orders_in_a_currency_the_store_does_not_take_wait_until_it_does(world: World):
    # The US marketplace routed to the EUR store view, which takes EUR, GBP and SEK but not USD.
    us_only = {"amazon_conn_id": ACCOUNT, "commerce_conn_id": "adobe_commerce_default",
               "connected_since": world.stores()["us"]["connected_since"], "marketplace_ids": ["ATVPDKIKX0DER"]}
    world.set_stores({"us": {**us_only, "store_code": "de", "store_id": 2}})
    assert run_dag("amazon_order_import").state == "success"
    us_orders = {o["orderId"]: o for o in world.all_amazon_orders()
                 if o["salesChannel"]["marketplaceId"] == "ATVPDKIKX0DER" and creatable(o)}
    channel = world.channel()
    quarantined = {e.amazon_order_id: e for e in channel.quarantine.open(ACCOUNT)}
    assert set(quarantined) == set(us_orders) and world.commerce_orders() == {}
    assert {e.reason_code for e in quarantined.values()} == {"currency_not_allowed"}
    assert "USD is not allowed in Commerce store 'de'" in next(iter(quarantined.values())).message

    # The cause goes away (the marketplace now goes to the USD store view): the retry imports them.
    world.set_stores({"us": {**us_only, "store_code": "default", "store_id": 1}})
    assert run_dag("amazon_order_import").state == "success"
    importable = {i for i, o in us_orders.items() if catalog_blocker(o) is None}
    assert set(world.commerce_orders()) == importable
    still = {e.amazon_order_id: e.reason_code for e in channel.quarantine.open(ACCOUNT)}
    assert still == {i: catalog_blocker(o) for i, o in us_orders.items() if i not in importable}
