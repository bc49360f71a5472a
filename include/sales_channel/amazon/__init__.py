"""SP-API client: Login with Amazon, usage-plan pacing shared across processes, typed retries, Orders
v2026-01-01 reads, Orders v0 shipment confirmation, Feeds 2021-06-30 with the XML order feeds, Reports
2021-06-30 with the flat-file order reports."""

from sales_channel.amazon.auth import LwaCredentials
from sales_channel.amazon.client import ClientStats, OrderPage, OrderSearch, SpApiClient
from sales_channel.amazon.endpoints import endpoint_for_marketplace, is_loopback_url
from sales_channel.amazon.errors import (
    ApiErrorDetail,
    DocumentTransferError,
    FeedProcessingReportError,
    InvalidInputError,
    InvalidParameterError,
    LwaError,
    NotFoundError,
    QuotaExceededError,
    SandboxCredentialError,
    SearchWindowError,
    ServerError,
    SpApiError,
    UnauthorizedError,
)
from sales_channel.amazon.feeds_xml import (
    ORDER_ACKNOWLEDGEMENT_FEED,
    PAYMENT_ADJUSTMENT_FEED,
    AdjustedItem,
    AdjustmentReason,
    CancelItem,
    CancelReason,
    FeedBatch,
    MessageResult,
    OrderCancellation,
    OrderRefund,
    PriceComponent,
    ProcessingReport,
    build_order_acknowledgement_feed,
    build_payment_adjustment_feed,
    parse_processing_report,
)
from sales_channel.amazon.models import (
    ALL_INCLUDED_DATA,
    Feed,
    FeedDocument,
    FulfilledBy,
    FulfillmentStatus,
    IncludedData,
    Money,
    Order,
    OrderItem,
    PackageDetail,
    ProcessingStatus,
    ShipmentItem,
)
from sales_channel.amazon.reports import (
    ORDER_REPORT_COLUMNS,
    ORDER_REPORT_TYPES,
    ORDERS_BY_LAST_UPDATE,
    ORDERS_BY_ORDER_DATE,
    Report,
    ReportDocument,
    ReportDocumentError,
    ReportPage,
    read_order_report,
)

__all__ = [
    "ALL_INCLUDED_DATA", "ORDER_ACKNOWLEDGEMENT_FEED", "PAYMENT_ADJUSTMENT_FEED", "AdjustedItem", "AdjustmentReason",
    "ApiErrorDetail", "CancelItem", "DocumentTransferError", "CancelReason", "ClientStats", "Feed", "FeedBatch", "FeedDocument",
    "FeedProcessingReportError", "FulfilledBy", "FulfillmentStatus", "IncludedData", "InvalidInputError", "InvalidParameterError",
    "LwaCredentials", "LwaError", "MessageResult", "Money", "NotFoundError", "Order", "OrderCancellation",
    "OrderItem", "OrderPage", "OrderRefund", "OrderSearch", "PackageDetail", "PriceComponent",
    "ProcessingReport", "ProcessingStatus", "QuotaExceededError", "SandboxCredentialError",
    "SearchWindowError", "ServerError", "ShipmentItem", "SpApiClient", "SpApiError", "UnauthorizedError",
    "build_order_acknowledgement_feed", "build_payment_adjustment_feed", "endpoint_for_marketplace",
    "is_loopback_url", "parse_processing_report",
    "ORDERS_BY_LAST_UPDATE", "ORDERS_BY_ORDER_DATE", "ORDER_REPORT_COLUMNS", "ORDER_REPORT_TYPES", "Report",
    "ReportDocument", "ReportDocumentError", "ReportPage", "read_order_report",
]
