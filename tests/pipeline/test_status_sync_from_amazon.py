"""Amazon → Commerce against both sandboxes: orders are imported for real, Amazon changes them (its
control API, or confirmShipment), the import's snapshot of them is refreshed, and the sync runs. Each
outcome is judged from the sandboxes' own records (Commerce's ledger and stock, Amazon's ledger) and
the outbox rows queued for the feed, never from the sync's counters alone.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sales_channel.amazon.auth import LwaCredentials
from sales_channel.amazon.client import SpApiClient
from sales_channel.commerce.client import CommerceClient
from sales_channel.commerce.transport import RetryPolicy
from sales_channel.pipeline.importing.stock import RETURN_KIND
from sales_channel.pipeline.outbox_work import OutboxWork
from sales_channel.pipeline.status_sync.commerce_effects import (
    CANCEL_KIND,
    COMMENT_KIND,
    INVOICE_KIND,
    CommerceEffects,
)
from sales_channel.pipeline.status_sync.from_amazon import STREAM, AmazonToCommerce, FromAmazonSummary
from sales_channel.pipeline.status_sync.kinds import AMAZON_CANCEL_KIND, CONFIRM_KIND
from sales_channel.pipeline.status_sync.to_amazon import CommerceToAmazon
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS as CREDS
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.models import OutboxItem, OutboxStatus
from sales_channel.store.snapshots import OrderSnapshot
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.pipeline.conftest import ACCOUNT, Harness

pytestmark = pytest.mark.slow

MUG, TEA = "MUG-CERAMIC-WHT", "TEA-GREEN-100"
SETTLE = timedelta(seconds=1)


@pytest.fixture
def harness(sandbox_factory, db_url) -> Iterator[Harness]:
    """Both sandboxes with no seeded orders (each test adds the few it needs) and a migrated channel db."""
    amazon = sandbox_factory("amazon", orders=0)
    commerce = sandbox_factory("commerce")
    ChannelStore.open(db_url, migrate=True).close()
    with ExitStack() as stack:
        yield Harness(amazon.url, commerce.url, db_url, stack)


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def add_order(harness: Harness, *, lines: tuple[tuple[str, int], ...] = ((MUG, 2), (TEA, 1)),
              buyer_request: str | None = None) -> str:
    """A merchant-fulfilled US order updated three minutes ago (inside the import's next window)."""
    body: dict[str, Any] = {"items": [{"sellerSku": sku, "quantity": qty} for sku, qty in lines],
                            "createdTime": ago(minutes=4), "lastUpdatedTime": ago(minutes=3)}
    if buyer_request:
        body["buyerCancellationRequest"] = buyer_request
    return harness.amazon("POST", "orders", json=body)["order"]["orderId"]


def refresh(harness: Harness, *order_ids: str) -> None:
    """What the import's next read does with each order: its snapshot becomes Amazon's current order."""
    channel = harness.channel()
    for order_id in order_ids:
        channel.snapshots.upsert(OrderSnapshot.from_amazon(ACCOUNT, harness.amazon("GET", f"orders/{order_id}")["order"]))


def commerce_client(harness: Harness, **kwargs: Any) -> CommerceClient:
    client = CommerceClient(harness.commerce_url, CREDS["commerce_token"], store_code="default", **kwargs)
    harness.stack.callback(client.close)
    return client


def sync(harness: Harness, client: CommerceClient | None = None, **settings: Any) -> FromAmazonSummary:
    """One run of the US store's sync, as one task attempt builds it (nothing carried in memory)."""
    store = next(s for s in harness.settings(**settings) if s.key == "us")
    channel = harness.channel()
    work = OutboxWork(channel.outbox, "sync-test", settle=SETTLE, retry=timedelta(0))
    return AmazonToCommerce(channel, client or commerce_client(harness), store, work).run()


def entity_id(harness: Harness, order_id: str) -> int:
    link = harness.channel().links.get(ACCOUNT, order_id)
    assert link is not None, f"order {order_id} was imported"
    return link.commerce_entity_id


def ledger(harness: Harness, event: str, entity: int) -> list[dict[str, Any]]:
    return harness.commerce("GET", "ledger", params={"event": event, "entity_id": entity})["events"]


def comments(harness: Harness, entity: int, containing: str) -> list[dict[str, Any]]:
    return [e for e in ledger(harness, "order_commented", entity) if containing in e["comment"]]


def rows(harness: Harness, kind: str) -> list[OutboxItem]:
    with Session(harness.channel().engine) as session:
        return list(session.scalars(select(OutboxItem).where(OutboxItem.kind == kind)))


def stock(harness: Harness, *skus: str) -> dict[str, Decimal]:
    client = commerce_client(harness)
    return {sku: client.catalog.get_stock_item(sku).qty for sku in skus}


def commerce_order(harness: Harness, entity: int) -> Any:
    return commerce_client(harness).orders.get(entity)


def test_an_accepted_buyer_request_queues_one_amazon_cancel_and_cancels_the_commerce_order(harness):
    order_id = add_order(harness, buyer_request="Ordered by mistake")
    harness.run()
    entity = entity_id(harness, order_id)
    first, second = sync(harness), sync(harness)

    cancels = rows(harness, AMAZON_CANCEL_KIND)
    assert [(row.source_id, row.target, row.status) for row in cancels] == [
        (f"{ACCOUNT}/{order_id}", ACCOUNT, OutboxStatus.PENDING)], "queued once, for the feed to send"
    item_ids = [i["orderItemId"] for i in harness.amazon("GET", f"orders/{order_id}")["order"]["orderItems"]]
    assert cancels[0].payload == {"amazon_order_id": order_id, "marketplace_id": "ATVPDKIKX0DER",
                                  "reason": "BuyerCanceled", "item_ids": item_ids, "origin": "buyer_request",
                                  "store": "us", "commerce_order_id": entity}
    assert harness.amazon("GET", "ledger", params={"kind": "cancellation"})["entries"] == [], "the feed sends it"
    assert len(ledger(harness, "order_canceled", entity)) == 1
    assert commerce_order(harness, entity).state == "canceled"
    done = comments(harness, entity, "Canceled by the Amazon Sales Channel pipelines")
    assert len(done) == 1 and "buyer asked Amazon to cancel" in done[0]["comment"]
    assert done[0]["comment_status"] == "canceled", "the comment keeps the order's (new) status"
    assert first.decisions == {"amazon_cancel": 1, "commerce_cancel": 1} and not second.decisions
    assert "commerce_canceled" in [e.event_type for e in harness.channel().events.for_order(ACCOUNT, order_id)]


def test_a_buyer_request_without_the_setting_only_asks_the_merchant_once(harness):
    order_id = add_order(harness, buyer_request="Found it cheaper")
    harness.run()
    entity = entity_id(harness, order_id)
    sync(harness, accept_buyer_cancellations=False)
    sync(harness, accept_buyer_cancellations=False)

    asked = comments(harness, entity, "does not accept buyer cancellations automatically")
    assert len(asked) == 1 and asked[0]["comment_status"] == "processing"
    assert ledger(harness, "order_canceled", entity) == []
    assert rows(harness, AMAZON_CANCEL_KIND) == []


def test_an_amazon_cancel_cancels_the_commerce_order_and_gives_the_stock_back_once(harness):
    before = stock(harness, MUG, TEA)
    order_id = add_order(harness)
    other = add_order(harness, lines=((MUG, 1),))  # stays unshipped: its stock stays taken
    harness.run()
    assert stock(harness, MUG, TEA) == {MUG: before[MUG] - 3, TEA: before[TEA] - 1}
    harness.amazon("PATCH", f"orders/{order_id}", json={"status": "CANCELLED", "cancelledBy": "BUYER",
                                                        "lastUpdatedTime": ago(minutes=2, seconds=30)})
    refresh(harness, order_id, other)
    first, second = sync(harness), sync(harness)
    harness.run()  # the import reads the cancelled order too, and must not give its stock back again

    entity = entity_id(harness, order_id)
    assert stock(harness, MUG, TEA) == {MUG: before[MUG] - 1, TEA: before[TEA]}
    assert len(ledger(harness, "order_canceled", entity)) == 1
    assert len(comments(harness, entity, "Amazon reports Amazon order")) == 1
    assert ledger(harness, "order_canceled", entity_id(harness, other)) == []
    assert (first.stock_returned, second.stock_returned) == (1, 0)
    assert [row.status for row in rows(harness, RETURN_KIND)] == [OutboxStatus.CONFIRMED]


def test_an_amazon_cancel_of_an_invoiced_commerce_order_says_why_and_cancels_nothing(harness):
    order_id = add_order(harness)
    harness.run()
    entity = entity_id(harness, order_id)
    commerce_client(harness).invoices.create(entity, capture=True)
    harness.amazon("PATCH", f"orders/{order_id}", json={"status": "CANCELLED", "cancelledBy": "MERCHANT"})
    refresh(harness, order_id)
    summary = sync(harness)
    sync(harness)

    assert ledger(harness, "order_canceled", entity) == []
    why = comments(harness, entity, "Commerce cannot cancel this order")
    assert len(why) == 1 and "fully invoiced" in why[0]["comment"]
    assert why[0]["comment_status"] == "processing"
    (row,) = rows(harness, CANCEL_KIND)
    assert row.status == OutboxStatus.FAILED and "fully invoiced" in row.last_error
    assert summary.effects.refused == {CANCEL_KIND: 1}


def ship_everywhere(harness: Harness, order_id: str) -> int:
    """The merchant ships the whole order in Commerce and its confirmation reaches Amazon (SHIPPED)."""
    entity = entity_id(harness, order_id)
    shipment = commerce_client(harness).shipments.create(entity)
    order = harness.amazon("GET", f"orders/{order_id}")["order"]
    with SpApiClient(LwaCredentials(CREDS["lwa_client_id"], CREDS["lwa_client_secret"], CREDS["refresh_token"]),
                     seller_id="test-shipper", base_url=harness.amazon_url) as amazon:
        amazon.confirm_shipment(order_id, order["salesChannel"]["marketplaceId"], {
            "packageReferenceId": str(shipment), "carrierCode": "UPS", "trackingNumber": "1Z999AA10123456784",
            "shipDate": ago(minutes=1),
            "orderItems": [{"orderItemId": i["orderItemId"], "quantity": i["quantityOrdered"]}
                           for i in order["orderItems"]]})
    refresh(harness, order_id)
    return entity


def test_shipped_on_amazon_and_fully_shipped_in_commerce_is_invoiced_once_and_complete(harness):
    order_id = add_order(harness)
    partial = add_order(harness, lines=((TEA, 2),))
    harness.run()
    entity = ship_everywhere(harness, order_id)
    # Shipped on Amazon (e.g. in Seller Central) but only partly in Commerce: nothing to invoice yet.
    commerce_client(harness).shipments.create(entity_id(harness, partial),
                                              {commerce_order(harness, entity_id(harness, partial)).items[0].item_id: 1})
    sync(harness)
    sync(harness)

    assert len(ledger(harness, "order_invoiced", entity)) == 1
    assert commerce_order(harness, entity).state == "complete"
    assert len(comments(harness, entity, "Invoiced by the Amazon Sales Channel pipelines")) == 1
    assert ledger(harness, "order_invoiced", entity_id(harness, partial)) == []


def test_without_auto_invoice_a_shipped_order_gets_one_comment(harness):
    order_id = add_order(harness, lines=((TEA, 1),))
    harness.run()
    entity = ship_everywhere(harness, order_id)
    sync(harness, auto_invoice=False)
    sync(harness, auto_invoice=False)
    assert ledger(harness, "order_invoiced", entity) == []
    assert len(comments(harness, entity, "invoice this order to complete it")) == 1


def test_read_only_sends_nothing_to_either_side_and_counts_what_it_would(harness):
    before = stock(harness, MUG, TEA)
    requested = add_order(harness, buyer_request="Ordered by mistake")
    cancelled = add_order(harness)
    harness.run()
    harness.amazon("PATCH", f"orders/{cancelled}", json={"status": "CANCELLED"})
    refresh(harness, cancelled)
    seq = harness.commerce("GET", "ledger")["last_seq"]
    summary = sync(harness, read_only=True)

    assert harness.commerce("GET", "ledger", params={"since": seq})["events"] == [], "nothing written to Commerce"
    assert stock(harness, MUG, TEA) == {MUG: before[MUG] - 4, TEA: before[TEA] - 2}, "no stock given back"
    for kind in (AMAZON_CANCEL_KIND, CANCEL_KIND, COMMENT_KIND, RETURN_KIND):
        assert rows(harness, kind) == [], f"nothing queued: {kind}"
    assert summary.would_send == {AMAZON_CANCEL_KIND: 1, RETURN_KIND: 1}
    assert summary.effects.would_send == {CANCEL_KIND: 2}
    assert harness.amazon("GET", f"orders/{requested}")["order"]["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED"


def test_writes_that_fail_after_they_happened_are_read_back_and_never_repeated(harness):
    """Commerce saves the cancel, the invoice and the first comment but answers 504: each row waits for
    the settle delay, then reads back (the order's state, its invoices, its comments) and is done."""
    cancelled, shipped = add_order(harness, lines=((MUG, 1),)), add_order(harness, lines=((TEA, 1),))
    harness.run()
    harness.amazon("PATCH", f"orders/{cancelled}", json={"status": "CANCELLED"})
    refresh(harness, cancelled)
    invoiced = ship_everywhere(harness, shipped)
    canceled = entity_id(harness, cancelled)
    harness.commerce("PUT", "faults", json={"after_write_next": 3,
                                            "operations": ["cancelOrder", "invoiceOrder", "addOrderComment"]})
    first = sync(harness)
    assert first.effects.retrying == {CANCEL_KIND: 1, INVOICE_KIND: 1}
    sync(harness)  # a run before the settle delay, or during it: never a second cancel or invoice
    assert len(ledger(harness, "order_canceled", canceled)) == len(ledger(harness, "order_invoiced", invoiced)) == 1
    for _ in range(2):  # the cancel and invoice are read back; then the comment whose answer was lost
        time.sleep(SETTLE.total_seconds() + 0.2)
        sync(harness)

    assert harness.commerce("GET", "faults")["after_write_next"] == 0, "every fault was used"
    assert len(ledger(harness, "order_canceled", canceled)) == 1
    assert len(ledger(harness, "order_invoiced", invoiced)) == 1
    assert len(comments(harness, canceled, "Canceled by")) == 1
    assert len(comments(harness, invoiced, "Invoiced by")) == 1
    assert {row.status for kind in (CANCEL_KIND, INVOICE_KIND, COMMENT_KIND) for row in rows(harness, kind)} == {
        OutboxStatus.CONFIRMED}


def test_a_missing_commerce_order_or_a_malformed_snapshot_does_not_stop_the_others(harness):
    order_id = add_order(harness)
    harness.run()
    harness.amazon("PATCH", f"orders/{order_id}", json={"status": "CANCELLED"})
    raw = harness.amazon("GET", f"orders/{order_id}")["order"]
    channel = harness.channel()
    # Recorded before the good order's snapshot, so they come first in the sync's reading order.
    for fake, entity, broken in (("990-0000009-0000001", 987654, False), ("990-0000009-0000002", 987655, True)):
        copy = {**raw, "orderId": fake}
        if broken:
            copy["orderItems"] = [{"orderItemId": "1", "quantityOrdered": "two"}]
        channel.snapshots.upsert(OrderSnapshot.from_amazon(ACCOUNT, copy))
        channel.links.create(ACCOUNT, fake, commerce_entity_id=entity, commerce_increment_id="000000999",
                             store_code="default")
    refresh(harness, order_id)
    summary = sync(harness)

    assert len(ledger(harness, "order_canceled", entity_id(harness, order_id))) == 1
    assert (summary.missing_in_commerce, summary.unreadable, summary.unhandled) == (1, 1, 0)
    assert summary.watermark is not None and summary.complete
    assert "commerce_order_missing" in [e.event_type for e in channel.events.for_order(ACCOUNT, "990-0000009-0000001")]


def test_an_order_whose_commerce_state_could_not_be_read_holds_the_watermark_until_it_is_handled(harness):
    order_id = add_order(harness)
    harness.run()
    harness.amazon("PATCH", f"orders/{order_id}", json={"status": "CANCELLED"})
    refresh(harness, order_id)
    changed_at = harness.channel().snapshots.get(ACCOUNT, order_id).last_changed_at
    no_retries = commerce_client(harness, retry=RetryPolicy(max_attempts=1))
    harness.commerce("PUT", "faults", json={"fail_next": 1, "error_statuses": [503], "operations": ["getOrderList"]})
    failed = sync(harness, no_retries)
    assert failed.unhandled == 1 and failed.incomplete
    assert harness.channel().watermarks.get("us", STREAM) <= changed_at, "the order is read again next time"
    assert ledger(harness, "order_canceled", entity_id(harness, order_id)) == []

    handled = sync(harness, no_retries)
    assert handled.unhandled == 0 and handled.decisions == {"commerce_cancel": 1}
    assert len(ledger(harness, "order_canceled", entity_id(harness, order_id))) == 1
    assert harness.channel().watermarks.get("us", STREAM) > changed_at


def test_every_effect_on_one_order_in_one_batch_is_applied(harness):
    """A cancel and two comments on one order, applied together: each later row reads the order again
    (the earlier one changed it), none is refused as if the order did not exist."""
    from sales_channel.pipeline.status_sync.commerce_effects import CommerceEffects

    order_id = add_order(harness)
    harness.run()
    entity = entity_id(harness, order_id)
    store = next(s for s in harness.settings() if s.key == "us")
    channel = harness.channel()
    effects = CommerceEffects(channel, commerce_client(harness), store,
                              OutboxWork(channel.outbox, "effects-test", settle=SETTLE, retry=timedelta(0)))
    effects.comment(order_id, entity, "first", "First of two comments")
    effects.comment(order_id, entity, "second", "Second of two comments")
    effects.cancel(order_id, entity, "Cancelled for the test")
    summary = effects.apply_due()

    assert not summary.refused and not summary.retrying, summary.errors
    assert commerce_order(harness, entity).state == "canceled"
    for text in ("First of two comments", "Second of two comments", "Canceled by the Amazon Sales Channel pipelines"):
        assert len(comments(harness, entity, text)) == 1, text


def test_an_order_amazon_shipped_first_is_completed_when_commerce_ships_the_rest(harness):
    """Shipped in full in Seller Central while Commerce had shipped part: Amazon's snapshot never changes
    again, so the Commerce shipment of the rest is what completes the order — and no package is sent for it
    (Amazon would refuse one)."""
    order_id = add_order(harness)
    harness.run()
    entity = entity_id(harness, order_id)
    mug, tea = commerce_order(harness, entity).items
    client = commerce_client(harness)
    first = client.shipments.create(entity, {mug.item_id: 2})
    order = harness.amazon("GET", f"orders/{order_id}")["order"]
    with SpApiClient(LwaCredentials(CREDS["lwa_client_id"], CREDS["lwa_client_secret"], CREDS["refresh_token"]),
                     seller_id=ACCOUNT, base_url=harness.amazon_url) as amazon:
        amazon.confirm_shipment(order_id, order["salesChannel"]["marketplaceId"], {
            "packageReferenceId": "990001", "carrierCode": "UPS", "trackingNumber": "1Z999AA10123456784",
            "shipDate": ago(minutes=1), "orderItems": [{"orderItemId": i["orderItemId"], "quantity": i["quantityOrdered"]}
                                                       for i in order["orderItems"]]})
        refresh(harness, order_id)
        assert sync(harness).decisions["shipped_not_in_commerce"] == 1

        client.shipments.create(entity, {tea.item_id: 1})
        store = next(s for s in harness.settings() if s.key == "us")
        channel = harness.channel()
        work = OutboxWork(channel.outbox, "sync-test", settle=SETTLE, retry=timedelta(0))
        effects = CommerceEffects(channel, client, store, work)
        summary = CommerceToAmazon(store, channel, client, amazon, work, effects).run()
        effects.apply_due()
        CommerceToAmazon(store, channel, client, amazon, work, effects).run()  # the overlap reads them again

    assert summary.already_shipped == 2 and summary.queued[CONFIRM_KIND] == 0, summary.to_json()
    assert not [r for r in rows(harness, CONFIRM_KIND) if r.source_id.endswith(f"/{first}")]
    assert len(ledger(harness, "order_invoiced", entity)) == 1
    assert commerce_order(harness, entity).state == "complete"
    packages = harness.amazon("GET", f"orders/{order_id}")["order"]["packages"]
    assert [p["packageReferenceId"] for p in packages] == ["990001"]
    said = [e for e in harness.channel().events.for_order(ACCOUNT, order_id) if e.event_type == "shipment_not_sent"]
    assert len(said) == 1, said
