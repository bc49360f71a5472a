"""Status sync defects found by the exactly-once-under-faults test and the benchmark, each reproduced by a
test that failed before its fix:

* A refund of an order whose shipping Amazon discounted (a free-shipping promotion) asked Amazon to
  refund that shipping, and Amazon refused the whole message: the credit memo was never refunded. The
  refund now follows Amazon's split of the discount (item vs shipping), keeping the memo's total.
* A credit memo whose handling failed transiently (its getOrder read failed) got no outbox row, and the
  watermark moved past it anyway: once the run-to-run overlap (10 minutes) had passed it, it was never
  read again. Such a document now holds the watermark until it is handled.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sales_channel.amazon.client import SpApiClient
from sales_channel.commerce.client import CommerceClient
from sales_channel.pipeline.outbox_work import OutboxWork
from sales_channel.pipeline.standalone import open_status_sync
from sales_channel.pipeline.status_sync.commerce_effects import CommerceEffects
from sales_channel.pipeline.status_sync.kinds import REFUND_KIND
from sales_channel.pipeline.status_sync.to_amazon import CommerceToAmazon, refund_source
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS as CREDS

from tests.fixtures.hostile_orders import SKUS
from tests.pipeline.conftest import ACCOUNT, Harness

pytestmark = pytest.mark.slow

ORDER_ID = "113-4400001-0000001"


def _imported_order(harness: Harness, **order: Any) -> tuple[str, int]:
    """A merchant-fulfilled US order made on Amazon three minutes ago, imported: its Commerce entity id."""
    when = (datetime.now(UTC) - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    created = harness.amazon("POST", "orders", json={
        "items": [{"sellerSku": SKUS[1], "quantity": 1}], "marketplaceId": "ATVPDKIKX0DER",
        "createdTime": when, "lastUpdatedTime": when, **order})["order"]
    harness.run()
    link = harness.channel().links.get(ACCOUNT, created["orderId"])
    assert link is not None, "imported"
    return created["orderId"], link.commerce_entity_id


def _refunded_in_full(harness: Harness, entity_id: int) -> int:
    with CommerceClient(harness.commerce_url, CREDS["commerce_token"]) as commerce:
        commerce.invoices.create(entity_id)
        return commerce.creditmemos.create(entity_id)


def _sync(harness: Harness) -> None:
    """One run of the store, its feed sent, processed by Amazon, and followed."""
    with open_status_sync(harness.settings(), amazon_url=harness.amazon_url, commerce_url=harness.commerce_url,
                          db_url=harness.db_url, credentials=_credentials(), commerce_token=CREDS["commerce_token"],
                          settle=timedelta(0), retry=timedelta(0)) as sync:
        sync.store("us").run()
        sync.feeds().send()
        harness.amazon("POST", "lifecycle/advance", json={"seconds": 130})
        sync.feeds().follow()


def _credentials():
    from sales_channel.amazon.auth import LwaCredentials

    return LwaCredentials(CREDS["lwa_client_id"], CREDS["lwa_client_secret"], CREDS["refresh_token"])


def test_a_full_refund_of_an_order_with_free_shipping_is_refunded_once(harness: Harness):
    order_id, entity_id = _imported_order(harness, freeShippingPromotion=True)
    memo_id = _refunded_in_full(harness, entity_id)
    _sync(harness)
    row = harness.channel().outbox.get(REFUND_KIND, refund_source("us", order_id, memo_id))
    refunds = harness.amazon("GET", "ledger", params={"kind": "refund", "orderId": order_id})["entries"]
    assert row.status == "confirmed", row.last_error
    assert [r["merchantAdjustmentItemId"] for r in refunds] == [f"CM{memo_id}-1"]


def test_a_credit_memo_whose_amazon_read_fails_for_a_while_is_refunded_once_amazon_answers(harness: Harness):
    order_id, entity_id = _imported_order(harness)
    memo_id = _refunded_in_full(harness, entity_id)
    [store] = [s for s in harness.settings() if s.key == "us"]
    channel = harness.channel()
    start = datetime.now(UTC)
    # getOrder (the refund's read of what Amazon holds) fails for 25 minutes: runs every 11 minutes.
    harness.amazon("PUT", "faults", json={"error_rate": 1.0, "operations": ["getOrder"]})
    with SpApiClient(_credentials(), seller_id=ACCOUNT, base_url=harness.amazon_url, max_attempts=1) as amazon, \
            CommerceClient(harness.commerce_url, CREDS["commerce_token"]) as commerce:
        work = OutboxWork(channel.outbox, "findings")
        unhandled = []
        for minutes in (0, 11, 22, 33):
            if minutes == 33:
                harness.amazon("DELETE", "faults")
            effects = CommerceEffects(channel, commerce, store, work)
            unhandled.append(CommerceToAmazon(store, channel, commerce, amazon, work, effects,
                                              clock=lambda minutes=minutes: start + timedelta(minutes=minutes)
                                              ).run().unhandled)
    assert unhandled == [1, 1, 1, 0], "failing runs leave the memo for the next run; the last one handles it"
    row = channel.outbox.get(REFUND_KIND, refund_source("us", order_id, memo_id))
    assert row is not None, "the credit memo was never queued for a refund"
    assert row.status == "pending" and row.payload["credit_memo_id"] == memo_id
    assert channel.watermarks.get("us", "sync_to_amazon") >= start + timedelta(minutes=33) - timedelta(seconds=1)
