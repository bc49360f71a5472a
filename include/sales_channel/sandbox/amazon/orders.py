"""The order model of the sandbox: how a stored order is rendered for a caller, and the state rules
that shipments, cancellations and refunds follow.

A stored order is the complete v2026-01-01 ``Order`` (every dataset) plus private bookkeeping that is
never rendered: per item ``_charges`` (what the buyer was charged, by component) and ``_refunds``
(what was refunded, by payment-adjustment component), and per order ``_sandbox`` (confirmed package
requests, applied adjustment ids). Proceeds are always derived from charges minus refunds, so the
breakdowns add up to ``proceedsTotal`` and ``grandTotal`` to the last cent by construction.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sales_channel.sandbox.amazon import raw_orders
from sales_channel.sandbox.amazon.errors import SpApiError, invalid_input
from sales_channel.sandbox.common.clock import parse_iso, to_iso

INCLUDED_DATA = ("BUYER", "RECIPIENT", "PROCEEDS", "EXPENSE", "PROMOTION", "CANCELLATION", "FULFILLMENT",
                 "PACKAGES", "TAX", "PAYMENT", "FULFILLMENT_ORDERS")
FULFILLMENT_STATUSES = ("PENDING_AVAILABILITY", "PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED",
                        "CANCELLED", "UNFULFILLABLE")
FULFILLED_BY = ("MERCHANT", "AMAZON")

# Charge keys of an item: proceeds type, or type_SUBTYPE for the detailed TAX and DISCOUNT parts.
CHARGE_KEYS = ("ITEM", "SHIPPING", "GIFT_WRAP", "TAX_ITEM", "TAX_SHIPPING", "TAX_GIFT_WRAP",
               "DISCOUNT_ITEM", "DISCOUNT_SHIPPING")

# Payment-adjustment components (OrderAdjustment.xsd) → the item charges they give back.
REFUND_COMPONENTS: dict[str, tuple[str, ...]] = {
    "Principal": ("ITEM", "DISCOUNT_ITEM"),
    "Shipping": ("SHIPPING", "DISCOUNT_SHIPPING"),
    "GiftWrap": ("GIFT_WRAP",),
    "Tax": ("TAX_ITEM",),
    "ShippingTax": ("TAX_SHIPPING",),
    "GiftWrapTax": ("TAX_GIFT_WRAP",),
}
# Where a refunded component shows in the rendered proceeds: (breakdown type, detailed subtype).
_REFUND_SHOWS_IN = {
    "Principal": ("ITEM", None),
    "Shipping": ("SHIPPING", None),
    "GiftWrap": ("GIFT_WRAP", None),
    "Tax": ("TAX", "ITEM"),
    "ShippingTax": ("TAX", "SHIPPING"),
    "GiftWrapTax": ("TAX", "GIFT_WRAP"),
}

CURRENCY_PLACES = {"JPY": 0}


# --- money ------------------------------------------------------------------------------------------
def places(currency: str) -> int:
    return CURRENCY_PLACES.get(currency, 2)


def quantize(value: Decimal, currency: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places(currency)), rounding=ROUND_HALF_UP)


def amount_text(value: Decimal, currency: str) -> str:
    """Amazon's decimal string: 2 places (none for JPY); never a float."""
    return f"{quantize(value, currency):.{places(currency)}f}"


def money(value: Decimal, currency: str) -> dict[str, str]:
    return {"amount": amount_text(value, currency), "currencyCode": currency}


def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, Decimal(0))


# --- rendering --------------------------------------------------------------------------------------
def is_raw(doc: dict[str, Any]) -> bool:
    """A raw order (raw_orders.py): served as given, no state rule applies to it."""
    return raw_orders.RAW in doc


def sort_key(doc: dict[str, Any]) -> tuple[str, str]:
    """(createdTime, orderId) as searchOrders orders and pages by them: the stored columns."""
    if is_raw(doc):
        return doc["_served"]["createdTime"], doc["_served"]["orderKey"]
    return doc["createdTime"], doc["orderId"]


def is_amazon_fulfilled(doc: dict[str, Any]) -> bool:
    return doc["fulfillment"]["fulfilledBy"] == "AMAZON"


def order_status(doc: dict[str, Any]) -> str:
    return doc["fulfillment"]["fulfillmentStatus"]


def item_net(item: dict[str, Any], currency: str) -> dict[tuple[str, str | None], Decimal]:
    """An item's proceeds as {(type, subtype): amount}: charges minus refunds; zero once cancelled."""
    charges = {key: Decimal(value) for key, value in item["_charges"].items()}
    parts: dict[tuple[str, str | None], Decimal] = {}
    for key in CHARGE_KEYS:
        if key not in charges:
            continue
        kind, _, subtype = key.partition("_")
        if key == "GIFT_WRAP":
            kind, subtype = "GIFT_WRAP", ""
        parts[(kind, subtype or None)] = charges[key]
    for component, amount in item.get("_refunds", {}).items():
        parts[_REFUND_SHOWS_IN[component]] = parts.get(_REFUND_SHOWS_IN[component], Decimal(0)) - Decimal(amount)
    if item.get("cancellation", {}).get("cancellationExecution"):
        parts = {key: Decimal(0) for key in parts}
    return {key: quantize(value, currency) for key, value in parts.items()}


def _item_proceeds(item: dict[str, Any], currency: str) -> tuple[dict[str, Any], dict[str, Decimal]]:
    net = item_net(item, currency)
    by_type: dict[str, Decimal] = {}
    detailed: dict[str, list[dict[str, Any]]] = {}
    for (kind, subtype), amount in net.items():
        by_type[kind] = by_type.get(kind, Decimal(0)) + amount
        if subtype:
            detailed.setdefault(kind, []).append({"subtype": subtype, "value": money(amount, currency)})
    breakdowns = []
    for kind, amount in by_type.items():
        entry: dict[str, Any] = {"type": kind, "subtotal": money(amount, currency)}
        if kind in detailed:
            entry["detailedBreakdowns"] = detailed[kind]
        breakdowns.append(entry)
    total = _sum(by_type.values())
    return {"proceedsTotal": money(total, currency), "breakdowns": breakdowns}, by_type


def render_order(doc: dict[str, Any], included: Iterable[str]) -> Any:
    """The order as SP-API returns it with ``includedData=included``: datasets not asked for are absent,
    and so are what Amazon never gives (buyer email and packages of Amazon-fulfilled orders, buyer and
    recipient of PENDING orders). A raw order is served as it was given, less the datasets not asked for."""
    included = set(included)
    if is_raw(doc):
        return raw_orders.render(doc[raw_orders.RAW], included)
    currency = doc["_sandbox"]["currency"]
    amazon_fulfilled = is_amazon_fulfilled(doc)
    pending = order_status(doc) == "PENDING"
    order: dict[str, Any] = {"orderId": doc["orderId"]}
    if doc.get("orderAliases"):
        order["orderAliases"] = doc["orderAliases"]
    order["createdTime"] = doc["createdTime"]
    order["lastUpdatedTime"] = doc["lastUpdatedTime"]
    if doc.get("programs"):
        order["programs"] = doc["programs"]
    order["salesChannel"] = doc["salesChannel"]
    if "BUYER" in included and not pending:
        buyer = dict(doc["buyer"])
        if amazon_fulfilled:
            buyer.pop("buyerEmail", None)
        order["buyer"] = buyer
    if "RECIPIENT" in included and not pending:
        order["recipient"] = doc["recipient"]
    items = []
    order_types: dict[str, Decimal] = {}
    for stored in doc["orderItems"]:
        item: dict[str, Any] = {"orderItemId": stored["orderItemId"], "quantityOrdered": stored["quantityOrdered"],
                                "product": stored["product"]}
        if "PROCEEDS" in included:
            item["proceeds"], by_type = _item_proceeds(stored, currency)
            for kind, amount in by_type.items():
                order_types[kind] = order_types.get(kind, Decimal(0)) + amount
        if "PROMOTION" in included and stored.get("promotion"):
            item["promotion"] = stored["promotion"]
        if "CANCELLATION" in included and stored.get("cancellation"):
            item["cancellation"] = stored["cancellation"]
        if "FULFILLMENT" in included:
            item["fulfillment"] = stored["fulfillment"]
        if "TAX" in included and stored.get("tax"):
            item["tax"] = stored["tax"]
        items.append(item)
    if "PROCEEDS" in included:
        order["proceeds"] = {
            "grandTotal": money(_sum(order_types.values()), currency),
            "breakdowns": [{"type": kind, "subtotal": money(amount, currency)} for kind, amount in order_types.items()],
        }
    if "FULFILLMENT" in included:
        order["fulfillment"] = doc["fulfillment"]
    order["orderItems"] = items
    if "PACKAGES" in included and not amazon_fulfilled:
        order["packages"] = doc.get("packages", [])
    return order


def full_view(doc: dict[str, Any]) -> Any:
    """Every dataset, for the control API."""
    return render_order(doc, INCLUDED_DATA)


# --- state rules ------------------------------------------------------------------------------------
def touch(doc: dict[str, Any], now: str) -> None:
    """Record that the order changed now (never moves backwards)."""
    doc["lastUpdatedTime"] = max(doc["lastUpdatedTime"], now)


def _shipped_status(doc: dict[str, Any]) -> str:
    items = doc["orderItems"]
    if all(item["fulfillment"]["quantityUnfulfilled"] == 0 for item in items):
        return "SHIPPED"
    if any(item["fulfillment"]["quantityFulfilled"] > 0 for item in items):
        return "PARTIALLY_SHIPPED"
    return "UNSHIPPED"


def set_status(doc: dict[str, Any], status: str) -> None:
    doc["fulfillment"]["fulfillmentStatus"] = status


def ship_everything(doc: dict[str, Any]) -> None:
    """Mark every unit fulfilled (Amazon shipping an AFN order: no packages, no tracking for the seller)."""
    for item in doc["orderItems"]:
        fulfillment = item["fulfillment"]
        fulfillment["quantityFulfilled"] = item["quantityOrdered"]
        fulfillment["quantityUnfulfilled"] = 0
    set_status(doc, "SHIPPED")


def cancel(doc: dict[str, Any], cancelled_by: str, reasons: dict[str, str], default_reason: str) -> None:
    """Cancel every item (whole-order cancellation); the caller has checked that nothing shipped."""
    for item in doc["orderItems"]:
        cancellation = item.setdefault("cancellation", {})
        cancellation["cancellationExecution"] = {
            "cancelledBy": cancelled_by, "cancelReason": reasons.get(item["orderItemId"], default_reason)}
        item["fulfillment"]["quantityUnfulfilled"] = 0
    set_status(doc, "CANCELLED")


def anything_shipped(doc: dict[str, Any]) -> bool:
    return any(item["fulfillment"]["quantityFulfilled"] > 0 for item in doc["orderItems"])


def request_buyer_cancellation(doc: dict[str, Any], reason: str) -> None:
    for item in doc["orderItems"]:
        item.setdefault("cancellation", {})["cancellationRequest"] = {"requester": "BUYER", "cancelReason": reason}


# --- confirmShipment --------------------------------------------------------------------------------
def _require_text(container: dict[str, Any], field: str, path: str) -> str:
    value = container.get(field)
    if not isinstance(value, str) or not value.strip():
        raise invalid_input(f"Missing or invalid value for required field {path}.{field}.",
                            f"{path}.{field} must be a non-empty string")
    return value


def parse_package(body: Any, order_id: str) -> tuple[str, dict[str, Any]]:
    """Validate a confirmShipment body; return (marketplaceId, canonical package request)."""
    if not isinstance(body, dict):
        raise invalid_input("The request body must be a JSON object.")
    marketplace_id = _require_text(body, "marketplaceId", "body")
    detail = body.get("packageDetail")
    if not isinstance(detail, dict):
        raise invalid_input("Missing required field body.packageDetail.", "packageDetail is required")
    reference = _require_text(detail, "packageReferenceId", "packageDetail")
    if not reference.isdigit() or int(reference) <= 0:
        raise invalid_input(f"Invalid packageDetail.packageReferenceId '{reference}' for order {order_id}.",
                            "packageReferenceId must be a positive numeric string")
    carrier_code = _require_text(detail, "carrierCode", "packageDetail")
    carrier_name = detail.get("carrierName")
    if carrier_code.lower() == "other":
        carrier_name = _require_text(detail, "carrierName", "packageDetail")
    tracking = _require_text(detail, "trackingNumber", "packageDetail")
    ship_date_text = _require_text(detail, "shipDate", "packageDetail")
    try:
        ship_date = to_iso(parse_iso(ship_date_text))
    except ValueError:
        raise invalid_input(f"Invalid packageDetail.shipDate '{ship_date_text}' for order {order_id}.",
                            "shipDate must be an ISO 8601 date-time") from None
    items = detail.get("orderItems")
    if not isinstance(items, list) or not items:
        raise invalid_input("Missing required field packageDetail.orderItems.",
                            "orderItems must be a non-empty list")
    quantities: dict[str, int] = {}
    for index, entry in enumerate(items):
        if not isinstance(entry, dict):
            raise invalid_input(f"Invalid packageDetail.orderItems[{index}].")
        item_id = _require_text(entry, "orderItemId", f"packageDetail.orderItems[{index}]")
        quantity = entry.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise invalid_input(f"Invalid packageDetail.orderItems[{index}].quantity for order item {item_id}.",
                                "quantity must be a positive integer")
        if item_id in quantities:
            raise invalid_input(f"Order item {item_id} is listed twice in packageDetail.orderItems.")
        quantities[item_id] = quantity
    shipping_method = detail.get("shippingMethod")
    package = {"packageReferenceId": reference, "carrierCode": carrier_code,
               "carrierName": carrier_name if isinstance(carrier_name, str) and carrier_name else None,
               "shippingMethod": shipping_method if isinstance(shipping_method, str) and shipping_method else None,
               "trackingNumber": tracking, "shipDate": ship_date,
               "orderItems": sorted(quantities.items())}
    return marketplace_id, package


def confirm_shipment(doc: dict[str, Any], marketplace_id: str, package: dict[str, Any], now: str) -> bool:
    """Apply one package to the order. Returns False when the identical package was confirmed already
    (a re-send after a lost response changes nothing); raises InvalidInput for every refused request."""
    order_id = doc["orderId"]
    if marketplace_id != doc["salesChannel"]["marketplaceId"]:
        raise invalid_input(f"marketplaceId {marketplace_id} does not match order {order_id}.",
                            f"order {order_id} belongs to marketplace {doc['salesChannel']['marketplaceId']}")
    if is_amazon_fulfilled(doc):
        raise invalid_input(f"Order {order_id} is fulfilled by Amazon; its shipment cannot be confirmed.")
    confirmed = doc["_sandbox"].setdefault("packages", {})
    reference = package["packageReferenceId"]
    if reference in confirmed:
        previous = dict(confirmed[reference], orderItems=[tuple(pair) for pair in confirmed[reference]["orderItems"]])
        if previous == package:
            return False
        raise invalid_input(f"packageReferenceId {reference} was already used for order {order_id} "
                            "with different contents.", "packageReferenceId must be unique per order")
    status = order_status(doc)
    if status == "CANCELLED":
        raise invalid_input(f"Order {order_id} is canceled; its shipment cannot be confirmed.")
    if status in ("PENDING", "PENDING_AVAILABILITY"):
        raise invalid_input(f"Order {order_id} is {status}; it cannot be shipped yet.")
    items = {item["orderItemId"]: item for item in doc["orderItems"]}
    for item_id, quantity in package["orderItems"]:
        if item_id not in items:
            raise invalid_input(f"Order item {item_id} does not belong to order {order_id}.",
                                "orderItemId must be an item of the order")
        unshipped = items[item_id]["fulfillment"]["quantityUnfulfilled"]
        if quantity > unshipped:
            raise invalid_input(f"Quantity {quantity} of order item {item_id} exceeds the {unshipped} unshipped "
                                f"unit(s) of order {order_id}.", "quantity must not exceed the unshipped quantity")
    for item_id, quantity in package["orderItems"]:
        fulfillment = items[item_id]["fulfillment"]
        fulfillment["quantityFulfilled"] += quantity
        fulfillment["quantityUnfulfilled"] -= quantity
    doc.setdefault("packages", []).append({
        "packageReferenceId": reference,
        "createdTime": now,
        "packageStatus": {"status": "SHIPPED"},
        "carrier": package["carrierName"] or package["carrierCode"],
        "shipTime": package["shipDate"],
        **({"shippingService": package["shippingMethod"]} if package["shippingMethod"] else {}),
        "trackingNumber": package["trackingNumber"],
        "packageItems": [{"orderItemId": item_id, "quantity": quantity} for item_id, quantity in package["orderItems"]],
    })
    confirmed[reference] = package
    set_status(doc, _shipped_status(doc))
    touch(doc, now)
    return True


# --- refunds ----------------------------------------------------------------------------------------
def refundable(item: dict[str, Any], component: str) -> Decimal:
    """What is left to refund of one component of an item."""
    charged = _sum(Decimal(item["_charges"].get(key, "0")) for key in REFUND_COMPONENTS[component])
    return charged - Decimal(item.get("_refunds", {}).get(component, "0"))


def apply_refund(item: dict[str, Any], component: str, amount: Decimal, currency: str) -> None:
    refunds = item.setdefault("_refunds", {})
    refunds[component] = amount_text(Decimal(refunds.get(component, "0")) + amount, currency)


def unknown_order(order_id: str) -> SpApiError:
    return SpApiError(404, "NotFound", f"Order {order_id} was not found.")
