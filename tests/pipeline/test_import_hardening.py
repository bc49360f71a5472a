"""The import under what real stores and Amazon do: writes that fail after they happened, late
commits, one bad SKU or buyer, orders Amazon no longer serves, backlogs, several stores on one
seller account. Each test makes a sandbox misbehave over real HTTP and judges the outcome from the
sandboxes' own records (Commerce's ledger, Amazon's data), never from the importer's counters alone.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sales_channel.pipeline.importing.account import ImportIncomplete
from sales_channel.sandbox.catalog import PRODUCTS, CatalogIssue
from sales_channel.sandbox.oracle import importable, stock_units
from sales_channel.store.snapshots import OrderSnapshot

from tests.fixtures.hostile_orders import SKUS, base_order, item
from tests.pipeline.conftest import ACCOUNT, Harness

pytestmark = pytest.mark.slow


def post_raw(harness: Harness, order: dict) -> None:
    harness.amazon("POST", "orders/raw", json=order)


def fresh(order_id: str, **changes) -> dict:
    """A valid merchant-fulfilled US order updated just now (so the next window holds it)."""
    order = base_order(order_id, **changes)
    order["lastUpdatedTime"] = (datetime.now(UTC) - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return order


def merchant_units(harness: Harness) -> Counter[str]:
    """The units the import takes from stock: those of every importable merchant-fulfilled order."""
    units: Counter[str] = Counter()
    for order in harness.amazon_orders():
        if importable(order) and order["fulfillment"]["fulfilledBy"] == "MERCHANT":
            units.update(stock_units(order))
    return units


def salable(harness: Harness, sku: str) -> Decimal:
    from sales_channel.commerce.client import CommerceClient
    from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS as CREDS

    with CommerceClient(harness.commerce_url, CREDS["commerce_token"]) as client:
        return client.catalog.get_stock_item(sku).qty


def test_an_ambiguous_create_that_commits_late_is_looked_up_after_it_settles_never_created_twice(harness):
    """POST /V1/orders answers 504 while Magento is still saving (it commits 3 s later): the immediate
    lookup finds nothing. The next run, a second later, must not create it again (a lookup would still
    find nothing): the claim waits for its settle delay; after it, the lookup finds the order, which is
    adopted as ours (its stock taken once)."""
    harness.run()  # the seeded orders first: the fault below is for this one order
    post_raw(harness, fresh("990-0000001-0000001"))
    before = {sku: salable(harness, sku) for sku in SKUS}
    harness.commerce("PUT", "faults", json={"after_write_next": 1, "late_commit_s": 3, "operations": ["saveOrder"]})
    with pytest.raises(ImportIncomplete):
        harness.run(settle=timedelta(seconds=5))
    time.sleep(1)  # the task's retry, before Magento has committed
    harness.run(settle=timedelta(seconds=5))
    time.sleep(4.5)
    harness.run(settle=timedelta(seconds=5))
    created = harness.created()
    assert created["990-0000001-0000001"] == 1 and max(created.values()) == 1, "never two Commerce orders"
    channel = harness.channel()
    assert channel.links.get(ACCOUNT, "990-0000001-0000001") is not None
    assert "adopted" in [e.event_type for e in channel.events.for_order(ACCOUNT, "990-0000001-0000001")]
    # Ours: its stock was taken once (two mugs, one tea).
    assert salable(harness, SKUS[0]) == before[SKUS[0]] - 2
    assert salable(harness, SKUS[1]) == before[SKUS[1]] - 1


def test_a_create_dropped_after_the_write_is_adopted_and_finished_once(harness):
    harness.commerce("PUT", "faults", json={"drop_next": 1, "operations": ["saveOrder"]})
    harness.run()
    created = harness.created()
    assert created and max(created.values()) == 1
    comments = harness.commerce("GET", "ledger", params={"event": "order_commented"})["events"]
    assert Counter(e["entity_id"] for e in comments).most_common(1)[0][1] == 1, "one import comment per order"


def test_two_stores_on_one_seller_account_share_one_search(harness):
    harness.amazon("DELETE", "calls")
    harness.run()
    assert harness.search_calls() == 1, "one searchOrders call for both stores' marketplaces"
    made = harness.created()
    expected = {o["orderId"] for o in harness.amazon_orders() if importable(o)}
    assert set(made) == expected and max(made.values()) == 1
    channel = harness.channel()
    assert channel.watermarks.get("us", "import") == channel.watermarks.get("eu", "import") is not None


def test_one_sku_whose_stock_commerce_cannot_tell_quarantines_only_its_orders(harness):
    post_raw(harness, fresh("990-0000002-0000001"))  # the mug and the tea
    post_raw(harness, fresh("990-0000002-0000002", items=[item("60000000000003", SKUS[1], 1, "8.49")]))
    harness.commerce("PUT", f"products/{SKUS[0]}/stock/assignment", json={"assigned": False})
    harness.run()
    created = harness.created()
    assert "990-0000002-0000002" in created and "990-0000002-0000001" not in created
    entry = harness.channel().quarantine.get(ACCOUNT, "990-0000002-0000001")
    assert entry.reason_code == "catalog_lookup_failed" and SKUS[0] in entry.message
    # Once Commerce can tell again, the retry imports it.
    harness.commerce("PUT", f"products/{SKUS[0]}/stock/assignment", json={"assigned": True})
    harness.run()
    assert harness.created()["990-0000002-0000001"] == 1


def test_a_quarantined_order_amazon_no_longer_serves_is_closed_and_does_not_block_the_retries(harness):
    unknown = fresh("990-0000003-0000001", items=[item("60000000000004", "NOT-IN-ANY-CATALOG", 1, "5.00")])
    post_raw(harness, unknown)
    harness.run()
    assert harness.channel().quarantine.get(ACCOUNT, "990-0000003-0000001").reason_code == "unknown_sku"
    harness.amazon("DELETE", "orders/990-0000003-0000001")
    harness.make_due("990-0000003-0000001")
    post_raw(harness, fresh("990-0000003-0000002"))
    harness.run()
    entry = harness.channel().quarantine.get(ACCOUNT, "990-0000003-0000001")
    assert entry.resolved_at is not None and "404" in entry.resolution
    assert harness.created()["990-0000003-0000002"] == 1


def test_an_amazon_fulfilled_order_whose_invoice_failed_is_finished_by_the_next_run(harness):
    afn = [o for o in harness.amazon_orders() if importable(o) and o["fulfillment"]["fulfilledBy"] == "AMAZON"]
    assert afn, "the seed holds Amazon-fulfilled shipped orders"
    harness.commerce("PUT", "faults", json={"fail_next": 50, "operations": ["invoiceOrder"]})
    with pytest.raises(ImportIncomplete):
        harness.run(settle=timedelta(0))
    harness.commerce("DELETE", "faults")
    channel = harness.channel()
    assert all(channel.links.get(ACCOUNT, o["orderId"]) for o in afn), "created and linked"
    summary = harness.run()
    assert summary.stores["us"].resumed + summary.stores["eu"].resumed >= len(afn)
    invoiced = Counter(e["entity_id"] for e in harness.commerce("GET", "ledger", params={"event": "order_invoiced"})[
        "events"])
    shipped = Counter(e["entity_id"] for e in harness.commerce("GET", "ledger", params={"event": "order_shipped"})[
        "events"])
    for order in afn:
        entity = channel.links.get(ACCOUNT, order["orderId"]).commerce_entity_id
        assert invoiced[entity] == 1 and shipped[entity] == 1, order["orderId"]
    assert max(harness.created().values()) == 1


def test_a_stock_write_that_fails_after_it_landed_is_not_applied_twice(harness):
    post_raw(harness, fresh("990-0000004-0000001", items=[item("60000000000005", SKUS[1], 3, "8.49")]))
    units = merchant_units(harness)
    before = {sku: salable(harness, sku) for sku in units}
    # The first stock write of the run lands, then answers 504 (whichever SKU it is).
    harness.commerce("PUT", "faults", json={"after_write_next": 1, "operations": ["updateStockItemBySku"]})
    harness.run(settle=timedelta(seconds=0))  # the resumed take is due at once
    assert harness.commerce("GET", "faults")["after_write_next"] == 0, "the fault was used"
    harness.commerce("DELETE", "faults")
    harness.run(settle=timedelta(seconds=0))
    assert {sku: salable(harness, sku) for sku in units} == {sku: before[sku] - n for sku, n in units.items()}, \
        "every take once, the ambiguous one included"


def test_a_sale_made_by_another_channel_between_runs_is_kept(harness):
    post_raw(harness, fresh("990-0000005-0000001", items=[item("60000000000006", SKUS[1], 2, "8.49")]))
    units = merchant_units(harness)
    before = salable(harness, SKUS[1])
    # Another channel sells 4 after the import has looked at the stock (the salable quantity), before it writes.
    harness.commerce("POST", f"products/{SKUS[1]}/stock/sell", json={"qty": 4, "after_next_read": True})
    harness.run()
    assert salable(harness, SKUS[1]) == before - 4 - units[SKUS[1]]


def test_a_rejected_order_is_quarantined_and_does_not_hold_the_watermark(harness):
    post_raw(harness, fresh("990-0000006-0000001"))
    harness.commerce("PUT", "faults", json={"fail_next": 1, "error_statuses": [400], "operations": ["saveOrder"]})
    summary = harness.run()
    assert summary.window_complete
    channel = harness.channel()
    assert channel.watermarks.get("us", "import") is not None
    assert sum(s.outcomes["in_progress_elsewhere"] for s in summary.stores.values()) == 0
    assert sum(s.quarantine_reasons["commerce_rejected"] for s in summary.stores.values()) == 1


def test_a_backlog_is_imported_over_runs_that_each_stop_at_their_deadline_without_rereading(harness):
    until = (datetime.now(UTC) - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    backlog = harness.amazon("POST", "orders/backlog", json={"count": 450, "marketplaceIds": ["ATVPDKIKX0DER"],
                                                             "lastUpdatedTo": until})
    for product in (p for p in PRODUCTS if p.issue is CatalogIssue.NONE):
        harness.commerce("PUT", f"products/{product.sku}/stock", json={"qty": 100000})
    harness.channel().skus.put(ACCOUNT, "FP-1000-AMZ", "FRENCH-PRESS-1L")  # the seed's one mapped SKU
    harness.amazon("DELETE", "calls")
    runs = 0
    while True:
        runs += 1
        summary = harness.run(deadline_s=0.01)  # time for about one page per run
        if summary.window_complete or runs > 30:
            break
    assert summary.window_complete and runs > 1, "the window took several runs"
    fetched = harness.search_calls()
    created = harness.created()
    assert set(backlog["orderIds"]) <= set(created) and max(created.values()) == 1
    total_pages = -(-len(harness.amazon_orders()) // 100)
    assert fetched <= total_pages + runs, "each run re-read at most the one page read ahead of its stop"


def test_a_failing_importer_stops_the_reader_from_spending_the_plan(harness):
    harness.amazon("POST", "orders/backlog", json={"count": 900, "marketplaceIds": ["ATVPDKIKX0DER"]})
    harness.commerce("PUT", "faults", json={"fail_next": 1000, "error_statuses": [503],
                                            "operations": ["getProductList"]})
    with pytest.raises(Exception, match="product lookup failed"):
        harness.run()
    time.sleep(1)
    assert not [t for t in threading.enumerate() if t.name.startswith("read-")], "the reader stopped with the import"
    # The checkpoint kept the window where it was: the next run continues from it.
    assert harness.channel().checkpoints.get(ACCOUNT, "import").pages_done == 0


def test_a_buyer_commerce_refuses_as_a_customer_quarantines_only_that_order(harness):
    harness.overrides["us"] = harness.overrides["eu"] = {"customer_creation": "create"}
    harness.commerce("PUT", "faults", json={"fail_next": 1, "error_statuses": [400], "operations": ["createCustomer"]})
    summary = harness.run()  # no ImportIncomplete: a refusal is the order's problem, not a failure
    refused = [s for s in summary.stores.values() if s.quarantine_reasons["commerce_rejected"]]
    assert len(refused) == 1 and refused[0].quarantine_reasons["commerce_rejected"] == 1
    quarantined = {e.amazon_order_id for e in harness.channel().quarantine.open(ACCOUNT)
                   if e.reason_code == "commerce_rejected"}
    expected = {o["orderId"] for o in harness.amazon_orders() if importable(o)} - quarantined
    created = harness.created()
    assert set(created) == expected and max(created.values()) == 1, "every other order, the same batch's included"


def test_a_seller_sku_with_a_comma_is_looked_up_alone(harness):
    post_raw(harness, fresh("990-0000007-0000001", items=[item("60000000000007", "MUG,CERAMIC", 1, "9.00")]))
    post_raw(harness, fresh("990-0000007-0000002"))
    harness.run()
    assert harness.channel().quarantine.get(ACCOUNT, "990-0000007-0000001").reason_code == "unknown_sku"
    assert harness.created()["990-0000007-0000002"] == 1


def test_a_paused_stores_quarantine_never_crowds_out_another_stores_retries(harness):
    """250 older due entries of an inactive store sharing the seller account come first in the table;
    the active store's retry is still taken."""
    harness.overrides["eu"] = {"active": False}
    channel = harness.channel()
    for n in range(250):
        order = base_order(f"990-0000008-{n:07d}")
        order["salesChannel"]["marketplaceId"] = "A1PA6795UKMFR9"
        channel.snapshots.upsert_many([OrderSnapshot.from_amazon(ACCOUNT, order)])
        channel.quarantine.record(ACCOUNT, order["orderId"], "unknown_sku", "an eu order waiting for a product")
    post_raw(harness, fresh("990-0000009-0000001", items=[item("60000000000008", "LATE-PRODUCT", 1, "5.00")]))
    harness.run()
    assert channel.quarantine.get(ACCOUNT, "990-0000009-0000001").reason_code == "unknown_sku"
    harness.commerce("PUT", "products/LATE-PRODUCT", json={"name": "Late product", "price": 5, "qty": 10})
    harness.make_due(*(f"990-0000008-{n:07d}" for n in range(250)), "990-0000009-0000001")
    harness.run()
    assert harness.created()["990-0000009-0000001"] == 1
