"""Reports API 2021-06-30: the typed answers of createReport/getReport/getReports/getReportDocument, and
the flat-file order reports the reconciliation reads.

A report is requested (createReport), moves IN_QUEUE → IN_PROGRESS → DONE (or FATAL, or CANCELLED:
cancelled before it started, or by Amazon when there was no data to report), and when DONE names a
document whose pre-signed URL (five minutes) is downloaded without an access token.

The order reports ``GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL`` / ``…_BY_ORDER_DATE_GENERAL``
are tab-separated, one row per order item, with Amazon's kebab-case column names and no buyer PII.
Amounts are per row (the item's quantity, not a unit price); promotion discounts are negative.
``order-status`` values and what they mean in our terms (``ORDER_STATUSES``): Pending → pending,
Unshipped → unshipped, Shipping → partially_shipped (some items shipped), Shipped → shipped,
Cancelled → cancelled. ``item-status``: Unshipped, Shipped (at least one unit shipped), Cancelled.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from pydantic import Field

from sales_channel.amazon.models import ProcessingStatus, UtcDatetime, _Model

if TYPE_CHECKING:
    import pandas as pd

ORDERS_BY_LAST_UPDATE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"
ORDERS_BY_ORDER_DATE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
ORDER_REPORT_TYPES = (ORDERS_BY_LAST_UPDATE, ORDERS_BY_ORDER_DATE)

# The columns every order report has and the reconciliation needs (Amazon may add others).
ORDER_REPORT_COLUMNS = (
    "amazon-order-id", "merchant-order-id", "purchase-date", "last-updated-date", "order-status",
    "fulfillment-channel", "sales-channel", "sku", "asin", "item-status", "quantity", "currency",
    "item-price", "item-tax", "shipping-price", "shipping-tax", "gift-wrap-price", "gift-wrap-tax",
    "item-promotion-discount", "ship-promotion-discount",
)

# Buyer data some of Amazon's order reports carry (the shipping city, state, postal code and country of
# the all-orders reports; names, addresses and phones of others): dropped on reading, never kept.
_PII_PREFIXES = ("ship-", "buyer-", "recipient-", "bill-")
_NOT_PII = frozenset({"ship-service-level", "ship-promotion-discount", "ship-promotion-id"})

# ``order-status`` of the flat file → the normalised status of the reconciliation.
ORDER_STATUSES = {"Pending": "pending", "Unshipped": "unshipped", "Shipping": "partially_shipped",
                  "Shipped": "shipped", "Cancelled": "cancelled"}
# ``fulfillment-channel`` → who fulfils the order.
FULFILLMENT_CHANNELS = {"Merchant": "merchant", "Amazon": "amazon"}


class Report(_Model):
    """Answer of getReport (and an entry of getReports)."""

    report_id: str
    report_type: str
    processing_status: ProcessingStatus
    created_time: UtcDatetime
    marketplace_ids: list[str] = []
    data_start_time: UtcDatetime | None = None
    data_end_time: UtcDatetime | None = None
    report_schedule_id: str | None = None
    processing_start_time: UtcDatetime | None = None
    processing_end_time: UtcDatetime | None = None
    report_document_id: str | None = None  # DONE (the report) or FATAL (what went wrong), when Amazon has one


class ReportPage(_Model):
    """One getReports page; ``next_token`` fetches the next one (it is then the only parameter)."""

    reports: list[Report]
    next_token: str | None = None


class ReportDocument(_Model):
    """Answer of getReportDocument: where to download the document, and whether it is compressed."""

    report_document_id: str
    url: str = Field(repr=False)  # pre-signed: a short-lived credential of its own
    compression_algorithm: str | None = None


class ReportDocumentError(ValueError):
    """A downloaded report document cannot be read (bad compression or encoding)."""


def read_order_report(text: str) -> pd.DataFrame:
    """An order report's rows as strings (Amazon's column names, nothing converted, empty cells ``""``),
    without the buyer's data some reports carry (shipping city, postal code, …: dropped here).

    Raises ValueError naming the first required column the document lacks. A report with no order has
    only its header line (or nothing, when Amazon cancelled it for lack of data: then pass ``""`` and
    get the empty frame with the required columns).
    """
    import pandas as pd  # not at import time: DAG files import this package at parse time

    if not text.strip():
        return pd.DataFrame({column: pd.Series(dtype=str) for column in ORDER_REPORT_COLUMNS})
    # Amazon's flat files are not quoted: a product name that starts with '"' is text, not a quote.
    frame = pd.read_csv(io.StringIO(text), sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE)
    for column in ORDER_REPORT_COLUMNS:
        if column not in frame.columns:
            raise ValueError(f"order report: required column {column!r} is missing "
                             f"(columns: {', '.join(frame.columns)})")
    return frame.drop(columns=[c for c in frame.columns if _is_buyer_data(c)])


def _is_buyer_data(column: str) -> bool:
    return column == "purchase-order-number" or (column.startswith(_PII_PREFIXES) and column not in _NOT_PII)
