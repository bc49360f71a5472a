"""Reports API 2021-06-30 in the sandbox over raw HTTP: createReport's validation, the usage plan,
the report's window and marketplaces, amounts as ordered (refunds left out, cancellations zeroed),
getReports' paging, documents from the public base URL, and persistence across a restart."""

from __future__ import annotations

import gzip
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests
from sales_channel.sandbox.common.clock import to_iso
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS, SandboxConfig
from sales_channel.sandbox.common.server import ThreadServer

from tests.sandbox.amazon.support import access_token
from tests.sandbox.amazon.test_amazon_feeds import _envelope, _finished, _refund, _submit

REPORTS = "/reports/2021-06-30/reports"
BY_UPDATE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"
BY_DATE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
US, JP = "ATVPDKIKX0DER", "A1VC38T7YXB528"


def _ago(**delta: float) -> str:
    return to_iso(datetime.now(UTC) - timedelta(**delta))


def _create(amazon, contract, **spec) -> str:
    spec.setdefault("reportType", BY_UPDATE)
    spec.setdefault("marketplaceIds", [US])
    spec.setdefault("dataStartTime", _ago(days=30))
    response = amazon.post(REPORTS, json=spec)
    assert response.status_code == 202, response.text
    return contract.check("reports", "createReport", response)["reportId"]


def _done(amazon, contract, report_id: str) -> dict:
    amazon.control("POST", "/lifecycle/advance", json={"seconds": None})
    return contract.check("reports", "getReport", amazon.get(f"{REPORTS}/{report_id}"))


def _rows(amazon, contract, report: dict) -> list[dict[str, str]]:
    assert report["processingStatus"] == "DONE", report
    document = contract.check("reports", "getReportDocument", amazon.get(
        f"/reports/2021-06-30/documents/{report['reportDocumentId']}"))
    download = requests.get(document["url"], timeout=10)
    assert download.status_code == 200 and "x-amz-access-token" not in download.request.headers
    content = gzip.decompress(download.content) if document.get("compressionAlgorithm") else download.content
    header, *lines = content.decode("utf-8").splitlines()
    return [dict(zip(header.split("\t"), line.split("\t"), strict=True)) for line in lines]


def _order(amazon, **order) -> dict:
    order.setdefault("items", [{"sellerSku": "KETTLE-GOOSE-1L", "quantity": 2}])
    order.setdefault("createdTime", _ago(hours=2))
    order.setdefault("lastUpdatedTime", order["createdTime"])
    return amazon.control("POST", "/orders", json=order)["order"]


@pytest.mark.parametrize(("spec", "named"), [
    ({"reportType": None}, "reportType"),
    ({"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA"}, "reportType"),
    ({"marketplaceIds": []}, "marketplaceIds"),
    ({"marketplaceIds": ["A1NOTAMARKET"]}, "marketplaceIds"),
    ({"dataStartTime": "yesterday"}, "dataStartTime"),
    ({"dataStartTime": _ago(hours=1), "dataEndTime": _ago(hours=2)}, "dataStartTime"),
    ({"dataEndTime": to_iso(datetime.now(UTC) + timedelta(hours=1))}, "dataEndTime"),
    ({"reportOptions": {"x": 1}}, "reportOptions"),
])
def test_create_report_refuses_invalid_requests(amazon, contract, spec, named):
    body = {"reportType": BY_UPDATE, "marketplaceIds": [US], **spec}
    response = amazon.post(REPORTS, json={k: v for k, v in body.items() if v is not None})
    assert response.status_code == 400
    error = contract.check("reports", "createReport", response)["errors"][0]
    assert error["code"] == "InvalidInput" and named in error["message"]
    assert not [e for e in amazon.control("GET", "/lifecycle")["pending"] if e["kind"].startswith("report")]


def test_usage_plan_and_rate_header(amazon_factory, contract):
    amazon = amazon_factory(orders=3, time_scale=1.0)
    answers = [amazon.post(REPORTS, json={"reportType": BY_DATE, "marketplaceIds": [US]}) for _ in range(16)]
    assert [a.status_code for a in answers] == [202] * 15 + [429]
    assert answers[0].headers["x-amzn-RateLimit-Limit"] == "0.0167"
    assert "x-amzn-RateLimit-Limit" not in answers[-1].headers and answers[-1].headers["x-amzn-RequestId"]
    assert contract.check("reports", "createReport", answers[-1])["errors"][0]["code"] == "QuotaExceeded"
    assert amazon.get(f"{REPORTS}/{answers[0].json()['reportId']}").headers["x-amzn-RateLimit-Limit"] == "2"


def test_window_and_marketplaces(amazon, contract):
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    start = end - timedelta(hours=2)
    at_start = _order(amazon, createdTime=to_iso(start - timedelta(days=1)), lastUpdatedTime=to_iso(start))
    at_end = _order(amazon, createdTime=to_iso(start - timedelta(days=1)), lastUpdatedTime=to_iso(end))
    after = _order(amazon, createdTime=to_iso(start), lastUpdatedTime=_ago(minutes=30))
    japan = _order(amazon, marketplaceId=JP, items=[{"sellerSku": "TEAPOT-CAST-800", "quantity": 3}],
                   createdTime=to_iso(start), lastUpdatedTime=to_iso(start + timedelta(minutes=5)))
    window = {"dataStartTime": to_iso(start), "dataEndTime": to_iso(end)}
    by_update = _rows(amazon, contract, _done(amazon, contract, _create(amazon, contract, **window)))
    ids = {row["amazon-order-id"] for row in by_update}
    assert {at_start["orderId"], at_end["orderId"]} <= ids and not {after["orderId"], japan["orderId"]} & ids
    assert all(start <= datetime.fromisoformat(row["last-updated-date"]) <= end for row in by_update)
    by_date = _rows(amazon, contract, _done(amazon, contract, _create(
        amazon, contract, reportType=BY_DATE, marketplaceIds=[JP, US], **window)))
    ids = {row["amazon-order-id"] for row in by_date}
    assert {after["orderId"], japan["orderId"]} <= ids and not {at_start["orderId"], at_end["orderId"]} & ids
    [teapots] = [row for row in by_date if row["amazon-order-id"] == japan["orderId"]]
    assert (teapots["currency"], teapots["sales-channel"], teapots["quantity"]) == ("JPY", "Amazon.co.jp", "3")
    assert "." not in teapots["item-price"] and Decimal(teapots["item-price"]) == 3 * Decimal(
        japan["orderItems"][0]["product"]["price"]["unitPrice"]["amount"])


def test_amounts_are_as_ordered_refunds_left_out_cancellations_zeroed(amazon, contract):
    refunded = _order(amazon, items=[{"sellerSku": "KETTLE-GOOSE-1L", "quantity": 2, "unitPrice": "59.00"}])
    item = refunded["orderItems"][0]["orderItemId"]
    assert amazon.post(f"/orders/v0/orders/{refunded['orderId']}/shipmentConfirmation", json={
        "marketplaceId": US, "packageDetail": {
            "packageReferenceId": "1", "carrierCode": "UPS", "trackingNumber": "1Z1", "shipDate": _ago(minutes=10),
            "orderItems": [{"orderItemId": item, "quantity": 2}]}}).status_code == 204
    feed_id = _submit(amazon, contract, "POST_PAYMENT_ADJUSTMENT_DATA", _envelope("OrderAdjustment", [
        _refund(refunded["orderId"], item, "R-1", {"Principal": "20.00"})]))
    amazon.control("POST", "/lifecycle/advance", json={"seconds": None})
    assert _finished(amazon, contract, feed_id)["processingStatus"] == "DONE"
    after_refund = amazon.full_order(refunded["orderId"])
    cancelled = _order(amazon, status="CANCELLED")
    rows = _rows(amazon, contract, _done(amazon, contract, _create(amazon, contract, dataEndTime=_ago(seconds=0))))
    [kettle] = [row for row in rows if row["amazon-order-id"] == refunded["orderId"]]
    assert (kettle["order-status"], kettle["item-status"], kettle["item-price"]) == ("Shipped", "Shipped", "118.00")
    assert Decimal(after_refund["proceeds"]["grandTotal"]["amount"]) == sum(
        Decimal(kettle[c]) for c in ("item-price", "item-tax", "shipping-price", "shipping-tax")) - 20
    [gone] = [row for row in rows if row["amazon-order-id"] == cancelled["orderId"]]
    assert (gone["order-status"], gone["item-status"], gone["quantity"]) == ("Cancelled", "Cancelled", "2")
    assert {gone[c] for c in ("item-price", "item-tax", "shipping-price", "shipping-tax")} == {"0.00"}


def test_raw_orders_and_non_report_documents_are_left_out(amazon, contract):
    raw = amazon.control("POST", "/orders/raw", params={"served_updated_time": _ago(hours=1)},
                         json={"orderId": "111-2223334-4445556", "orderItems": "not a list"})
    rows = _rows(amazon, contract, _done(amazon, contract, _create(amazon, contract)))
    assert raw["orderKey"] not in {row["amazon-order-id"] for row in rows}
    feed_document = amazon.post("/feeds/2021-06-30/documents", json={"contentType": "text/xml"}).json()
    refused = amazon.get(f"/reports/2021-06-30/documents/{feed_document['feedDocumentId']}")
    assert refused.status_code == 404 and contract.check("reports", "getReportDocument", refused)
    unknown = amazon.get(f"{REPORTS}/999")
    assert unknown.status_code == 404 and contract.check("reports", "getReport", unknown)["errors"][0]["code"] == \
        "NotFound"


def test_get_reports_filters_and_pages(amazon_factory, contract):
    amazon = amazon_factory(orders=5, time_scale=1.0)  # the reports stay IN_QUEUE while the test runs
    created = [_create(amazon, contract, reportType=kind) for kind in (BY_UPDATE, BY_UPDATE, BY_UPDATE, BY_DATE)]
    first = contract.check("reports", "getReports", amazon.get(REPORTS, params={"reportTypes": BY_UPDATE,
                                                                                 "pageSize": 2}))
    second = contract.check("reports", "getReports", amazon.get(REPORTS, params={"nextToken": first["nextToken"]}))
    assert [r["reportId"] for r in first["reports"] + second["reports"]] == created[2::-1]  # newest first
    assert "nextToken" not in second
    both = amazon.get(REPORTS, params={"reportTypes": f"{BY_UPDATE},{BY_DATE}", "processingStatuses": "IN_QUEUE",
                                       "marketplaceIds": US, "pageSize": 10})
    assert len(contract.check("reports", "getReports", both)["reports"]) == 4
    for params, named in (({}, "reportTypes"), ({"nextToken": "nonsense"}, "nextToken"),
                          ({"reportTypes": BY_UPDATE, "pageSize": 101}, "pageSize"),
                          ({"reportTypes": BY_UPDATE, "processingStatuses": "WAITING"}, "processingStatuses")):
        refused = amazon.get(REPORTS, params=params)
        assert refused.status_code == 400 and named in contract.check("reports", "getReports", refused)[
            "errors"][0]["message"]


def test_document_url_comes_from_the_public_base_url_not_the_host_header(amazon, contract):
    report = _done(amazon, contract, _create(amazon, contract))
    answer = amazon.get(f"/reports/2021-06-30/documents/{report['reportDocumentId']}",
                        headers={"Host": "evil.example.com", "X-Forwarded-Host": "evil.example.com"})
    url = contract.check("reports", "getReportDocument", answer)["url"]
    assert url.startswith(amazon.url + "/documents/") and "evil" not in url and "signature=" in url


def test_reports_and_documents_survive_a_restart(tmp_path):
    config = SandboxConfig(state_dir=tmp_path, orders=20, seed=5, time_scale=1000.0,
                           credentials=dict(DEFAULT_CREDENTIALS))
    server = ThreadServer("amazon", config).start()
    try:
        headers = {"x-amz-access-token": access_token(server.url)}
        report_id = requests.post(server.url + REPORTS, headers=headers, timeout=10, json={
            "reportType": BY_DATE, "marketplaceIds": [US], "dataStartTime": _ago(days=30)}).json()["reportId"]
        requests.post(f"{server.url}/_sandbox/lifecycle/advance", json={"seconds": None}, timeout=10)
        before = requests.get(f"{server.url}{REPORTS}/{report_id}", headers=headers, timeout=10).json()
        assert before["processingStatus"] == "DONE"
        url = requests.get(f"{server.url}/reports/2021-06-30/documents/{before['reportDocumentId']}",
                           headers=headers, timeout=10).json()["url"]
        content = requests.get(url, timeout=10).content
    finally:
        server.stop()
    time.sleep(0.1)
    restarted = ThreadServer("amazon", config).start()
    try:
        assert requests.get(f"{restarted.url}{REPORTS}/{report_id}", headers=headers, timeout=10).json() == before
        # The port may differ: a URL handed out before is signed for the document, not the host.
        again = requests.get(f"{restarted.url}/reports/2021-06-30/documents/{before['reportDocumentId']}",
                             headers=headers, timeout=10).json()["url"]
        assert requests.get(again, timeout=10).content == content
    finally:
        restarted.stop()
