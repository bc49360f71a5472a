"""Typed Amazon orders (Orders API v2026-01-01), parsed strictly from the API's JSON.

Parsing never trusts the payload: a missing or malformed field raises ``MalformedOrder`` naming the
order and the field path, so the order is quarantined with a reason instead of failing a whole run.
Buyer data (names, email, address, phone) is held in memory only, never in ``repr`` or logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sales_channel.domain.errors import MalformedOrder
from sales_channel.domain.money import parse_amount


class FulfillmentStatus(StrEnum):
    PENDING_AVAILABILITY = "PENDING_AVAILABILITY"
    PENDING = "PENDING"
    UNSHIPPED = "UNSHIPPED"
    PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
    SHIPPED = "SHIPPED"
    CANCELLED = "CANCELLED"
    UNFULFILLABLE = "UNFULFILLABLE"


class FulfilledBy(StrEnum):
    MERCHANT = "MERCHANT"
    AMAZON = "AMAZON"


# Proceeds categories that the buyer pays (DISCOUNT reduces it whatever sign Amazon gives it).
CHARGE_TYPES = ("ITEM", "SHIPPING", "GIFT_WRAP", "COD_FEE", "TAX", "OTHER")


@dataclass(frozen=True)
class Address:
    name: str
    company: str | None
    lines: tuple[str, ...]
    city: str | None
    district: str | None
    region: str | None
    postal_code: str | None
    country_code: str | None
    phone: str | None

    def __repr__(self) -> str:  # buyer PII stays out of logs and tracebacks
        return f"Address(country_code={self.country_code!r}, <redacted>)"


@dataclass(frozen=True)
class Buyer:
    name: str | None
    email: str | None
    company: str | None
    purchase_order_number: str | None

    def __repr__(self) -> str:
        return "Buyer(<redacted>)"


@dataclass(frozen=True)
class ItemCharges:
    """One item's charges from its proceeds breakdowns (discount as a positive amount)."""

    item: Decimal = Decimal(0)
    shipping: Decimal = Decimal(0)
    gift_wrap: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    discount: Decimal = Decimal(0)
    other: Decimal = Decimal(0)  # COD_FEE, OTHER
    shipping_tax: Decimal = Decimal(0)  # the part of ``tax`` on shipping, when Amazon details it
    gift_wrap_tax: Decimal = Decimal(0)

    @property
    def buyer_paid(self) -> Decimal:
        return self.item + self.shipping + self.gift_wrap + self.tax + self.other - self.discount


@dataclass(frozen=True)
class AmazonOrderItem:
    order_item_id: str
    seller_sku: str
    asin: str | None
    title: str | None
    quantity_ordered: int
    quantity_shipped: int
    unit_price: Decimal | None
    charges: ItemCharges
    promotion_ids: tuple[str, ...] = ()
    gift_message: str | None = field(default=None, repr=False)
    gift_wrap_level: str | None = None
    cancellation_requested_by_buyer: bool = False
    buyer_cancel_reason: str | None = None


@dataclass(frozen=True)
class Package:
    package_reference_id: str
    carrier: str | None
    tracking_number: str | None
    ship_time: datetime | None
    items: tuple[tuple[str, int], ...]  # (orderItemId, quantity)


@dataclass(frozen=True)
class AmazonOrder:
    order_id: str
    created_time: datetime
    last_updated_time: datetime
    marketplace_id: str
    sales_channel: str
    programs: frozenset[str]
    status: FulfillmentStatus
    fulfilled_by: FulfilledBy
    service_level: str | None
    currency: str
    items: tuple[AmazonOrderItem, ...]
    order_breakdowns: Mapping[str, Decimal]
    grand_total: Decimal | None  # what the seller receives (may exclude facilitator tax)
    buyer: Buyer | None = field(default=None, repr=False)
    ship_to: Address | None = field(default=None, repr=False)
    packages: tuple[Package, ...] = ()

    @property
    def is_afn(self) -> bool:
        return self.fulfilled_by is FulfilledBy.AMAZON

    @property
    def buyer_paid(self) -> Decimal:
        return sum((i.charges.buyer_paid for i in self.items), Decimal(0))

    @property
    def buyer_cancellation_requested(self) -> bool:
        return any(i.cancellation_requested_by_buyer for i in self.items)


class _Reader:
    """Reads fields of one order, raising ``MalformedOrder`` with the field's path on any problem."""

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id

    def fail(self, path: str, problem: str) -> MalformedOrder:
        return MalformedOrder(self.order_id, path, problem)

    def obj(self, data: Any, path: str, required: bool = True) -> Mapping[str, Any] | None:
        if data is None:
            if required:
                raise self.fail(path, "is missing")
            return None
        if not isinstance(data, Mapping):
            raise self.fail(path, "is not an object")
        return data

    def text(self, data: Mapping[str, Any], key: str, path: str, required: bool = True) -> str | None:
        value = data.get(key)
        if value is None or value == "":
            if required:
                raise self.fail(f"{path}.{key}", "is missing")
            return None
        if not isinstance(value, str):
            raise self.fail(f"{path}.{key}", f"is not a string ({type(value).__name__})")
        return value

    def time(self, data: Mapping[str, Any], key: str, path: str, required: bool = True) -> datetime | None:
        value = self.text(data, key, path, required)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise self.fail(f"{path}.{key}", f"{value!r} is not an ISO 8601 date-time") from None
        if moment.tzinfo is None:
            raise self.fail(f"{path}.{key}", f"{value!r} has no UTC offset")
        return moment.astimezone(UTC)

    def count(self, data: Mapping[str, Any], key: str, path: str, default: int | None = None) -> int:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(f"{path}.{key}", f"{value!r} is not a non-negative integer")
        return value

    def money(self, data: Any, path: str, currency: str | None) -> Decimal:
        money = self.obj(data, path)
        code = self.text(money, "currencyCode", path)
        if currency is not None and code != currency:
            raise self.fail(f"{path}.currencyCode", f"{code} differs from the order currency {currency}")
        try:
            return parse_amount(money.get("amount"))
        except ValueError as exc:
            raise self.fail(f"{path}.amount", str(exc)) from None

    def enum(self, enum: type[StrEnum], value: Any, path: str) -> Any:
        try:
            return enum(value)
        except ValueError:
            raise self.fail(path, f"{value!r} is not one of {', '.join(enum)}") from None


def _currency_of(raw: Mapping[str, Any]) -> str | None:
    """The order's currency: from the order proceeds, else the first priced item."""
    total = (raw.get("proceeds") or {}).get("grandTotal") or {}
    if isinstance(total, Mapping) and isinstance(total.get("currencyCode"), str):
        return total["currencyCode"]
    for item in raw.get("orderItems") or []:
        price = (((item or {}).get("product") or {}).get("price") or {}).get("unitPrice") or {}
        if isinstance(price, Mapping) and isinstance(price.get("currencyCode"), str):
            return price["currencyCode"]
        for breakdown in ((item or {}).get("proceeds") or {}).get("breakdowns") or []:
            subtotal = (breakdown or {}).get("subtotal") or {}
            if isinstance(subtotal, Mapping) and isinstance(subtotal.get("currencyCode"), str):
                return subtotal["currencyCode"]
    return None


def _charges(r: _Reader, proceeds: Mapping[str, Any] | None, path: str, currency: str) -> ItemCharges:
    totals: dict[str, Decimal] = {}
    detail: dict[str, Decimal] = {}
    for n, breakdown in enumerate((proceeds or {}).get("breakdowns") or []):
        bpath = f"{path}.breakdowns[{n}]"
        breakdown = r.obj(breakdown, bpath)
        kind = r.text(breakdown, "type", bpath)
        amount = r.money(breakdown.get("subtotal"), f"{bpath}.subtotal", currency)
        totals[kind] = totals.get(kind, Decimal(0)) + amount
        if kind == "TAX":
            for m, part in enumerate(breakdown.get("detailedBreakdowns") or []):
                ppath = f"{bpath}.detailedBreakdowns[{m}]"
                part = r.obj(part, ppath)
                subtype = r.text(part, "subtype", ppath)
                detail[subtype] = detail.get(subtype, Decimal(0)) + r.money(part.get("value"), f"{ppath}.value",
                                                                            currency)
    unknown = set(totals) - set(CHARGE_TYPES) - {"DISCOUNT"}
    if unknown:
        raise r.fail(f"{path}.breakdowns", f"unknown proceeds type {sorted(unknown)[0]!r}")
    return ItemCharges(
        item=totals.get("ITEM", Decimal(0)), shipping=totals.get("SHIPPING", Decimal(0)),
        gift_wrap=totals.get("GIFT_WRAP", Decimal(0)), tax=totals.get("TAX", Decimal(0)),
        discount=abs(totals.get("DISCOUNT", Decimal(0))),
        other=totals.get("COD_FEE", Decimal(0)) + totals.get("OTHER", Decimal(0)),
        shipping_tax=detail.get("SHIPPING", Decimal(0)), gift_wrap_tax=detail.get("GIFT_WRAP", Decimal(0)),
    )


def _address(r: _Reader, raw: Mapping[str, Any] | None, path: str) -> Address | None:
    if raw is None:
        return None
    raw = r.obj(raw, path)
    lines = tuple(v for k in ("addressLine1", "addressLine2", "addressLine3")
                  if (v := r.text(raw, k, path, required=False)))
    return Address(
        name=r.text(raw, "name", path, required=False) or "",
        company=r.text(raw, "companyName", path, required=False), lines=lines,
        city=r.text(raw, "city", path, required=False),
        district=r.text(raw, "districtOrCounty", path, required=False),
        region=r.text(raw, "stateOrRegion", path, required=False),
        postal_code=r.text(raw, "postalCode", path, required=False),
        country_code=r.text(raw, "countryCode", path, required=False),
        phone=r.text(raw, "phone", path, required=False),
    )


def _item(r: _Reader, raw: Any, path: str, currency: str) -> AmazonOrderItem:
    raw = r.obj(raw, path)
    product = r.obj(raw.get("product"), f"{path}.product")
    price = r.obj(product.get("price"), f"{path}.product.price", required=False)
    unit = (r.money(price.get("unitPrice"), f"{path}.product.price.unitPrice", currency)
            if price and price.get("unitPrice") is not None else None)
    fulfillment = r.obj(raw.get("fulfillment"), f"{path}.fulfillment", required=False) or {}
    cancellation = r.obj(raw.get("cancellation"), f"{path}.cancellation", required=False) or {}
    request = r.obj(cancellation.get("cancellationRequest"), f"{path}.cancellation.cancellationRequest",
                    required=False) or {}
    promotion = r.obj(raw.get("promotion"), f"{path}.promotion", required=False) or {}
    packing = r.obj(fulfillment.get("packing"), f"{path}.fulfillment.packing", required=False) or {}
    gift = r.obj(packing.get("giftOption"), f"{path}.fulfillment.packing.giftOption", required=False) or {}
    quantity = r.count(raw, "quantityOrdered", path)
    shipped = r.count(fulfillment, "quantityFulfilled", f"{path}.fulfillment", default=0)
    if shipped > quantity:
        raise r.fail(f"{path}.fulfillment.quantityFulfilled", f"{shipped} exceeds quantityOrdered {quantity}")
    return AmazonOrderItem(
        order_item_id=r.text(raw, "orderItemId", path),
        seller_sku=r.text(product, "sellerSku", f"{path}.product"),
        asin=r.text(product, "asin", f"{path}.product", required=False),
        title=r.text(product, "title", f"{path}.product", required=False),
        quantity_ordered=quantity, quantity_shipped=shipped, unit_price=unit,
        charges=_charges(r, r.obj(raw.get("proceeds"), f"{path}.proceeds", required=False),
                         f"{path}.proceeds", currency),
        promotion_ids=tuple(p["promotionId"] for p in promotion.get("breakdowns") or []
                            if isinstance(p, Mapping) and isinstance(p.get("promotionId"), str)),
        gift_message=gift.get("giftMessage") if isinstance(gift.get("giftMessage"), str) else None,
        gift_wrap_level=gift.get("giftWrapLevel") if isinstance(gift.get("giftWrapLevel"), str) else None,
        cancellation_requested_by_buyer=request.get("requester") == "BUYER",
        buyer_cancel_reason=request.get("cancelReason") if isinstance(request.get("cancelReason"), str) else None,
    )


def _package(r: _Reader, raw: Any, path: str) -> Package:
    raw = r.obj(raw, path)
    items = []
    for n, item in enumerate(raw.get("packageItems") or []):
        item = r.obj(item, f"{path}.packageItems[{n}]")
        items.append((r.text(item, "orderItemId", f"{path}.packageItems[{n}]"),
                      r.count(item, "quantity", f"{path}.packageItems[{n}]")))
    return Package(package_reference_id=r.text(raw, "packageReferenceId", path),
                   carrier=r.text(raw, "carrier", path, required=False),
                   tracking_number=r.text(raw, "trackingNumber", path, required=False),
                   ship_time=r.time(raw, "shipTime", path, required=False), items=tuple(items))


def parse_order(raw: Mapping[str, Any]) -> AmazonOrder:
    """Parse one Order object of searchOrders/getOrder (fetched with at least FULFILLMENT and PROCEEDS)."""
    order_id = raw.get("orderId") if isinstance(raw, Mapping) else None
    if not isinstance(order_id, str) or not order_id:
        raise MalformedOrder("(unknown)", "orderId", "is missing")
    r = _Reader(order_id)
    currency = _currency_of(raw)
    if currency is None:
        raise r.fail("proceeds.grandTotal.currencyCode", "no currency anywhere in the order")
    channel = r.obj(raw.get("salesChannel"), "salesChannel")
    fulfillment = r.obj(raw.get("fulfillment"), "fulfillment")
    raw_items = raw.get("orderItems")
    if not isinstance(raw_items, list) or not raw_items:
        raise r.fail("orderItems", "is missing or empty")
    items = tuple(_item(r, item, f"orderItems[{n}]", currency) for n, item in enumerate(raw_items))
    proceeds = r.obj(raw.get("proceeds"), "proceeds", required=False) or {}
    order_charges = _charges(r, proceeds, "proceeds", currency)
    breakdowns = {"ITEM": order_charges.item, "SHIPPING": order_charges.shipping,
                  "GIFT_WRAP": order_charges.gift_wrap, "TAX": order_charges.tax,
                  "DISCOUNT": order_charges.discount, "OTHER": order_charges.other}
    _check_items_add_up(r, items, breakdowns, bool(proceeds.get("breakdowns")))
    buyer_raw = r.obj(raw.get("buyer"), "buyer", required=False)
    recipient = r.obj(raw.get("recipient"), "recipient", required=False) or {}
    status = r.enum(FulfillmentStatus, fulfillment.get("fulfillmentStatus"), "fulfillment.fulfillmentStatus")
    fulfilled_by = r.enum(FulfilledBy, fulfillment.get("fulfilledBy"), "fulfillment.fulfilledBy")
    return AmazonOrder(
        order_id=order_id,
        created_time=r.time(raw, "createdTime", "order"),
        last_updated_time=r.time(raw, "lastUpdatedTime", "order"),
        marketplace_id=r.text(channel, "marketplaceId", "salesChannel"),
        sales_channel=r.text(channel, "channelName", "salesChannel"),
        programs=frozenset(p for p in raw.get("programs") or [] if isinstance(p, str)),
        status=status, fulfilled_by=fulfilled_by,
        service_level=r.text(fulfillment, "fulfillmentServiceLevel", "fulfillment", required=False),
        currency=currency, items=items, order_breakdowns=breakdowns,
        grand_total=(r.money(proceeds["grandTotal"], "proceeds.grandTotal", currency)
                     if proceeds.get("grandTotal") else None),
        buyer=Buyer(name=r.text(buyer_raw, "buyerName", "buyer", required=False),
                    email=r.text(buyer_raw, "buyerEmail", "buyer", required=False),
                    company=r.text(buyer_raw, "buyerCompanyName", "buyer", required=False),
                    purchase_order_number=r.text(buyer_raw, "buyerPurchaseOrderNumber", "buyer", required=False))
        if buyer_raw else None,
        ship_to=_address(r, recipient.get("deliveryAddress"), "recipient.deliveryAddress"),
        packages=tuple(_package(r, p, f"packages[{n}]") for n, p in enumerate(raw.get("packages") or [])),
    )


def _check_items_add_up(r: _Reader, items: tuple[AmazonOrderItem, ...], order_totals: Mapping[str, Decimal],
                        order_has_breakdowns: bool) -> None:
    """The order's breakdowns must equal the sum of its items' (Amazon aggregates them across items)."""
    if not order_has_breakdowns:
        return
    sums = {
        "ITEM": sum((i.charges.item for i in items), Decimal(0)),
        "SHIPPING": sum((i.charges.shipping for i in items), Decimal(0)),
        "GIFT_WRAP": sum((i.charges.gift_wrap for i in items), Decimal(0)),
        "TAX": sum((i.charges.tax for i in items), Decimal(0)),
        "DISCOUNT": sum((i.charges.discount for i in items), Decimal(0)),
        "OTHER": sum((i.charges.other for i in items), Decimal(0)),
    }
    for kind, total in order_totals.items():
        if total != sums[kind]:
            raise r.fail(f"proceeds.breakdowns[{kind}]",
                         f"{total} differs from the sum of the items' {kind} ({sums[kind]})")
