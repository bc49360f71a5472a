"""Typed views of the Commerce entities this product reads.

Each model takes the fields the pipelines use, as Python types (money and quantities as ``Decimal``,
times as aware UTC datetimes), and keeps the whole entity in ``raw`` for anything else. Responses are
parsed with ``parse_float=Decimal``, so amounts are exact from the wire on.

Models are read-only snapshots; writes take plain arguments (see the resource modules).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from sales_channel.commerce.search import parse_datetime

ZERO = Decimal(0)


def to_decimal(value: Any) -> Decimal:
    """A JSON number (already Decimal, int, or a numeric string) as Decimal; absent is zero."""
    if value is None or value == "":
        return ZERO
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an amount")
    return Decimal(str(value))


def _optional_int(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True)
class OrderItem:
    item_id: int | None
    sku: str
    name: str
    product_type: str
    qty_ordered: Decimal
    qty_invoiced: Decimal
    qty_shipped: Decimal
    qty_refunded: Decimal
    qty_canceled: Decimal
    price: Decimal
    row_total: Decimal
    tax_amount: Decimal
    discount_amount: Decimal
    ext_order_item_id: str | None
    parent_item_id: int | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> OrderItem:
        return cls(
            item_id=_optional_int(data.get("item_id")),
            sku=_text(data.get("sku")),
            name=_text(data.get("name")),
            product_type=_text(data.get("product_type")),
            qty_ordered=to_decimal(data.get("qty_ordered")),
            qty_invoiced=to_decimal(data.get("qty_invoiced")),
            qty_shipped=to_decimal(data.get("qty_shipped")),
            qty_refunded=to_decimal(data.get("qty_refunded")),
            qty_canceled=to_decimal(data.get("qty_canceled")),
            price=to_decimal(data.get("price")),
            row_total=to_decimal(data.get("row_total")),
            tax_amount=to_decimal(data.get("tax_amount")),
            discount_amount=to_decimal(data.get("discount_amount")),
            ext_order_item_id=data.get("ext_order_item_id"),
            parent_item_id=_optional_int(data.get("parent_item_id")),
            raw=data,
        )

    @property
    def qty_to_ship(self) -> Decimal:
        return max(ZERO, self.qty_ordered - self.qty_shipped - self.qty_refunded - self.qty_canceled)


@dataclass(frozen=True)
class Order:
    entity_id: int
    increment_id: str
    ext_order_id: str | None
    state: str
    status: str
    store_id: int | None
    currency: str
    grand_total: Decimal
    base_grand_total: Decimal
    subtotal: Decimal
    shipping_amount: Decimal
    tax_amount: Decimal
    discount_amount: Decimal
    total_paid: Decimal
    total_refunded: Decimal
    created_at: datetime | None
    updated_at: datetime | None
    relation_parent_id: int | None
    relation_child_id: int | None
    items: tuple[OrderItem, ...]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Order:
        return cls(
            entity_id=int(data["entity_id"]),
            increment_id=_text(data.get("increment_id")),
            ext_order_id=data.get("ext_order_id") or None,
            state=_text(data.get("state")),
            status=_text(data.get("status")),
            store_id=_optional_int(data.get("store_id")),
            currency=_text(data.get("order_currency_code")),
            grand_total=to_decimal(data.get("grand_total")),
            base_grand_total=to_decimal(data.get("base_grand_total")),
            subtotal=to_decimal(data.get("subtotal")),
            shipping_amount=to_decimal(data.get("shipping_amount")),
            tax_amount=to_decimal(data.get("tax_amount")),
            discount_amount=to_decimal(data.get("discount_amount")),
            total_paid=to_decimal(data.get("total_paid")),
            total_refunded=to_decimal(data.get("total_refunded")),
            created_at=parse_datetime(data.get("created_at")),
            updated_at=parse_datetime(data.get("updated_at")),
            relation_parent_id=_optional_int(data.get("relation_parent_id")),
            relation_child_id=_optional_int(data.get("relation_child_id")),
            items=tuple(OrderItem.from_api(item) for item in data.get("items") or ()),
            raw=data,
        )

    @property
    def is_edited_copy_source(self) -> bool:
        """Canceled because an admin edited it: a copy (``relation_child_id``) replaces it."""
        return self.state == "canceled" and self.relation_child_id is not None


@dataclass(frozen=True)
class DocumentItem:
    """One line of an invoice, shipment or credit memo. The amounts are the line's, in the order's
    currency (a shipment line carries its price only; the others are then 0)."""

    order_item_id: int
    sku: str
    qty: Decimal
    price: Decimal
    row_total: Decimal
    tax_amount: Decimal
    discount_amount: Decimal

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> DocumentItem:
        return cls(order_item_id=int(data["order_item_id"]), sku=_text(data.get("sku")),
                   qty=to_decimal(data.get("qty")), price=to_decimal(data.get("price")),
                   row_total=to_decimal(data.get("row_total")), tax_amount=to_decimal(data.get("tax_amount")),
                   discount_amount=to_decimal(data.get("discount_amount")))


@dataclass(frozen=True)
class Invoice:
    entity_id: int
    order_id: int
    increment_id: str
    state: int | None
    grand_total: Decimal
    created_at: datetime | None
    updated_at: datetime | None
    items: tuple[DocumentItem, ...]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Invoice:
        return cls(
            entity_id=int(data["entity_id"]),
            order_id=int(data["order_id"]),
            increment_id=_text(data.get("increment_id")),
            state=_optional_int(data.get("state")),
            grand_total=to_decimal(data.get("grand_total")),
            created_at=parse_datetime(data.get("created_at")),
            updated_at=parse_datetime(data.get("updated_at")),
            items=tuple(DocumentItem.from_api(item) for item in data.get("items") or ()),
            raw=data,
        )


@dataclass(frozen=True)
class Track:
    """A tracking number; also the input of ``shipments.create``/``shipments.add_track`` (ids are then None)."""

    track_number: str
    carrier_code: str
    title: str
    entity_id: int | None = None
    parent_id: int | None = None  # the shipment
    order_id: int | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Track:
        return cls(
            track_number=_text(data.get("track_number")),
            carrier_code=_text(data.get("carrier_code")),
            title=_text(data.get("title")),
            entity_id=_optional_int(data.get("entity_id")),
            parent_id=_optional_int(data.get("parent_id")),
            order_id=_optional_int(data.get("order_id")),
        )

    def creation_body(self) -> dict[str, str]:
        """The track as a new one is sent (validated here, not when read: stored tracks may lack a title)."""
        for name in ("track_number", "carrier_code", "title"):
            if not getattr(self, name):
                raise ValueError(f"track {self.track_number or '(no number)'}: {name} is required")
        return {"track_number": self.track_number, "title": self.title, "carrier_code": self.carrier_code}


@dataclass(frozen=True)
class Shipment:
    entity_id: int
    order_id: int
    increment_id: str
    created_at: datetime | None
    updated_at: datetime | None  # not moved by a track added later (Magento saves only the track)
    items: tuple[DocumentItem, ...]
    tracks: tuple[Track, ...]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Shipment:
        return cls(
            entity_id=int(data["entity_id"]),
            order_id=int(data["order_id"]),
            increment_id=_text(data.get("increment_id")),
            created_at=parse_datetime(data.get("created_at")),
            updated_at=parse_datetime(data.get("updated_at")),
            items=tuple(DocumentItem.from_api(item) for item in data.get("items") or ()),
            tracks=tuple(Track.from_api(track) for track in data.get("tracks") or ()),
            raw=data,
        )


@dataclass(frozen=True)
class CreditMemo:
    entity_id: int
    order_id: int
    increment_id: str
    state: int | None
    grand_total: Decimal
    subtotal: Decimal
    shipping_amount: Decimal
    shipping_tax_amount: Decimal
    tax_amount: Decimal
    discount_amount: Decimal  # negative, as Magento stores it
    adjustment_positive: Decimal
    adjustment_negative: Decimal
    currency: str
    invoice_id: int | None
    created_at: datetime | None
    updated_at: datetime | None
    items: tuple[DocumentItem, ...]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> CreditMemo:
        return cls(
            entity_id=int(data["entity_id"]),
            order_id=int(data["order_id"]),
            increment_id=_text(data.get("increment_id")),
            state=_optional_int(data.get("state")),
            grand_total=to_decimal(data.get("grand_total")),
            subtotal=to_decimal(data.get("subtotal")),
            shipping_amount=to_decimal(data.get("shipping_amount")),
            shipping_tax_amount=to_decimal(data.get("shipping_tax_amount")),
            tax_amount=to_decimal(data.get("tax_amount")),
            discount_amount=to_decimal(data.get("discount_amount")),
            adjustment_positive=to_decimal(data.get("adjustment_positive")),
            adjustment_negative=to_decimal(data.get("adjustment_negative")),
            currency=_text(data.get("order_currency_code")),
            invoice_id=_optional_int(data.get("invoice_id")),
            created_at=parse_datetime(data.get("created_at")),
            updated_at=parse_datetime(data.get("updated_at")),
            items=tuple(DocumentItem.from_api(item) for item in data.get("items") or ()),
            raw=data,
        )


@dataclass(frozen=True)
class StatusHistory:
    """An order comment."""

    entity_id: int | None
    comment: str
    status: str
    is_customer_notified: bool
    created_at: datetime | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> StatusHistory:
        return cls(
            entity_id=_optional_int(data.get("entity_id")),
            comment=_text(data.get("comment")),
            status=_text(data.get("status")),
            is_customer_notified=bool(data.get("is_customer_notified")),
            created_at=parse_datetime(data.get("created_at")),
        )


PRODUCT_ENABLED = 1


@dataclass(frozen=True)
class Product:
    id: int | None
    sku: str
    name: str
    type_id: str
    status: int | None
    price: Decimal
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Product:
        return cls(
            id=_optional_int(data.get("id")),
            sku=_text(data.get("sku")),
            name=_text(data.get("name")),
            type_id=_text(data.get("type_id")),
            status=_optional_int(data.get("status")),
            price=to_decimal(data.get("price")),
            raw=data,
        )

    @property
    def enabled(self) -> bool:
        return self.status == PRODUCT_ENABLED


@dataclass(frozen=True)
class StockItem:
    item_id: int
    product_id: int | None
    stock_id: int | None
    qty: Decimal
    is_in_stock: bool
    manage_stock: bool
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> StockItem:
        return cls(
            item_id=int(data["item_id"]),
            product_id=_optional_int(data.get("product_id")),
            stock_id=_optional_int(data.get("stock_id")),
            qty=to_decimal(data.get("qty")),
            is_in_stock=bool(data.get("is_in_stock")),
            manage_stock=bool(data.get("manage_stock", True)),
            raw=data,
        )


@dataclass(frozen=True)
class Customer:
    """A customer account. Its fields are buyer data: never logged (``repr`` shows the id only)."""

    id: int
    email: str = field(repr=False)
    website_id: int | None
    group_id: int | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Customer:
        return cls(id=int(data["id"]), email=_text(data.get("email")), website_id=_optional_int(data.get("website_id")),
                   group_id=_optional_int(data.get("group_id")), raw=data)


@dataclass(frozen=True)
class CurrencyInfo:
    """A store view's currencies (``GET /V1/directory/currency``): orders may be placed in the base
    currency or in any currency with a rate (order amount = base amount × rate)."""

    base_currency_code: str
    available_currency_codes: tuple[str, ...]
    exchange_rates: Mapping[str, Decimal]  # currency → rate from the base currency, base excluded

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> CurrencyInfo:
        base = _text(data.get("base_currency_code"))
        rates = {_text(r.get("currency_to")): to_decimal(r.get("rate")) for r in data.get("exchange_rates") or []}
        available = tuple(_text(c) for c in data.get("available_currency_codes") or [])
        return cls(base_currency_code=base, available_currency_codes=available,
                   exchange_rates={c: rate for c, rate in rates.items() if c != base and c in available and rate > 0})


T = TypeVar("T")


@dataclass(frozen=True)
class SearchResult(Generic[T]):
    """One page of a search: its items and Magento's ``total_count`` of all matches."""

    items: list[T]
    total_count: int
