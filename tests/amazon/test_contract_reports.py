"""Contract tests of the Reports part of the SP-API client against the Amazon sandbox over real HTTP:
every Reports request and response body validated against Amazon's model (reports_2021-06-30.json),
the processing states over time, the order report agreeing with searchOrders and with what the import
puts in Commerce, GZIP documents, refused document URLs, usage plans and cancellation."""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests
from sales_channel.amazon import (
    ORDER_REPORT_COLUMNS,
    ORDERS_BY_LAST_UPDATE,
    ORDERS_BY_ORDER_DATE,
    DocumentTransferError,
    InvalidInputError,
    InvalidParameterError,
    NotFoundError,
    PackageDetail,
    ProcessingStatus,
    QuotaExceededError,
    ReportDocument,
    read_order_report,
)
from sales_channel.amazon.reports import FULFILLMENT_CHANNELS, ORDER_STATUSES
from sales_channel.domain.amazon_order import parse_order

from tests.sandbox.amazon.support import Contract

from .conftest import MARKETPLACE_US, SandboxControl

MARKETPLACE_DE = "A1PA6795UKMFR9"
AMOUNT_COLUMNS = ("item-price", "item-tax", "shipping-price", "shipping-tax", "gift-wrap-price", "gift-wrap-tax",
                  "item-promotion-discount", "ship-promotion-discount")
# Our order statuses for the report's order-status values (searchOrders' fulfillmentStatus).
FULFILLMENT_STATUS = {"pending": "PENDING", "unshipped": "UNSHIPPED", "partially_shipped": "PARTIALLY_SHIPPED",
                      "shipped": "SHIPPED", "cancelled": "CANCELLED"}


class RecordingSession(requests.Session):
    """The client's session, keeping every Reports API exchange so the test validates each body."""

    def __init__(self) -> None:
        super().__init__()
        self.exchanges: list[requests.Response] = []
        self.hooks["response"].append(self._keep)

    def _keep(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if "/reports/2021-06-30/" in response.request.url:
            self.exchanges.append(response)


class ModelCheck:
    """Maps a recorded exchange to its operation in the model and validates request and response."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        spec = contract._models["reports"]
        self.routes = [(method.upper(), re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), op["operationId"])
                       for path, item in spec["paths"].items() for method, op in item.items() if method != "parameters"]

    def operation(self, response: requests.Response) -> str:
        path = requests.utils.urlparse(response.request.url).path
        for method, pattern, operation in self.routes:
            if method == response.request.method and pattern.match(path):
                return operation
        raise AssertionError(f"{response.request.method} {path} is not an operation of the reports model")

    def validate(self, exchanges: list[requests.Response]) -> dict[str, int]:
        """Validate every exchange; returns how many of each operation were seen."""
        seen: dict[str, int] = defaultdict(int)
        for response in exchanges:
            operation = self.operation(response)
            seen[operation] += 1
            if operation == "createReport":
                self.contract.check_definition("reports", "CreateReportSpecification",
                                               json.loads(response.request.body))
            self.contract.check("reports", operation, response)
        return dict(seen)


@pytest.fixture
def recorded(make_client, contract: Contract) -> Iterator[tuple[Any, RecordingSession]]:
    """A client whose every Reports exchange is validated against the model when the test ends."""
    session = RecordingSession()
    client = make_client(session=session)
    yield client, session
    ModelCheck(contract).validate(session.exchanges)


@pytest.fixture(scope="session")
def contract() -> Contract:
    return Contract()


def _run_report(client, report_type: str, start: datetime, end: datetime, marketplaces=(MARKETPLACE_US,)):
    report_id = client.create_report(report_type, list(marketplaces), start, end)
    return client.wait_for_report(report_id, poll_interval_s=0.02, timeout_s=30)


def _document_text(client, report) -> str:
    assert report.processing_status is ProcessingStatus.DONE, report
    return client.download_report_document(client.get_report_document(report.report_document_id))


def _an_hour_ago() -> str:
    return (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _varied_orders(control: SandboxControl) -> list[dict[str, Any]]:
    """Orders of every shape the report must render: promotions, gifts, free shipping, business,
    Amazon-fulfilled, cancelled, pending, partially shipped, another marketplace."""
    when = {"createdTime": _an_hour_ago(), "lastUpdatedTime": _an_hour_ago()}
    return [
        control.add_order(items=[{"sellerSku": "MUG-CERAMIC-WHT", "quantity": 3, "promotion": True, "gift": True},
                                 {"sellerSku": "TEA-GREEN-100"}], freeShippingPromotion=True, **when),
        control.add_order(business=True, items=[{"sellerSku": "KETTLE-GOOSE-1L", "quantity": 2}], **when),
        control.add_order(fulfilledBy="AMAZON", status="SHIPPED", prime=True, **when),
        control.add_order(status="CANCELLED", **when),
        control.add_order(status="PENDING", **when),
        control.add_order(marketplaceId=MARKETPLACE_DE, items=[{"sellerSku": "TEA-MATCHA-50G", "gift": True}], **when),
    ]


@pytest.mark.parametrize("report_type", [ORDERS_BY_LAST_UPDATE, ORDERS_BY_ORDER_DATE])
def test_order_report_agrees_with_search_orders_and_the_commerce_totals(recorded, control, report_type):
    client, session = recorded
    # Every lifecycle event applied first: no order may move between the report and the search.
    control._json("POST", "/lifecycle/advance", json={"seconds": None})
    added = _varied_orders(control)
    partly = added[1]
    client.confirm_shipment(partly["orderId"], MARKETPLACE_US, PackageDetail.model_validate({
        "packageReferenceId": "1", "carrierCode": "UPS", "trackingNumber": "1Z999AA10123456784",
        "shipDate": datetime.now(UTC) - timedelta(minutes=5),
        "orderItems": [{"orderItemId": partly["orderItems"][0]["orderItemId"], "quantity": 1}]}))
    end = datetime.now(UTC) - timedelta(minutes=2)
    start = end - timedelta(days=30)
    by_update = report_type == ORDERS_BY_LAST_UPDATE
    report = _run_report(client, report_type, start, end, [MARKETPLACE_US, MARKETPLACE_DE])
    assert (report.report_type, report.marketplace_ids) == (report_type, [MARKETPLACE_US, MARKETPLACE_DE])
    assert report.data_start_time == start.replace(microsecond=0)
    assert report.processing_start_time <= report.processing_end_time
    frame = read_order_report(_document_text(client, report))
    assert set(ORDER_REPORT_COLUMNS) <= set(frame.columns)

    window = {"last_updated_after": start, "last_updated_before": end} if by_update else \
        {"created_after": start, "created_before": end}
    search = client.search_orders(marketplace_ids=[MARKETPLACE_US, MARKETPLACE_DE],
                                  included_data=["PROCEEDS", "FULFILLMENT", "PROMOTION", "CANCELLATION"], **window)
    amazon = {order.order_id: order for order in search}
    # The partly shipped order was updated just now: past a last-update window's end, inside an order-date one.
    assert (partly["orderId"] in amazon) is not by_update
    assert set(frame["amazon-order-id"]) == set(amazon) and len(amazon) > 30 - 10
    assert {order["orderId"] for order in added} - {partly["orderId"]} <= set(amazon)

    for order_id, rows in frame.groupby("amazon-order-id"):
        order = parse_order(amazon[order_id].raw)
        assert sorted(zip(rows["sku"], rows["quantity"].astype(int), strict=True)) == sorted(
            (item.seller_sku, item.quantity_ordered) for item in order.items), order_id
        currency = set(rows["currency"])
        assert currency == {order.currency}
        total = sum((Decimal(value) for column in AMOUNT_COLUMNS for value in rows[column]), Decimal(0))
        # The proceeds' grand total of searchOrders, and the grand total the import gives the Commerce order.
        assert total == amazon[order_id].typed().proceeds.grand_total.amount == order.buyer_paid, order_id
        [status] = set(rows["order-status"])
        assert FULFILLMENT_STATUS[ORDER_STATUSES[status]] == order.status.value, order_id
        [channel] = set(rows["fulfillment-channel"])
        assert FULFILLMENT_CHANNELS[channel] == order.fulfilled_by.value.lower()
        assert set(rows["sales-channel"]) == {amazon[order_id].raw["salesChannel"]["marketplaceName"]}
        assert set(rows["purchase-date"]) == {order.created_time.isoformat()}
    if not by_update:
        rows = frame[frame["amazon-order-id"] == partly["orderId"]]
        assert list(rows["order-status"]) == ["Shipping"] and list(rows["item-status"]) == ["Shipped"]
    promoted = frame[frame["amazon-order-id"] == added[0]["orderId"]].iloc[0]
    assert Decimal(promoted["item-promotion-discount"]) < 0 and Decimal(promoted["ship-promotion-discount"]) < 0
    assert Decimal(promoted["gift-wrap-price"]) > 0 and promoted["promotion-ids"]
    assert set(frame[frame["amazon-order-id"] == added[3]["orderId"]]["item-status"]) == {"Cancelled"}

    # No buyer data: no name, email, phone, street or postal code of any order in the window.
    text = _document_text(client, report)
    for order_id in amazon:
        full = control.order(order_id)
        address = (full.get("recipient") or {}).get("deliveryAddress") or {}
        for value in [*(full.get("buyer") or {}).values(), address.get("name"), address.get("phone"),
                      address.get("addressLine1"), address.get("postalCode")]:
            if value:
                assert str(value) not in text, f"buyer data of {order_id} in the report"
    assert {"createReport", "getReport", "getReportDocument"} <= set(ModelCheck(Contract()).operation(r)
                                                                      for r in session.exchanges)


def test_report_states_on_the_lifecycle_clock(sandbox_factory, make_client, contract):
    server = sandbox_factory("amazon", orders=10, time_scale=1.0)
    session = RecordingSession()
    client = make_client(base_url=server.url, rate_scale=1.0, session=session)
    control = SandboxControl(server.url)
    control._json("POST", "/lifecycle/advance", json={"seconds": None})
    end = datetime.now(UTC)
    report_id = client.create_report(ORDERS_BY_ORDER_DATE, [MARKETPLACE_US], end - timedelta(days=30), end)
    queued = client.get_report(report_id)
    assert queued.processing_status is ProcessingStatus.IN_QUEUE and queued.report_document_id is None
    assert queued.processing_start_time is None and queued.created_time <= datetime.now(UTC)
    control._json("POST", "/lifecycle/advance", json={"seconds": 31})
    running = client.get_report(report_id)
    assert running.processing_status is ProcessingStatus.IN_PROGRESS and running.processing_start_time
    assert running.report_document_id is None
    control._json("POST", "/lifecycle/advance", json={"seconds": 60})
    done = client.get_report(report_id)
    assert done.processing_status is ProcessingStatus.DONE and done.report_document_id and done.processing_end_time
    rows = read_order_report(_document_text(client, done))
    assert len(rows) and set(rows["sales-channel"]) == {"Amazon.com"}  # the marketplace asked for, only
    # Seen in getReports too, filtered by status and marketplace.
    page = client.get_reports([ORDERS_BY_ORDER_DATE], processing_statuses=["DONE"], marketplace_ids=[MARKETPLACE_US])
    assert [r.report_id for r in page.reports] == [report_id] and page.next_token is None
    assert client.get_reports([ORDERS_BY_LAST_UPDATE]).reports == []
    ModelCheck(contract).validate(session.exchanges)
    control.http.close()


def test_cancel_a_queued_report_and_not_a_running_one(sandbox_factory, make_client, contract):
    server = sandbox_factory("amazon", orders=5, time_scale=1.0)
    session = RecordingSession()
    client = make_client(base_url=server.url, rate_scale=1.0, session=session)
    control = SandboxControl(server.url)
    end = datetime.now(UTC)
    cancelled, running = (client.create_report(ORDERS_BY_ORDER_DATE, [MARKETPLACE_US], end - timedelta(days=9), end)
                          for _ in range(2))
    client.cancel_report(cancelled)
    control._json("POST", "/lifecycle/advance", json={"seconds": 31})
    with pytest.raises(InvalidInputError) as refused:
        client.cancel_report(running)
    assert "IN_QUEUE" in refused.value.message and refused.value.status == 400
    control._json("POST", "/lifecycle/advance", json={"seconds": None})
    report = client.get_report(cancelled)
    assert report.processing_status is ProcessingStatus.CANCELLED and report.report_document_id is None
    assert client.get_report(running).processing_status is ProcessingStatus.DONE
    with pytest.raises(NotFoundError):
        client.cancel_report("123456789")
    with pytest.raises(NotFoundError):
        client.get_report("123456789")
    ModelCheck(contract).validate(session.exchanges)
    control.http.close()


def test_fatal_and_no_data_reports(recorded, control):
    client, _ = recorded
    end = datetime.now(UTC)
    control.settings(fatal_reports=1)
    fatal = _run_report(client, ORDERS_BY_LAST_UPDATE, end - timedelta(days=30), end)
    assert fatal.processing_status is ProcessingStatus.FATAL and fatal.report_document_id
    error = client.download_report_document(client.get_report_document(fatal.report_document_id))
    assert "errorDetails" in error
    # Only the next report: the one after is DONE again.
    assert _run_report(client, ORDERS_BY_LAST_UPDATE, end - timedelta(days=30), end).processing_status \
        is ProcessingStatus.DONE
    # Amazon cancels a report that has no data to return (years before the seed: no order).
    empty = _run_report(client, ORDERS_BY_ORDER_DATE, end - timedelta(days=700), end - timedelta(days=600))
    assert empty.processing_status is ProcessingStatus.CANCELLED and empty.report_document_id is None
    assert read_order_report("").empty and list(read_order_report("").columns) == list(ORDER_REPORT_COLUMNS)


def test_gzip_document_reads_the_same_as_a_plain_one(recorded, control):
    client, _ = recorded
    end = datetime.now(UTC) - timedelta(minutes=2)
    plain = _run_report(client, ORDERS_BY_LAST_UPDATE, end - timedelta(days=30), end)
    assert client.get_report_document(plain.report_document_id).compression_algorithm is None
    control.settings(gzip_reports=True)
    packed = _run_report(client, ORDERS_BY_LAST_UPDATE, end - timedelta(days=30), end)
    document = client.get_report_document(packed.report_document_id)
    assert document.compression_algorithm == "GZIP" and "signature" not in repr(document)
    raw = requests.get(document.url, timeout=10).content
    assert raw[:2] == b"\x1f\x8b"  # gzip magic: what Amazon stores is the compressed file
    assert client.download_report_document(document) == _document_text(client, plain)


def test_document_urls_refused_when_forged_or_expired(recorded, control, amazon):
    client, _ = recorded
    end = datetime.now(UTC)
    report = _run_report(client, ORDERS_BY_LAST_UPDATE, end - timedelta(days=30), end)
    document = client.get_report_document(report.report_document_id)
    assert document.url.startswith(amazon.url + "/documents/")
    forged = ReportDocument(report_document_id=document.report_document_id,
                            url=re.sub(r"signature=([0-9a-f])", lambda m: "signature=" + ("0" if m[1] != "0" else "1"),
                                       document.url))
    with pytest.raises(DocumentTransferError) as refused:
        client.download_report_document(forged)
    assert (refused.value.status, refused.value.code) == (403, "SignatureDoesNotMatch")
    later = re.sub(r"expires=(\d+)", lambda m: f"expires={int(m[1]) + 3600}", document.url)
    with pytest.raises(DocumentTransferError):  # a longer life is a forged signature too
        client.download_report_document(ReportDocument(report_document_id=document.report_document_id, url=later))
    control.settings(document_url_ttl_seconds=1)
    short = client.get_report_document(report.report_document_id)
    time.sleep(2.1)
    with pytest.raises(DocumentTransferError) as expired:
        client.download_report_document(short)
    assert (expired.value.status, expired.value.code) == (403, "AccessDenied") and "expired" in expired.value.message
    assert client.stats.operations["downloadReportDocument"].calls == 3  # refusals are not retried


def test_usage_plan_429_for_a_process_not_sharing_the_buckets_never_for_one_that_paces(sandbox_factory, make_client):
    server = sandbox_factory("amazon", orders=5, time_scale=1.0)  # Amazon's real plans: 0.0167/s, burst 15
    end = datetime.now(UTC)
    first = make_client(base_url=server.url, rate_scale=1.0)
    for _ in range(15):
        first.create_report(ORDERS_BY_ORDER_DATE, [MARKETPLACE_US], end - timedelta(days=1), end)
    assert (first.stats.operations["createReport"].throttled, first.stats.operations["createReport"].rate_wait_s) \
        == (0, 0)
    # Another process with buckets of its own (not the shared store) finds Amazon's bucket empty.
    other = make_client(base_url=server.url, rate_scale=1.0, max_attempts=1)
    with pytest.raises(QuotaExceededError) as throttled:
        other.create_report(ORDERS_BY_ORDER_DATE, [MARKETPLACE_US], end - timedelta(days=1), end)
    assert (throttled.value.status, throttled.value.code) == (429, "QuotaExceeded")
    # Paced at the plan: 20 creates spend the burst, wait for refills, never a 429. (F = 100: a token
    # every 0.6 s, far above the scheduling jitter of a busy test machine.)
    steady = sandbox_factory("amazon", orders=5, time_scale=100.0)
    paced = make_client(base_url=steady.url, rate_scale=100.0)
    for _ in range(20):
        paced.create_report(ORDERS_BY_ORDER_DATE, [MARKETPLACE_US], end - timedelta(days=1), end)
    stats = paced.stats.operations["createReport"]
    assert (stats.calls, stats.throttled) == (20, 0) and stats.rate_wait_s > 0
    # A 429 the client did not cause is retried after a token interval.
    SandboxControl(steady.url).faults(fail_next=1, error_statuses=[429], operations=["getReport"])
    report_id = paced.create_report(ORDERS_BY_ORDER_DATE, [MARKETPLACE_US], end - timedelta(days=1), end)
    assert paced.get_report(report_id).report_id == report_id
    assert (paced.stats.operations["getReport"].throttled, paced.stats.operations["getReport"].calls) == (1, 2)


def test_bad_requests_are_refused_before_any_call(make_client):
    client = make_client()
    end = datetime.now(UTC)
    with pytest.raises(InvalidParameterError, match="data_start"):
        client.create_report(ORDERS_BY_ORDER_DATE, [MARKETPLACE_US], end, end - timedelta(seconds=1))
    with pytest.raises(InvalidParameterError, match="data_end"):
        client.create_report(ORDERS_BY_ORDER_DATE, [MARKETPLACE_US], end - timedelta(days=1), end.replace(tzinfo=None))
    with pytest.raises(InvalidParameterError, match="marketplace_ids"):
        client.create_report(ORDERS_BY_ORDER_DATE, MARKETPLACE_US, end - timedelta(days=1), end)
    with pytest.raises(InvalidParameterError, match="report_types"):
        client.get_reports()
    assert "createReport" not in client.stats.operations and "getReports" not in client.stats.operations


def test_read_order_report_names_a_missing_column_and_drops_buyer_data():
    header = [c for c in ORDER_REPORT_COLUMNS if c != "item-tax"]
    with pytest.raises(ValueError, match="'item-tax'"):
        read_order_report("\t".join(header) + "\n")
    columns = [*ORDER_REPORT_COLUMNS, "ship-city", "ship-postal-code", "ship-country", "purchase-order-number",
               "product-name"]
    values = {c: f"v-{c}" for c in columns}
    values.update({"product-name": '"Quoted" mug', "quantity": "2", "merchant-order-id": ""})
    frame = read_order_report("\t".join(columns) + "\n" + "\t".join(values[c] for c in columns) + "\n")
    assert not {"ship-city", "ship-postal-code", "ship-country", "purchase-order-number"} & set(frame.columns)
    assert {"ship-promotion-discount", "product-name"} <= set(frame.columns)
    row = frame.iloc[0]
    assert (row["product-name"], row["quantity"], row["merchant-order-id"]) == ('"Quoted" mug', "2", "")
