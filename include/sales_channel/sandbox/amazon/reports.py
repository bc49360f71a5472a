"""Reports API 2021-06-30 in the sandbox: report state, its processing on the lifecycle clock, and the
flat-file order reports generated from the sandbox's own orders.

A report moves IN_QUEUE → IN_PROGRESS → DONE on the lifecycle clock (``QUEUE_TIME`` then
``PROCESSING_TIME`` of lifecycle time, divided by F), like a feed. Its document is generated when it
reaches DONE, from the orders as they are then: the report of a window agrees with searchOrders over
the same window at that moment. A report with no row ends CANCELLED without a document (Amazon's
"automatic cancellation if there is no data to return"); one marked by the ``fatal_reports`` setting
ends FATAL with an error document; an IN_QUEUE report can be cancelled.

The order reports (one row per order item, Amazon's column names, tab-separated UTF-8, no buyer PII:
no name, email, address, phone or purchase order number) carry each item's charges as ordered, the
same amounts as the item's proceeds breakdowns in searchOrders/getOrder, zero once the item is
cancelled; refunds do not change them (Amazon reports refunds elsewhere), so they keep adding up to
the grand total the import gave the Commerce order. Discounts are negative, as in Amazon's files.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sales_channel.sandbox.amazon import orders, processing
from sales_channel.sandbox.amazon.api_orders import horizon
from sales_channel.sandbox.amazon.errors import invalid_input
from sales_channel.sandbox.amazon.seed import BY_MARKETPLACE_ID
from sales_channel.sandbox.common.clock import parse_iso, to_iso

if TYPE_CHECKING:
    from sales_channel.sandbox.amazon.service import AmazonSandbox

QUEUE_TIME = timedelta(seconds=30)
PROCESSING_TIME = timedelta(seconds=60)
REPORT_EVENTS = ("report_start", "report_done")

# Report type → the order column its window is on.
ORDER_REPORTS = {"GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL": "last_updated_time",
                 "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL": "created_time"}
CONTENT_TYPE = "text/tab-separated-values; charset=UTF-8"
COLUMNS = ("amazon-order-id", "merchant-order-id", "purchase-date", "last-updated-date", "order-status",
           "fulfillment-channel", "sales-channel", "order-channel", "url", "ship-service-level", "product-name",
           "sku", "asin", "item-status", "quantity", "currency", "item-price", "item-tax", "shipping-price",
           "shipping-tax", "gift-wrap-price", "gift-wrap-tax", "item-promotion-discount",
           "ship-promotion-discount", "promotion-ids", "is-business-order", "price-designation")
# fulfillmentStatus of searchOrders → order-status of the flat file (docs/amazon-sandbox.md, Reports).
ORDER_STATUS = {"PENDING_AVAILABILITY": "Pending", "PENDING": "Pending", "UNSHIPPED": "Unshipped",
                "PARTIALLY_SHIPPED": "Shipping", "SHIPPED": "Shipped", "CANCELLED": "Cancelled",
                "UNFULFILLABLE": "Unfulfillable"}
SERVICE_LEVEL = {"STANDARD": "Standard", "EXPEDITED": "Expedited", "SECOND_DAY": "SecondDay",
                 "NEXT_DAY": "NextDay"}
# Amount columns ← the (type, subtype) of the item's proceeds (orders.item_net).
AMOUNTS = (("item-price", ("ITEM", None)), ("item-tax", ("TAX", "ITEM")), ("shipping-price", ("SHIPPING", None)),
           ("shipping-tax", ("TAX", "SHIPPING")), ("gift-wrap-price", ("GIFT_WRAP", None)),
           ("gift-wrap-tax", ("TAX", "GIFT_WRAP")), ("item-promotion-discount", ("DISCOUNT", "ITEM")),
           ("ship-promotion-discount", ("DISCOUNT", "SHIPPING")))
MAX_MARKETPLACES = 25


# --- createReport --------------------------------------------------------------------------------
def _time(body: dict[str, Any], name: str, default: datetime) -> datetime:
    raw = body.get(name)
    if raw is None:
        return default
    try:
        if not isinstance(raw, str) or "T" not in raw:
            raise ValueError
        return parse_iso(raw)
    except ValueError:
        raise invalid_input(f"Invalid {name} '{raw}'.", f"{name} must be an ISO 8601 date-time") from None


def create(sandbox: AmazonSandbox, body: Any) -> dict[str, Any]:
    """Validate a CreateReportSpecification and queue the report; the caller holds the transaction."""
    if not isinstance(body, dict):
        raise invalid_input("The request body must be a JSON object.")
    report_type = body.get("reportType")
    if not isinstance(report_type, str) or not report_type:
        raise invalid_input("Missing required field reportType.")
    if report_type not in ORDER_REPORTS:
        raise invalid_input(f"Invalid reportType {report_type}.",
                            f"the sandbox generates {', '.join(ORDER_REPORTS)}")
    marketplace_ids = body.get("marketplaceIds")
    if (not isinstance(marketplace_ids, list) or not 1 <= len(marketplace_ids) <= MAX_MARKETPLACES
            or not all(isinstance(m, str) and m for m in marketplace_ids)):
        raise invalid_input(f"marketplaceIds must list 1 to {MAX_MARKETPLACES} marketplace ids.")
    unknown = [m for m in marketplace_ids if m not in BY_MARKETPLACE_ID]
    if unknown:
        raise invalid_input(f"Invalid marketplaceIds {', '.join(unknown)}.",
                            f"the seller sells in {', '.join(BY_MARKETPLACE_ID)}")
    options = body.get("reportOptions")
    if options is not None and (not isinstance(options, dict)
                                or not all(isinstance(v, str) for v in options.values())):
        raise invalid_input("reportOptions must be an object of strings.")
    now = sandbox.now()
    start, end = _time(body, "dataStartTime", now), _time(body, "dataEndTime", now)
    for name, moment in (("dataStartTime", start), ("dataEndTime", end)):
        if moment > now:
            raise invalid_input(f"{name} {to_iso(moment)} is in the future.",
                                f"{name} must be prior to or equal to the current date and time")
    if start > end:
        raise invalid_input(f"dataStartTime {to_iso(start)} is after dataEndTime {to_iso(end)}.")
    settings = sandbox.settings
    fatal = settings["fatal_reports"] > 0
    if fatal:
        sandbox.update_settings({"fatal_reports": settings["fatal_reports"] - 1})
    report = {"reportId": sandbox.new_id(11), "reportType": report_type, "marketplaceIds": list(marketplace_ids),
              "dataStartTime": to_iso(start), "dataEndTime": to_iso(end), "createdTime": sandbox.now_iso(),
              "processingStatus": "IN_QUEUE", "_sandbox": {"fatal": fatal}}
    sandbox.store.put_report(report)
    queued = QUEUE_TIME.total_seconds()
    sandbox.schedule(queued, "report_start", report["reportId"], {})
    sandbox.schedule(queued + PROCESSING_TIME.total_seconds(), "report_done", report["reportId"], {})
    return report


def public(report: dict[str, Any]) -> dict[str, Any]:
    """The report as getReport answers (the sandbox's bookkeeping left out)."""
    return {key: value for key, value in report.items() if not key.startswith("_")}


def cancel(sandbox: AmazonSandbox, report: dict[str, Any]) -> None:
    if report["processingStatus"] != "IN_QUEUE":
        raise invalid_input(f"Report {report['reportId']} is {report['processingStatus']}: only reports with "
                            "processingStatus IN_QUEUE can be cancelled.")
    report.update(processingStatus="CANCELLED", processingEndTime=sandbox.now_iso())
    sandbox.store.put_report(report)


# --- processing ----------------------------------------------------------------------------------
def advance_report(sandbox: AmazonSandbox, report_id: str, kind: str) -> str:
    """The lifecycle events of a report: start processing, then finish it (DONE, CANCELLED or FATAL)."""
    return processing.advance(sandbox, "report", sandbox.store.get_report(report_id), kind == "report_start",
                              sandbox.store.put_report, lambda report: _finish(sandbox, report))


def _finish(sandbox: AmazonSandbox, report: dict[str, Any]) -> None:
    if report["_sandbox"]["fatal"]:
        error = {"errorDetails": f"Report {report['reportId']} could not be generated (fault injected by the "
                                 "sandbox's fatal_reports setting)."}
        report.update(processingStatus="FATAL",
                      reportDocumentId=_store_document(sandbox, json.dumps(error).encode(), "application/json"))
        return
    rows = order_rows(sandbox, report)
    if rows:
        report.update(processingStatus="DONE", reportDocumentId=_store_document(
            sandbox, render(rows).encode("utf-8"), CONTENT_TYPE))
    else:
        report["processingStatus"] = "CANCELLED"  # Amazon cancels a report that has no data


def _store_document(sandbox: AmazonSandbox, content: bytes, content_type: str) -> str:
    return processing.store_document(sandbox, f"amzn1.spdoc.1.4.na.{sandbox.new_id(20)}", "report", content_type,
                                     content)


# --- the order report ----------------------------------------------------------------------------
def _report_time(iso: str) -> str:
    """Amazon's flat files write times as ``2026-11-29T10:00:00+00:00``."""
    return parse_iso(iso).isoformat()


def _item_status(item: dict[str, Any]) -> str:
    if item.get("cancellation", {}).get("cancellationExecution"):
        return "Cancelled"
    return "Shipped" if item["fulfillment"]["quantityFulfilled"] > 0 else "Unshipped"


def order_rows(sandbox: AmazonSandbox, report: dict[str, Any]) -> list[dict[str, str]]:
    """One row per item of every order of the report's window and marketplaces (raw orders, which the
    sandbox serves as given without knowing their charges, and orders past the two-year horizon are
    left out, as searchOrders leaves out the latter)."""
    marketplaces = set(report["marketplaceIds"])
    oldest = horizon(sandbox.now())
    rows = []
    for doc in sandbox.store.orders_in_range(ORDER_REPORTS[report["reportType"]], report["dataStartTime"],
                                             report["dataEndTime"]):
        if (orders.is_raw(doc) or doc["salesChannel"]["marketplaceId"] not in marketplaces
                or doc["createdTime"] < oldest):
            continue
        rows.extend(_rows_of(doc))
    return rows


def _rows_of(doc: dict[str, Any]) -> list[dict[str, str]]:
    currency = doc["_sandbox"]["currency"]
    aliases = [a["aliasId"] for a in doc.get("orderAliases") or [] if a.get("aliasType") == "SELLER_ORDER_ID"]
    business = "AMAZON_BUSINESS" in (doc.get("programs") or [])
    common = {
        "amazon-order-id": doc["orderId"], "merchant-order-id": aliases[0] if aliases else "",
        "purchase-date": _report_time(doc["createdTime"]), "last-updated-date": _report_time(doc["lastUpdatedTime"]),
        "order-status": ORDER_STATUS[orders.order_status(doc)],
        "fulfillment-channel": "Amazon" if orders.is_amazon_fulfilled(doc) else "Merchant",
        "sales-channel": doc["salesChannel"]["marketplaceName"], "order-channel": "", "url": "",
        "ship-service-level": SERVICE_LEVEL.get(doc["fulfillment"].get("fulfillmentServiceLevel", ""), ""),
        "currency": currency, "is-business-order": "true" if business else "false",
        "price-designation": "BusinessPrice" if business else "",
    }
    rows = []
    for item in doc["orderItems"]:
        # As ordered: refunds left out (they are not in this report), zero once cancelled (as proceeds).
        net = orders.item_net({**item, "_refunds": {}}, currency)
        product = item["product"]
        promotions = [p["promotionId"] for p in (item.get("promotion") or {}).get("breakdowns", [])]
        rows.append({**common, "product-name": _cell(product.get("title", "")), "sku": product["sellerSku"],
                     "asin": product["asin"], "item-status": _item_status(item),
                     "quantity": str(item["quantityOrdered"]),
                     **{column: orders.amount_text(net.get(key, Decimal(0)), currency) for column, key in AMOUNTS},
                     "promotion-ids": ",".join(promotions)})
    return rows


def _cell(text: str) -> str:
    """A value as one cell: the flat file has no quoting, so tabs and line breaks become spaces."""
    return " ".join(text.replace("\t", " ").splitlines())


def render(rows: list[dict[str, str]]) -> str:
    return "".join("\t".join(row) + "\n" for row in [list(COLUMNS), *([r[c] for c in COLUMNS] for r in rows)])
