"""Contract tests of the Feeds part of the SP-API client against the Amazon sandbox: cancellations
(order acknowledgement feed) and refunds (payment adjustment feed) end to end, processing reports
mapped back to orders, GZIP reports, and which feed steps are retried."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sales_channel.amazon import (
    ORDER_ACKNOWLEDGEMENT_FEED,
    AdjustedItem,
    CancelItem,
    CancelReason,
    DocumentTransferError,
    FulfillmentStatus,
    OrderCancellation,
    OrderRefund,
    PackageDetail,
    ProcessingStatus,
    ServerError,
    build_order_acknowledgement_feed,
    build_payment_adjustment_feed,
)

from .conftest import MARKETPLACE_US, SELLER_ID


def _ship_everything(client, order: dict) -> None:
    client.confirm_shipment(order["orderId"], MARKETPLACE_US, PackageDetail.model_validate({
        "packageReferenceId": "1", "carrierCode": "USPS", "trackingNumber": "9400100000000000000001",
        "shipDate": datetime.now(UTC) - timedelta(minutes=10),
        "orderItems": [{"orderItemId": i["orderItemId"], "quantity": i["quantityOrdered"]} for i in order["orderItems"]]}))


def _run(client, batch):
    feed_id = client.submit_feed(batch.feed_type, [MARKETPLACE_US], batch.xml)
    feed = client.wait_for_feed(feed_id, poll_interval_s=0.05, timeout_s=30)
    assert feed.processing_status is ProcessingStatus.DONE and feed.feed_type == batch.feed_type
    return client.get_processing_report(feed.result_feed_document_id)


def test_cancellation_feed_cancels_unshipped_orders_and_reports_the_shipped_one(make_client, control):
    client = make_client()
    unshipped, shipped = control.add_order(), control.add_order()
    _ship_everything(client, shipped)
    batch = build_order_acknowledgement_feed(SELLER_ID, [
        OrderCancellation(order["orderId"], [CancelItem(item["orderItemId"], CancelReason.NO_INVENTORY)
                                             for item in order["orderItems"]])
        for order in (unshipped, shipped)])
    report = _run(client, batch)
    assert (report.messages_processed, report.messages_successful, report.messages_with_error) == (2, 1, 1)
    results = report.results_by_order(batch)
    assert results[unshipped["orderId"]] == []
    [refused] = results[shipped["orderId"]]
    assert refused.is_error and refused.message_id == 2 and "shipped" in refused.description
    assert refused.additional_info["AmazonOrderID"] == shipped["orderId"]
    cancelled = client.get_order(unshipped["orderId"], ["FULFILLMENT", "CANCELLATION"])
    assert cancelled.fulfillment.fulfillment_status is FulfillmentStatus.CANCELLED
    assert client.get_order(shipped["orderId"], ["FULFILLMENT"]).fulfillment.fulfillment_status \
        is FulfillmentStatus.SHIPPED
    assert len(control.ledger("cancellation", unshipped["orderId"])) == 1


def test_refund_feed_and_a_resent_adjustment_is_reported_as_duplicate(make_client, control):
    client = make_client()
    order = control.add_order(marketplaceId="A1VC38T7YXB528", items=[{"sellerSku": "TEAPOT-CAST-800"}])
    client.confirm_shipment(order["orderId"], "A1VC38T7YXB528", PackageDetail.model_validate({
        "packageReferenceId": "1", "carrierCode": "Other", "carrierName": "ヤマト運輸", "trackingNumber": "4567-8901-2345",
        "shipDate": datetime.now(UTC) - timedelta(minutes=10),
        "orderItems": [{"orderItemId": order["orderItems"][0]["orderItemId"], "quantity": 1}]}))
    item = order["orderItems"][0]
    before = client.get_order(order["orderId"], ["PROCEEDS"]).proceeds.grand_total
    assert before.currency_code == "JPY"
    refund = OrderRefund(order["orderId"], "CM-100000042", "JPY", [
        AdjustedItem(item["orderItemId"], "CustomerReturn", {"Principal": Decimal("1000")})])
    batch = build_payment_adjustment_feed(SELLER_ID, [refund])
    report = _run(client, batch)
    assert report.results_by_order(batch) == {order["orderId"]: []}
    after = client.get_order(order["orderId"], ["PROCEEDS"]).proceeds.grand_total
    assert after.amount == before.amount - Decimal("1000")
    # The same refund again (a re-sent batch): Amazon refuses to pay it twice and says so; this time
    # the report comes GZIP-compressed.
    control.settings(gzip_reports=True)
    feed_id = client.submit_feed(batch.feed_type, ["A1VC38T7YXB528"], batch.xml)
    feed = client.wait_for_feed(feed_id, poll_interval_s=0.05, timeout_s=30)
    assert client.get_feed_document(feed.result_feed_document_id).compression_algorithm == "GZIP"
    [duplicate] = client.get_processing_report(feed.result_feed_document_id).results_by_order(batch)[order["orderId"]]
    assert duplicate.result_code == "Warning" and "CM-100000042-1" in duplicate.description
    assert client.get_order(order["orderId"], ["PROCEEDS"]).proceeds.grand_total.amount == after.amount
    assert len(control.ledger("refund", order["orderId"])) == 1


def test_feed_steps_one_by_one(make_client, control):
    client = make_client()
    order = control.add_order()
    batch = build_order_acknowledgement_feed(SELLER_ID, [OrderCancellation(
        order["orderId"], [CancelItem(order["orderItems"][0]["orderItemId"], "BuyerCanceled")])])
    upload = client.create_feed_document()
    assert "signature" not in repr(upload)  # the pre-signed URL is a short-lived credential
    with pytest.raises(DocumentTransferError) as refused:
        client.upload_feed_document(upload, batch.xml, content_type="application/xml")
    assert (refused.value.status, refused.value.code) == (403, "SignatureDoesNotMatch")
    client.upload_feed_document(upload, batch.xml)
    feed_id = client.create_feed(ORDER_ACKNOWLEDGEMENT_FEED, [MARKETPLACE_US], upload.feed_document_id)
    assert client.get_feed(feed_id).processing_status in (ProcessingStatus.IN_QUEUE, ProcessingStatus.IN_PROGRESS,
                                                          ProcessingStatus.DONE)
    feed = client.wait_for_feed(feed_id, poll_interval_s=0.05, timeout_s=30)
    document = client.get_feed_document(feed.result_feed_document_id)
    assert document.compression_algorithm is None
    assert b"<ProcessingReport>" in client.download_feed_document(document)


def test_create_feed_is_retried_on_429_but_not_after_a_server_error(make_client, control):
    client = make_client()
    order = control.add_order()
    batch = build_order_acknowledgement_feed(SELLER_ID, [OrderCancellation(
        order["orderId"], [CancelItem(order["orderItems"][0]["orderItemId"], "NoInventory")])])
    control.faults(fail_next=1, error_statuses=[429], operations=["createFeed"])
    assert client.submit_feed(batch.feed_type, [MARKETPLACE_US], batch.xml)
    assert client.stats.operations["createFeed"].calls == 2
    # A 500 may come after the feed was accepted: a second createFeed could process it twice.
    control.faults(fail_next=1, error_statuses=[500], operations=["createFeed"])
    with pytest.raises(ServerError) as failed:
        client.submit_feed(batch.feed_type, [MARKETPLACE_US], batch.xml)
    assert failed.value.code == "InternalFailure"
    assert client.stats.operations["createFeed"].calls == 3
    # The reads and the document steps around it are retried.
    control.faults(fail_next=1, error_statuses=[503], operations=["createFeedDocument", "uploadFeedDocument"])
    assert client.submit_feed(batch.feed_type, [MARKETPLACE_US], batch.xml)
    assert client.stats.operations["createFeedDocument"].server_errors == 1
