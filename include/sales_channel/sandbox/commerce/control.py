"""The Commerce sandbox's own control API under ``/_sandbox`` (no token, no latency, no faults).

Besides the common routes (health, faults, calls): reset to the seed, the ledger of state changes,
latency at run time, products and stock, orders "created by another connector", and admin order edits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from sales_channel.sandbox.commerce.errors import NO_ROUTE, not_found, required_field
from sales_channel.sandbox.commerce.stores import PATH_STORES
from sales_channel.sandbox.common.faults import CONTROL_PREFIX

if TYPE_CHECKING:
    from sales_channel.sandbox.commerce.app import CommerceSandbox


class Latency(BaseModel):
    latency_ms: float = Field(ge=0.0, description="base latency added to every faithful-API call")


class ProductChange(BaseModel):
    """A new product's fields or the fields to change of an existing one (absent: unchanged)."""

    name: str | None = None
    price: float | None = Field(None, ge=0.0)
    status: int | None = Field(None, description="1 enabled, 2 disabled")
    weight: float | None = Field(None, ge=0.0)
    qty: float | None = None
    is_in_stock: bool | None = None


class StockChange(BaseModel):
    qty: float
    is_in_stock: bool | None = Field(None, description="default: in stock when qty > 0")


class Sale(BaseModel):
    qty: float = Field(gt=0, description="units another sales channel sells (the stock may go below zero)")
    delay_ms: float = Field(0.0, ge=0.0, description="the sale lands this long after its trigger")
    after_next_read: bool = Field(False, description="trigger: the next faithful read of the SKU's stock "
                                                     "(stock item or salable quantity); else now")


class StockAssignment(BaseModel):
    assigned: bool = Field(description="false: the SKU's salable-quantity call answers 400 "
                                       "'The requested sku is not assigned to given stock.'")


def control_router(sandbox: CommerceSandbox) -> APIRouter:
    router = APIRouter(prefix=CONTROL_PREFIX, tags=["sandbox control"])

    @router.post("/reset", name="sandbox_reset")
    def reset() -> dict[str, Any]:
        sandbox.reset()
        return {"status": "reset", "products": len(sandbox.catalog.all())}

    @router.get("/ledger", name="sandbox_ledger")
    def ledger(since: int = 0, event: str | None = None, entity_id: int | None = None,
               ext_order_id: str | None = None, sku: str | None = None) -> dict[str, Any]:
        """State changes after ``since`` (a ``seq``), optionally of one event type, order or SKU."""
        wanted = {k: v for k, v in (("entity_id", entity_id), ("ext_order_id", ext_order_id), ("sku", sku))
                  if v is not None}
        events = [e for e in sandbox.state.ledger(since, event) if all(e.get(k) == v for k, v in wanted.items())]
        return {"events": events, "last_seq": events[-1]["seq"] if events else since}

    @router.get("/latency", name="sandbox_get_latency")
    def get_latency() -> Latency:
        return Latency(latency_ms=sandbox.injector.base_latency_ms)

    @router.put("/latency", name="sandbox_set_latency")
    def set_latency(latency: Latency) -> Latency:
        sandbox.injector.base_latency_ms = latency.latency_ms
        return latency

    @router.put("/products/{sku}", name="sandbox_put_product")
    def put_product(sku: str, change: ProductChange) -> dict[str, Any]:
        return sandbox.catalog.upsert(sku, change.model_dump())

    @router.delete("/products/{sku}", name="sandbox_delete_product")
    def delete_product(sku: str) -> dict[str, Any]:
        sandbox.catalog.remove(sku)
        return {"removed": sku}

    @router.put("/products/{sku}/stock", name="sandbox_set_stock")
    def set_stock(sku: str, change: StockChange) -> dict[str, Any]:
        return sandbox.catalog.set_stock(sku, change.qty, change.is_in_stock)

    @router.post("/products/{sku}/stock/sell", name="sandbox_sell_stock")
    def sell(sku: str, sale: Sale) -> dict[str, Any]:
        """Another sales channel sells units of ``sku``: now, after a delay, or right after the next read."""
        if sale.after_next_read:
            sandbox.catalog.arm_sale(sku, sale.qty, sale.delay_ms / 1000)
            return {"sku": sku, "qty": sale.qty, "status": "armed"}
        if sale.delay_ms:
            sandbox.catalog.get(sku)  # 404 now for an unknown SKU, not later in a timer
            sandbox.catalog.sell_later(sku, sale.qty, sale.delay_ms / 1000)
            return {"sku": sku, "qty": sale.qty, "status": "scheduled"}
        return {"sku": sku, "qty": sale.qty, "status": "sold", "stock_item": sandbox.catalog.sell(sku, sale.qty)}

    @router.put("/products/{sku}/stock/assignment", name="sandbox_stock_assignment")
    def stock_assignment(sku: str, assignment: StockAssignment) -> dict[str, Any]:
        return sandbox.catalog.assign_to_stock(sku, assignment.assigned)

    @router.post("/orders", name="sandbox_insert_order")
    def insert_order(body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        """An order "created by another connector": validated like POST /V1/orders, ledger source 'external'."""
        if body.get("entity") is None:
            raise required_field("entity")
        store = PATH_STORES.get(str(body.get("store_code", "default")))
        if store is None:
            raise not_found(NO_ROUTE)
        return sandbox.sales.save_order(body["entity"], store, source="external")

    @router.post("/orders/{entity_id}/edit", name="sandbox_edit_order")
    def edit_order(entity_id: int, body: Annotated[dict[str, Any] | None, Body()] = None) -> dict[str, Any]:
        """Admin "Edit order": cancels the order and returns its copy ``<increment_id>-N``."""
        return sandbox.sales.edit(entity_id, (body or {}).get("changes") or {})

    return router
