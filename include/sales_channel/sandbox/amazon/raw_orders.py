"""Raw orders: an Order JSON stored exactly as given (any shape, no validation) and served as it is.

Production sometimes sends orders the published model does not promise: a missing ``orderId`` or
``orderItems``, numbers where strings belong, enum values nobody documented. A raw order lets tests
feed those through the faithful searchOrders/getOrder paths. It is stored as ``{"_raw": order,
"_served": {...}}``: ``_served`` holds where it is found (its key, the times and marketplace that
place it in searchOrders windows), taken from the order where it is well formed, else from the
control request's hints, else now and the first marketplace. The sandbox applies no state rule to a
raw order (shipments, feeds, the lifecycle and the control API's changes refuse or skip it).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sales_channel.sandbox.common.clock import parse_iso, to_iso

RAW = "_raw"
MAX_DEPTH = 200  # deeper than any real order; keeps every response within Python's recursion limit

# Where each includedData dataset lives in an Order and in its items (for filtering raw orders).
ORDER_DATASET_FIELDS = {"buyer": "BUYER", "recipient": "RECIPIENT", "proceeds": "PROCEEDS",
                        "fulfillment": "FULFILLMENT", "packages": "PACKAGES"}
ITEM_DATASET_FIELDS = {"proceeds": "PROCEEDS", "promotion": "PROMOTION", "cancellation": "CANCELLATION",
                       "fulfillment": "FULFILLMENT", "tax": "TAX"}


class RawOrderError(ValueError):
    """The body cannot be stored (not JSON, NaN, lone surrogates, nested beyond ``MAX_DEPTH``)."""


def parse_body(body: bytes) -> Any:
    """The request body as JSON, refusing what no JSON response could carry back."""

    def no_constants(name: str) -> Any:
        raise RawOrderError(f"{name} is not JSON")

    try:
        value = json.loads(body, parse_constant=no_constants)
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except RecursionError:
        raise RawOrderError(f"the order is nested deeper than {MAX_DEPTH} levels") from None
    except UnicodeError:
        raise RawOrderError("the order holds a lone UTF-16 surrogate: not representable in UTF-8") from None
    except json.JSONDecodeError as error:
        raise RawOrderError(f"the body is not JSON: {error}") from None
    if _depth(value) > MAX_DEPTH:
        raise RawOrderError(f"the order is nested deeper than {MAX_DEPTH} levels")
    return value


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _field(order: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(order, dict):
            return None
        order = order.get(name)
    return order


def _time(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return to_iso(parse_iso(value))
    except (ValueError, OverflowError):
        return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def raw_doc(order: Any, now: datetime, default_marketplace: str, *, served_updated_time: datetime | None = None,
            served_created_time: datetime | None = None, marketplace_id: str | None = None) -> dict[str, Any]:
    """The stored form of a raw order. A hint, when given, decides where the order is served."""
    order_id = _field(order, "orderId")
    updated = (to_iso(served_updated_time) if served_updated_time else None) or _time(
        _field(order, "lastUpdatedTime")) or to_iso(now)
    created = (to_iso(served_created_time) if served_created_time else None) or _time(
        _field(order, "createdTime")) or updated
    marketplace = marketplace_id or _field(order, "salesChannel", "marketplaceId")
    return {RAW: order, "_served": {
        # A non-string orderId cannot be asked for by getOrder: such an order gets a key of its own.
        "orderKey": order_id if isinstance(order_id, str) else f"raw:{uuid.uuid4().hex}",
        "createdTime": created, "lastUpdatedTime": updated,
        "marketplaceId": marketplace if isinstance(marketplace, str) and marketplace else default_marketplace,
        "fulfillmentStatus": _text(_field(order, "fulfillment", "fulfillmentStatus")),
        "fulfilledBy": _text(_field(order, "fulfillment", "fulfilledBy")),
    }}


def _without(fields: dict[str, Any], datasets: dict[str, str], included: set[str]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if key not in datasets or datasets[key] in included}


def render(order: Any, included: set[str]) -> Any:
    """The raw order, less the datasets not asked for wherever its shape shows where they are."""
    if not isinstance(order, dict):
        return order
    shown = _without(order, ORDER_DATASET_FIELDS, included)
    if isinstance(shown.get("orderItems"), list):
        shown["orderItems"] = [_without(item, ITEM_DATASET_FIELDS, included) if isinstance(item, dict) else item
                               for item in shown["orderItems"]]
    return shown
