"""What the client enforces before any I/O: searchOrders window rules, typed shipment packages, the
XML order feeds and processing reports, and the refusal to send sandbox credentials off this machine."""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError
from sales_channel.amazon import (
    AdjustedItem,
    CancelItem,
    FeedProcessingReportError,
    InvalidParameterError,
    LwaCredentials,
    Order,
    OrderCancellation,
    OrderPage,
    OrderRefund,
    OrderSearch,
    PackageDetail,
    SandboxCredentialError,
    SearchWindowError,
    SpApiClient,
    build_order_acknowledgement_feed,
    build_payment_adjustment_feed,
    parse_processing_report,
)
from sales_channel.amazon.feeds_xml import decode_document
from sales_channel.amazon.windows import SearchWindow
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS

SANDBOX_CREDENTIALS = LwaCredentials(DEFAULT_CREDENTIALS["lwa_client_id"], DEFAULT_CREDENTIALS["lwa_client_secret"],
                                     DEFAULT_CREDENTIALS["refresh_token"])


@pytest.fixture
def client() -> SpApiClient:
    # A loopback URL nobody listens on: every test here must fail before any I/O.
    return SpApiClient(SANDBOX_CREDENTIALS, seller_id="A1SELLER", base_url="http://127.0.0.1:9")


@pytest.mark.parametrize(("kwargs", "parameter"), [
    ({}, "createdAfter/lastUpdatedAfter"),
    ({"created_after": -timedelta(days=1), "last_updated_after": -timedelta(days=1)},
     "createdAfter/lastUpdatedAfter"),
    ({"last_updated_after": -timedelta(days=1), "created_before": -timedelta(hours=1)}, "createdBefore"),
    ({"created_after": -timedelta(days=1), "last_updated_before": -timedelta(hours=1)},
     "lastUpdatedBefore"),
    ({"last_updated_after": -timedelta(hours=1), "last_updated_before": -timedelta(hours=2)},
     "lastUpdatedBefore"),
    ({"last_updated_after": -timedelta(hours=1), "last_updated_before": -timedelta(seconds=90)},
     "lastUpdatedBefore"),
    ({"created_after": -timedelta(hours=1), "created_before": -timedelta(minutes=1)}, "createdBefore"),
    ({"last_updated_after": datetime(2026, 11, 1, 12, 0)}, "lastUpdatedAfter"),
    ({"last_updated_after": -timedelta(seconds=60)}, "lastUpdatedAfter"),
    ({"created_after": timedelta(days=1)}, "createdAfter"),
    ({"last_updated_after": -timedelta(hours=1), "last_updated_before": datetime(2026, 11, 1)},
     "lastUpdatedBefore"),
    ({"last_updated_after": -timedelta(hours=1), "marketplace_ids": ["ATVPDKIKX0DER", ""]}, "marketplaceIds"),
    ({"last_updated_after": -timedelta(hours=1), "marketplace_ids": "ATVPDKIKX0DER"}, "marketplaceIds"),
    ({"last_updated_after": -timedelta(hours=1), "max_results_per_page": 0}, "maxResultsPerPage"),
    ({"last_updated_after": -timedelta(hours=1), "max_results_per_page": 101}, "maxResultsPerPage"),
    ({"last_updated_after": -timedelta(hours=1), "included_data": ["BUYER", "ADDRESS"]}, "includedData"),
    ({"last_updated_after": -timedelta(hours=1), "fulfillment_statuses": ["Unshipped"]},
     "fulfillmentStatuses"),
])
def test_search_window_rules_are_enforced_before_the_call(client, kwargs, parameter):
    now = datetime.now(UTC)  # offsets are taken from the moment of the call, not of collection
    kwargs = {name: now + value if isinstance(value, timedelta) else value for name, value in kwargs.items()}
    with pytest.raises(InvalidParameterError) as raised:
        client.search_orders(**kwargs)
    assert raised.value.parameter == parameter
    assert parameter in str(raised.value)
    assert isinstance(raised.value, ValueError)
    assert client.stats.total("calls") == 0


def test_window_rules_raise_the_search_window_error(client):
    now = datetime.now(UTC)
    with pytest.raises(SearchWindowError, match="createdBefore: not allowed together with lastUpdatedAfter"):
        client.search_orders(last_updated_after=now - timedelta(hours=2), created_before=now - timedelta(hours=1))


def test_valid_windows_are_accepted_without_io(client):
    now = datetime.now(UTC)
    client.search_orders(last_updated_after=now - timedelta(hours=1), last_updated_before=now - timedelta(minutes=2),
                         included_data=["BUYER", "PACKAGES"], max_results_per_page=1)
    client.search_orders(created_after=now - timedelta(days=3), created_before=now - timedelta(minutes=5),
                         max_results_per_page=100)
    assert client.stats.total("calls") == 0  # the search is lazy: nothing sent until iterated


def _package(**overrides):
    package = {"packageReferenceId": "1", "carrierCode": "UPS", "trackingNumber": "1Z999",
               "shipDate": datetime(2026, 11, 29, 10, tzinfo=UTC),
               "orderItems": [{"orderItemId": "12345678901234", "quantity": 1}]}
    package.update(overrides)
    return package


@pytest.mark.parametrize(("overrides", "field_name"), [
    ({"packageReferenceId": "0"}, "packageReferenceId"),
    ({"packageReferenceId": "PKG-1"}, "packageReferenceId"),
    ({"carrierCode": "Other"}, "carrierName"),
    ({"trackingNumber": ""}, "trackingNumber"),
    ({"shipDate": datetime(2026, 11, 29, 10)}, "shipDate"),
    ({"orderItems": []}, "orderItems"),
    ({"orderItems": [{"orderItemId": "1", "quantity": 0}]}, "quantity"),
])
def test_package_detail_rules(overrides, field_name):
    with pytest.raises(ValidationError) as raised:
        PackageDetail.model_validate(_package(**overrides))
    assert field_name.lower() in str(raised.value).replace("_", "").lower()


def test_package_detail_wire_form():
    package = PackageDetail.model_validate(_package(carrierCode="Other", carrierName="Ταχυμεταφορές",
                                                    shipDate=datetime(2026, 11, 29, 11, tzinfo=UTC) + timedelta(0)))
    assert package.to_api() == {
        "packageReferenceId": "1", "carrierCode": "Other", "carrierName": "Ταχυμεταφορές", "trackingNumber": "1Z999",
        "shipDate": "2026-11-29T11:00:00Z", "orderItems": [{"orderItemId": "12345678901234", "quantity": 1}]}


def test_client_rejects_a_malformed_order_id_before_io(client):
    with pytest.raises(ValueError, match="order_id"):
        client.get_order("not-an-order")
    with pytest.raises(ValueError, match="order_id"):
        client.confirm_shipment("113-123", "ATVPDKIKX0DER", _package())
    assert client.stats.total("calls") == 0


def test_acknowledgement_feed_cancels_with_reasons_and_stable_message_ids():
    orders = [OrderCancellation("113-0000001-0000001", [CancelItem("A1", "NoInventory"), CancelItem("A2", "BuyerCanceled")]),
              OrderCancellation("113-0000002-0000002", [CancelItem("B1", "ShippingAddressUndeliverable")])]
    batch = build_order_acknowledgement_feed("A1SELLER", orders)
    assert batch.xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(batch.xml)
    assert root.findtext("Header/MerchantIdentifier") == "A1SELLER"
    assert root.findtext("MessageType") == "OrderAcknowledgement"
    messages = root.findall("Message")
    assert [m.findtext("MessageID") for m in messages] == ["1", "2"]
    assert [m.findtext("OrderAcknowledgement/StatusCode") for m in messages] == ["Failure", "Failure"]
    assert [i.findtext("CancelReason") for i in messages[0].findall("OrderAcknowledgement/Item")] == [
        "NoInventory", "BuyerCanceled"]
    assert batch.order_by_message_id == {1: "113-0000001-0000001", 2: "113-0000002-0000002"}
    assert build_order_acknowledgement_feed("A1SELLER", orders) == batch  # deterministic


def test_acknowledgement_feed_rejects_unknown_reason_naming_the_order():
    with pytest.raises(ValueError, match=r"order 113-0000001-0000001: item A1: CancelReason: 'OutOfStock'"):
        build_order_acknowledgement_feed("A1SELLER", [OrderCancellation("113-0000001-0000001",
                                                                        [CancelItem("A1", "OutOfStock")])])
    with pytest.raises(ValueError, match="items"):
        build_order_acknowledgement_feed("A1SELLER", [OrderCancellation("113-0000001-0000001", [])])


def test_adjustment_feed_components_currency_and_adjustment_ids():
    refund = OrderRefund("113-0000001-0000001", "CM-100000042", "JPY", [
        AdjustedItem("A1", "CustomerReturn", {"Principal": Decimal("1200"), "Tax": Decimal("120")}),
        AdjustedItem("A2", "GeneralAdjustment", {"Shipping": Decimal("350")}),
    ])
    root = ET.fromstring(build_payment_adjustment_feed("A1SELLER", [refund]).xml)
    assert root.findtext("MessageType") == "OrderAdjustment"
    items = root.findall("Message/OrderAdjustment/AdjustedItem")
    assert [i.findtext("MerchantAdjustmentItemID") for i in items] == ["CM-100000042-1", "CM-100000042-2"]
    assert [i.findtext("AdjustmentReason") for i in items] == ["CustomerReturn", "GeneralAdjustment"]
    components = [(c.findtext("Type"), c.find("Amount").get("currency"), c.findtext("Amount"))
                  for c in items[0].findall("ItemPriceAdjustments/Component")]
    assert components == [("Principal", "JPY", "1200"), ("Tax", "JPY", "120")]


@pytest.mark.parametrize(("item", "message"), [
    (AdjustedItem("A1", "Because", {"Principal": Decimal("1")}), "AdjustmentReason"),
    (AdjustedItem("A1", "CustomerReturn", {"Principle": Decimal("1")}), "component type"),
    (AdjustedItem("A1", "CustomerReturn", {"Principal": Decimal("-1")}), "positive"),
    (AdjustedItem("A1", "CustomerReturn", {"Principal": Decimal("1.005")}), "at most 2 decimal"),
    (AdjustedItem("A1", "CustomerReturn", {"Principal": 1.5}), "Decimal"),  # type: ignore[dict-item]
    (AdjustedItem("A1", "CustomerReturn", {}), "components"),
])
def test_adjustment_feed_validation_names_order_and_field(item, message):
    with pytest.raises(ValueError, match=message) as raised:
        build_payment_adjustment_feed("A1SELLER", [OrderRefund("113-0000001-0000001", "CM-1", "EUR", [item])])
    assert "113-0000001-0000001" in str(raised.value)


def test_adjustment_amounts_follow_the_currency_minor_units():
    def build(currency: str, amount: str) -> bytes:
        return build_payment_adjustment_feed("A1SELLER", [OrderRefund(
            "113-0000001-0000001", "CM-1", currency, [AdjustedItem("A1", "CustomerReturn", {"Principal": Decimal(amount)})])]).xml
    assert b">3.50</Amount>" in build("EUR", "3.5")
    with pytest.raises(ValueError, match="JPY amounts have at most 0 decimal places"):
        build("JPY", "3.5")
    with pytest.raises(ValueError, match="currency"):
        build("euro", "3.5")


def test_feed_keeps_non_ascii_text_as_utf8():
    batch = build_payment_adjustment_feed("Händler-株式会社", [
        OrderRefund("113-0000001-0000001", "Gutschrift-Ä1", "EUR",
                    [AdjustedItem("A1", "CustomerReturn", {"Principal": Decimal("1")})])])
    assert "Händler-株式会社".encode() in batch.xml and b"&#" not in batch.xml
    assert ET.fromstring(batch.xml).findtext("Header/MerchantIdentifier") == "Händler-株式会社"


REPORT = """<?xml version="1.0" encoding="UTF-8"?>
<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="amzn-envelope.xsd">
  <Header><DocumentVersion>1.02</DocumentVersion><MerchantIdentifier>A1SELLER</MerchantIdentifier></Header>
  <MessageType>ProcessingReport</MessageType>
  <Message><MessageID>1</MessageID><ProcessingReport>
    <DocumentTransactionID>50001</DocumentTransactionID><StatusCode>Complete</StatusCode>
    <ProcessingSummary><MessagesProcessed>2</MessagesProcessed><MessagesSuccessful>1</MessagesSuccessful>
      <MessagesWithError>1</MessagesWithError><MessagesWithWarning>0</MessagesWithWarning></ProcessingSummary>
    <Result><MessageID>2</MessageID><ResultCode>Error</ResultCode><ResultMessageCode>18028</ResultMessageCode>
      <ResultDescription>Ünicode description</ResultDescription>
      <AdditionalInfo><AmazonOrderID>113-0000002-0000002</AmazonOrderID></AdditionalInfo></Result>
  </ProcessingReport></Message>
</AmazonEnvelope>""".encode()


def test_processing_report_maps_results_back_to_orders():
    batch = build_order_acknowledgement_feed("A1SELLER", [
        OrderCancellation("113-0000001-0000001", [CancelItem("A1", "NoInventory")]),
        OrderCancellation("113-0000002-0000002", [CancelItem("B1", "NoInventory")])])
    report = parse_processing_report(decode_document(gzip.compress(REPORT), "GZIP"))
    assert (report.messages_processed, report.messages_successful, report.messages_with_error) == (2, 1, 1)
    assert report.document_transaction_id == "50001" and report.status_code == "Complete"
    by_order = report.results_by_order(batch)
    assert by_order["113-0000001-0000001"] == []
    [error] = by_order["113-0000002-0000002"]
    assert error.is_error and error.result_message_code == "18028" and error.description == "Ünicode description"
    assert error.additional_info == {"AmazonOrderID": "113-0000002-0000002"}
    assert report.failed_message_ids() == {2}


def test_processing_report_errors_are_clear():
    with pytest.raises(FeedProcessingReportError, match="GZIP"):
        decode_document(REPORT, "GZIP")
    with pytest.raises(FeedProcessingReportError, match="well-formed"):
        parse_processing_report(b"<AmazonEnvelope>")
    with pytest.raises(FeedProcessingReportError, match="ProcessingReport"):
        parse_processing_report(b"<AmazonEnvelope><Message/></AmazonEnvelope>")


@pytest.mark.parametrize("settings", [
    {"base_url": "https://sellingpartnerapi-na.amazon.com"},
    {"marketplace_id": "A1PA6795UKMFR9"},
    {"base_url": "http://10.0.0.5:8000"},
    {"base_url": "http://127.0.0.1:8000", "lwa_url": "https://api.amazon.com/auth/o2/token"},
])
def test_sandbox_credentials_never_leave_the_machine(settings):
    with pytest.raises(SandboxCredentialError, match="loopback") as raised:
        SpApiClient(SANDBOX_CREDENTIALS, seller_id="A1SELLER", **settings)
    for secret in (SANDBOX_CREDENTIALS.client_secret, SANDBOX_CREDENTIALS.refresh_token):
        assert secret not in str(raised.value)


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:8000", "http://127.8.9.10", "http://localhost:1", "http://[::1]:80"])
def test_sandbox_credentials_are_fine_on_loopback(base_url):
    assert SpApiClient(SANDBOX_CREDENTIALS, seller_id="A1SELLER", base_url=base_url).base_url == base_url


def test_base_url_must_be_an_http_url():
    with pytest.raises(ValueError, match="base_url"):
        SpApiClient(SANDBOX_CREDENTIALS, seller_id="A1SELLER", base_url="127.0.0.1:8000")


def test_real_credentials_pick_the_regional_endpoint():
    real = LwaCredentials("amzn1.application-oa2-client.x", "real-secret", "Atzr|real-refresh")
    assert SpApiClient(real, seller_id="A1", marketplace_id="A1PA6795UKMFR9").base_url == \
        "https://sellingpartnerapi-eu.amazon.com"
    assert SpApiClient(real, seller_id="A1", marketplace_id="A1VC38T7YXB528").base_url == \
        "https://sellingpartnerapi-fe.amazon.com"
    with pytest.raises(ValueError, match="marketplace_id"):
        SpApiClient(real, seller_id="A1", marketplace_id="XX")
    text = repr(real) + repr(SpApiClient(real, seller_id="A1", marketplace_id="ATVPDKIKX0DER"))
    assert "real-secret" not in text and "Atzr|real-refresh" not in text


def _order(order_id: str, updated: str) -> Order:
    return Order.from_api({"orderId": order_id, "createdTime": "2026-11-28T10:00:00Z", "lastUpdatedTime": updated,
                           "salesChannel": {"channelName": "AMAZON", "marketplaceId": "ATVPDKIKX0DER"},
                           "orderItems": [{"orderItemId": "1", "quantityOrdered": 1, "product": {"sellerSku": "S"}}]})


def test_order_search_yields_an_order_seen_on_two_pages_once_in_its_latest_version():
    # Amazon's paging quirk: an order updated while a window is paged can come back on a later page.
    # (The sandbox pages in a stable order and never repeats an order within a window, so the pages
    # are given here.)
    now = datetime.now(UTC)
    window = SearchWindow(last_updated_after=now - timedelta(hours=1), last_updated_before=now - timedelta(minutes=5))
    end = now - timedelta(minutes=5)
    pages = {
        None: OrderPage([_order("113-0000001-0000001", "2026-11-28T11:00:00Z"),
                         _order("113-0000002-0000002", "2026-11-28T11:00:00Z")], "p2", end, None),
        "p2": OrderPage([_order("113-0000003-0000003", "2026-11-28T11:30:00Z"),
                         _order("113-0000001-0000001", "2026-11-28T12:00:00Z")], "p3", end, None),
        "p3": OrderPage([_order("113-0000002-0000002", "2026-11-28T10:59:00Z")], None, end, None),
    }
    fetched: list[str | None] = []

    def fetch(asked: SearchWindow, token: str | None) -> OrderPage:
        assert asked is window
        fetched.append(token)
        return pages[token]

    search = OrderSearch(fetch, window)
    orders = {order.order_id: order.last_updated_time for order in search}
    assert fetched == [None, "p2", "p3"]
    assert orders == {"113-0000001-0000001": datetime(2026, 11, 28, 12, tzinfo=UTC),
                      "113-0000002-0000002": datetime(2026, 11, 28, 11, tzinfo=UTC),
                      "113-0000003-0000003": datetime(2026, 11, 28, 11, 30, tzinfo=UTC)}
    assert search.duplicates == 2 and search.pages_fetched == 3
    assert search.window_end == end.astimezone(UTC)
    assert [o.order_id for o in search] == list(orders)  # replayed, no new calls
    assert fetched == [None, "p2", "p3"]


def test_order_repr_leaves_out_buyer_data():
    order = Order.from_api({**_order("113-0000001-0000001", "2026-11-28T11:00:00Z").raw,
                            "buyer": {"buyerName": "Jürgen Secretname", "buyerEmail": "j@example.com"},
                            "recipient": {"deliveryAddress": {"name": "Jürgen Secretname", "addressLine1": "Weg 1"}},
                            "unknownFutureField": {"phone": "+49 555"}})
    assert order.buyer is not None and order.buyer.buyer_name == "Jürgen Secretname"
    text = repr(order)
    assert "Secretname" not in text and "example.com" not in text and "+49" not in text
    assert "113-0000001-0000001" in text
