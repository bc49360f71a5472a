"""What the lifecycle clock does when an event falls due.

Events are scheduled with a due time on the real clock (their lifecycle delay divided by F) and are
applied by the sandbox's ticker, by every API call, or on demand (``POST /_sandbox/lifecycle/advance``).
An order an event touches gets ``lastUpdatedTime`` = the moment it is applied, never the moment it was
due: a client that already read past the due time must still see the change in its next window.
An event whose order has moved on (a PENDING order a seller can no longer release, …) is skipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sales_channel.sandbox.amazon import feeds, orders, reports

if TYPE_CHECKING:
    from sales_channel.sandbox.amazon.service import AmazonSandbox

FEED_EVENTS = ("feed_start", "feed_done")


def apply_event(sandbox: AmazonSandbox, kind: str, ref: str, payload: dict[str, Any]) -> str:
    if kind in FEED_EVENTS:
        return feeds.advance_feed(sandbox, ref, kind)
    if kind in reports.REPORT_EVENTS:
        return reports.advance_report(sandbox, ref, kind)
    doc = sandbox.store.get_order(ref)
    if doc is None:
        return "skipped: order no longer exists"
    if orders.is_raw(doc):  # a raw order replaced the seeded one
        return "skipped: raw order"
    status = orders.order_status(doc)
    now = sandbox.now_iso()
    if kind == "release":
        if status != "PENDING":
            return f"skipped: order is {status}"
        orders.set_status(doc, "UNSHIPPED")
        if payload.get("ship_after") is not None:
            sandbox.schedule(payload["ship_after"], "ship_afn", ref, {})
    elif kind == "buyer_cancel":
        if status not in ("PENDING", "UNSHIPPED") or orders.anything_shipped(doc):
            return f"skipped: order is {status}"
        reason = payload.get("reason", "BuyerCanceled")
        orders.cancel(doc, "BUYER", {}, reason)
        sandbox.record("cancellation", ref, {"cancelledBy": "BUYER", "reason": reason, "source": "lifecycle"})
    elif kind == "ship_afn":
        if status != "UNSHIPPED" or not orders.is_amazon_fulfilled(doc):
            return f"skipped: order is {status}"
        orders.ship_everything(doc)
        sandbox.record("shipment", ref, {"shippedBy": "AMAZON", "source": "lifecycle"})
    elif kind == "cancel_request":
        if status not in ("PENDING", "UNSHIPPED"):
            return f"skipped: order is {status}"
        orders.request_buyer_cancellation(doc, payload.get("reason", "Order placed by mistake"))
    else:
        raise ValueError(f"unknown lifecycle event {kind!r} for {ref}")
    orders.touch(doc, now)
    sandbox.save_order(doc)
    return "applied"
