"""The cancel and re-send operations against both sandboxes and a real channel database (SQLite, and
PostgreSQL when configured), without Airflow, each step run as one task attempt builds it — and run
again, as a retried or cleared task would: nothing happens twice, and another run is refused."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sales_channel.amazon.auth import LwaCredentials
from sales_channel.commerce.models import Track
from sales_channel.pipeline.operations.cancel import OrderCancel, ShippedCannotCancel, locate
from sales_channel.pipeline.operations.report import Actor, NotYet
from sales_channel.pipeline.operations.requests import CancelReason, CancelRequest, OperationRefused
from sales_channel.pipeline.operations.resend_shipment import ShipmentResend
from sales_channel.pipeline.standalone import AccountStatusSync, open_status_sync
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS as CREDS

from tests.pipeline import test_status_sync_from_amazon as from_amazon
from tests.pipeline.conftest import ACCOUNT, Harness
from tests.pipeline.test_status_sync_from_amazon import add_order, commerce_client, commerce_order, entity_id

pytestmark = pytest.mark.slow
harness = from_amazon.harness  # the fixture: both sandboxes without seeded orders, a migrated channel db

RUN = Actor("ops@example.com", "script/run-1")
OTHER_RUN = Actor("ops@example.com", "script/run-2")


@contextmanager
def status_sync(harness: Harness, **settings) -> Iterator[AccountStatusSync]:
    with open_status_sync(harness.settings(**settings), amazon_url=harness.amazon_url,
                          commerce_url=harness.commerce_url, db_url=harness.db_url,
                          credentials=LwaCredentials(CREDS["lwa_client_id"], CREDS["lwa_client_secret"],
                                                     CREDS["refresh_token"]),
                          commerce_token=CREDS["commerce_token"], settle=timedelta(seconds=1),
                          retry=timedelta(0)) as sync:
        yield sync


@contextmanager
def order_cancel(harness: Harness, order_id: str, actor: Actor = RUN) -> Iterator[OrderCancel]:
    """One step's cancel, built anew (as each task attempt builds it)."""
    with status_sync(harness) as sync:
        clients = sync.clients
        store, link = locate(clients.channel, clients.stores, order_id)
        yield OrderCancel(CancelRequest(order_id, CancelReason.NO_INVENTORY, "Broken in the warehouse"), store, link,
                          clients.stores, clients.amazon, clients.commerce, clients.channel, sync.work, actor)


def ledger(harness: Harness, kind: str, order_id: str) -> list[dict]:
    return harness.amazon("GET", "ledger", params={"kind": kind, "orderId": order_id})["entries"]


def test_each_cancel_step_repeated_cancels_once_and_another_run_is_told_it_is_done(harness):
    order_id = add_order(harness)
    harness.run()
    entity = entity_id(harness, order_id)
    for _ in range(2):
        with order_cancel(harness, order_id) as cancel:
            assert cancel.queue()[1] is True
    for _ in range(2):
        with order_cancel(harness, order_id) as cancel:
            cancel.send()
    with order_cancel(harness, order_id) as cancel, pytest.raises(NotYet, match="has not processed feed"):
        cancel.finish()
    harness.amazon("POST", "lifecycle/advance", json={"seconds": 130})
    for _ in range(2):
        with order_cancel(harness, order_id) as cancel:
            assert "is cancelled, with a comment" in cancel.finish().lines[-1]

    [cancellation] = ledger(harness, "cancellation", order_id)
    assert cancellation["reason"] == "NoInventory"
    assert commerce_order(harness, entity).state == "canceled"
    assert len(harness.commerce("GET", "ledger", params={"event": "order_canceled", "entity_id": entity})["events"]) == 1
    with order_cancel(harness, order_id, OTHER_RUN) as cancel:
        report, to_send = cancel.queue()
    assert to_send is False and "has cancelled order" in report.lines[-1]


def test_a_cancel_of_an_order_shipped_in_seller_central_is_refused_before_anything_is_queued(harness):
    order_id = add_order(harness)
    harness.run()
    raw = harness.amazon("GET", f"orders/{order_id}")["order"]
    with status_sync(harness) as sync:
        sync.clients.amazon.confirm_shipment(order_id, raw["salesChannel"]["marketplaceId"], {
            "package_reference_id": "5", "carrier_code": "UPS", "tracking_number": "1Z5", "ship_date": raw["createdTime"],
            "order_items": [{"order_item_id": raw["orderItems"][0]["orderItemId"], "quantity": 1}]})
    with order_cancel(harness, order_id) as cancel, pytest.raises(
            ShippedCannotCancel, match=f"^order {order_id} has shipped and cannot be cancelled; returns"):
        cancel.queue()
    assert harness.channel().outbox.find("amazon_order_cancel", "") == []
    assert ledger(harness, "cancellation", order_id) == []


def test_a_resend_rebuilds_the_package_sends_it_once_and_refuses_another_run(harness):
    order_id = add_order(harness)
    harness.run()
    entity = entity_id(harness, order_id)
    commerce = commerce_client(harness)
    harness.amazon("PUT", "faults", json={"fail_next": 1, "error_statuses": [400], "operations": ["confirmShipment"]})
    shipment_id = commerce.shipments.create(entity)
    with status_sync(harness, shipments_without_tracking="confirm") as sync:
        sync.store("us").run()
    harness.amazon("DELETE", "faults")
    commerce.shipments.add_track(shipment_id, entity, Track(track_number="1Z777", carrier_code="ups", title="UPS"))

    def resend(actor: Actor):
        with status_sync(harness) as sync:
            store = next(s for s in sync.clients.stores if s.key == "us")
            return ShipmentResend(store, sync.clients.amazon, sync.clients.commerce["us"], sync.clients.channel,
                                  sync.work, actor).resend(shipment_id)

    assert "confirmed to Amazon: package" in resend(RUN).lines[-1]
    assert "earlier attempt of this run" in resend(RUN).lines[-1], "a retried task carries on"
    with pytest.raises(OperationRefused, match="is on Amazon already"):
        resend(OTHER_RUN)
    [package] = ledger(harness, "shipment", order_id)
    assert (package["packageReferenceId"], package["trackingNumber"]) == (str(shipment_id), "1Z777")
    asked = [e for e in harness.channel().events.for_order(ACCOUNT, order_id) if e.event_type == "shipment_resend_requested"]
    assert [e.details["operation"] for e in asked] == [RUN.operation], "asked once; the retry carried on"
