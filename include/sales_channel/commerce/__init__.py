"""Adobe Commerce (Magento 2.4) REST client: orders, invoices, shipments, credit memos, products, stock.

``CommerceClient`` is the entry point; its resources (``client.orders``, ``client.invoices``, ...) live
in one module each and share the client's transport."""

from sales_channel.commerce.catalog import Catalog
from sales_channel.commerce.client import CommerceClient
from sales_channel.commerce.creditmemos import CreditMemos
from sales_channel.commerce.customers import Customers
from sales_channel.commerce.directory import Directory
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
from sales_channel.commerce.invoices import Invoices
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
from sales_channel.commerce.orders import Orders
from sales_channel.commerce.resource import Quantities, Resource
from sales_channel.commerce.search import Chunking, Condition, Direction, Filter, SearchCriteria
from sales_channel.commerce.shipments import Shipments
from sales_channel.commerce.transport import CallStats, RetryPolicy

__all__ = [
    "AmbiguousWriteError", "CallStats", "Catalog", "Chunking", "CommerceClient", "CommerceError", "Condition",
    "CreditMemo", "CreditMemos", "CurrencyInfo", "Customer", "Customers", "Direction", "Directory", "DocumentItem",
    "Filter", "Invoice", "Invoices", "NotFoundError", "Order", "OrderItem", "Orders", "Product", "Quantities",
    "Resource", "RetryPolicy", "SandboxCredentialError", "SearchCriteria", "SearchResult", "ServerError",
    "Shipment", "Shipments", "StatusHistory", "StockItem", "TransportError", "Track", "UnauthorizedError",
    "ValidationError", "render_message",
]
