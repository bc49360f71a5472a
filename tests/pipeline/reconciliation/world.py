"""Small hand-built reconciliation inputs: orders that agree on every side, and one discrepancy planted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pandas as pd
from sales_channel.pipeline.reconciliation.compare import Policy
from sales_channel.pipeline.reconciliation.frames import (
    AMAZON_ITEMS,
    COMMERCE_ITEMS,
    COMMERCE_ORDERS,
    LINKS,
    OUTBOX,
    QUARANTINE,
    Inputs,
    empty_frame,
)

NOW = datetime(2024, 6, 10, 12, 0, tzinfo=UTC)
SINCE = datetime(2024, 1, 1, tzinfo=UTC)
COMMERCE_STATE = {"unshipped": "processing", "partially_shipped": "processing", "shipped": "complete",
                  "cancelled": "canceled", "pending": "new"}


def typed(rows: list[dict], columns: dict[str, str]) -> pd.DataFrame:
    """A frame of ``rows`` with the contract's dtypes."""
    frame = empty_frame(columns)
    if not rows:
        return frame
    data = pd.DataFrame(rows)
    return pd.DataFrame({name: data[name].astype(frame[name].dtype) if name in data else pd.NA
                         for name in columns})


def policy(**changes) -> Policy:
    return Policy(**{"now": NOW, "connected_since": SINCE, "import_enabled": True, "import_fba": True,
                     "quarantine_stuck_after": timedelta(hours=24), "outbox_stuck_after": timedelta(hours=2),
                     **changes})


@dataclass
class World:
    amazon: list[dict] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)
    items: list[dict] = field(default_factory=list)
    links: list[dict] = field(default_factory=list)
    quarantine: list[dict] = field(default_factory=list)
    outbox: list[dict] = field(default_factory=list)

    def amazon_order(self, order_id: str, lines: list[tuple[str, int, int]], *, status: str = "unshipped",
                     fulfillment: str = "merchant", currency: str = "USD", purchased: datetime | None = None,
                     shipped_units: list[int] | None = None) -> None:
        """Amazon's report rows of an order: lines are (sku, quantity, total_minor)."""
        purchased = purchased or NOW - timedelta(days=2)
        for position, (sku, quantity, total) in enumerate(lines):
            shipped = (shipped_units[position] if shipped_units is not None
                       else quantity if status == "shipped" else 0)
            self.amazon.append({
                "amazon_order_id": order_id, "purchase_date": pd.Timestamp(purchased),
                "last_updated": pd.Timestamp(NOW - timedelta(hours=1)), "order_status": status,
                "fulfillment": fulfillment, "marketplace": "Amazon.com", "sku": sku, "quantity": quantity,
                "quantity_shipped": shipped, "currency": currency, "total_minor": total})

    def commerce_order(self, entity: int, ext_order_id: str | None, lines: list[tuple[str, int, int]], *,
                       state: str = "processing", currency: str = "USD", grand_total: int | None = None,
                       shipped_units: list[int] | None = None, refunded_units: list[int] | None = None,
                       child: int | None = None) -> None:
        self.orders.append({
            "commerce_entity_id": entity, "increment_id": f"{entity:09d}", "ext_order_id": ext_order_id or "",
            "state": state, "currency": currency,
            "grand_total_minor": sum(t for _, _, t in lines) if grand_total is None else grand_total,
            "created_at": pd.Timestamp(NOW - timedelta(days=2)), "relation_child_id": child})
        for position, (sku, quantity, _) in enumerate(lines):
            self.items.append({
                "commerce_entity_id": entity, "sku": sku, "qty_ordered": quantity,
                "qty_shipped": shipped_units[position] if shipped_units is not None else 0,
                "qty_refunded": refunded_units[position] if refunded_units is not None else 0,
                "qty_canceled": quantity if state == "canceled" else 0})

    def link(self, order_id: str, entity: int) -> None:
        self.links.append({"amazon_order_id": order_id, "commerce_entity_id": entity})

    def agreeing(self, order_id: str, entity: int, lines: list[tuple[str, int, int]] | None = None, *,
                 status: str = "unshipped", fulfillment: str = "merchant", currency: str = "USD") -> None:
        """An order both sides agree on, linked."""
        lines = lines or [("MUG-01", 2, 2598), ("TEA-02", 1, 899)]
        units = [q if status == "shipped" else (q if i == 0 else 0) if status == "partially_shipped" else 0
                 for i, (_, q, _) in enumerate(lines)]
        self.amazon_order(order_id, lines, status=status, fulfillment=fulfillment, currency=currency,
                          shipped_units=units)
        self.commerce_order(entity, order_id, lines, state=COMMERCE_STATE[status], currency=currency,
                            shipped_units=units)
        self.link(order_id, entity)

    def outbox_row(self, kind: str, source_id: str, status: str, order_id: str | None, *, age: timedelta,
                   last_error: str = "") -> None:
        self.outbox.append({"kind": kind, "source_id": source_id, "status": status, "amazon_order_id": order_id,
                            "updated_at": pd.Timestamp(NOW - age), "last_error": last_error})

    def inputs(self) -> Inputs:
        return Inputs(amazon_items=typed(self.amazon, AMAZON_ITEMS), commerce_orders=typed(self.orders, COMMERCE_ORDERS),
                      commerce_items=typed(self.items, COMMERCE_ITEMS), links=typed(self.links, LINKS),
                      quarantine=typed(self.quarantine, QUARANTINE), outbox=typed(self.outbox, OUTBOX))


def clean_world() -> World:
    """Orders on which every side agrees: statuses, both channels, currencies (JPY too), a refund."""
    world = World()
    world.agreeing("111-0000001-0000001", 1001)
    world.agreeing("111-0000002-0000002", 1002, status="shipped")
    world.agreeing("111-0000003-0000003", 1003, status="partially_shipped")
    world.agreeing("250-0000004-0000004", 1004, [("KETTLE-JP", 1, 4980)], currency="JPY", status="shipped")
    world.agreeing("302-0000005-0000005", 1005, [("MUG-01", 1, 1299)], currency="EUR", status="shipped",
                   fulfillment="amazon")
    world.agreeing("111-0000006-0000006", 1006, status="cancelled")
    # Refunded in part after shipping: grand_total stays what was ordered.
    world.amazon_order("111-0000007-0000007", [("MUG-01", 2, 2598)], status="shipped")
    world.commerce_order(1007, "111-0000007-0000007", [("MUG-01", 2, 2598)], state="complete",
                         shipped_units=[2], refunded_units=[1])
    world.link("111-0000007-0000007", 1007)
    # Pending on Amazon: not expected in Commerce yet.
    world.amazon_order("111-0000008-0000008", [("MUG-01", 1, 0)], status="pending")
    return world
