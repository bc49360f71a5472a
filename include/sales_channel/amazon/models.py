"""Typed models of the SP-API payloads this project reads and sends.

Field names follow Amazon's published models (camelCase on the wire, snake_case here). Money amounts
are ``Decimal`` (Amazon sends them as strings: no precision is lost), times are aware datetimes in UTC.
Response models keep fields they do not declare (``model_extra``) so nothing Amazon adds is lost, and
``raw`` holds the order exactly as received for mapping code that needs more. Buyer and recipient data
are PII: they are left out of ``repr()`` so they cannot reach a log by accident, and validation errors
never quote the input (``hide_input_in_errors``): a refused order's email or street stays out of the
message and the traceback.

Orders arrive as ``RawOrder``: the JSON exactly as Amazon sent it, never refused for its shape (one odd
order must not cost the page its other orders); ``RawOrder.typed()`` validates it for callers that want
the typed ``Order``, and ``domain.amazon_order.parse_order`` turns it into the import's order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from sales_channel.domain.amazon_order import (  # one definition of Amazon's enums
    FulfilledBy,
    FulfillmentStatus,
    parse_time,
)
from sales_channel.domain.errors import shown


def _to_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=True,
                              hide_input_in_errors=True)


class IncludedData(StrEnum):
    """Optional parts of an order that searchOrders/getOrder return when asked (``includedData``)."""

    BUYER = "BUYER"
    RECIPIENT = "RECIPIENT"
    PROCEEDS = "PROCEEDS"
    EXPENSE = "EXPENSE"
    PROMOTION = "PROMOTION"
    CANCELLATION = "CANCELLATION"
    FULFILLMENT = "FULFILLMENT"
    PACKAGES = "PACKAGES"
    TAX = "TAX"
    PAYMENT = "PAYMENT"
    FULFILLMENT_ORDERS = "FULFILLMENT_ORDERS"


# Every dataset: what an import asks for when it wants the complete order.
ALL_INCLUDED_DATA = frozenset(IncludedData)


class Money(_Model):
    amount: Decimal
    currency_code: str


class SalesChannel(_Model):
    channel_name: str
    marketplace_id: str | None = None
    marketplace_name: str | None = None


class Buyer(_Model):
    buyer_name: str | None = None
    buyer_email: str | None = None
    buyer_company_name: str | None = None
    buyer_purchase_order_number: str | None = None


class CustomerAddress(_Model):
    name: str | None = None
    company_name: str | None = None
    address_line1: str | None = Field(None, alias="addressLine1")
    address_line2: str | None = Field(None, alias="addressLine2")
    address_line3: str | None = Field(None, alias="addressLine3")
    city: str | None = None
    district_or_county: str | None = None
    state_or_region: str | None = None
    municipality: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    phone: str | None = None
    address_type: str | None = None


class Recipient(_Model):
    delivery_address: CustomerAddress | None = None


class ProceedsBreakdown(_Model):
    type: str
    subtotal: Money | None = None


class OrderProceeds(_Model):
    grand_total: Money | None = None
    breakdowns: list[ProceedsBreakdown] = []


class DateTimeRange(_Model):
    earliest_date_time: UtcDatetime | None = None
    latest_date_time: UtcDatetime | None = None


class OrderFulfillment(_Model):
    # Known values become the enums; a value Amazon added stays a string (never a refused order).
    fulfillment_status: Annotated[FulfillmentStatus | str, Field(union_mode="left_to_right")]
    fulfilled_by: Annotated[FulfilledBy | str | None, Field(union_mode="left_to_right")] = None  # a free string in the model
    fulfillment_service_level: str | None = None
    ship_by_window: DateTimeRange | None = None
    deliver_by_window: DateTimeRange | None = None


class ItemPrice(_Model):
    unit_price: Money | None = None


class ItemProduct(_Model):
    asin: str | None = None
    title: str | None = None
    seller_sku: str | None = None
    price: ItemPrice | None = None


class ItemProceeds(_Model):
    proceeds_total: Money | None = None
    breakdowns: list[ProceedsBreakdown] = []


class CancellationRequest(_Model):
    requester: str | None = None
    cancel_reason: str | None = None


class ItemCancellation(_Model):
    cancellation_request: CancellationRequest | None = None


class ItemFulfillment(_Model):
    quantity_fulfilled: int | None = None
    quantity_unfulfilled: int | None = None


class OrderItem(_Model):
    order_item_id: str
    quantity_ordered: int
    product: ItemProduct
    proceeds: ItemProceeds | None = None
    cancellation: ItemCancellation | None = None
    fulfillment: ItemFulfillment | None = None


class PackageItem(_Model):
    order_item_id: str | None = None
    quantity: int | None = None


class OrderPackage(_Model):
    package_reference_id: str
    carrier: str | None = None
    tracking_number: str | None = None
    ship_time: UtcDatetime | None = None
    package_items: list[PackageItem] = []


class Order(_Model):
    """A complete order of Orders API v2026-01-01, items inline."""

    order_id: str
    created_time: UtcDatetime
    last_updated_time: UtcDatetime
    sales_channel: SalesChannel
    order_items: list[OrderItem]
    programs: list[str] = []
    buyer: Buyer | None = Field(None, repr=False)
    recipient: Recipient | None = Field(None, repr=False)
    proceeds: OrderProceeds | None = None
    fulfillment: OrderFulfillment | None = None
    packages: list[OrderPackage] = []
    raw: dict[str, Any] = Field(default_factory=dict, repr=False, exclude=True)

    @classmethod
    def from_api(cls, data: Any) -> Order:
        return cls.model_validate({**data, "raw": data} if isinstance(data, Mapping) else data)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:  # extra (undeclared) fields may hold PII as well: never in repr()
        return ((k, v) for k, v in super().__repr_args__() if k in type(self).model_fields)


@dataclass(frozen=True)
class RawOrder:
    """One order of a searchOrders page or of getOrder, as Amazon sent it: any JSON value.

    ``order_id`` and ``last_updated_time`` read it loosely (None when absent or malformed), enough to
    de-duplicate a window; ``typed()`` validates it into an ``Order`` (pydantic's ValidationError,
    which names fields, never values, when the shape is wrong), and so does reading one of ``Order``'s
    fields on it.
    """

    raw: Any = field(repr=False)  # holds buyer data

    @property
    def order_id(self) -> str | None:
        value = self.raw.get("orderId") if isinstance(self.raw, Mapping) else None
        return value if isinstance(value, str) and value else None

    @property
    def last_updated_time(self) -> datetime | None:
        value = self.raw.get("lastUpdatedTime") if isinstance(self.raw, Mapping) else None
        try:
            return parse_time(value) if isinstance(value, str) else None
        except ValueError:
            return None

    def typed(self) -> Order:
        """The order validated into ``Order``; pydantic's ValidationError when its shape is wrong."""
        return self._typed

    @cached_property
    def _typed(self) -> Order:
        return Order.from_api(self.raw)

    def __getattr__(self, name: str) -> Any:
        # Typed callers read ``Order``'s fields as before (``client.get_order(...).fulfillment``); they
        # get the ValidationError getOrder used to raise, and raw callers never pay for validation.
        if name in Order.model_fields:
            return getattr(self.typed(), name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        return f"RawOrder(order_id={shown(self.order_id)})"


# --- Orders v0: confirmShipment -----------------------------------------------------------------------

_POSITIVE_NUMBER = re.compile(r"^[0-9]+$")


class ShipmentItem(_Model):
    order_item_id: Annotated[str, Field(min_length=1)]
    quantity: Annotated[int, Field(gt=0)]


class PackageDetail(_Model):
    """One package of a shipment confirmation (``packageDetail`` of confirmShipment)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True,
                              hide_input_in_errors=True)

    package_reference_id: str
    carrier_code: Annotated[str, Field(min_length=1)]
    tracking_number: Annotated[str, Field(min_length=1)]
    ship_date: UtcDatetime
    order_items: Annotated[list[ShipmentItem], Field(min_length=1)]
    carrier_name: str | None = None
    shipping_method: str | None = None

    @model_validator(mode="after")
    def _amazon_rules(self) -> PackageDetail:
        if not _POSITIVE_NUMBER.match(self.package_reference_id) or int(self.package_reference_id) == 0:
            raise ValueError(f"packageReferenceId must be a positive numeric string, "
                             f"got {self.package_reference_id!r}")
        if self.carrier_code == "Other" and not (self.carrier_name or "").strip():
            raise ValueError("carrierName is required when carrierCode is 'Other'")
        return self

    def to_api(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# --- Feeds 2021-06-30 ---------------------------------------------------------------------------------


class ProcessingStatus(StrEnum):
    IN_QUEUE = "IN_QUEUE"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    CANCELLED = "CANCELLED"
    FATAL = "FATAL"

    @property
    def is_final(self) -> bool:
        return self in (ProcessingStatus.DONE, ProcessingStatus.CANCELLED, ProcessingStatus.FATAL)


class FeedDocumentUpload(_Model):
    """Answer of createFeedDocument: where to PUT the feed (the URL expires after 5 minutes)."""

    feed_document_id: str
    url: str = Field(repr=False)  # pre-signed: a short-lived credential of its own


class Feed(_Model):
    feed_id: str
    feed_type: str
    processing_status: ProcessingStatus
    created_time: UtcDatetime
    marketplace_ids: list[str] = []
    processing_start_time: UtcDatetime | None = None
    processing_end_time: UtcDatetime | None = None
    result_feed_document_id: str | None = None


class FeedDocument(_Model):
    """Answer of getFeedDocument: where to download a document, and whether it is compressed."""

    feed_document_id: str
    url: str = Field(repr=False)
    compression_algorithm: str | None = None
