"""Re-send one Commerce shipment's confirmation to Amazon once the cause of its refusal was fixed
(``amazon_resend_shipment``, or a script).

The shipment and its order are read from Commerce again and its Amazon order from Amazon (getOrder
with FULFILLMENT and PACKAGES), and the package is rebuilt the way the status sync builds it
(``to_amazon.shipment_payload``), so a corrected track or item is what goes out. Its row
(``CONFIRM_KIND``, source ``<store>/shipment/<shipment id>``) is requeued with that payload — queued
when the sync never queued one, released when it was held for a track — and sent at once through
``ShipmentConfirmations``: a row tried before reads Amazon's packages first, so re-sending a package
Amazon has already is a no-op (confirmed without a second call). A row still queued (pending) is
sent as it was queued, when it is due.

Refused, changing nothing: a shipment Commerce does not have; a shipment of an order that is not an
Amazon order of the store; an Amazon-fulfilled order; a shipment confirmed already (it is on Amazon:
one Commerce shipment is one package, never a second one); a shipment without tracking in a store
that holds such shipments; a read-only store; a package that cannot be built (the reason named).
Refused by Amazon again → the row ends failed with Amazon's message (and the refusal is raised);
a transient failure → ``NotYet`` (the task is retried; the status sync would send it as well).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sales_channel.amazon.client import SpApiClient
from sales_channel.amazon.errors import NotFoundError as AmazonNotFound
from sales_channel.amazon.models import IncludedData
from sales_channel.commerce.client import CommerceClient
from sales_channel.commerce.errors import NotFoundError as CommerceNotFound
from sales_channel.commerce.models import Order as CommerceOrder
from sales_channel.commerce.models import Shipment
from sales_channel.domain.amazon_order import AmazonOrder, FulfilledBy, parse_order
from sales_channel.domain.settings import StoreSettings
from sales_channel.pipeline.operations.report import ActionReport, Actor, NotYet
from sales_channel.pipeline.operations.requests import OperationRefused
from sales_channel.pipeline.outbox_work import OutboxWork
from sales_channel.pipeline.status_sync.commerce_effects import CommerceEffects
from sales_channel.pipeline.status_sync.kinds import CONFIRM_KIND
from sales_channel.pipeline.status_sync.shipments import ShipmentConfirmations
from sales_channel.pipeline.status_sync.to_amazon import DocumentRefused, shipment_payload, shipment_source
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.models import OrderLink, OutboxItem, OutboxStatus

log = logging.getLogger(__name__)

EVENT = "shipment_resend_requested"
# The order's items to map the package with, and the packages Amazon has (read fresh, not the snapshot).
FRESH_DATA = (IncludedData.FULFILLMENT, IncludedData.PACKAGES)


@dataclass
class ShipmentResend:
    store: StoreSettings
    amazon: SpApiClient
    commerce: CommerceClient
    channel: ChannelStore
    work: OutboxWork
    actor: Actor
    logger: logging.Logger = log

    @property
    def account(self) -> str:
        return self.store.amazon_conn_id

    def resend(self, shipment_id: int) -> ActionReport:
        shipment = self._shipment(shipment_id)
        link = self._link(shipment)
        order_id = link.amazon_order_id
        report = ActionReport(f"re-send of Commerce shipment {shipment.increment_id} (id {shipment_id}) of Amazon "
                              f"order {order_id} (store {self.store.key}, Commerce order "
                              f"{link.commerce_increment_id}), asked by {self.actor.who}")
        if self.store.read_only:
            raise OperationRefused(f"shipment {shipment_id}: store {self.store.key} is read-only (nothing is sent "
                                   "to Amazon): nothing was changed")
        amazon = self._amazon_order(order_id)
        if amazon.fulfilled_by is not FulfilledBy.MERCHANT:
            raise OperationRefused(f"shipment {shipment_id}: order {order_id} is fulfilled by Amazon, which confirms "
                                   "its shipments itself: nothing was sent")
        source = shipment_source(self.store.key, shipment_id)
        row = self.channel.outbox.get(CONFIRM_KIND, source)
        ours = self._acted_on(order_id, shipment_id)
        if row is not None and row.status == OutboxStatus.CONFIRMED:
            if ours:
                report.add("confirmed to Amazon by an earlier attempt of this run")
                return report
            raise OperationRefused(f"shipment {shipment_id} of order {order_id} is on Amazon already (confirmed "
                                   f"{row.confirmed_at:%Y-%m-%d %H:%M} UTC): one Commerce shipment is one Amazon "
                                   "package, so no second one is sent")
        try:
            payload = shipment_payload(shipment, self._order(link), amazon, self.store)
        except DocumentRefused as refused:
            raise OperationRefused(f"shipment {shipment_id}: {refused}; nothing was sent") from None
        if payload.get("held"):
            raise OperationRefused(f"shipment {shipment_id} of order {order_id} has no tracking number, and store "
                                   f"{self.store.key} holds such shipments until one is added "
                                   "(shipments_without_tracking: hold): add the track in Commerce, then re-send it "
                                   "(the status sync confirms it too once the track is there); nothing was sent")
        reference = payload["package"]["packageReferenceId"]
        landed = any(p.package_reference_id == reference for p in amazon.packages)
        report.add(self._queue(row, source, payload, order_id, shipment_id))
        ShipmentConfirmations(self.amazon, self.channel, self.work,
                              CommerceEffects(self.channel, self.commerce, self.store, self.work, self.logger),
                              store_key=self.store.key, account=self.account, logger=self.logger).send_due()
        row = self.channel.outbox.get(CONFIRM_KIND, source)
        package = payload["package"]
        if row.status == OutboxStatus.CONFIRMED:
            report.add(f"Amazon had package {reference} already: confirmed without a second call" if landed else
                       f"confirmed to Amazon: package {reference}, {package['carrierCode']} "
                       f"{package['trackingNumber']}, {sum(i['quantity'] for i in package['orderItems'])} unit(s)")
            return report
        if row.status == OutboxStatus.FAILED:
            raise OperationRefused(f"shipment {shipment_id} of order {order_id}: {row.last_error} (the row stays "
                                   "failed: fix the cause, then re-send it again)")
        raise NotYet(f"shipment {shipment_id} of order {order_id} is not confirmed yet ({row.status}: "
                     f"{row.last_error or 'not due yet'}); retried — after a lost answer Amazon's packages are read "
                     "first, so it is never sent twice")

    def _queue(self, row: OutboxItem | None, source: str, payload: dict[str, Any], order_id: str, shipment_id: int) -> str:
        """Make the row due now with the rebuilt payload; what was done, for the report."""
        details = {**self.actor.details(), "shipment_id": shipment_id}
        with self.channel.transaction():  # the row and its event: both or neither
            if row is None:
                self.channel.outbox.enqueue(CONFIRM_KIND, source, self.account, payload)
                done = "queued (the status sync had not queued it)"
            elif row.status == OutboxStatus.FAILED:
                if not self.channel.outbox.requeue(CONFIRM_KIND, source, payload):
                    raise NotYet(f"shipment {shipment_id}: its row is held by a worker right now")
                done = f"requeued with the package rebuilt from Commerce (it had failed: {row.last_error})"
            elif row.status == OutboxStatus.HELD:
                if not self.channel.outbox.release(row.id, payload):
                    raise NotYet(f"shipment {shipment_id}: its row was released meanwhile")
                done = "released (it was held for a tracking number, which it has now)"
            elif row.status == OutboxStatus.CLAIMED and row.claimed_until and row.claimed_until > datetime.now(UTC):
                raise NotYet(f"shipment {shipment_id} is being sent by {row.claimed_by} right now; retried")
            else:
                done = f"queued already ({row.status}, {row.attempts} attempt(s)): sent as queued when due"
            self.channel.events.append(self.account, order_id, EVENT,
                                       f"{self.actor.who} asked to re-send shipment {shipment_id}: {done}", details)
        return done

    def _shipment(self, shipment_id: int) -> Shipment:
        try:
            return self.commerce.shipments.get(shipment_id)
        except CommerceNotFound:
            raise OperationRefused(f"field shipment_id: Commerce has no shipment {shipment_id} (the entity id, as in "
                                   "the outbox source <store>/shipment/<id>); nothing was sent") from None

    def _link(self, shipment: Shipment) -> OrderLink:
        link = self.channel.links.get_by_commerce_ids(self.store.store_code, [shipment.order_id]).get(shipment.order_id)
        if link is None or link.seller_account != self.account:
            raise OperationRefused(f"shipment {shipment.entity_id} belongs to Commerce order {shipment.order_id}, which "
                                   f"is not an Amazon order of store {self.store.key}: nothing was sent")
        return link

    def _order(self, link: OrderLink) -> CommerceOrder:
        try:
            return self.commerce.orders.get(link.commerce_entity_id)
        except CommerceNotFound:
            raise OperationRefused(f"order {link.amazon_order_id}: its Commerce order {link.commerce_increment_id} does "
                                   "not exist: nothing was sent") from None

    def _amazon_order(self, order_id: str) -> AmazonOrder:
        try:
            return parse_order(self.amazon.get_order(order_id, FRESH_DATA).raw)
        except AmazonNotFound as exc:
            raise OperationRefused(f"order {order_id}: Amazon does not serve it to seller account {self.account} "
                                   f"(getOrder: 404 {exc.code}): nothing was sent") from exc

    def _acted_on(self, order_id: str, shipment_id: int) -> bool:
        """Whether an earlier attempt of this run asked for this re-send (a retried task carries on)."""
        return any(event.event_type == EVENT and (event.details or {}).get("operation") == self.actor.operation
                   and (event.details or {}).get("shipment_id") == shipment_id
                   for event in self.channel.events.for_order(self.account, order_id))
