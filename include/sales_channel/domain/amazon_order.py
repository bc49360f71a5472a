"""Typed Amazon orders (Orders API v2026-01-01), parsed strictly from the API's JSON.

Parsing never trusts the payload: whatever JSON value it is given, it returns an ``AmazonOrder`` or
raises ``MalformedOrder`` naming the order and the field path, so one bad order is quarantined with a
reason instead of failing a page or a run. Messages show Amazon's values only where they are not buyer
data (ids, enum values, amounts), escaped and cut short (``errors.shown``). Buyer data (names, email,
address, phone) is held in memory only, never in ``repr`` or logs.

Values Amazon may add over time are carried, not refused here: an unknown fulfillment status or
channel becomes an ``UnknownValue`` (the creation rules hold the order, naming it), and an unknown
proceeds breakdown type counts as a charge the buyer paid, like ``OTHER``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sales_channel.commerce.limits import ITEM_COLUMNS
from sales_channel.domain.errors import MalformedOrder, shown
from sales_channel.domain.money import parse_amount

ORDER_ID_PATTERN = re.compile(r"\d{3}-\d{7}-\d{7}")
# Deeper than any part of Amazon's published Order model (about 10 levels): refused before anything
# walks the order recursively (JSON encoders, deep copies) and fails on it.
MAX_NESTING = 32
# What an unknown enum value must look like to be carried (Amazon's values are upper snake case).
_ENUM_TOKEN = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")
# Text fields: tab, CR and LF become a space (Magento shows one line); every other control character
# (C0, DEL, C1) and lone surrogates (not encodable as UTF-8) make the value unusable.
_LINE_BREAKS = re.compile(r"[\t\r\n]")
_REFUSED_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


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


@dataclass(frozen=True)
class UnknownValue:
    """A value of an Amazon enum that this version does not know, kept as Amazon sent it."""

    value: str

    def __str__(self) -> str:
        return self.value


# Proceeds breakdown types with a place of their own on the Commerce order. Every other type (COD_FEE,
# DELIVERY_TIP, OTHER and types Amazon adds) is a charge the buyer paid on top, carried as ``other``.
ITEM, SHIPPING, GIFT_WRAP, TAX, DISCOUNT = "ITEM", "SHIPPING", "GIFT_WRAP", "TAX", "DISCOUNT"
_OWN_PLACE = frozenset({ITEM, SHIPPING, GIFT_WRAP, TAX, DISCOUNT})


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
        return "Address(<redacted>)"


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
    """Charges from proceeds breakdowns, by Amazon's breakdown type (a discount counts as a reduction
    whatever sign Amazon gives it)."""

    by_type: Mapping[str, Decimal] = field(default_factory=dict)
    tax_detail: Mapping[str, Decimal] = field(default_factory=dict)  # TAX subtype (ITEM, SHIPPING, ...) → amount
    discount_detail: Mapping[str, Decimal] = field(default_factory=dict)  # DISCOUNT subtype → amount

    def amount(self, kind: str) -> Decimal:
        return self.by_type.get(kind, Decimal(0))

    @property
    def item(self) -> Decimal:
        return self.amount(ITEM)

    @property
    def shipping(self) -> Decimal:
        return self.amount(SHIPPING)

    @property
    def gift_wrap(self) -> Decimal:
        return self.amount(GIFT_WRAP)

    @property
    def tax(self) -> Decimal:
        return self.amount(TAX)

    @property
    def discount(self) -> Decimal:
        return abs(self.amount(DISCOUNT))

    @property
    def shipping_discount(self) -> Decimal:
        """The part of ``discount`` on shipping (a shipping promotion), when Amazon details it."""
        return abs(self.discount_detail.get(SHIPPING, Decimal(0)))

    @property
    def item_discount(self) -> Decimal:
        """The rest of ``discount``: on the item's price (all of it when Amazon gives no detail)."""
        return self.discount - self.shipping_discount

    @property
    def other(self) -> Decimal:
        return sum((v for k, v in self.by_type.items() if k not in _OWN_PLACE), Decimal(0))

    @property
    def shipping_tax(self) -> Decimal:  # the part of ``tax`` on shipping, when Amazon details it
        return self.tax_detail.get(SHIPPING, Decimal(0))

    @property
    def gift_wrap_tax(self) -> Decimal:
        return self.tax_detail.get(GIFT_WRAP, Decimal(0))

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
    status: FulfillmentStatus | UnknownValue
    fulfilled_by: FulfilledBy | UnknownValue
    service_level: str | None
    currency: str
    items: tuple[AmazonOrderItem, ...]
    order_breakdowns: Mapping[str, Decimal]  # the order's breakdowns by type, as Amazon sent them
    grand_total: Decimal | None  # what the seller receives (may exclude facilitator tax)
    buyer: Buyer | None = field(default=None, repr=False)
    ship_to: Address | None = field(default=None, repr=False)
    packages: tuple[Package, ...] = ()
    # Order charges no item carries (e.g. DELIVERY_TIP, which Amazon charges separately), by type.
    unattributed: Mapping[str, Decimal] = field(default_factory=dict)

    @property
    def is_afn(self) -> bool:
        return self.fulfilled_by is FulfilledBy.AMAZON

    @property
    def buyer_paid(self) -> Decimal:
        return (sum((i.charges.buyer_paid for i in self.items), Decimal(0))
                + sum(self.unattributed.values(), Decimal(0)))

    @property
    def buyer_cancellation_requested(self) -> bool:
        return any(i.cancellation_requested_by_buyer for i in self.items)


def parse_time(value: str) -> datetime:
    """An ISO 8601 date-time with an offset, in UTC; ValueError naming the problem otherwise."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{shown(value)} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise ValueError(f"{shown(value)} has no UTC offset")
    return moment.astimezone(UTC)


def nesting_beyond(document: Any, limit: int = MAX_NESTING) -> str | None:
    """The top-level field of ``document`` under which JSON objects and arrays nest deeper than
    ``limit`` (``"order"`` when ``document`` itself is the problem), or None. Iterative: any depth."""
    stack: list[tuple[Any, int, str]] = [(document, 0, "order")]
    while stack:
        node, depth, top = stack.pop()
        if depth > limit:
            return top
        if isinstance(node, Mapping):
            stack.extend((value, depth + 1, top if depth else str(key)) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, depth + 1, top) for value in node)
    return None


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

    def array(self, data: Any, path: str) -> list[Any]:
        """An optional array (absent: empty)."""
        if data is None:
            return []
        if not isinstance(data, list):
            raise self.fail(path, "is not an array")
        return data

    def text(self, data: Mapping[str, Any], key: str, path: str, required: bool = True) -> str | None:
        value = data.get(key)
        if value is None or value == "":
            if required:
                raise self.fail(f"{path}.{key}", "is missing")
            return None
        if not isinstance(value, str):
            raise self.fail(f"{path}.{key}", f"is not a string ({type(value).__name__})")
        if _REFUSED_CHARACTERS.search(value):
            raise self.fail(f"{path}.{key}", "holds a control character")
        return _LINE_BREAKS.sub(" ", value)

    def time(self, data: Mapping[str, Any], key: str, path: str, required: bool = True) -> datetime | None:
        value = self.text(data, key, path, required)
        if value is None:
            return None
        try:
            return parse_time(value)
        except ValueError as exc:
            raise self.fail(f"{path}.{key}", str(exc)) from None

    def count(self, data: Mapping[str, Any], key: str, path: str, default: int | None = None) -> int:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(f"{path}.{key}", f"{shown(value)} is not a non-negative integer")
        return value

    def money(self, data: Any, path: str, currency: str) -> Decimal:
        money = self.obj(data, path)
        code = self.text(money, "currencyCode", path)
        if code != currency:
            raise self.fail(f"{path}.currencyCode", f"{shown(code)} differs from the order currency {currency}")
        try:
            return parse_amount(money.get("amount"), currency)
        except ValueError as exc:
            raise self.fail(f"{path}.amount", str(exc)) from None

    def enum(self, enum: type[StrEnum], data: Mapping[str, Any], key: str, path: str) -> Any:
        value = self.text(data, key, path)
        try:
            return enum(value)
        except ValueError:
            if _ENUM_TOKEN.fullmatch(value):
                return UnknownValue(value)
            raise self.fail(f"{path}.{key}", f"{shown(value)} is not a value of this field") from None


def _at(node: Any, *keys: str | int) -> Any:
    """``node[k1][k2]...`` where every step exists and has the right type, else None."""
    for key in keys:
        if isinstance(key, int):
            node = node[key] if isinstance(node, list) and len(node) > key else None
        else:
            node = node.get(key) if isinstance(node, Mapping) else None
    return node


def _currency_of(raw: Mapping[str, Any]) -> Any:
    """The order's currency: from the order proceeds, else the first priced item (None when absent)."""
    code = _at(raw, "proceeds", "grandTotal", "currencyCode")
    if code is not None:
        return code
    items = raw.get("orderItems")
    for item in items if isinstance(items, list) else []:
        code = _at(item, "product", "price", "unitPrice", "currencyCode") or \
            _at(item, "proceeds", "breakdowns", 0, "subtotal", "currencyCode")
        if code is not None:
            return code
    return None


def _charges(r: _Reader, proceeds: Mapping[str, Any] | None, path: str, currency: str) -> ItemCharges:
    totals: dict[str, Decimal] = {}
    tax_detail: dict[str, Decimal] = {}
    discount_detail: dict[str, Decimal] = {}
    for n, breakdown in enumerate(r.array((proceeds or {}).get("breakdowns"), f"{path}.breakdowns")):
        bpath = f"{path}.breakdowns[{n}]"
        breakdown = r.obj(breakdown, bpath)
        kind = r.text(breakdown, "type", bpath)
        if not _ENUM_TOKEN.fullmatch(kind):
            raise r.fail(f"{bpath}.type", f"{shown(kind)} is not a breakdown type")
        amount = r.money(breakdown.get("subtotal"), f"{bpath}.subtotal", currency)
        totals[kind] = totals.get(kind, Decimal(0)) + amount
        if kind in (TAX, DISCOUNT) and breakdown.get("detailedBreakdowns") is not None:
            detail = tax_detail if kind == TAX else discount_detail
            parts = Decimal(0)
            for m, part in enumerate(r.array(breakdown.get("detailedBreakdowns"), f"{bpath}.detailedBreakdowns")):
                ppath = f"{bpath}.detailedBreakdowns[{m}]"
                part = r.obj(part, ppath)
                subtype = r.text(part, "subtype", ppath)
                value = r.money(part.get("value"), f"{ppath}.value", currency)
                detail[subtype] = detail.get(subtype, Decimal(0)) + value
                parts += value
            if parts != amount:
                raise r.fail(f"{bpath}.detailedBreakdowns", f"add up to {parts}, not to the {kind} subtotal {amount}")
    return ItemCharges(by_type=totals, tax_detail=tax_detail, discount_detail=discount_detail)


def _address(r: _Reader, raw: Any, path: str) -> Address | None:
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
    sku = r.text(product, "sellerSku", f"{path}.product")
    if len(sku) > ITEM_COLUMNS["sku"]:  # looked up in Commerce before mapping: refused here
        raise r.fail(f"{path}.product.sellerSku",
                     f"is {len(sku)} characters long; Commerce keeps {ITEM_COLUMNS['sku']}")
    promotions = r.array(promotion.get("breakdowns"), f"{path}.promotion.breakdowns")
    return AmazonOrderItem(
        order_item_id=r.text(raw, "orderItemId", path),
        seller_sku=sku,
        asin=r.text(product, "asin", f"{path}.product", required=False),
        title=r.text(product, "title", f"{path}.product", required=False),
        quantity_ordered=quantity, quantity_shipped=shipped, unit_price=unit,
        charges=_charges(r, r.obj(raw.get("proceeds"), f"{path}.proceeds", required=False),
                         f"{path}.proceeds", currency),
        promotion_ids=tuple(p for m, entry in enumerate(promotions)
                            if (p := r.text(r.obj(entry, f"{path}.promotion.breakdowns[{m}]"), "promotionId",
                                            f"{path}.promotion.breakdowns[{m}]", required=False))),
        gift_message=r.text(gift, "giftMessage", f"{path}.fulfillment.packing.giftOption", required=False),
        gift_wrap_level=r.text(gift, "giftWrapLevel", f"{path}.fulfillment.packing.giftOption", required=False),
        cancellation_requested_by_buyer=request.get("requester") == "BUYER",
        buyer_cancel_reason=r.text(request, "cancelReason", f"{path}.cancellation.cancellationRequest",
                                   required=False),
    )


def _package(r: _Reader, raw: Any, path: str) -> Package:
    raw = r.obj(raw, path)
    items = []
    for n, item in enumerate(r.array(raw.get("packageItems"), f"{path}.packageItems")):
        item = r.obj(item, f"{path}.packageItems[{n}]")
        items.append((r.text(item, "orderItemId", f"{path}.packageItems[{n}]"),
                      r.count(item, "quantity", f"{path}.packageItems[{n}]")))
    return Package(package_reference_id=r.text(raw, "packageReferenceId", path),
                   carrier=r.text(raw, "carrier", path, required=False),
                   tracking_number=r.text(raw, "trackingNumber", path, required=False),
                   ship_time=r.time(raw, "shipTime", path, required=False), items=tuple(items))


def _order_id(raw: Any) -> str:
    """The order's id, or ``MalformedOrder`` naming the order by a safe rendering of what it holds."""
    if not isinstance(raw, Mapping):
        raise MalformedOrder("(unknown)", "order", f"is not an object ({shown(raw)})")
    order_id = raw.get("orderId")
    if order_id is None or order_id == "":
        raise MalformedOrder("(unknown)", "orderId", "is missing")
    if not isinstance(order_id, str):
        raise MalformedOrder("(unknown)", "orderId", f"is not a string ({shown(order_id)})")
    if not ORDER_ID_PATTERN.fullmatch(order_id):
        raise MalformedOrder(shown(order_id), "orderId", "is not an Amazon order id (3-7-7 digits)")
    return order_id


def parse_order(raw: Any) -> AmazonOrder:
    """Parse one Order object of searchOrders/getOrder (fetched with at least FULFILLMENT and PROCEEDS).

    ``raw`` may be any JSON value: everything but a well-formed order raises ``MalformedOrder``."""
    r = _Reader(_order_id(raw))
    if (deep := nesting_beyond(raw)) is not None:
        raise r.fail(deep, f"nests deeper than {MAX_NESTING} levels")
    currency = _currency_of(raw)
    if currency is None:
        raise r.fail("proceeds.grandTotal.currencyCode", "no currency anywhere in the order")
    if not isinstance(currency, str) or not _CURRENCY_CODE.fullmatch(currency):
        raise r.fail("proceeds.grandTotal.currencyCode", f"{shown(currency)} is not an ISO 4217 currency code")
    channel = r.obj(raw.get("salesChannel"), "salesChannel")
    fulfillment = r.obj(raw.get("fulfillment"), "fulfillment")
    raw_items = raw.get("orderItems")
    if not isinstance(raw_items, list) or not raw_items:
        raise r.fail("orderItems", "is missing or empty" if not raw_items else "is not an array")
    items = tuple(_item(r, item, f"orderItems[{n}]", currency) for n, item in enumerate(raw_items))
    _check_item_ids_unique(r, items)
    proceeds = r.obj(raw.get("proceeds"), "proceeds", required=False) or {}
    order_charges = _charges(r, proceeds, "proceeds", currency)
    unattributed = _check_items_add_up(r, items, order_charges.by_type)
    grand_total = (r.money(proceeds["grandTotal"], "proceeds.grandTotal", currency)
                   if proceeds.get("grandTotal") is not None else None)
    buyer_raw = r.obj(raw.get("buyer"), "buyer", required=False)
    recipient = r.obj(raw.get("recipient"), "recipient", required=False) or {}
    programs = r.array(raw.get("programs"), "programs")
    for n, program in enumerate(programs):
        if not isinstance(program, str) or not _ENUM_TOKEN.fullmatch(program):
            raise r.fail(f"programs[{n}]", f"{shown(program)} is not a program name")
    order = AmazonOrder(
        order_id=r.order_id,
        created_time=r.time(raw, "createdTime", "order"),
        last_updated_time=r.time(raw, "lastUpdatedTime", "order"),
        marketplace_id=r.text(channel, "marketplaceId", "salesChannel"),
        sales_channel=r.text(channel, "channelName", "salesChannel"),
        programs=frozenset(programs),
        status=r.enum(FulfillmentStatus, fulfillment, "fulfillmentStatus", "fulfillment"),
        fulfilled_by=r.enum(FulfilledBy, fulfillment, "fulfilledBy", "fulfillment"),
        service_level=r.text(fulfillment, "fulfillmentServiceLevel", "fulfillment", required=False),
        currency=currency, items=items, order_breakdowns=order_charges.by_type, grand_total=grand_total,
        buyer=Buyer(name=r.text(buyer_raw, "buyerName", "buyer", required=False),
                    email=r.text(buyer_raw, "buyerEmail", "buyer", required=False),
                    company=r.text(buyer_raw, "buyerCompanyName", "buyer", required=False),
                    purchase_order_number=r.text(buyer_raw, "buyerPurchaseOrderNumber", "buyer", required=False))
        if buyer_raw else None,
        ship_to=_address(r, recipient.get("deliveryAddress"), "recipient.deliveryAddress"),
        packages=tuple(_package(r, p, f"packages[{n}]") for n, p in enumerate(r.array(raw.get("packages"),
                                                                                        "packages"))),
        unattributed=unattributed,
    )
    _check_grand_total(r, order)
    return order


def _check_item_ids_unique(r: _Reader, items: tuple[AmazonOrderItem, ...]) -> None:
    first: dict[str, int] = {}
    for n, item in enumerate(items):
        m = first.setdefault(item.order_item_id, n)
        if m != n:
            raise r.fail(f"orderItems[{n}].orderItemId", f"repeats the id of orderItems[{m}]")


def _check_items_add_up(r: _Reader, items: tuple[AmazonOrderItem, ...],
                        order_totals: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """The order's breakdowns must equal the sum of its items' (Amazon aggregates them across items),
    except charges of their own that no item carries (e.g. DELIVERY_TIP): returned, by type."""
    if not order_totals:  # PROCEEDS without order breakdowns: nothing to compare
        return {}
    sums: dict[str, Decimal] = {}
    for item in items:
        for kind, amount in item.charges.by_type.items():
            sums[kind] = sums.get(kind, Decimal(0)) + amount
    unattributed = {kind: total for kind, total in order_totals.items() if kind not in _OWN_PLACE and kind not in sums}
    for kind in sorted({*order_totals, *sums} - set(unattributed)):
        total, summed = order_totals.get(kind, Decimal(0)), sums.get(kind, Decimal(0))
        if total != summed:
            raise r.fail(f"proceeds.breakdowns[{kind}]", f"{total} differs from the sum of the items' {kind} ({summed})")
    return unattributed


def _check_grand_total(r: _Reader, order: AmazonOrder) -> None:
    """Amazon's grand total is what the buyer paid, or that without the tax Amazon collects as
    marketplace facilitator; anything else contradicts the breakdowns."""
    if order.grand_total is None or not any(i.charges.by_type for i in order.items):
        return
    paid = order.buyer_paid
    tax = sum((i.charges.tax for i in order.items), Decimal(0))
    if order.grand_total not in (paid, paid - tax):
        raise r.fail("proceeds.grandTotal.amount",
                     f"{order.grand_total} is neither what the breakdowns add up to ({paid}) nor that without tax")
