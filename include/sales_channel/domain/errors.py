"""Why an order could not be imported: quarantine reasons a person can act on."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

# How much of a value Amazon sent may appear in a message (ids, enum values, amounts — never buyer data).
SHOWN_CHARS = 40


class QuarantineReason(StrEnum):
    UNKNOWN_SKU = "unknown_sku"
    PRODUCT_DISABLED = "product_disabled"
    OUT_OF_STOCK = "out_of_stock"
    MISSING_ADDRESS = "missing_address"
    INVALID_ADDRESS = "invalid_address"
    CURRENCY_NOT_ALLOWED = "currency_not_allowed"
    MALFORMED_DATA = "malformed_data"
    UNSUPPORTED_VALUE = "unsupported_value"  # a value Amazon added that this version does not handle yet
    COMMERCE_REJECTED = "commerce_rejected"  # Commerce answered 400 to the mapped order (its message says why)
    CATALOG_LOOKUP_FAILED = "catalog_lookup_failed"  # Commerce could not tell a SKU's stock (e.g. not in the stock)
    NO_LONGER_SERVED = "no_longer_served"  # Amazon no longer serves the order (re-read answered 404)


def shown(value: Any) -> str:
    """``value`` for a message: escaped like ``repr`` (no control characters reach a log line) and cut
    to ``SHOWN_CHARS``, since Amazon's JSON may hold anything. Only for values that are not buyer data."""
    if isinstance(value, str):
        return repr(value[:SHOWN_CHARS]) + ("…" if len(value) > SHOWN_CHARS else "")
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"an integer of {value.bit_length()} bits"  # repr of a huge int is slow, or refused
    if isinstance(value, bool | int | float) or value is None:
        text = repr(value)
        return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS]}…"
    return f"a JSON {'object' if isinstance(value, dict) else 'array' if isinstance(value, list) else 'value'}"


class ImportBlocked(Exception):
    """An order cannot be imported now; it is quarantined with this reason and retried later.

    The message names the order and the field, and never holds buyer PII.
    """

    def __init__(self, reason: QuarantineReason, order_id: str, field: str, problem: str) -> None:
        self.reason, self.order_id, self.field, self.problem = reason, order_id, field, problem
        super().__init__(f"order {order_id}: {field}: {problem}")


class MalformedOrder(ImportBlocked):
    def __init__(self, order_id: str, field: str, problem: str) -> None:
        super().__init__(QuarantineReason.MALFORMED_DATA, order_id, field, problem)
