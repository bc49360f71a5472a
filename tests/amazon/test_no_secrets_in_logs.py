"""A full client session logged at DEBUG (urllib3 included) leaks no secret and no buyer data: not in
the log, not in ``repr()`` of the objects, not in exception messages."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sales_channel.amazon import (
    ALL_INCLUDED_DATA,
    CancelItem,
    LwaCredentials,
    LwaError,
    NotFoundError,
    OrderCancellation,
    PackageDetail,
    build_order_acknowledgement_feed,
)

from .conftest import CREDENTIALS, MARKETPLACE_US, SELLER_ID


def test_full_session_logs_no_secret_and_no_buyer_data(make_client, control, caplog):
    caplog.set_level(logging.DEBUG)  # root: urllib3's connection and request lines as well
    order = control.add_order()
    client = make_client()
    texts = [repr(client), repr(CREDENTIALS)]
    control.faults(fail_next=1, error_statuses=[429], operations=["searchOrders"])
    orders = list(client.search_orders(created_after=datetime.now(UTC) - timedelta(days=5),
                                       included_data=ALL_INCLUDED_DATA, max_results_per_page=20))
    texts += [repr(o) for o in orders]
    fetched = client.get_order(order["orderId"], ALL_INCLUDED_DATA)
    texts.append(repr(fetched))
    access_tokens = {client._tokens.token()}
    control.expire_tokens()
    package = PackageDetail.model_validate({
        "packageReferenceId": "1", "carrierCode": "DHL", "trackingNumber": "JD0000000001",
        "shipDate": datetime.now(UTC) - timedelta(minutes=3),
        "orderItems": [{"orderItemId": i["orderItemId"], "quantity": i["quantityOrdered"]}
                       for i in order["orderItems"]]})
    client.confirm_shipment(order["orderId"], MARKETPLACE_US, package)
    access_tokens.add(client._tokens.token())
    upload = client.create_feed_document()
    signature = parse_qs(urlsplit(upload.url).query)["signature"][0]
    batch = build_order_acknowledgement_feed(SELLER_ID, [OrderCancellation(
        order["orderId"], [CancelItem(order["orderItems"][0]["orderItemId"], "NoInventory")])])
    client.upload_feed_document(upload, batch.xml)
    feed = client.wait_for_feed(client.create_feed(batch.feed_type, [MARKETPLACE_US], upload.feed_document_id),
                                poll_interval_s=0.05, timeout_s=30)
    texts.append(repr(client.get_processing_report(feed.result_feed_document_id)))
    with pytest.raises(NotFoundError) as not_found:
        client.get_order("999-9999999-9999999")
    texts.append(str(not_found.value))
    bad = make_client(LwaCredentials(CREDENTIALS.client_id, "sandbox-another-secret", CREDENTIALS.refresh_token))
    with pytest.raises(LwaError) as refused:
        bad.get_order(order["orderId"])
    texts += [str(refused.value), repr(refused.value), repr(bad)]

    logged = caplog.text
    assert "searchOrders" in logged and "x-amzn-RequestId" in logged  # the log is useful...
    assert "signature=***" in logged  # the upload's request line, redacted
    assert any(r.name.startswith("urllib3") for r in caplog.records)  # ...and urllib3 was listening
    everything = "\n".join([logged, *texts])
    secrets = {CREDENTIALS.client_secret, CREDENTIALS.refresh_token, "sandbox-another-secret", *access_tokens,
               signature}  # the pre-signed URL's signature is a short-lived credential as well
    assert len(access_tokens) == 2
    for secret in secrets:
        assert secret not in everything
    assert "Atza|" not in everything
    buyer = fetched.buyer
    assert buyer is not None and buyer.buyer_name and buyer.buyer_email
    address = fetched.recipient.delivery_address
    for pii in (buyer.buyer_name, buyer.buyer_email, address.address_line1, address.phone):
        if pii:
            assert pii not in everything
