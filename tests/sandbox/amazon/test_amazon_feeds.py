"""Feeds API 2021-06-30: documents, feeds, the lifecycle of a feed, cancellations and refunds by XML
feed, and the ProcessingReport they answer with."""

from __future__ import annotations

import gzip
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests
from sales_channel.sandbox.common.clock import to_iso

SEARCH = "/orders/2026-01-01/orders"
XML_TYPE = "text/xml; charset=UTF-8"


def _envelope(message_type: str, messages: list[str]) -> bytes:
    body = "".join(f"<Message><MessageID>{i}</MessageID>{m}</Message>" for i, m in enumerate(messages, start=1))
    return (f'<?xml version="1.0" encoding="UTF-8"?><AmazonEnvelope><Header><DocumentVersion>1.01</DocumentVersion>'
            f"<MerchantIdentifier>M_SANDBOX</MerchantIdentifier></Header><MessageType>{message_type}</MessageType>"
            f"{body}</AmazonEnvelope>").encode()


def _cancel(order_id: str, item_ids: list[str], reason: str = "NoInventory") -> str:
    items = "".join(f"<Item><AmazonOrderItemCode>{i}</AmazonOrderItemCode><CancelReason>{reason}</CancelReason></Item>"
                    for i in item_ids)
    return (f"<OrderAcknowledgement><AmazonOrderID>{order_id}</AmazonOrderID><StatusCode>Failure</StatusCode>"
            f"{items}</OrderAcknowledgement>")


def _refund(order_id: str, item_id: str, adjustment_id: str, components: dict[str, str], currency: str = "USD") -> str:
    parts = "".join(f'<Component><Type>{kind}</Type><Amount currency="{currency}">{amount}</Amount></Component>'
                    for kind, amount in components.items())
    return (f"<OrderAdjustment><AmazonOrderID>{order_id}</AmazonOrderID><AdjustedItem>"
            f"<AmazonOrderItemCode>{item_id}</AmazonOrderItemCode>"
            f"<MerchantAdjustmentItemID>{adjustment_id}</MerchantAdjustmentItemID>"
            f"<AdjustmentReason>CustomerReturn</AdjustmentReason>"
            f"<ItemPriceAdjustments>{parts}</ItemPriceAdjustments></AdjustedItem></OrderAdjustment>")


def _upload(amazon, contract, content: bytes, content_type: str = XML_TYPE) -> str:
    created = amazon.post("/feeds/2021-06-30/documents", json={"contentType": content_type})
    assert created.status_code == 201, created.text
    document = contract.check("feeds", "createFeedDocument", created)
    put = requests.put(document["url"], data=content, headers={"Content-Type": content_type}, timeout=10)
    assert put.status_code == 200, put.text
    return document["feedDocumentId"]


def _submit(amazon, contract, feed_type: str, content: bytes) -> str:
    document_id = _upload(amazon, contract, content)
    created = amazon.post("/feeds/2021-06-30/feeds", json={
        "feedType": feed_type, "marketplaceIds": ["ATVPDKIKX0DER"], "inputFeedDocumentId": document_id})
    assert created.status_code == 202, created.text
    return contract.check("feeds", "createFeed", created)["feedId"]


def _finished(amazon, contract, feed_id: str, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        feed = contract.check("feeds", "getFeed", amazon.get(f"/feeds/2021-06-30/feeds/{feed_id}"))
        if feed["processingStatus"] in ("DONE", "FATAL") or time.monotonic() > deadline:
            return feed
        time.sleep(0.05)


def _report(amazon, contract, feed: dict) -> ET.Element:
    document = contract.check("feeds", "getFeedDocument", amazon.get(
        f"/feeds/2021-06-30/documents/{feed['resultFeedDocumentId']}"))
    content = requests.get(document["url"], timeout=10).content
    if document.get("compressionAlgorithm") == "GZIP":
        content = gzip.decompress(content)
    assert content.startswith(b"<?xml") and b"UTF-8" in content[:60]
    return ET.fromstring(content)


def _results(report: ET.Element) -> dict[str, tuple[str, str, str]]:
    return {r.findtext("MessageID"): (r.findtext("ResultCode"), r.findtext("ResultMessageCode"),
                                      r.findtext("ResultDescription"))
            for r in report.iter("Result")}


def _order(amazon, **order):
    order.setdefault("items", [{"sellerSku": "KETTLE-GOOSE-1L", "quantity": 2}, {"sellerSku": "TEA-MATCHA-50G"}])
    an_hour_ago = to_iso(datetime.now(UTC) - timedelta(hours=1))
    order.update(createdTime=an_hour_ago, lastUpdatedTime=an_hour_ago)
    return amazon.control("POST", "/orders", json=order)["order"]


def test_feed_moves_through_its_statuses_on_the_lifecycle_clock(amazon_factory, contract):
    amazon = amazon_factory(orders=5, time_scale=1.0)
    order = _order(amazon)
    feed_id = _submit(amazon, contract, "POST_ORDER_ACKNOWLEDGEMENT_DATA",
                      _envelope("OrderAcknowledgement", [_cancel(order["orderId"], [])]))
    path = f"/feeds/2021-06-30/feeds/{feed_id}"
    queued = contract.check("feeds", "getFeed", amazon.get(path))
    assert queued["processingStatus"] == "IN_QUEUE" and queued["feedType"] == "POST_ORDER_ACKNOWLEDGEMENT_DATA"
    amazon.control("POST", "/lifecycle/advance", json={"seconds": 31})
    running = contract.check("feeds", "getFeed", amazon.get(path))
    assert running["processingStatus"] == "IN_PROGRESS" and running["processingStartTime"]
    assert amazon.full_order(order["orderId"])["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED"
    amazon.control("POST", "/lifecycle/advance", json={"seconds": 90})
    done = contract.check("feeds", "getFeed", amazon.get(path))
    assert done["processingStatus"] == "DONE" and done["resultFeedDocumentId"] and done["processingEndTime"]
    assert amazon.full_order(order["orderId"])["fulfillment"]["fulfillmentStatus"] == "CANCELLED"


def test_feed_finishes_in_scaled_time(amazon_factory, contract):
    amazon = amazon_factory(orders=5, time_scale=100.0)  # 0.3 s in the queue, 0.9 s processing
    order = _order(amazon)
    started = time.monotonic()
    feed_id = _submit(amazon, contract, "POST_ORDER_ACKNOWLEDGEMENT_DATA",
                      _envelope("OrderAcknowledgement", [_cancel(order["orderId"], [])]))
    assert _finished(amazon, contract, feed_id)["processingStatus"] == "DONE"
    assert 1.0 <= time.monotonic() - started < 8.0


def test_cancellation_feed(amazon, contract):
    unshipped = _order(amazon)
    shipped = _order(amazon)
    kettle = shipped["orderItems"][0]["orderItemId"]
    assert amazon.post(f"/orders/v0/orders/{shipped['orderId']}/shipmentConfirmation", json={
        "marketplaceId": "ATVPDKIKX0DER", "packageDetail": {
            "packageReferenceId": "1", "carrierCode": "UPS", "trackingNumber": "1Z1", "shipDate": "2026-11-29T10:00:00Z",
            "orderItems": [{"orderItemId": kettle, "quantity": 1}]}}).status_code == 204
    already = _order(amazon, status="CANCELLED")
    item_ids = [item["orderItemId"] for item in unshipped["orderItems"]]
    feed_id = _submit(amazon, contract, "POST_ORDER_ACKNOWLEDGEMENT_DATA", _envelope("OrderAcknowledgement", [
        _cancel(unshipped["orderId"], item_ids, "NoInventory"),
        _cancel(shipped["orderId"], [kettle]),
        _cancel("111-0000000-0000000", []),
        _cancel(already["orderId"], []),
        _cancel(unshipped["orderId"], ["12345"]),
    ]))
    feed = _finished(amazon, contract, feed_id)
    assert feed["processingStatus"] == "DONE"
    report = _report(amazon, contract, feed)
    assert report.findtext(".//ProcessingSummary/MessagesProcessed") == "5"
    assert report.findtext(".//ProcessingSummary/MessagesWithError") == "3"
    assert report.findtext(".//ProcessingSummary/MessagesWithWarning") == "1"
    results = _results(report)
    assert "1" not in results
    assert results["2"][0] == "Error" and "shipped" in results["2"][2]
    assert results["3"][0] == "Error" and "not found" in results["3"][2]
    assert results["4"][0] == "Warning" and "already canceled" in results["4"][2]
    assert results["5"][0] == "Error" and "12345" in results["5"][2]
    cancelled = contract.check("orders", "getOrder", amazon.get(
        f"{SEARCH}/{unshipped['orderId']}", params={"includedData": "CANCELLATION,FULFILLMENT,PROCEEDS"}))["order"]
    assert cancelled["fulfillment"]["fulfillmentStatus"] == "CANCELLED"
    for item in cancelled["orderItems"]:
        assert item["cancellation"]["cancellationExecution"] == {"cancelledBy": "MERCHANT", "cancelReason": "NoInventory"}
        assert item["fulfillment"]["quantityUnfulfilled"] == 0
    assert Decimal(cancelled["proceeds"]["grandTotal"]["amount"]) == 0
    assert cancelled["lastUpdatedTime"] > unshipped["lastUpdatedTime"]
    assert amazon.full_order(shipped["orderId"])["fulfillment"]["fulfillmentStatus"] == "PARTIALLY_SHIPPED"
    ledger = amazon.control("GET", "/ledger", params={"kind": "cancellation"})["entries"]
    assert [(e["orderId"], e["cancelledBy"], e["feedId"]) for e in ledger if e["source"] == "feed"] == [
        (unshipped["orderId"], "MERCHANT", feed_id)]


def test_refund_feed_partial_capped_and_never_twice(amazon, contract):
    order = _order(amazon, items=[{"sellerSku": "KETTLE-GOOSE-1L", "quantity": 2, "unitPrice": "59.00"}])
    order_id, item_id = order["orderId"], order["orderItems"][0]["orderItemId"]
    before = next(b for b in order["orderItems"][0]["proceeds"]["breakdowns"] if b["type"] == "ITEM")
    assert before["subtotal"]["amount"] == "118.00"
    feed_id = _submit(amazon, contract, "POST_PAYMENT_ADJUSTMENT_DATA", _envelope("OrderAdjustment", [
        _refund(order_id, item_id, "ADJ-1", {"Principal": "50.00", "Tax": "1.00"}),
        _refund(order_id, item_id, "ADJ-2", {"Principal": "68.01"}),
        _refund(order_id, item_id, "ADJ-3", {"Principal": "5.00"}, currency="EUR"),
        _refund("111-0000000-0000000", item_id, "ADJ-4", {"Principal": "1.00"}),
    ]))
    results = _results(_report(amazon, contract, _finished(amazon, contract, feed_id)))
    assert "1" not in results
    assert results["2"][0] == "Error" and "exceeds" in results["2"][2]
    assert results["3"][0] == "Error" and "EUR" in results["3"][2]
    assert results["4"][0] == "Error"
    refunded = contract.check("orders", "getOrder", amazon.get(
        f"{SEARCH}/{order_id}", params={"includedData": "PROCEEDS"}))["order"]
    item = refunded["orderItems"][0]["proceeds"]
    assert next(b for b in item["breakdowns"] if b["type"] == "ITEM")["subtotal"]["amount"] == "68.00"
    total = sum(Decimal(b["subtotal"]["amount"]) for b in refunded["proceeds"]["breakdowns"])
    assert total == Decimal(refunded["proceeds"]["grandTotal"]["amount"])
    # The same adjustment again (a client re-sending after a lost answer) is reported, not refunded.
    again = _submit(amazon, contract, "POST_PAYMENT_ADJUSTMENT_DATA", _envelope("OrderAdjustment", [
        _refund(order_id, item_id, "ADJ-1", {"Principal": "50.00", "Tax": "1.00"}),
        _refund(order_id, item_id, "ADJ-5", {"Principal": "68.00"}),
    ]))
    results = _results(_report(amazon, contract, _finished(amazon, contract, again)))
    assert results["1"][0] == "Warning" and "already applied" in results["1"][2]
    assert "2" not in results
    refunds = amazon.control("GET", "/ledger", params={"kind": "refund", "orderId": order_id})["entries"]
    assert [(r["merchantAdjustmentItemId"], r["components"]) for r in refunds] == [
        ("ADJ-1", {"Principal": "50.00", "Tax": "1.00"}), ("ADJ-5", {"Principal": "68.00"})]
    final = amazon.full_order(order_id)["orderItems"][0]["proceeds"]["breakdowns"]
    assert next(b for b in final if b["type"] == "ITEM")["subtotal"]["amount"] == "0.00"


@pytest.mark.parametrize("content", [
    b"<AmazonEnvelope><MessageType>OrderAcknowledgement",
    b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY lol "lol">]><AmazonEnvelope>&lol;</AmazonEnvelope>',
    _envelope("OrderAdjustment", []),
    b'<?xml version="1.0" encoding="ISO-8859-1"?><AmazonEnvelope/>',
], ids=["truncated", "entities", "wrong-message-type", "latin-1"])
def test_unusable_documents_end_fatal_with_a_report(amazon, contract, content):
    feed_id = _submit(amazon, contract, "POST_ORDER_ACKNOWLEDGEMENT_DATA", content)
    feed = _finished(amazon, contract, feed_id)
    assert feed["processingStatus"] == "FATAL"
    (result,) = _results(_report(amazon, contract, feed)).values()
    assert result[0] == "Error"


def test_non_ascii_survives_the_round_trip(amazon, contract):
    order = _order(amazon, marketplaceId="A1PA6795UKMFR9")
    message = (f"<OrderAcknowledgement><AmazonOrderID>{order['orderId']}</AmazonOrderID>"
               "<MerchantOrderID>Bestellung-Größe-Ünïcödé-注文</MerchantOrderID><StatusCode>Success</StatusCode>"
               "</OrderAcknowledgement>")
    feed_id = _submit(amazon, contract, "POST_ORDER_ACKNOWLEDGEMENT_DATA", _envelope("OrderAcknowledgement", [message]))
    assert _finished(amazon, contract, feed_id)["processingStatus"] == "DONE"
    aliased = contract.check("orders", "getOrder", amazon.get(f"{SEARCH}/{order['orderId']}"))["order"]
    assert aliased["orderAliases"] == [{"aliasId": "Bestellung-Größe-Ünïcödé-注文", "aliasType": "SELLER_ORDER_ID"}]
    assert aliased["orderItems"] and "CANCELLED" not in str(aliased)


def test_gzip_processing_reports(amazon, contract):
    amazon.control("PUT", "/settings", json={"gzip_reports": True})
    order = _order(amazon)
    feed = _finished(amazon, contract, _submit(amazon, contract, "POST_ORDER_ACKNOWLEDGEMENT_DATA",
                                                _envelope("OrderAcknowledgement", [_cancel(order["orderId"], [])])))
    document = amazon.get(f"/feeds/2021-06-30/documents/{feed['resultFeedDocumentId']}").json()
    assert document["compressionAlgorithm"] == "GZIP"
    assert _report(amazon, contract, feed).findtext(".//MessagesProcessed") == "1"


def test_document_urls_come_from_the_public_base_url_not_the_host_header(amazon, contract):
    created = amazon.post("/feeds/2021-06-30/documents", json={"contentType": XML_TYPE},
                          headers={"Host": "evil.example.com", "X-Forwarded-Host": "evil.example.com"})
    url = contract.check("feeds", "createFeedDocument", created)["url"]
    assert url.startswith(amazon.url + "/") and "evil" not in url


def test_upload_url_refusals(amazon, contract):
    document = amazon.post("/feeds/2021-06-30/documents", json={"contentType": XML_TYPE}).json()
    wrong_type = requests.put(document["url"], data=b"<x/>", headers={"Content-Type": "application/json"}, timeout=10)
    assert wrong_type.status_code == 403 and b"SignatureDoesNotMatch" in wrong_type.content
    forged = requests.put(document["url"].replace("signature=", "signature=0"), data=b"<x/>",
                          headers={"Content-Type": XML_TYPE}, timeout=10)
    assert forged.status_code == 403
    # Not uploaded yet: createFeed refuses it.
    refused = amazon.post("/feeds/2021-06-30/feeds", json={
        "feedType": "POST_ORDER_ACKNOWLEDGEMENT_DATA", "marketplaceIds": ["ATVPDKIKX0DER"],
        "inputFeedDocumentId": document["feedDocumentId"]})
    assert refused.status_code == 400
    assert "upload" in contract.check("feeds", "createFeed", refused)["errors"][0]["message"]


@pytest.mark.parametrize(("body", "named"), [
    ({"marketplaceIds": ["ATVPDKIKX0DER"], "inputFeedDocumentId": "x"}, "feedType"),
    ({"feedType": "POST_FLAT_FILE_LISTINGS_DATA", "marketplaceIds": ["ATVPDKIKX0DER"], "inputFeedDocumentId": "x"},
     "feedType"),
    ({"feedType": "POST_PAYMENT_ADJUSTMENT_DATA", "marketplaceIds": [], "inputFeedDocumentId": "x"}, "marketplaceIds"),
    ({"feedType": "POST_PAYMENT_ADJUSTMENT_DATA", "marketplaceIds": ["ATVPDKIKX0DER"], "inputFeedDocumentId": "nope"},
     "inputFeedDocumentId"),
])
def test_create_feed_validation(amazon, contract, body, named):
    response = amazon.post("/feeds/2021-06-30/feeds", json=body)
    assert response.status_code == 400
    assert named in contract.check("feeds", "createFeed", response)["errors"][0]["message"]


def test_unknown_feeds_and_documents(amazon, contract):
    feed = amazon.get("/feeds/2021-06-30/feeds/123")
    assert feed.status_code == 404 and contract.check("feeds", "getFeed", feed)["errors"][0]["code"] == "NotFound"
    document = amazon.get("/feeds/2021-06-30/documents/amzn1.tortuga.4.na.missing")
    assert document.status_code == 404
    contract.check("feeds", "getFeedDocument", document)
    missing_type = amazon.post("/feeds/2021-06-30/documents", json={})
    assert missing_type.status_code == 400
    assert "contentType" in contract.check("feeds", "createFeedDocument", missing_type)["errors"][0]["message"]
