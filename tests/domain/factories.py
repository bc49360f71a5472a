"""Amazon Order JSON (Orders API v2026-01-01 shape) for the domain tests."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any


def money(amount: str | Decimal, currency: str) -> dict[str, str]:
    return {"amount": str(amount), "currencyCode": currency}


def item(item_id: str, sku: str, qty: int, unit: str, currency: str, *, tax: str = "0", shipping: str = "0",
         shipping_tax: str = "0", gift_wrap: str = "0", discount: str = "0", shipped: int = 0,
         gift_message: str | None = None, buyer_cancel: bool = False) -> dict[str, Any]:
    breakdowns = [{"type": "ITEM", "subtotal": money(Decimal(unit) * qty, currency)}]
    if Decimal(shipping):
        breakdowns.append({"type": "SHIPPING", "subtotal": money(shipping, currency)})
    if Decimal(gift_wrap):
        breakdowns.append({"type": "GIFT_WRAP", "subtotal": money(gift_wrap, currency)})
    if Decimal(tax):
        tax_entry: dict[str, Any] = {"type": "TAX", "subtotal": money(tax, currency)}
        if Decimal(shipping_tax):
            tax_entry["detailedBreakdowns"] = [
                {"subtype": "ITEM", "value": money(Decimal(tax) - Decimal(shipping_tax), currency)},
                {"subtype": "SHIPPING", "value": money(shipping_tax, currency)}]
        breakdowns.append(tax_entry)
    if Decimal(discount):
        breakdowns.append({"type": "DISCOUNT", "subtotal": money(f"-{discount}", currency)})
    total = sum(Decimal(b["subtotal"]["amount"]) for b in breakdowns)
    data: dict[str, Any] = {
        "orderItemId": item_id, "quantityOrdered": qty,
        "product": {"asin": "B0CTEST001", "title": f"Product {sku}", "sellerSku": sku,
                    "price": {"unitPrice": money(unit, currency)}},
        "proceeds": {"proceedsTotal": money(total, currency), "breakdowns": breakdowns},
        "fulfillment": {"quantityFulfilled": shipped, "quantityUnfulfilled": qty - shipped},
    }
    if Decimal(discount):
        data["promotion"] = {"breakdowns": [{"promotionId": "PROMO-AUTUMN-10"}]}
    if gift_message:
        data["fulfillment"]["packing"] = {"giftOption": {"giftMessage": gift_message, "giftWrapLevel": "Classic"}}
    if buyer_cancel:
        data["cancellation"] = {"cancellationRequest": {"requester": "BUYER", "cancelReason": "Ordered by mistake"}}
    return data


def order(order_id: str = "113-1234567-7654321", *, status: str = "UNSHIPPED", fulfilled_by: str = "MERCHANT",
          marketplace: str = "ATVPDKIKX0DER", currency: str = "USD", items: list[dict] | None = None,
          created: str = "2026-11-20T10:00:00Z", programs: list[str] | None = None,
          name: str = "Jane Q. Public", email: str | None = "abc123@marketplace.amazon.com",
          address: dict | None = None) -> dict[str, Any]:
    items = items if items is not None else [
        item("11111111111111", "MUG-CERAMIC-WHT", 2, "12.99", currency, tax="2.34", shipping="4.99"),
    ]
    totals: dict[str, Decimal] = {}
    for i in items:
        for b in i["proceeds"]["breakdowns"]:
            totals[b["type"]] = totals.get(b["type"], Decimal(0)) + Decimal(b["subtotal"]["amount"])
    data: dict[str, Any] = {
        "orderId": order_id, "createdTime": created, "lastUpdatedTime": "2026-11-20T10:05:00Z",
        "programs": programs or [],
        "salesChannel": {"channelName": "Amazon.com", "marketplaceId": marketplace},
        "fulfillment": {"fulfillmentStatus": status, "fulfilledBy": fulfilled_by,
                        "fulfillmentServiceLevel": "Standard"},
        "proceeds": {"grandTotal": money(sum(totals.values()), currency),
                     "breakdowns": [{"type": k, "subtotal": money(v, currency)} for k, v in totals.items()]},
        "buyer": {"buyerName": name, **({"buyerEmail": email} if email else {})},
        "recipient": {"deliveryAddress": address if address is not None else {
            "name": name, "addressLine1": "1 Main St", "city": "Seattle", "stateOrRegion": "WA",
            "postalCode": "98101", "countryCode": "US", "phone": "+1 206 555 0100"}},
        "orderItems": items,
    }
    return copy.deepcopy(data)
