"""What a correct import of sandbox orders produces, derived from Amazon's data and the shared catalog
alone — never from the importer's code. Tests and benchmarks check the import against it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sales_channel.sandbox.catalog import BY_SELLER_SKU, CatalogIssue

_MFN_CREATABLE = {"UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED"}
_REASONS = {CatalogIssue.MISSING_IN_COMMERCE: "unknown_sku", CatalogIssue.DISABLED: "product_disabled",
            CatalogIssue.OUT_OF_STOCK: "out_of_stock"}


def creatable(order: Mapping[str, Any]) -> bool:
    """The Adobe extension's creation rules: MFN once unshipped, AFN once shipped, never pending/cancelled."""
    status, channel = order["fulfillment"]["fulfillmentStatus"], order["fulfillment"]["fulfilledBy"]
    return status == "SHIPPED" if channel == "AMAZON" else status in _MFN_CREATABLE


def catalog_blocker(order: Mapping[str, Any], sku_map: Mapping[str, str] | None = None) -> str | None:
    """The quarantine reason the seeded Commerce catalog gives this order, if any."""
    for item in order["orderItems"]:
        seller_sku = item["product"]["sellerSku"]
        product = BY_SELLER_SKU[seller_sku]
        if product.amazon_sku == seller_sku and seller_sku not in (sku_map or {}):
            return "unknown_sku"  # the Amazon SKU differs from the Commerce one: it needs a SKU-map entry
        if product.issue is CatalogIssue.OUT_OF_STOCK and order["fulfillment"]["fulfilledBy"] == "AMAZON":
            continue  # Amazon ships from its own stock
        if product.issue is not CatalogIssue.NONE:
            return _REASONS[product.issue]
    return None


def importable(order: Mapping[str, Any]) -> bool:
    return creatable(order) and catalog_blocker(order) is None


def buyer_paid(order: Mapping[str, Any]) -> Decimal:
    """The sum of the items' charges, discounts subtracted: the Commerce grand total."""
    total = Decimal(0)
    for item in order["orderItems"]:
        for breakdown in item["proceeds"]["breakdowns"]:
            amount = Decimal(breakdown["subtotal"]["amount"])
            total += -abs(amount) if breakdown["type"] == "DISCOUNT" else amount
    return total


def stock_units(order: Mapping[str, Any]) -> Counter[str]:
    """Commerce SKU → units still to ship, for a merchant-fulfilled order."""
    units: Counter[str] = Counter()
    for item in order["orderItems"]:
        shipped = (item.get("fulfillment") or {}).get("quantityFulfilled") or 0
        units[BY_SELLER_SKU[item["product"]["sellerSku"]].sku] += item["quantityOrdered"] - shipped
    return units
