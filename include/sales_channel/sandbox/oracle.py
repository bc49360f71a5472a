"""What a correct import of sandbox orders produces, derived from Amazon's data and the shared catalog
alone — never from the importer's code — and what the sandboxes hold. Tests and benchmarks check the
import against it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import requests

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


def amazon_orders(amazon_url: str, marketplace_ids: list[str]) -> list[dict[str, Any]]:
    """Every order the Amazon sandbox holds for these marketplaces, as Amazon returns it now (all datasets).

    Read as a separate seller-side reader (its own usage-plan bucket in this process)."""
    from sales_channel.amazon.auth import LwaCredentials
    from sales_channel.amazon.client import SpApiClient
    from sales_channel.amazon.models import ALL_INCLUDED_DATA
    from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS as CREDS

    now = datetime.now(UTC)
    with SpApiClient(LwaCredentials(CREDS["lwa_client_id"], CREDS["lwa_client_secret"], CREDS["refresh_token"]),
                     seller_id="oracle-reader", base_url=amazon_url) as client:
        return [order.raw for order in client.search_orders(
            created_after=now - timedelta(days=400), created_before=now - timedelta(minutes=3),
            marketplace_ids=marketplace_ids, included_data=ALL_INCLUDED_DATA)]


def commerce_orders_created(commerce_url: str) -> Counter[str]:
    """How many Commerce orders were created for each ext_order_id (the Commerce sandbox's ledger)."""
    response = requests.get(f"{commerce_url}/_sandbox/ledger", params={"event": "order_created"}, timeout=60)
    response.raise_for_status()
    return Counter(e["ext_order_id"] for e in response.json()["events"])
