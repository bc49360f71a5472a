"""Adobe Commerce (Magento 2.4) REST client: orders, invoices, shipments, credit memos, products, stock."""

from sales_channel.commerce.client import CommerceClient, Quantities
from sales_channel.commerce.errors import (
    AmbiguousWriteError,
    CommerceError,
    NotFoundError,
    SandboxCredentialError,
    ServerError,
    TransportError,
    UnauthorizedError,
    ValidationError,
    render_message,
)
from sales_channel.commerce.models import (
    CreditMemo,
    CurrencyInfo,
    Customer,
    DocumentItem,
    Invoice,
    Order,
    OrderItem,
    Product,
    SearchResult,
    Shipment,
    StatusHistory,
    StockItem,
    Track,
)
from sales_channel.commerce.search import Chunking, Condition, Direction, Filter, SearchCriteria
from sales_channel.commerce.transport import CallStats, RetryPolicy

__all__ = [
    "AmbiguousWriteError", "CallStats", "Chunking", "CommerceClient", "CommerceError", "Condition",
    "CreditMemo", "CurrencyInfo", "Customer", "Direction", "DocumentItem", "Filter", "Invoice", "NotFoundError", "Order", "OrderItem",
    "Product", "Quantities", "RetryPolicy", "SandboxCredentialError", "SearchCriteria", "SearchResult",
    "ServerError", "Shipment", "StatusHistory", "StockItem", "TransportError", "Track", "UnauthorizedError",
    "ValidationError", "render_message",
]
