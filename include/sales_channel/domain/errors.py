"""Why an order could not be imported: quarantine reasons a person can act on."""

from __future__ import annotations

from enum import StrEnum


class QuarantineReason(StrEnum):
    UNKNOWN_SKU = "unknown_sku"
    PRODUCT_DISABLED = "product_disabled"
    OUT_OF_STOCK = "out_of_stock"
    MISSING_ADDRESS = "missing_address"
    INVALID_ADDRESS = "invalid_address"
    CURRENCY_NOT_ALLOWED = "currency_not_allowed"
    MALFORMED_DATA = "malformed_data"
    COMMERCE_REJECTED = "commerce_rejected"  # Commerce answered 400 to the mapped order (its message says why)


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
