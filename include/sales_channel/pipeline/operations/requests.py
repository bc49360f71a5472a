"""What a person asks an operation to do, checked before anything is read or written.

The manual DAGs' trigger forms (``sales_channel.airflow.params``) refuse a malformed value of one field
before a run is created; the rules that tie fields together (an order *or* a window, the end after the
start, the fields an action needs) cannot be said in one field's JSON Schema, so ``from_form`` checks
them here — first thing in the run, and the same for a script. Light on purpose: DAG files import
the names and limits below at parse time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from sales_channel.amazon.feeds_xml import CancelReason
from sales_channel.domain.amazon_order import ORDER_ID_PATTERN, parse_time
from sales_channel.domain.corrections import AddressCorrection, InvalidCorrection
from sales_channel.domain.errors import shown

MAX_WINDOW_DAYS = 31
MAX_WINDOW = timedelta(days=MAX_WINDOW_DAYS)
MAX_REASON_CHARS = 500
E = TypeVar("E", bound=StrEnum)
MAX_NOTE_CHARS = 500


class OperationRefused(ValueError):
    """The operation cannot be done as asked, and nothing was changed; the message names the field or
    the order and says why. Retrying cannot help: the request must change."""


class Action(StrEnum):
    """What a person can do with a quarantined order."""

    MAP_SKU = "map_sku"
    CORRECT_ADDRESS = "correct_address"
    SKIP = "skip"


ACTION_LABELS = {
    Action.MAP_SKU: "Map its Amazon SKU to a Commerce SKU (kept for later orders), then retry it",
    Action.CORRECT_ADDRESS: "Use a corrected shipping address (this order only, never stored), then retry it",
    Action.SKIP: "Skip it: never import this order (a reason is required)",
}

# The trigger form's fields of each action (``ResolveRequest.from_form``): a field given to another
# action is refused, never ignored.
ADDRESS_FIELDS = ("street", "city", "region", "postcode", "country_code", "phone")
ACTION_FIELDS = {Action.MAP_SKU: ("amazon_sku", "commerce_sku"), Action.CORRECT_ADDRESS: ADDRESS_FIELDS,
                 Action.SKIP: ("reason",)}


@dataclass(frozen=True)
class ReimportRequest:
    """One order (and optionally its store), or a store and a window of order creation times."""

    amazon_order_id: str | None = None
    store: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    @property
    def one_order(self) -> bool:
        return self.amazon_order_id is not None

    @classmethod
    def from_form(cls, values: Mapping[str, Any]) -> ReimportRequest:
        order_id, store = _text(values, "amazon_order_id"), _text(values, "store")
        start, end = time_field(values, "start"), time_field(values, "end")
        if order_id is not None:
            check_order_id(order_id)
            if start is not None or end is not None:
                raise OperationRefused("fields start/end: give either amazon_order_id or a window (store, start, "
                                       "end), not both")
            return cls(amazon_order_id=order_id, store=store)
        if store is None:
            raise OperationRefused("field store: required for a window (or give amazon_order_id to re-import "
                                   "one order)")
        if start is None or end is None:
            raise OperationRefused(f"field {'start' if start is None else 'end'}: a window needs both start "
                                   "and end (or give amazon_order_id to re-import one order)")
        check_window(start, end)
        return cls(store=store, start=start, end=end)

    def describe(self) -> str:
        if self.one_order:
            return f"order {self.amazon_order_id}" + (f" (store {self.store})" if self.store else "")
        return f"store {self.store}, orders created {self.start:%Y-%m-%dT%H:%M:%SZ} to {self.end:%Y-%m-%dT%H:%M:%SZ}"


@dataclass(frozen=True)
class ResolveRequest:
    """One action on one quarantined order. ``address`` is buyer data: never log or store it."""

    amazon_order_id: str
    action: Action
    amazon_sku: str | None = None
    commerce_sku: str | None = None
    address: AddressCorrection | None = None
    reason: str | None = None

    @classmethod
    def from_form(cls, values: Mapping[str, Any]) -> ResolveRequest:
        order_id = _order_id(values)
        action = _choice(values, "action", Action, "one of the actions")
        for other, fields in ACTION_FIELDS.items():
            given = [name for name in fields if other is not action and _given(values.get(name))]
            if given:
                raise OperationRefused(f"field {given[0]}: belongs to action {other.value}, not {action.value}; "
                                       "leave it empty")
        if action is Action.MAP_SKU:
            amazon_sku, commerce_sku = _text(values, "amazon_sku"), _text(values, "commerce_sku")
            if amazon_sku is None or commerce_sku is None:
                raise OperationRefused(f"field {'amazon_sku' if amazon_sku is None else 'commerce_sku'}: required "
                                       "to map a SKU")
            return cls(order_id, action, amazon_sku=amazon_sku, commerce_sku=commerce_sku)
        if action is Action.CORRECT_ADDRESS:
            street = values.get("street") or []
            if isinstance(street, str):
                street = street.splitlines()
            if not isinstance(street, list) or not all(isinstance(line, str) for line in street):
                raise OperationRefused("field street: must be a list of street lines")
            try:
                address = AddressCorrection(
                    lines=tuple(street), city=_text(values, "city") or "",
                    country_code=_text(values, "country_code") or "", region=_text(values, "region"),
                    postal_code=_text(values, "postcode"), phone=_text(values, "phone"))
            except InvalidCorrection as invalid:
                raise OperationRefused(str(invalid)) from None
            return cls(order_id, action, address=address)
        reason = _text(values, "reason", MAX_REASON_CHARS)
        if reason is None:
            raise OperationRefused("field reason: required to skip an order (say why it is never imported)")
        return cls(order_id, action, reason=reason)


# Amazon's cancel reasons (OrderAcknowledgement.xsd) as a person reads them in the trigger form.
CANCEL_REASON_LABELS = {
    CancelReason.NO_INVENTORY: "No inventory (out of stock)",
    CancelReason.SHIPPING_ADDRESS_UNDELIVERABLE: "Shipping address undeliverable",
    CancelReason.CUSTOMER_EXCHANGE: "Customer exchange",
    CancelReason.BUYER_CANCELED: "Buyer cancelled",
    CancelReason.GENERAL_ADJUSTMENT: "General adjustment",
    CancelReason.CARRIER_CREDIT_DECISION: "Carrier credit decision",
    CancelReason.RISK_ASSESSMENT_INFORMATION_NOT_VALID: "Risk assessment information not valid",
    CancelReason.CARRIER_COVERAGE_FAILURE: "Carrier coverage failure",
    CancelReason.CUSTOMER_RETURN: "Customer return",
    CancelReason.MERCHANDISE_NOT_RECEIVED: "Merchandise not received",
}


@dataclass(frozen=True)
class CancelRequest:
    """Cancel one unshipped Amazon order with one of Amazon's reasons. ``note`` is the person's own text:
    it goes to the order's timeline and its Commerce comment, never to Amazon."""

    amazon_order_id: str
    reason: CancelReason
    note: str | None = None

    @property
    def reason_label(self) -> str:
        return CANCEL_REASON_LABELS[self.reason]

    @classmethod
    def from_form(cls, values: Mapping[str, Any]) -> CancelRequest:
        order_id = _order_id(values)
        reason = _choice(values, "reason", CancelReason, "one of Amazon's cancel reasons")
        return cls(order_id, reason, _text(values, "note", MAX_NOTE_CHARS))


@dataclass(frozen=True)
class ResendRequest:
    """Re-send one Commerce shipment (its entity id) of one store to Amazon."""

    store: str
    shipment_id: int

    @classmethod
    def from_form(cls, values: Mapping[str, Any]) -> ResendRequest:
        store = _text(values, "store")
        if store is None:
            raise OperationRefused("field store: required")
        shipment_id = values.get("shipment_id")
        if not isinstance(shipment_id, int) or isinstance(shipment_id, bool) or shipment_id < 1:
            raise OperationRefused(f"field shipment_id: {shown(shipment_id)} is not a Commerce shipment id (a whole "
                                   "number from 1)")
        return cls(store, shipment_id)


def check_order_id(order_id: str) -> None:
    if not ORDER_ID_PATTERN.fullmatch(order_id):
        raise OperationRefused(f"field amazon_order_id: {shown(order_id)} is not an Amazon order id "
                               "(3-7-7 digits, e.g. 113-1234567-1234567)")


def check_window(start: datetime, end: datetime, *, fields: tuple[str, str] = ("start", "end"),
                 action: str = "re-import") -> None:
    """A window ends after it starts and spans at most ``MAX_WINDOW`` (refusals name the form's ``fields``)."""
    start_field, end_field = fields
    if end <= start:
        raise OperationRefused(f"field {end_field}: {end:%Y-%m-%dT%H:%M:%SZ} is not after {start_field} "
                               f"{start:%Y-%m-%dT%H:%M:%SZ}")
    if end - start > MAX_WINDOW:
        raise OperationRefused(f"field {end_field}: the window spans {(end - start).total_seconds() / 86400:.1f} "
                               f"days; at most {MAX_WINDOW_DAYS} ({action} a longer period in several runs)")


def _order_id(values: Mapping[str, Any]) -> str:
    """The form's required ``amazon_order_id``."""
    order_id = _text(values, "amazon_order_id")
    if order_id is None:
        raise OperationRefused("field amazon_order_id: required")
    check_order_id(order_id)
    return order_id


def _choice(values: Mapping[str, Any], name: str, choices: type[E], what: str) -> E:
    """The form's required ``name``, one of ``choices`` (a ``StrEnum``)."""
    try:
        return choices(values.get(name))
    except ValueError:
        raise OperationRefused(f"field {name}: {shown(values.get(name))} is not {what} "
                               f"({', '.join(choice.value for choice in choices)})") from None


def _given(value: Any) -> bool:
    return value not in (None, "", [], ())


def _text(values: Mapping[str, Any], name: str, max_chars: int | None = None) -> str | None:
    """A text field, stripped, of at most ``max_chars``; None when left empty. The refusal never shows the
    value: it may be buyer data."""
    value = values.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise OperationRefused(f"field {name}: must be text, got a JSON {type(value).__name__}")
    text = value.strip() or None
    if text is not None and max_chars is not None and len(text) > max_chars:
        raise OperationRefused(f"field {name}: at most {max_chars} characters, got {len(text)}")
    return text


def time_field(values: Mapping[str, Any], name: str) -> datetime | None:
    """A date-time field (UTC unless an offset is given); None when left empty."""
    value = _text(values, name)
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError as invalid:
        raise OperationRefused(f"field {name}: {invalid} (e.g. 2026-03-01T00:00:00Z)") from None
