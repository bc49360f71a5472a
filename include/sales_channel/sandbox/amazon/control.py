"""The Amazon sandbox's control API under ``/_sandbox`` (never part of the faithful API: no access
token, no usage plan, no injected faults). The common routes (health, faults, calls) come from
``common_control_router``; these add seeding, orders, the lifecycle clock, auth and the ledger.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from sales_channel.sandbox.amazon import api_orders, orders, raw_orders
from sales_channel.sandbox.amazon.seed import BY_MARKETPLACE_ID, MARKETPLACES, backlog_orders
from sales_channel.sandbox.catalog import BY_SELLER_SKU
from sales_channel.sandbox.common.clock import parse_iso, to_iso
from sales_channel.sandbox.common.faults import CONTROL_PREFIX

if TYPE_CHECKING:
    from sales_channel.sandbox.amazon.service import AmazonSandbox


class SeedRequest(BaseModel):
    orders: int = Field(ge=0, le=100_000)
    seed: int = 42
    anchor: datetime | None = Field(None, description="the 'now' the seed's times are relative to")


class OrderLine(BaseModel):
    sellerSku: str = Field(description="an Amazon seller SKU of sales_channel.sandbox.catalog")
    quantity: int = Field(1, ge=1, le=1000)
    unitPrice: str | None = Field(None, description="decimal in the marketplace currency; default: catalog price")
    promotion: bool = Field(False, description="a 10% item promotion (DISCOUNT breakdown, promotion id)")
    gift: bool = Field(False, description="gift wrap charge and a gift message")


class NewOrder(BaseModel):
    marketplaceId: str = "ATVPDKIKX0DER"
    fulfilledBy: Literal["MERCHANT", "AMAZON"] = "MERCHANT"
    status: Literal["PENDING", "UNSHIPPED", "SHIPPED", "CANCELLED"] = "UNSHIPPED"
    items: list[OrderLine] = Field(min_length=1)
    createdTime: datetime | None = Field(None, description="default: now")
    lastUpdatedTime: datetime | None = Field(None, description="default: now; never in the future")
    business: bool = False
    prime: bool = False
    freeShippingPromotion: bool = False
    buyerCancellationRequest: str | None = Field(None, description="a buyer's cancellation request reason")


class Backlog(BaseModel):
    count: int = Field(ge=1, le=100_000)
    seed: int = 1
    lastUpdatedFrom: datetime | None = Field(None, description="default: an hour before lastUpdatedTo")
    lastUpdatedTo: datetime | None = Field(None, description="default and latest: two minutes ago")
    marketplaceIds: list[str] | None = Field(None, min_length=1, description="default: every marketplace")


class OrderChange(BaseModel):
    status: Literal["UNSHIPPED", "SHIPPED", "CANCELLED"] | None = Field(
        None, description="UNSHIPPED releases a PENDING order; SHIPPED: Amazon ships an AFN order; "
                          "CANCELLED: cancelled by cancelledBy (nothing may have shipped)")
    cancelledBy: Literal["BUYER", "MERCHANT", "AMAZON"] = "BUYER"
    cancelReason: str = "BuyerCanceled"
    buyerCancellationRequest: str | None = Field(None, description="add a buyer cancellation request")
    touch: bool = Field(False, description="an update of no consequence: bumps lastUpdatedTime to now")
    lastUpdatedTime: datetime | None = Field(None, description="set lastUpdatedTime explicitly (tests)")
    createdTime: datetime | None = Field(None, description="move createdTime (tests), e.g. past the two-year "
                                                           "horizon: searchOrders and getOrder no longer find it")


class Advance(BaseModel):
    seconds: float | None = Field(None, ge=0, description="lifecycle seconds; null: everything pending")


class Settings(BaseModel):
    token_ttl_seconds: int | None = Field(None, ge=1, description="lifetime of access tokens issued from now on")
    gzip_reports: bool | None = Field(None, description="feed processing reports and report documents stored "
                                                        "from now on are GZIP-compressed")
    fatal_reports: int | None = Field(None, ge=0, description="the next N reports created end FATAL")
    document_url_ttl_seconds: int | None = Field(None, ge=1, description="lifetime of pre-signed document URLs "
                                                                         "handed out from now on (Amazon: 300)")


def _bad(message: str, status: int = 400) -> HTTPException:
    return HTTPException(status_code=status, detail=message)


def _build_order(sandbox: AmazonSandbox, request: NewOrder) -> dict[str, Any]:
    marketplace = BY_MARKETPLACE_ID.get(request.marketplaceId)
    if marketplace is None:
        raise _bad(f"marketplaceId {request.marketplaceId} is not one of the sandbox's marketplaces "
                   f"({', '.join(BY_MARKETPLACE_ID)})")
    if request.status == "SHIPPED" and request.fulfilledBy != "AMAZON":
        raise _bad("status SHIPPED is for Amazon-fulfilled orders; ship a merchant-fulfilled order with "
                   "confirmShipment")
    now = sandbox.now()
    created = request.createdTime or now
    updated = request.lastUpdatedTime or now
    if updated > now or updated < created:
        raise _bad("lastUpdatedTime must lie between createdTime and now")
    factory = sandbox.order_factory()
    lines = []
    for index, line in enumerate(request.items):
        product = BY_SELLER_SKU.get(line.sellerSku)
        if product is None:
            raise _bad(f"items[{index}].sellerSku {line.sellerSku!r} is not in the sandbox catalog")
        try:
            price = Decimal(line.unitPrice) if line.unitPrice is not None else factory.price(product, marketplace)
        except InvalidOperation:
            raise _bad(f"items[{index}].unitPrice {line.unitPrice!r} is not a decimal") from None
        if price <= 0:
            raise _bad(f"items[{index}].unitPrice must be positive")
        lines.append((product, line.quantity, orders.quantize(price, marketplace.currency)))
    doc = factory.build(
        marketplace=marketplace, fulfilled_by=request.fulfilledBy, lines=lines, created=created, updated=updated,
        status="UNSHIPPED", business=request.business, prime=request.prime,
        promotion_lines=frozenset(i for i, line in enumerate(request.items) if line.promotion),
        gift_lines=frozenset(i for i, line in enumerate(request.items) if line.gift),
        free_shipping_promotion=request.freeShippingPromotion)
    if request.status == "PENDING":
        orders.set_status(doc, "PENDING")
    elif request.status == "SHIPPED":
        orders.ship_everything(doc)
    elif request.status == "CANCELLED":
        orders.cancel(doc, "BUYER", {}, "BuyerCanceled")
    if request.buyerCancellationRequest:
        orders.request_buyer_cancellation(doc, request.buyerCancellationRequest)
    return doc


def _change_order(sandbox: AmazonSandbox, doc: dict[str, Any], change: OrderChange) -> None:
    order_id, status = doc["orderId"], orders.order_status(doc)
    if change.status == "UNSHIPPED":
        if status != "PENDING":
            raise _bad(f"order {order_id} is {status}; only a PENDING order can be released to UNSHIPPED", 409)
        orders.set_status(doc, "UNSHIPPED")
    elif change.status == "SHIPPED":
        if not orders.is_amazon_fulfilled(doc):
            raise _bad(f"order {order_id} is merchant-fulfilled: ship it with confirmShipment", 409)
        if status not in ("PENDING", "UNSHIPPED"):
            raise _bad(f"order {order_id} is {status}; it cannot be shipped", 409)
        orders.ship_everything(doc)
        sandbox.record("shipment", order_id, {"shippedBy": "AMAZON", "source": "control"})
    elif change.status == "CANCELLED":
        if status not in ("PENDING", "UNSHIPPED") or orders.anything_shipped(doc):
            raise _bad(f"order {order_id} is {status}; only an order with nothing shipped can be cancelled", 409)
        orders.cancel(doc, change.cancelledBy, {}, change.cancelReason)
        sandbox.record("cancellation", order_id, {"cancelledBy": change.cancelledBy,
                                                  "reason": change.cancelReason, "source": "control"})
    if change.buyerCancellationRequest:
        orders.request_buyer_cancellation(doc, change.buyerCancellationRequest)
    if change.lastUpdatedTime is not None:
        if change.lastUpdatedTime > sandbox.now():
            raise _bad("lastUpdatedTime must not be in the future")
        doc["lastUpdatedTime"] = to_iso(change.lastUpdatedTime)
    elif change.status or change.buyerCancellationRequest or change.touch:
        orders.touch(doc, sandbox.now_iso())
    if change.createdTime is not None:
        if change.createdTime > parse_iso(doc["lastUpdatedTime"]):
            raise _bad("createdTime must not be after the order's lastUpdatedTime")
        doc["createdTime"] = to_iso(change.createdTime)


def control_router(sandbox: AmazonSandbox) -> APIRouter:
    router = APIRouter(prefix=CONTROL_PREFIX, tags=["sandbox control"])

    @router.post("/seed", name="sandbox_seed")
    def seed(request: SeedRequest) -> dict[str, Any]:
        """Discard all state but tokens and settings; seed ``orders`` deterministic orders."""
        if request.anchor is not None and request.anchor > sandbox.now():
            raise _bad("anchor must not be in the future: seeded orders are all in the past")
        return sandbox.seed(request.orders, request.seed, request.anchor)

    @router.get("/summary", name="sandbox_summary")
    def summary() -> dict[str, Any]:
        by_status: Counter[str] = Counter()
        by_channel: Counter[str] = Counter()
        by_marketplace: Counter[str] = Counter()
        by_status_channel: Counter[str] = Counter()
        for status, fulfilled_by, marketplace_id, count in sandbox.store.order_counts():
            by_status[status] += count
            by_channel[fulfilled_by] += count
            by_marketplace[marketplace_id] += count
            by_status_channel[f"{status}/{fulfilled_by}"] += count
        return {"seed": sandbox.store.get_meta("seed"), "orders": sum(by_status.values()),
                "byStatus": dict(by_status), "byFulfilledBy": dict(by_channel),
                "byMarketplace": dict(by_marketplace), "byStatusAndFulfilledBy": dict(by_status_channel),
                "pendingEvents": len(sandbox.store.pending_events())}

    @router.post("/orders", name="sandbox_add_order", status_code=201)
    def add_order(request: NewOrder) -> dict[str, Any]:
        """Add one order; returns it with every dataset."""
        with sandbox.store.transaction():
            doc = _build_order(sandbox, request)
            sandbox.save_order(doc)
        return {"order": orders.full_view(doc)}

    @router.post("/orders/raw", name="sandbox_add_raw_order", status_code=201)
    async def add_raw_order(request: Request, served_updated_time: datetime | None = None,
                            served_created_time: datetime | None = None,
                            marketplace_id: str | None = None) -> dict[str, Any]:
        """Store the body, an Order JSON of any shape, exactly as given; serve it through searchOrders
        and getOrder. The query's hints place it in searchOrders windows (else the order's own times,
        else now) and marketplace (else its salesChannel.marketplaceId, else the first marketplace)."""
        try:
            order = raw_orders.parse_body(await request.body())
        except raw_orders.RawOrderError as error:
            raise _bad(str(error)) from None
        doc = raw_orders.raw_doc(order, sandbox.now(), MARKETPLACES[0].marketplace_id,
                                 served_updated_time=served_updated_time, served_created_time=served_created_time,
                                 marketplace_id=marketplace_id)
        await run_in_threadpool(sandbox.save_order, doc)
        return {"orderKey": doc["_served"]["orderKey"], "served": {
            key: value for key, value in doc["_served"].items() if key != "orderKey"}}

    @router.post("/orders/backlog", name="sandbox_add_backlog", status_code=201)
    def add_backlog(request: Backlog) -> dict[str, Any]:
        """Add ``count`` valid, importable orders updated within a recent range, all returned by a
        lastUpdatedAfter window ending two minutes ago (a backlog to import, for benchmarks)."""
        latest = sandbox.now() - api_orders.TWO_MINUTES
        last = request.lastUpdatedTo or latest
        first = request.lastUpdatedFrom or last - timedelta(hours=1)
        if last > latest:
            raise _bad("lastUpdatedTo must be at least two minutes ago: searchOrders windows end there")
        if first > last:
            raise _bad("lastUpdatedFrom must not be after lastUpdatedTo")
        unknown = sorted(set(request.marketplaceIds or ()) - set(BY_MARKETPLACE_ID))
        if unknown:
            raise _bad(f"marketplaceIds {unknown} are not the sandbox's ({', '.join(BY_MARKETPLACE_ID)})")
        marketplaces = tuple(m for m in MARKETPLACES if request.marketplaceIds is None
                             or m.marketplace_id in request.marketplaceIds)
        with sandbox.store.transaction():
            docs = backlog_orders(request.count, request.seed, first, last, marketplaces,
                                  set(sandbox.store.all_order_ids()))
            sandbox.store.put_orders(docs)
        return {"count": len(docs), "lastUpdatedFrom": to_iso(first), "lastUpdatedTo": to_iso(last),
                "orderIds": [doc["orderId"] for doc in docs]}

    @router.get("/orders/{order_id}", name="sandbox_get_order")
    def get_order(order_id: str) -> dict[str, Any]:
        doc = sandbox.store.get_order(order_id)
        if doc is None:
            raise _bad(f"order {order_id} not found", 404)
        return {"order": orders.full_view(doc)}

    @router.delete("/orders/{order_id}", name="sandbox_delete_order")
    def delete_order(order_id: str) -> dict[str, Any]:
        """Forget an order (or a raw order by its key): getOrder answers 404, no search finds it."""
        if not sandbox.store.delete_order(order_id):
            raise _bad(f"order {order_id} not found", 404)
        return {"deleted": order_id}

    @router.patch("/orders/{order_id}", name="sandbox_change_order")
    def change_order(order_id: str, change: OrderChange) -> dict[str, Any]:
        with sandbox.store.transaction():
            doc = sandbox.store.get_order(order_id)
            if doc is None:
                raise _bad(f"order {order_id} not found", 404)
            if orders.is_raw(doc):
                raise _bad(f"order {order_id} is a raw order: the sandbox changes nothing in it", 409)
            _change_order(sandbox, doc, change)
            sandbox.save_order(doc)
        return {"order": orders.full_view(doc)}

    @router.get("/lifecycle", name="sandbox_lifecycle")
    def lifecycle() -> dict[str, Any]:
        """Pending lifecycle events, with their due time on the real clock."""
        now = time.time()
        return {"timeScale": sandbox.clock.time_scale, "pending": [
            {"kind": kind, "ref": ref, "due": to_iso(sandbox.now() + timedelta(seconds=due - now)),
             "dueInSeconds": round(max(0.0, due - now), 3)}
            for _id, due, kind, ref, _payload in sandbox.store.pending_events()]}

    @router.post("/lifecycle/advance", name="sandbox_advance")
    def advance(request: Advance) -> dict[str, Any]:
        """Move the lifecycle clock on by ``seconds`` of lifecycle time (null: apply everything pending)."""
        return {"applied": sandbox.advance(request.seconds)}

    @router.get("/settings", name="sandbox_get_settings")
    def get_settings() -> dict[str, Any]:
        return sandbox.settings

    @router.put("/settings", name="sandbox_set_settings")
    def set_settings(request: Settings) -> dict[str, Any]:
        return sandbox.update_settings(request.model_dump(exclude_none=True))

    @router.get("/auth", name="sandbox_auth")
    def auth() -> dict[str, Any]:
        return {"token_ttl_seconds": sandbox.settings["token_ttl_seconds"],
                "active_tokens": sandbox.store.active_tokens(time.time())}

    @router.post("/auth/expire", name="sandbox_expire_tokens")
    def expire_tokens() -> dict[str, Any]:
        """Expire every access token issued so far (clients must refresh)."""
        return {"expired": sandbox.store.expire_tokens(time.time())}

    @router.get("/ledger", name="sandbox_ledger")
    def ledger(kind: Literal["shipment", "cancellation", "refund"] | None = None,
               orderId: str | None = Query(None)) -> dict[str, Any]:
        """Every effect applied: shipments, cancellations, refunds (oldest first)."""
        return {"entries": sandbox.store.ledger(kind, orderId)}

    return router
