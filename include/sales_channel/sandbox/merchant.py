"""What a merchant does in Commerce with the orders the import created — ship them (whole, in two
packages, in part only, without a tracking number), refund them (in full, one unit, in two credit
memos), cancel them — through the faithful REST API, with a deterministic mix. The status sync's
reliability test and benchmark make their work with it; ``oracle.status_sync_verdict`` judges the
result from the sandboxes' ledgers.

Only orders the status sync can act on are chosen: merchant-fulfilled, UNSHIPPED on Amazon with
nothing shipped and no buyer cancellation request. Credit memos leave the order's first item (the
one Amazon charges the shipping on) to the last memo, so each memo is one Amazon can refund whole.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import requests

from sales_channel.commerce.client import CommerceClient
from sales_channel.commerce.models import Order, Track
from sales_channel.domain.amazon_order import AmazonOrder, FulfilledBy, FulfillmentStatus, parse_order
from sales_channel.sandbox.oracle import control_get

# (carrier_code, title) as merchants enter them: Commerce's own carriers and a custom one.
CARRIERS = (("ups", "UPS"), ("usps", "USPS"), ("fedex", "FedEx"), ("dhl", "DHL"), ("custom", "Speedy Parcels"))


@dataclass(frozen=True)
class ImportedOrder:
    """A Commerce order the import created, with its Amazon order as Amazon has it now."""

    entity_id: int
    store_id: int
    amazon: AmazonOrder

    @property
    def actionable(self) -> bool:
        """Whether the status sync can confirm, refund or cancel it on Amazon."""
        a = self.amazon
        return (a.fulfilled_by is FulfilledBy.MERCHANT and a.status is FulfillmentStatus.UNSHIPPED
                and not a.packages and not a.buyer_cancellation_requested)


def imported_orders(amazon_url: str, commerce_url: str) -> list[ImportedOrder]:
    """The Commerce orders the import created (the Commerce ledger), each with its Amazon order (the
    Amazon sandbox's control API: no usage plan, no faults)."""
    created = [e for e in control_get(f"{commerce_url}/_sandbox/ledger", event="order_created")["events"]
               if e.get("source") == "api" and e.get("ext_order_id")]
    found = []
    for event in created:
        raw = control_get(f"{amazon_url}/_sandbox/orders/{event['ext_order_id']}")["order"]
        found.append(ImportedOrder(int(event["entity_id"]), int(event["store_id"]), parse_order(raw)))
    return found


@dataclass(frozen=True)
class Mix:
    """Shares of the actionable orders. Left unshipped, cancelled, or refunded in full before shipping;
    the rest is shipped: in two packages, in part only, without a tracking number, or whole. Of the
    shipped ones, some are then refunded: in full (a return), one unit, or one unit and then the rest."""

    cancel: float = 0.06
    refund_unshipped: float = 0.03
    unshipped: float = 0.06
    two_packages: float = 0.15
    partial_only: float = 0.05
    untracked: float = 0.05
    refund_full: float = 0.04
    refund_one: float = 0.06
    refund_twice: float = 0.04


@dataclass
class Activity:
    """What was done, by Commerce id."""

    shipments: dict[int, int] = field(default_factory=dict)  # shipment id → order id
    untracked: dict[int, int] = field(default_factory=dict)  # shipment id → order id, no tracking number
    credit_memos: dict[int, int] = field(default_factory=dict)  # credit memo id → order id
    cancelled: list[int] = field(default_factory=list)
    orders: int = 0  # actionable orders considered

    def counts(self) -> dict[str, int]:
        return {"orders": self.orders, "shipments": len(self.shipments), "untracked": len(self.untracked),
                "credit_memos": len(self.credit_memos), "cancelled": len(self.cancelled)}


class Merchant:
    """Acts on imported orders through Commerce's REST API, one client per store id."""

    def __init__(self, commerce: Mapping[int, CommerceClient], seed: int = 7) -> None:
        self.commerce = commerce
        self.random = random.Random(seed)
        self._tracks = 0

    def act(self, orders: list[ImportedOrder], mix: Mix = Mix()) -> Activity:
        """Apply the mix to the actionable ones of ``orders``."""
        activity = Activity()
        chosen = sorted((o for o in orders if o.actionable), key=lambda o: o.amazon.order_id)  # as seeded
        activity.orders = len(chosen)
        by_store: dict[int, list[int]] = {}
        for order in chosen:
            by_store.setdefault(order.store_id, []).append(order.entity_id)
        commerce_orders = {}
        for store_id, ids in by_store.items():
            commerce_orders.update(self.commerce[store_id].orders.get_many(ids))
        refunds = ["refund_full", "refund_one", "refund_twice"]
        fates = [f.name for f in fields(Mix) if f.name not in refunds]
        for order in chosen:
            client, commerce = self.commerce[order.store_id], commerce_orders[order.entity_id]
            fate = self._pick(mix, fates, rest="whole")
            if fate == "cancel":
                if client.orders.cancel(order.entity_id):
                    activity.cancelled.append(order.entity_id)
            elif fate == "refund_unshipped":
                client.invoices.create(order.entity_id)
                activity.credit_memos[client.creditmemos.create(order.entity_id)] = order.entity_id
            elif fate != "unshipped":
                self._ship(client, commerce, fate, activity)
                refund = self._pick(mix, refunds, rest=None)
                if refund is not None:
                    self._refund(client, commerce, refund, activity)
        return activity

    def add_tracks(self, activity: Activity, store_of: Mapping[int, int]) -> int:
        """A tracking number for every shipment made without one (``store_of``: order id → store id)."""
        for shipment_id, order_id in sorted(activity.untracked.items()):
            self.commerce[store_of[order_id]].shipments.add_track(shipment_id, order_id, self._track())
        added = len(activity.untracked)
        activity.untracked.clear()
        return added

    def _pick(self, mix: Mix, names: list[str], rest: str | None) -> str | None:
        draw, total = self.random.random(), 0.0
        for name in names:
            total += getattr(mix, name)
            if draw < total:
                return name
        return rest

    def _track(self) -> Track:
        self._tracks += 1
        code, title = self.random.choice(CARRIERS)
        return Track(track_number=f"{code.upper()}{self._tracks:010d}", carrier_code=code, title=title)

    def _ship(self, client: CommerceClient, order: Order, fate: str, activity: Activity) -> None:
        lines = [item for item in order.items if item.parent_item_id is None and item.item_id is not None]
        units = sum(int(item.qty_ordered) for item in lines)
        first = {lines[0].item_id: 1}
        if fate in ("two_packages", "partial_only") and units >= 2:
            shipment = client.shipments.create(order.entity_id, first, [self._track()])
            activity.shipments[shipment] = order.entity_id
            if fate == "partial_only":
                return
        tracks = [] if fate == "untracked" else [self._track()]
        shipment = client.shipments.create(order.entity_id, None, tracks)
        activity.shipments[shipment] = order.entity_id
        if not tracks:
            activity.untracked[shipment] = order.entity_id

    def _refund(self, client: CommerceClient, order: Order, kind: str, activity: Activity) -> None:
        client.invoices.create(order.entity_id)
        lines = [item for item in order.items if item.parent_item_id is None and item.item_id is not None]
        line = lines[-1]  # one unit of the last line (of the first when it is the only one with 2+ units)
        if kind != "refund_full" and (len(lines) > 1 or line.qty_ordered >= 2):
            memo = client.creditmemos.create(order.entity_id, {line.item_id: 1}, shipping_amount=Decimal(0))
            activity.credit_memos[memo] = order.entity_id
            if kind == "refund_one":
                return
        activity.credit_memos[client.creditmemos.create(order.entity_id)] = order.entity_id


def ship_in_seller_central(amazon_url: str, orders: list[AmazonOrder]) -> None:
    """Ship these orders whole on Amazon, as a merchant does in Seller Central (a reader of its own),
    and date the change three minutes back, so the import's next window (ending two minutes back)
    holds it."""
    from sales_channel.amazon.auth import LwaCredentials
    from sales_channel.amazon.client import SpApiClient
    from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS as CREDS

    when = (datetime.now(UTC) - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with SpApiClient(LwaCredentials(CREDS["lwa_client_id"], CREDS["lwa_client_secret"], CREDS["refresh_token"]),
                     seller_id="seller-central", base_url=amazon_url) as client:
        for n, amazon in enumerate(orders, start=1):
            client.confirm_shipment(amazon.order_id, amazon.marketplace_id, {
                "package_reference_id": str(900_000 + n), "carrier_code": "UPS", "tracking_number": f"1ZSC{n:08d}",
                "ship_date": when, "order_items": [{"order_item_id": item.order_item_id,
                                                    "quantity": item.quantity_ordered} for item in amazon.items]})
            response = requests.patch(f"{amazon_url}/_sandbox/orders/{amazon.order_id}",
                                      json={"lastUpdatedTime": when}, timeout=60)
            response.raise_for_status()
