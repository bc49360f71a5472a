"""The faithful Orders API: v2026-01-01 searchOrders and getOrder, v0 confirmShipment.

Paging never skips an order that changes while a client pages: results are ordered by the
immutable (createdTime, orderId), the token carries the last key returned and the window's end as
fixed by the first page (the caller's ``createdBefore``/``lastUpdatedBefore``, or two minutes before
that first request). An order updated mid-paging either keeps its place or leaves the window (its new
``lastUpdatedTime`` is past the window's end), and then it is in the caller's next window: it may
appear twice, never zero times.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import Response

from sales_channel.sandbox.amazon import orders
from sales_channel.sandbox.amazon.errors import invalid_input
from sales_channel.sandbox.common.clock import parse_iso, to_iso

if TYPE_CHECKING:
    from sales_channel.sandbox.amazon.service import AmazonSandbox

ORDER_ID = re.compile(r"^\d{3}-\d{7}-\d{7}$")
TWO_MINUTES = timedelta(minutes=2)
MAX_ORDER_AGE = timedelta(days=730)
TOKEN_LIFETIME_SECONDS = 24 * 3600
MAX_MARKETPLACES = 50
# Filters a pagination token pins (all but maxResultsPerPage and includedData, which may change per page).
TOKEN_FILTERS = ("createdAfter", "createdBefore", "lastUpdatedAfter", "lastUpdatedBefore", "marketplaceIds",
                 "fulfillmentStatuses", "fulfilledBy")


def list_param(request: Request, name: str) -> list[str]:
    """An array query parameter, comma-separated (the model's default ``csv``) or repeated."""
    return [value.strip() for raw in request.query_params.getlist(name) for value in raw.split(",") if value.strip()]


def enum_list(request: Request, name: str, allowed: tuple[str, ...]) -> list[str]:
    values = list_param(request, name)
    for value in values:
        if value not in allowed:
            raise invalid_input(f"Invalid value '{value}' for parameter {name}.",
                                f"{name} values must be among: {', '.join(allowed)}")
    return values


def time_param(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_iso(raw)
    except ValueError:
        raise invalid_input(f"Invalid value '{raw}' for parameter {name}.",
                            f"{name} must be an ISO 8601 date-time") from None


def included_data(request: Request) -> list[str]:
    return enum_list(request, "includedData", orders.INCLUDED_DATA)


def _ceil_iso(moment: datetime) -> str:
    """The first whole second at or after ``moment`` (stored times are whole seconds)."""
    whole = moment.replace(microsecond=0)
    return to_iso(whole if whole == moment else whole + timedelta(seconds=1))


def horizon(now: datetime) -> str:
    """Amazon returns no order created before this moment (two years ago), by search or by id."""
    return to_iso(now - MAX_ORDER_AGE)


def check_order_id(order_id: str) -> None:
    if not ORDER_ID.match(order_id):
        raise invalid_input(f"Invalid orderId '{order_id}'.", "orderId must be 3-7-7 digits, e.g. 113-1234567-1234567")


class PaginationTokens:
    """Signed, self-contained page tokens (they survive a sandbox restart, expire after 24 hours)."""

    def __init__(self, secret: str) -> None:
        self._key = secret.encode()

    def encode(self, filters: dict[str, Any], after: tuple[str, str]) -> str:
        payload = json.dumps({"f": filters, "k": list(after), "x": int(time.time()) + TOKEN_LIFETIME_SECONDS},
                             separators=(",", ":")).encode()
        signature = hmac.new(self._key, payload, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(signature + payload).decode().rstrip("=")

    def decode(self, token: str) -> tuple[dict[str, Any], tuple[str, str]]:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            signature, payload = raw[:12], raw[12:]
            if not hmac.compare_digest(signature, hmac.new(self._key, payload, hashlib.sha256).digest()[:12]):
                raise ValueError("bad signature")
            data = json.loads(payload)
        except ValueError:
            raise invalid_input("Invalid paginationToken.", "paginationToken must be a nextToken returned "
                                "by a previous searchOrders call") from None
        if data["x"] < time.time():
            raise invalid_input("The paginationToken has expired.", "pagination tokens expire after 24 hours")
        return data["f"], (data["k"][0], data["k"][1])


def search_filters(request: Request, now: datetime) -> dict[str, Any]:
    """Validate searchOrders' filters (the model's rules) and fix the window's end."""
    created_after, created_before = time_param(request, "createdAfter"), time_param(request, "createdBefore")
    updated_after, updated_before = time_param(request, "lastUpdatedAfter"), time_param(request, "lastUpdatedBefore")
    if (created_after is None) == (updated_after is None):
        raise invalid_input("Exactly one of createdAfter and lastUpdatedAfter must be specified.",
                            "provide either createdAfter or lastUpdatedAfter")
    latest = now - TWO_MINUTES
    if created_after is not None:
        if updated_before is not None:
            raise invalid_input("lastUpdatedBefore cannot be specified together with createdAfter.")
        after, before, names = created_after, created_before, ("createdAfter", "createdBefore")
    else:
        if created_before is not None:
            raise invalid_input("createdBefore cannot be specified together with lastUpdatedAfter.")
        after, before, names = updated_after, updated_before, ("lastUpdatedAfter", "lastUpdatedBefore")
    if after > latest:
        raise invalid_input(f"{names[0]} must be at least two minutes before the time of the request.")
    if before is not None:
        if before < after:
            raise invalid_input(f"{names[1]} must be equal to or after {names[0]}.")
        if before > latest:
            raise invalid_input(f"{names[1]} must be at least two minutes before the time of the request.")
    marketplaces = list_param(request, "marketplaceIds")
    if len(marketplaces) > MAX_MARKETPLACES:
        raise invalid_input(f"marketplaceIds accepts at most {MAX_MARKETPLACES} values.")
    return {
        names[0]: _ceil_iso(after),
        names[1]: to_iso(before if before is not None else latest),
        "marketplaceIds": sorted(set(marketplaces)),
        "fulfillmentStatuses": sorted(set(enum_list(request, "fulfillmentStatuses", orders.FULFILLMENT_STATUSES))),
        "fulfilledBy": sorted(set(enum_list(request, "fulfilledBy", orders.FULFILLED_BY))),
    }


def _check_same_filters(request: Request, pinned: dict[str, Any]) -> None:
    """A page request may repeat the first request's filters; it may not change them."""
    for name in TOKEN_FILTERS:
        if name not in request.query_params:
            continue
        if name.endswith(("After", "Before")):
            given = time_param(request, name)
            same = given is not None and name in pinned and (
                _ceil_iso(given) == pinned[name] if name.endswith("After") else to_iso(given) == pinned[name])
        else:
            same = sorted(set(list_param(request, name))) == pinned.get(name, [])
        if not same:
            raise invalid_input(f"Parameter {name} differs from the request that issued the paginationToken.",
                                "all parameters but maxResultsPerPage and includedData must stay the same")


def page_size(request: Request) -> int:
    raw = request.query_params.get("maxResultsPerPage")
    if raw is None:
        return 100
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if not 1 <= size <= 100:
        raise invalid_input(f"Invalid value '{raw}' for parameter maxResultsPerPage.",
                            "maxResultsPerPage must be between 1 and 100")
    return size


def query(filters: dict[str, Any], after: tuple[str, str] | None) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    for name, column, op in (("createdAfter", "created_time", ">="), ("createdBefore", "created_time", "<="),
                             ("lastUpdatedAfter", "last_updated_time", ">="),
                             ("lastUpdatedBefore", "last_updated_time", "<=")):
        if name in filters:
            where.append(f"{column} {op} ?")
            params.append(filters[name])
    for name, column in (("marketplaceIds", "marketplace_id"), ("fulfillmentStatuses", "fulfillment_status"),
                         ("fulfilledBy", "fulfilled_by")):
        if filters.get(name):
            where.append(f"{column} IN ({', '.join('?' * len(filters[name]))})")
            params.extend(filters[name])
    if after:
        where.append("(created_time, order_id) > (?, ?)")
        params.extend(after)
    return where, params


def orders_router(sandbox: AmazonSandbox, guard: Callable[..., str]) -> APIRouter:
    router = APIRouter(tags=["Orders"], dependencies=[Depends(guard)])
    tokens = PaginationTokens(sandbox.url_secret)

    @router.get("/orders/2026-01-01/orders", name="searchOrders")
    def search_orders(request: Request) -> dict[str, Any]:
        size, datasets = page_size(request), included_data(request)
        token = request.query_params.get("paginationToken")
        if token:
            filters, after = tokens.decode(token)
            _check_same_filters(request, filters)
        else:
            filters, after = search_filters(request, sandbox.now()), None
        where, params = query(filters, after)
        where.append("created_time >= ?")
        params.append(horizon(sandbox.now()))
        found = sandbox.store.search_orders(where, params, size + 1)
        page = found[:size]
        body: dict[str, Any] = {"orders": [orders.render_order(doc, datasets) for doc in page]}
        if len(found) > size:
            body["pagination"] = {"nextToken": tokens.encode(filters, orders.sort_key(page[-1]))}
        for name in ("createdBefore", "lastUpdatedBefore"):
            if name in filters:
                body[name] = filters[name]
        return body

    @router.get("/orders/2026-01-01/orders/{orderId}", name="getOrder")
    def get_order(orderId: str, request: Request) -> dict[str, Any]:
        check_order_id(orderId)
        datasets = included_data(request)
        doc = sandbox.store.get_order(orderId)
        if doc is None or orders.sort_key(doc)[0] < horizon(sandbox.now()):
            raise orders.unknown_order(orderId)
        return {"order": orders.render_order(doc, datasets)}

    @router.post("/orders/v0/orders/{orderId}/shipmentConfirmation", name="confirmShipment", status_code=204)
    def confirm_shipment(orderId: str, payload: Annotated[Any, Body()] = None) -> Response:
        check_order_id(orderId)
        marketplace_id, package = orders.parse_package(payload, orderId)
        with sandbox.store.transaction():
            doc = sandbox.store.get_order(orderId)
            if doc is None:
                raise orders.unknown_order(orderId)
            if orders.is_raw(doc):
                raise invalid_input(f"Order {orderId} cannot be confirmed: the sandbox holds it as a raw order.")
            if orders.confirm_shipment(doc, marketplace_id, package, sandbox.now_iso()):
                sandbox.save_order(doc)
                sandbox.record("shipment", orderId, {
                    "source": "confirmShipment", "packageReferenceId": package["packageReferenceId"],
                    "carrierCode": package["carrierCode"], "trackingNumber": package["trackingNumber"],
                    "items": [{"orderItemId": item_id, "quantity": quantity}
                              for item_id, quantity in package["orderItems"]],
                    "fulfillmentStatus": orders.order_status(doc)})
        return Response(status_code=204)

    return router

