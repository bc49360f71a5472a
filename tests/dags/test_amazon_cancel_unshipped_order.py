"""End to end: the amazon_cancel_unshipped_order DAG run with dag.test() against both sandboxes.

The seed is imported first (as in production); then a person cancels one order. Judged from Amazon's
ledger (cancellations), the Commerce orders and their comments, and the channel database (the outbox,
the orders' timelines)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sales_channel.pipeline.importing.stock import RETURN_KIND, order_source

from tests.dags.conftest import ACCOUNT, World, run_dag
from tests.dags.test_amazon_order_status_sync import (  # noqa: F401 (fast_feeds: a fixture)
    _amazon_client,
    _comments,
    _imported,
    _ledger,
    fast_feeds,
)
from tests.dags.test_amazon_reimport_orders import logged, refused_before_a_run, states

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("fast_feeds")]

DAG_ID = "amazon_cancel_unshipped_order"
NOTE = "The last unit fell off the shelf"


@contextmanager
def amazon_processes_feeds(world: World) -> Iterator[None]:
    """While the block runs a DAG: as soon as a feed is submitted, the two minutes Amazon takes to process
    it pass on the sandbox's lifecycle clock (no order's lifecycle moves in that time)."""
    def submitted() -> int:
        return world.amazon_control("GET", "calls")["calls"].get("createFeed", 0)

    stop = threading.Event()
    seen = submitted()

    def watch() -> None:
        nonlocal seen
        while not stop.wait(0.05):
            if (now := submitted()) > seen:
                world.amazon_control("POST", "lifecycle/advance", json={"seconds": 130})
                seen = now

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()


def _cancel_row(world: World, order_id: str):
    channel = world.channel()
    try:
        return channel.outbox.get("amazon_order_cancel", f"{ACCOUNT}/{order_id}")
    finally:
        channel.close()


def _events(world: World, order_id: str) -> list[tuple[str, str]]:
    channel = world.channel()
    try:
        return [(e.event_type, e.message) for e in channel.events.for_order(ACCOUNT, order_id)]
    finally:
        channel.close()


def test_cancelling_an_unshipped_order_cancels_it_once_on_amazon_and_in_commerce(world: World, capfd, caplog):
    order_id, order = _imported(world)[0]
    logged(capfd, caplog)
    with amazon_processes_feeds(world):
        run = run_dag(DAG_ID, amazon_order_id=order_id, reason="ShippingAddressUndeliverable", note=NOTE)
    assert run.state == "success", states(run)
    assert {task: state for task, (state, _) in states(run).items()} == {
        "queue_cancel": "success", "send_cancel": "success", "follow_feed": "success", "finish_cancel": "success"}
    log = logged(capfd, caplog)
    assert f"Commerce order {order.increment_id} is cancelled, with a comment giving the reason and the note" in log

    [cancellation] = _ledger(world, "cancellation", order_id)
    assert (cancellation["cancelledBy"], cancellation["reason"]) == ("MERCHANT", "ShippingAddressUndeliverable")
    commerce_order = world.commerce().orders.get(order.entity_id)
    assert commerce_order.state == "canceled"
    comments = _comments(world, order.entity_id)
    [comment] = [c for c in comments if c.startswith("Cancelled on Amazon")]
    assert "Shipping address undeliverable (ShippingAddressUndeliverable)" in comment and NOTE in comment
    assert sum(c.startswith("Canceled by the Amazon Sales Channel pipelines") for c in comments) == 1
    row = _cancel_row(world, order_id)
    assert row.status == "confirmed" and row.payload["origin"] == "manual"
    assert NOTE not in json.dumps(row.payload), "the note never goes to Amazon"
    events = dict(_events(world, order_id))
    assert NOTE in events["cancel_requested"] and "cancelled_on_request" in events

    # The scheduled sync finds nothing left to do: nothing is sent or cancelled twice.
    run_dag("amazon_order_import")
    run_dag("amazon_order_status_sync")
    assert len(_ledger(world, "cancellation", order_id)) == 1
    assert _comments(world, order.entity_id) == comments
    channel = world.channel()
    try:
        [returned] = channel.outbox.find(RETURN_KIND, order_source(ACCOUNT, order_id))
    finally:
        channel.close()
    assert returned.status == "confirmed", "the stock the import took went back, once"


def test_an_order_amazon_has_shipped_is_refused_and_nothing_changes(world: World, capfd, caplog):
    order_id, order = _imported(world)[0]
    # Shipped in Seller Central: the channel database's snapshot still says unshipped.
    raw = next(o for o in world.all_amazon_orders() if o["orderId"] == order_id)
    first = order.items[0]
    _amazon_client(world).confirm_shipment(order_id, raw["salesChannel"]["marketplaceId"], {
        "package_reference_id": "91", "carrier_code": "UPS", "tracking_number": "1Z91",
        "ship_date": "2026-11-30T10:00:00Z", "order_items": [{"order_item_id": first.ext_order_item_id, "quantity": 1}]})
    comments = _comments(world, order.entity_id)
    logged(capfd, caplog)

    run = run_dag(DAG_ID, amazon_order_id=order_id, reason="NoInventory", note=NOTE)
    assert run.state == "failed"
    assert states(run)["queue_cancel"] == ("failed", 1), "a refusal is not retried"
    assert f"refused: order {order_id} has shipped and cannot be cancelled" in logged(capfd, caplog)
    assert _ledger(world, "cancellation", order_id) == []
    assert _cancel_row(world, order_id) is None
    assert world.commerce().orders.get(order.entity_id).state == order.state
    assert _comments(world, order.entity_id) == comments


def test_an_order_amazon_cancelled_already_is_said_so_and_nothing_is_sent(world: World, capfd, caplog):
    order_id, order = _imported(world)[0]
    world.amazon_control("PATCH", f"orders/{order_id}", json={"status": "CANCELLED", "cancelledBy": "BUYER"})
    logged(capfd, caplog)
    run = run_dag(DAG_ID, amazon_order_id=order_id, reason="NoInventory")
    assert run.state == "success"
    assert {task: state for task, (state, _) in states(run).items()} == {
        "queue_cancel": "skipped", "send_cancel": "skipped", "follow_feed": "skipped", "finish_cancel": "skipped"}
    assert f"Amazon has cancelled order {order_id} already: nothing was changed" in logged(capfd, caplog)
    assert [c["cancelledBy"] for c in _ledger(world, "cancellation", order_id)] == ["BUYER"]
    assert _cancel_row(world, order_id) is None


@pytest.mark.parametrize(("settings", "prepare", "message"), [
    ({"read_only": True}, None, "store us is read-only"),
    ({}, "invoice", "cannot be cancelled (it is fully invoiced"),
])
def test_a_read_only_store_or_an_order_commerce_cannot_cancel_is_refused_on_both_sides(
        world: World, capfd, caplog, settings, prepare, message):
    order_id, order = _imported(world)[0]
    if prepare == "invoice":
        world.commerce().invoices.create(order.entity_id)
    world.set_stores(world.stores(**settings))
    logged(capfd, caplog)
    run = run_dag(DAG_ID, amazon_order_id=order_id, reason="NoInventory")
    assert run.state == "failed" and states(run)["queue_cancel"] == ("failed", 1)
    assert message in logged(capfd, caplog)
    assert _ledger(world, "cancellation", order_id) == [] and _cancel_row(world, order_id) is None
    assert world.commerce().orders.get(order.entity_id).state != "canceled"


@pytest.mark.parametrize(("conf", "field"), [
    ({"amazon_order_id": "113-123456-1234567", "reason": "NoInventory"}, "amazon_order_id"),
    ({"amazon_order_id": "1131234567 1234567", "reason": "NoInventory"}, "amazon_order_id"),
    ({"amazon_order_id": "113-1234567-1234567", "reason": "OutOfStock"}, "reason"),
    ({"amazon_order_id": "113-1234567-1234567", "reason": "NoInventory", "note": "x" * 501}, "note"),
])
def test_the_form_refuses_a_malformed_field_before_a_run_is_created(world: World, conf, field):
    refused_before_a_run(DAG_ID, conf, field)
