"""The creation matrix: whether an Amazon order becomes a Commerce order now.

Merchant-fulfilled (MFN): created at UNSHIPPED, PARTIALLY_SHIPPED or SHIPPED. Amazon-fulfilled (AFN):
created only once SHIPPED, and created complete (shipment + invoice). Never for PENDING,
PENDING_AVAILABILITY, CANCELLED or UNFULFILLABLE. Orders created before the store was connected are
never imported. A skipped order is not an error: it is "done by rule" for the watermark, and comes
back on its own when Amazon updates it (a PENDING order becoming UNSHIPPED changes lastUpdatedTime).
A status or channel this version does not know may mean anything (paid or not, shipped by whom): such
an order of this store is held (``ImportBlocked``, reason ``unsupported_value``), naming the value.
"""

from __future__ import annotations

from enum import StrEnum

from sales_channel.domain.amazon_order import AmazonOrder, FulfillmentStatus, UnknownValue
from sales_channel.domain.errors import ImportBlocked, QuarantineReason, shown
from sales_channel.domain.settings import StoreSettings


class Decision(StrEnum):
    CREATE = "create"  # a merchant-fulfilled order to create for shipping in Commerce
    CREATE_COMPLETE = "create_complete"  # an Amazon-fulfilled order shipped by Amazon: create + ship + invoice
    WAIT_PENDING = "wait_pending"  # not payable yet; comes back when Amazon moves it on
    WAIT_AFN_NOT_SHIPPED = "wait_afn_not_shipped"  # Amazon-fulfilled, not shipped by Amazon yet
    SKIP_CANCELLED = "skip_cancelled"
    SKIP_UNFULFILLABLE = "skip_unfulfillable"
    SKIP_BEFORE_CONNECTED = "skip_before_connected"
    SKIP_FBA_DISABLED = "skip_fba_disabled"
    SKIP_OTHER_MARKETPLACE = "skip_other_marketplace"

    @property
    def creates(self) -> bool:
        return self in (Decision.CREATE, Decision.CREATE_COMPLETE)


_MFN_CREATABLE = {FulfillmentStatus.UNSHIPPED, FulfillmentStatus.PARTIALLY_SHIPPED, FulfillmentStatus.SHIPPED}
_NEVER = {
    FulfillmentStatus.PENDING: Decision.WAIT_PENDING,
    FulfillmentStatus.PENDING_AVAILABILITY: Decision.WAIT_PENDING,
    FulfillmentStatus.CANCELLED: Decision.SKIP_CANCELLED,
    FulfillmentStatus.UNFULFILLABLE: Decision.SKIP_UNFULFILLABLE,
}


def decide(order: AmazonOrder, store: StoreSettings) -> Decision:
    """What to do with ``order`` now; raises ``ImportBlocked`` for an order of this store that carries
    a value the matrix does not know."""
    if order.marketplace_id not in store.marketplace_ids:
        return Decision.SKIP_OTHER_MARKETPLACE
    if order.created_time < store.connected_since:
        return Decision.SKIP_BEFORE_CONNECTED
    _refuse_unknown(order, order.status, "fulfillment.fulfillmentStatus")
    if order.status in _NEVER:
        return _NEVER[order.status]
    _refuse_unknown(order, order.fulfilled_by, "fulfillment.fulfilledBy")
    if order.is_afn:
        if not store.import_fba_orders:
            return Decision.SKIP_FBA_DISABLED
        return Decision.CREATE_COMPLETE if order.status is FulfillmentStatus.SHIPPED else Decision.WAIT_AFN_NOT_SHIPPED
    assert order.status in _MFN_CREATABLE, order.status
    return Decision.CREATE


def _refuse_unknown(order: AmazonOrder, value: object, field: str) -> None:
    if isinstance(value, UnknownValue):
        raise ImportBlocked(QuarantineReason.UNSUPPORTED_VALUE, order.order_id, field,
                            f"{shown(value.value)} is not a value this import handles yet")
