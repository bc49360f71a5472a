"""End to end: the amazon_order_status_sync DAG run with dag.test() against both sandboxes.

Every arrow of the sync: what the merchant does in Commerce (through its REST API) is checked in
the Amazon sandbox's ledger, what happens on Amazon (through its control API) in Commerce.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sales_channel.commerce.models import Track

from tests.dags.conftest import ACCOUNT, World, run_dag

pytestmark = pytest.mark.usefixtures("fast_feeds")


@pytest.fixture
def fast_feeds(monkeypatch):
    monkeypatch.setenv("AIRFLOW__SALES_CHANNEL__FEED_POLL_SECONDS", "1")
    # The sandbox takes two minutes to process a feed; these tests move its clock between runs instead.
    monkeypatch.setenv("AIRFLOW__SALES_CHANNEL__FEED_FOLLOW_MINUTES", "0.05")


def _imported(world: World, *, multi_item: bool = False) -> list[tuple[str, Any]]:
    """Import the seed; the linked merchant-fulfilled unshipped orders of store us, with their Commerce orders."""
    run_dag("amazon_order_import")
    channel = world.channel()
    commerce = world.commerce()
    try:
        found = []
        for order in world.all_amazon_orders():
            link = channel.links.get(ACCOUNT, order["orderId"])
            if (link is None or link.store_code != "default" or order["fulfillment"]["fulfilledBy"] != "MERCHANT"
                    or order["fulfillment"]["fulfillmentStatus"] != "UNSHIPPED"):
                continue
            commerce_order = commerce.orders.get(link.commerce_entity_id)
            if multi_item and sum(int(i.qty_ordered) for i in commerce_order.items) < 2:
                continue
            found.append((order["orderId"], commerce_order))
        return found
    finally:
        channel.close()


def _ledger(world: World, kind: str, order_id: str) -> list[dict[str, Any]]:
    return world.amazon_control("GET", "ledger", params={"kind": kind, "orderId": order_id})["entries"]


def _process_feeds(world: World) -> None:
    """Let Amazon process the feeds sent so far (feeds take two minutes of sandbox lifecycle time)."""
    world.amazon_control("POST", "lifecycle/advance", json={"seconds": 130})


def _states(run) -> dict[str, str]:
    return {f"{ti.task_id}[{ti.map_index}]": ti.state for ti in run.get_task_instances()}


def test_a_partial_shipment_in_two_packages_becomes_two_amazon_packages_once(world: World):
    order_id, order = _imported(world, multi_item=True)[0]
    commerce = world.commerce()
    first, *rest = order.items
    one = commerce.shipments.create(order.entity_id, {first.item_id: 1},
                                    [Track(track_number="1Z999AA10123456784", carrier_code="ups", title="UPS")])
    run = run_dag("amazon_order_status_sync")
    assert set(_states(run).values()) == {"success"}, _states(run)
    two = commerce.shipments.create(order.entity_id, None,
                                    [Track(track_number="JD0002", carrier_code="custom", title="Speedy Parcels")])
    run_dag("amazon_order_status_sync")
    run_dag("amazon_order_status_sync")  # nothing new: nothing sent again

    packages = _ledger(world, "shipment", order_id)
    assert [p["packageReferenceId"] for p in packages] == [str(one), str(two)]
    assert packages[0]["carrierCode"] == "UPS" and packages[0]["trackingNumber"] == "1Z999AA10123456784"
    assert packages[0]["items"] == [{"orderItemId": first.ext_order_item_id, "quantity": 1}]
    shipped = {i["orderItemId"]: i["quantity"] for p in packages for i in p["items"]}
    expected: dict[str, int] = {}
    for item in order.items:
        expected[item.ext_order_item_id] = int(item.qty_ordered)
    assert {k: v for k, v in shipped.items()} == expected  # every unit exactly once over the two packages
    assert packages[1]["carrierCode"] == "Other"
    amazon = next(o for o in world.all_amazon_orders() if o["orderId"] == order_id)
    assert amazon["fulfillment"]["fulfillmentStatus"] == "SHIPPED"


def _comments(world: World, order_id: int) -> list[str]:
    return [c.comment for c in world.commerce().orders.list_comments(order_id)]


def _outbox(world: World, kind: str, prefix: str) -> list[Any]:
    channel = world.channel()
    try:
        return channel.outbox.find(kind, prefix)
    finally:
        channel.close()


def test_a_shipment_without_tracking_is_held_and_confirmed_once_a_track_is_added(world: World):
    order_id, order = _imported(world)[0]
    commerce = world.commerce()
    shipment_id = commerce.shipments.create(order.entity_id)
    run_dag("amazon_order_status_sync")
    assert _ledger(world, "shipment", order_id) == []
    [held] = _outbox(world, "amazon_shipment_confirm", f"us/shipment/{shipment_id}")
    assert held.status == "held"
    commerce.shipments.add_track(shipment_id, order.entity_id, Track(track_number="9400111899223", carrier_code="usps",
                                                                     title="USPS"))
    run_dag("amazon_order_status_sync")
    run_dag("amazon_order_status_sync")
    [package] = _ledger(world, "shipment", order_id)
    assert (package["packageReferenceId"], package["carrierCode"], package["trackingNumber"]) == (
        str(shipment_id), "USPS", "9400111899223")


def test_a_partial_refund_is_sent_once_and_a_refund_beyond_what_amazon_holds_is_refused(world: World):
    from sales_channel.amazon.feeds_xml import AdjustedItem, OrderRefund, build_payment_adjustment_feed
    from sales_channel.domain.amazon_order import parse_order

    order_id, order = next((o, c) for o, c in _imported(world) if len(c.items) >= 2)
    commerce = world.commerce()
    commerce.invoices.create(order.entity_id)
    first, second = order.items[:2]
    memo_id = commerce.creditmemos.create(order.entity_id, {first.item_id: 1}, shipping_amount=Decimal(0))
    run_dag("amazon_order_status_sync")
    _process_feeds(world)
    run_dag("amazon_order_status_sync")
    run_dag("amazon_order_status_sync")  # nothing new: nothing sent again
    [refund] = _ledger(world, "refund", order_id)
    memo = commerce.creditmemos.get(memo_id)
    line = next(i for i in memo.items if i.order_item_id == first.item_id)
    assert refund["orderItemId"] == first.ext_order_item_id
    assert refund["merchantAdjustmentItemId"] == f"CM{memo_id}-1"
    assert Decimal(refund["components"]["Principal"]) == line.row_total - line.discount_amount
    assert Decimal(refund["components"].get("Tax", "0")) == line.tax_amount
    [row] = _outbox(world, "amazon_refund", f"us/{order_id}/creditmemo/{memo_id}")
    assert row.status == "confirmed"

    # The second item is refunded in Seller Central; the import reads the order again.
    raw = next(o for o in world.all_amazon_orders() if o["orderId"] == order_id)
    parsed = parse_order(raw)
    item = next(i for i in parsed.items if i.order_item_id == second.ext_order_item_id)
    amazon = _amazon_client(world)
    feed = build_payment_adjustment_feed(amazon.seller_id, [OrderRefund(order_id, "SELLER-CENTRAL", parsed.currency, [
        AdjustedItem(item.order_item_id, "CustomerReturn", {"Principal": item.charges.item - item.charges.discount})])])
    amazon.submit_feed(feed.feed_type, [parsed.marketplace_id], feed.xml)
    _process_feeds(world)
    run_dag("amazon_order_import")
    too_much = commerce.creditmemos.create(order.entity_id, {second.item_id: int(second.qty_ordered)},
                                           shipping_amount=Decimal(0))
    run_dag("amazon_order_status_sync")
    _process_feeds(world)
    assert len(_ledger(world, "refund", order_id)) == 2  # ours and Seller Central's, nothing more
    [refused] = _outbox(world, "amazon_refund", f"us/{order_id}/creditmemo/{too_much}")
    assert refused.status == "failed" and "left" in refused.last_error
    assert any("Not refunded on Amazon" in c for c in _comments(world, order.entity_id))


def _amazon_client(world: World):
    from sales_channel.airflow.hooks import AmazonSellingPartnerHook

    return AmazonSellingPartnerHook(ACCOUNT, channel=world.channel()).get_conn()


def test_cancelling_an_unshipped_order_cancels_it_on_amazon_once(world: World):
    (order_id, order), *_ = _imported(world)
    assert world.commerce().orders.cancel(order.entity_id)
    run_dag("amazon_order_status_sync")
    _process_feeds(world)
    run_dag("amazon_order_status_sync")
    [cancellation] = _ledger(world, "cancellation", order_id)
    assert cancellation["cancelledBy"] == "MERCHANT" and cancellation["reason"] == "NoInventory"


def test_a_feed_with_one_refused_message_confirms_the_others_and_comments_on_the_refused_order(world: World):
    orders = _imported(world)[:3]
    shipped_id, shipped = orders[0]
    # Shipped in Seller Central meanwhile: our snapshot still says unshipped.
    amazon = _amazon_client(world)
    items = [{"order_item_id": i.ext_order_item_id, "quantity": int(i.qty_ordered)} for i in shipped.items]
    amazon.confirm_shipment(shipped_id, next(o for o in world.all_amazon_orders()
                                             if o["orderId"] == shipped_id)["salesChannel"]["marketplaceId"],
                            {"package_reference_id": "77", "carrier_code": "UPS", "tracking_number": "1Z1",
                             "ship_date": "2026-11-30T10:00:00Z", "order_items": items})
    for _, order in orders:
        assert world.commerce().orders.cancel(order.entity_id)
    run_dag("amazon_order_status_sync")
    _process_feeds(world)
    run_dag("amazon_order_status_sync")  # reads the processing report, queues the comment
    run_dag("amazon_order_status_sync")  # applies the comment
    assert _ledger(world, "cancellation", shipped_id) == []
    for order_id, _ in orders[1:]:
        assert len(_ledger(world, "cancellation", order_id)) == 1
    [row] = _outbox(world, "amazon_order_cancel", f"{ACCOUNT}/{shipped_id}")
    assert row.status == "failed" and "cannot be canceled" in row.last_error
    assert any("has shipped and cannot be cancelled" in c for c in _comments(world, shipped.entity_id))


def test_cancelling_an_order_amazon_has_shipped_sends_nothing_and_says_why(world: World):
    order_id, order = _imported(world, multi_item=True)[0]
    commerce = world.commerce()
    first = order.items[0]
    commerce.shipments.create(order.entity_id, {first.item_id: 1}, [Track(track_number="1Z2", carrier_code="ups",
                                                                          title="UPS")])
    run_dag("amazon_order_status_sync")
    assert commerce.orders.cancel(order.entity_id)  # Commerce cancels what is left of it
    # Whether the sync already knows Amazon shipped part of it (refused before sending) or learns it
    # from the feed's processing report (Amazon refuses), the order is not cancelled and a comment says why.
    run_dag("amazon_order_status_sync")
    _process_feeds(world)
    run_dag("amazon_order_status_sync")
    run_dag("amazon_order_status_sync")
    assert _ledger(world, "cancellation", order_id) == []
    assert any("has shipped and cannot be cancelled" in c for c in _comments(world, order.entity_id))


def test_an_order_edited_in_the_admin_is_followed_to_its_copy_and_never_cancelled(world: World):
    order_id, order = _imported(world)[0]
    copy = world.commerce_control("POST", f"orders/{order.entity_id}/edit", json={})
    run_dag("amazon_order_status_sync")
    assert _ledger(world, "cancellation", order_id) == []
    channel = world.channel()
    try:
        link = channel.links.get(ACCOUNT, order_id)
    finally:
        channel.close()
    assert (link.commerce_entity_id, link.commerce_increment_id) == (copy["entity_id"], copy["increment_id"])
    # The copy's shipment reaches Amazon through the moved link.
    commerce = world.commerce()
    shipment_id = commerce.shipments.create(copy["entity_id"], None, [Track(track_number="1Z3", carrier_code="ups",
                                                                            title="UPS")])
    run_dag("amazon_order_status_sync")
    assert [p["packageReferenceId"] for p in _ledger(world, "shipment", order_id)] == [str(shipment_id)]


def test_read_only_store_sends_nothing_either_way(world: World):
    order_id, order = _imported(world)[0]
    world.set_stores(world.stores(read_only=True))
    commerce = world.commerce()
    commerce.shipments.create(order.entity_id, None, [Track(track_number="1Z4", carrier_code="ups", title="UPS")])
    run = run_dag("amazon_order_status_sync")
    assert set(_states(run).values()) == {"success"}
    assert _ledger(world, "shipment", order_id) == []
    assert _outbox(world, "amazon_shipment_confirm", "us/") == []
