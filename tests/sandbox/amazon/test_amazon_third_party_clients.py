"""Third-party clients work against the sandbox changed only in where they connect.

python-amazon-sp-api 2.1.35 has no ``endpoint`` argument: the SP-API host comes from the
``Marketplaces`` enum (fixed at import). Pointing it at the sandbox takes two supported knobs:
the client's ``endpoint`` attribute (set after construction) and the ``auth_token_client_class``
argument, a subclass of its ``AccessTokenClient`` whose ``scheme``/``host`` name the sandbox's LWA
endpoint. The library sends ``Host: endpoint[8:]`` (for ``http://127.0.0.1:P`` that is
``27.0.0.1:P``) and adds ``MarketplaceIds``-style parameters of its own; the sandbox ignores both.
"""

from __future__ import annotations

import io
import time
from urllib.parse import urlsplit

import pytest
import requests
from sp_api.api import FeedsV20210630, OrdersV0, OrdersV20260101
from sp_api.auth import AccessTokenClient
from sp_api.auth import access_token_client as lwa_module
from sp_api.base import Marketplaces
from sp_api.base.exceptions import SellingApiBadRequestException, SellingApiNotFoundException

from tests.sandbox.amazon.support import CREDS

EPOCH = "2020-01-01T00:00:00Z"


def _documented_client_flow(base_url: str, lwa_url: str) -> dict:
    """What any plain HTTP client does, from the published paths alone: token, search, get, ship."""
    token = requests.post(lwa_url, timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": CREDS["refresh_token"],
        "client_id": CREDS["lwa_client_id"], "client_secret": CREDS["lwa_client_secret"]}).json()["access_token"]
    headers = {"x-amz-access-token": token, "user-agent": "plain-requests/1.0"}
    search = requests.get(f"{base_url}/orders/2026-01-01/orders", headers=headers, timeout=10, params={
        "createdAfter": EPOCH, "fulfillmentStatuses": "UNSHIPPED", "fulfilledBy": "MERCHANT",
        "includedData": "FULFILLMENT", "maxResultsPerPage": 5})
    search.raise_for_status()
    order_id = search.json()["orders"][0]["orderId"]
    order = requests.get(f"{base_url}/orders/2026-01-01/orders/{order_id}", headers=headers, timeout=10,
                         params={"includedData": "FULFILLMENT,PACKAGES"}).json()["order"]
    item = order["orderItems"][0]
    shipped = requests.post(f"{base_url}/orders/v0/orders/{order_id}/shipmentConfirmation", headers=headers,
                            timeout=10, json={"marketplaceId": order["salesChannel"]["marketplaceId"], "packageDetail": {
                                "packageReferenceId": "1", "carrierCode": "DHL", "trackingNumber": "JD0123",
                                "shipDate": "2026-11-29T09:00:00Z",
                                "orderItems": [{"orderItemId": item["orderItemId"],
                                                "quantity": item["fulfillment"]["quantityUnfulfilled"]}]}})
    assert shipped.status_code == 204, shipped.text
    return requests.get(f"{base_url}/orders/2026-01-01/orders/{order_id}", headers=headers, timeout=10,
                        params={"includedData": "FULFILLMENT,PACKAGES"}).json()["order"]


def test_plain_requests_client_with_only_the_base_urls_changed(amazon):
    order = _documented_client_flow(amazon.url, f"{amazon.url}/auth/o2/token")
    assert order["packages"][0]["trackingNumber"] == "JD0123"
    assert order["fulfillment"]["fulfillmentStatus"] in ("PARTIALLY_SHIPPED", "SHIPPED")


@pytest.fixture
def sp_api_kwargs(amazon):
    """Constructor arguments that point python-amazon-sp-api's LWA client at the sandbox."""
    lwa = urlsplit(amazon.url)
    lwa_class = type("SandboxAccessTokenClient", (AccessTokenClient,),
                     {"scheme": f"{lwa.scheme}://", "host": lwa.netloc})
    lwa_module.cache.clear()  # the library caches tokens per refresh token, across clients
    yield {"credentials": {"refresh_token": CREDS["refresh_token"], "lwa_app_id": CREDS["lwa_client_id"],
                           "lwa_client_secret": CREDS["lwa_client_secret"]},
           "auth_token_client_class": lwa_class}
    lwa_module.cache.clear()


def _pointed(client, amazon):
    client.endpoint = amazon.url
    return client


def test_python_amazon_sp_api_search_get_and_confirm(amazon, sp_api_kwargs):
    orders = _pointed(OrdersV20260101(Marketplaces.US, **sp_api_kwargs), amazon)
    page = orders.search_orders(createdAfter=EPOCH, fulfillmentStatuses=["UNSHIPPED"], fulfilledBy=["MERCHANT"],
                                includedData=["BUYER", "FULFILLMENT", "PROCEEDS"], maxResultsPerPage=10)
    assert page.payload["orders"], "the library's own marketplace filter (US) should still find orders"
    assert all(o["salesChannel"]["marketplaceId"] == "ATVPDKIKX0DER" for o in page.payload["orders"])
    assert page.rate_limit == "5.6"  # 0.0056 req/s scaled by the test sandbox's F = 1000
    order_id = page.payload["orders"][0]["orderId"]
    order = orders.get_order(order_id, includedData=["FULFILLMENT"]).payload["order"]
    assert order["orderId"] == order_id
    item = order["orderItems"][0]

    shipments = _pointed(OrdersV0(Marketplaces.US, **sp_api_kwargs), amazon)
    package = {"packageReferenceId": "7", "carrierCode": "UPS", "trackingNumber": "1ZSPAPI",
               "shipDate": "2026-11-29T08:00:00Z",
               "orderItems": [{"orderItemId": item["orderItemId"], "quantity": item["quantityOrdered"]}]}
    confirmed = shipments.confirm_shipment(order_id, marketplaceId="ATVPDKIKX0DER", packageDetail=package)
    assert confirmed.payload == {"status_code": 204}
    with pytest.raises(SellingApiBadRequestException) as refused:
        shipments.confirm_shipment(order_id, marketplaceId="ATVPDKIKX0DER",
                                   packageDetail={**package, "packageReferenceId": "8"})
    assert refused.value.amzn_code == "InvalidInput" and "exceeds" in refused.value.message
    with pytest.raises(SellingApiNotFoundException):
        orders.get_order("111-0000000-0000000")
    assert amazon.full_order(order_id)["packages"][0]["trackingNumber"] == "1ZSPAPI"


def test_python_amazon_sp_api_feed_round_trip(amazon, sp_api_kwargs):
    order = amazon.control("POST", "/orders", json={"items": [{"sellerSku": "BOWL-RAMEN-2"}]})["order"]
    feeds = _pointed(FeedsV20210630(Marketplaces.US, **sp_api_kwargs), amazon)
    document = (f'<?xml version="1.0" encoding="UTF-8"?><AmazonEnvelope><Header><DocumentVersion>1.01'
                f"</DocumentVersion><MerchantIdentifier>M</MerchantIdentifier></Header><MessageType>"
                f"OrderAcknowledgement</MessageType><Message><MessageID>1</MessageID><OrderAcknowledgement>"
                f"<AmazonOrderID>{order['orderId']}</AmazonOrderID><StatusCode>Failure</StatusCode>"
                f"</OrderAcknowledgement></Message></AmazonEnvelope>").encode()
    _, created = feeds.submit_feed("POST_ORDER_ACKNOWLEDGEMENT_DATA", io.BytesIO(document),
                                   content_type="text/xml; charset=UTF-8")
    feed_id = created.payload["feedId"]
    deadline = time.monotonic() + 10
    while (feed := feeds.get_feed(feed_id).payload)["processingStatus"] != "DONE" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert feed["processingStatus"] == "DONE"
    report = feeds.get_feed_result_document(feed["resultFeedDocumentId"])
    assert "<MessagesProcessed>1</MessagesProcessed>" in report
    assert amazon.full_order(order["orderId"])["fulfillment"]["fulfillmentStatus"] == "CANCELLED"
