"""Cancel an unshipped Amazon order at a person's request (``amazon_cancel_unshipped_order``, or a script).

Three steps, each safe to repeat (a task retried, a task cleared):

1. ``queue`` checks, and changes nothing when it refuses: the order is linked to a Commerce order of an
   active, writable store; Amazon's state is read **now** (getOrder with FULFILLMENT and PACKAGES, not
   the snapshot, which may be minutes old): merchant-fulfilled and unshipped — anything shipped (status
   SHIPPED or PARTIALLY_SHIPPED, a unit shipped, a package) is refused with "order … has shipped and
   cannot be cancelled" —, not cancelled already (then nothing is done, and the report says so); the
   Commerce order can be cancelled too (never one side only). Then the status sync's Amazon cancel row
   (``AMAZON_CANCEL_KIND``, one per order: origin ``manual``, the reason) and an event with the reason
   and the person's note. The note is never sent to Amazon: only ids and the reason are in the row.
2. ``send`` submits the account's due cancellations (and refunds) in one feed per type, as the status
   sync's ``send_feeds`` does (``AccountFeeds.send``); other queued rows of the account go with ours.
   The DAG then follows the feed without holding a worker (``FollowFeedsOperator``).
3. ``finish``, once Amazon processed the feed: confirmed → the Commerce order is cancelled with a
   comment giving the reason and the note (``CommerceEffects``, once each), the stock the import took is
   given back (once), and an event says so; refused by Amazon → Commerce is left as it is, and the
   refusal says why. Not processed yet → ``NotYet`` (the task is retried).

A retried or cleared step recognises its own run's row (the payload's ``operation``) and carries on
instead of refusing its own work.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sales_channel.amazon.client import SpApiClient
from sales_channel.amazon.errors import NotFoundError as AmazonNotFound
from sales_channel.amazon.models import IncludedData
from sales_channel.commerce.client import CommerceClient
from sales_channel.commerce.errors import NotFoundError as CommerceNotFound
from sales_channel.commerce.models import Order
from sales_channel.domain.amazon_order import AmazonOrder, FulfilledBy, FulfillmentStatus, parse_order
from sales_channel.domain.settings import StoreSettings
from sales_channel.pipeline.importing.stock import StockMoves, order_source
from sales_channel.pipeline.operations.report import ActionReport, Actor, NotYet
from sales_channel.pipeline.operations.requests import CancelRequest, OperationRefused
from sales_channel.pipeline.outbox_work import OutboxWork
from sales_channel.pipeline.status_sync.commerce_effects import CommerceEffects, cannot_cancel
from sales_channel.pipeline.status_sync.kinds import AMAZON_CANCEL_KIND, CANCEL_KIND, amazon_cancel_source
from sales_channel.pipeline.status_sync.sync import AccountFeeds
from sales_channel.pipeline.status_sync.to_amazon import shipped_anything
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.models import OrderLink, OutboxItem, OutboxStatus

log = logging.getLogger(__name__)

ORIGIN = "manual"
FRESH_DATA = (IncludedData.FULFILLMENT, IncludedData.PACKAGES)
_ON_ITS_WAY = (OutboxStatus.PENDING, OutboxStatus.CLAIMED, OutboxStatus.SENT)


class ShippedCannotCancel(OperationRefused):
    """Amazon has shipped something of the order: it cannot be cancelled (Amazon's own rule)."""

    def __init__(self, amazon_order_id: str) -> None:
        super().__init__(f"order {amazon_order_id} has shipped and cannot be cancelled; returns and refunds of "
                         "shipped orders are handled in Seller Central")


def locate(channel: ChannelStore, stores: Sequence[StoreSettings], amazon_order_id: str) -> tuple[StoreSettings, OrderLink]:
    """The active store and the link of an Amazon order this pipeline imported; refused when there is none."""
    accounts = sorted({store.amazon_conn_id for store in stores})
    links = [link for account in accounts if (link := channel.links.get(account, amazon_order_id)) is not None]
    if not links:
        raise OperationRefused(f"order {amazon_order_id} has no Commerce order made by this pipeline under the "
                               f"seller accounts of the active stores ({', '.join(accounts) or 'none'}): nothing "
                               "was changed; an order that was never imported is cancelled in Seller Central")
    if len(links) > 1:
        raise OperationRefused(f"order {amazon_order_id} is linked under several seller accounts "
                               f"({', '.join(link.seller_account for link in links)}): cancel it in Seller Central")
    link = links[0]
    candidates = [s for s in stores if s.amazon_conn_id == link.seller_account and s.store_code == link.store_code]
    if len(candidates) > 1:  # stores of one account on one store view: told apart by marketplace
        snapshot = channel.snapshots.get(link.seller_account, amazon_order_id)
        marketplace = snapshot.marketplace_id if snapshot is not None else None
        candidates = [s for s in candidates if marketplace in s.marketplace_ids]
    if len(candidates) != 1:
        raise OperationRefused(f"order {amazon_order_id}: its Commerce order {link.commerce_increment_id} is in "
                               f"store view {link.store_code!r}, which no single active store of seller account "
                               f"{link.seller_account} uses: check the settings (Variable sales_channel_stores)")
    return candidates[0], link


@dataclass
class OrderCancel:
    """One order's cancel, for one step of it (each step builds its own: see the module)."""

    request: CancelRequest
    store: StoreSettings
    link: OrderLink
    account_stores: list[StoreSettings]  # the seller account's active stores (their feeds go together)
    amazon: SpApiClient
    commerce: Mapping[str, CommerceClient]  # by store key
    channel: ChannelStore
    work: OutboxWork
    actor: Actor
    logger: logging.Logger = log

    @property
    def order_id(self) -> str:
        return self.request.amazon_order_id

    @property
    def account(self) -> str:
        return self.link.seller_account

    @property
    def source(self) -> str:
        return amazon_cancel_source(self.account, self.order_id)

    def report(self) -> ActionReport:
        return ActionReport(f"cancel of Amazon order {self.order_id} (store {self.store.key}, Commerce order "
                            f"{self.link.commerce_increment_id}), asked by {self.actor.who}: "
                            f"{self.request.reason_label} ({self.request.reason.value})")

    # -- 1. check and queue -----------------------------------------------------------------------------

    def queue(self) -> tuple[ActionReport, bool]:
        """Check and queue Amazon's cancel; (the report, whether there is a cancel to send and follow)."""
        report = self.report()
        if self.store.read_only:
            raise OperationRefused(f"order {self.order_id}: store {self.store.key} is read-only (nothing is sent to "
                                   "Amazon or Commerce): nothing was changed")
        amazon = self._read_amazon()
        row = self.channel.outbox.get(AMAZON_CANCEL_KIND, self.source)
        ours = self._ours(row)
        if amazon.fulfilled_by is not FulfilledBy.MERCHANT:
            raise OperationRefused(f"order {self.order_id} is fulfilled by Amazon: Amazon cancels it, not the seller "
                                   "(Seller Central); nothing was changed")
        if shipped_anything(amazon):
            self._refused_event(str(ShippedCannotCancel(self.order_id)))
            raise ShippedCannotCancel(self.order_id)
        if amazon.status is FulfillmentStatus.CANCELLED and not ours:
            report.add(f"Amazon has cancelled order {self.order_id} already: nothing was changed "
                       "(the status sync brings Amazon's cancellation to Commerce)")
            return report, False
        if amazon.status is not FulfillmentStatus.UNSHIPPED and not ours:
            raise OperationRefused(f"order {self.order_id} is {amazon.status} on Amazon; only an unshipped order "
                                   "can be cancelled: nothing was changed")
        order = self._commerce_order()
        if order.state != "canceled" and (why := cannot_cancel(order)) is not None:
            raise OperationRefused(f"order {self.order_id}: its Commerce order {order.increment_id} cannot be "
                                   f"cancelled ({why}), and an order is never cancelled on one side only: nothing "
                                   "was changed")
        payload = {"amazon_order_id": self.order_id, "marketplace_id": amazon.marketplace_id,
                   "reason": self.request.reason.value, "item_ids": [item.order_item_id for item in amazon.items],
                   "origin": ORIGIN, "store": self.store.key, "commerce_order_id": order.entity_id,
                   "operation": self.actor.operation}
        if ours:
            report.add(f"queued by an earlier attempt of this run ({row.status})")
            return report, True
        if row is not None and row.status in _ON_ITS_WAY:
            origin = row.payload.get("origin", "the status sync")
            raise OperationRefused(f"order {self.order_id}: a cancellation is on its way to Amazon already (origin "
                                   f"{origin}, reason {row.payload.get('reason')}, {row.status}); the status sync "
                                   "follows it: nothing was changed")
        note = f"; note: {self.request.note}" if self.request.note else ""
        with self.channel.transaction():  # the row and its event: both or neither
            if row is None:
                self.channel.outbox.enqueue(AMAZON_CANCEL_KIND, self.source, self.account, payload)
            elif not self.channel.outbox.requeue(AMAZON_CANCEL_KIND, self.source, payload):
                raise NotYet(f"order {self.order_id}: its earlier cancel row is held by a worker right now")
            self.channel.events.append(self.account, self.order_id, "cancel_requested",
                                       f"{self.actor.who} asked to cancel it on Amazon: {self.request.reason_label} "
                                       f"({self.request.reason.value}){note}",
                                       {**self.actor.details(), "reason": self.request.reason.value})
        again = f" (its earlier cancel ended {row.status}: {row.last_error})" if row is not None else ""
        report.add(f"queued Amazon's cancel of all {len(payload['item_ids'])} item(s), reason "
                   f"{self.request.reason.value}{again}")
        return report, True

    # -- 2. send --------------------------------------------------------------------------------------

    def send(self) -> ActionReport:
        report = self.report()
        row = self._own_row()
        if row.status in (OutboxStatus.PENDING, OutboxStatus.CLAIMED):
            sent = self._feeds().send()
            report.add(f"feeds sent for seller account {self.account}: "
                       + (", ".join(f"{f.feed_type} {f.feed_id or '(not submitted)'} with {f.messages} message(s)"
                                    for f in sent.feeds) or "none"))
            row = self._own_row()
        if row.status in (OutboxStatus.SENT, OutboxStatus.CONFIRMED):
            report.add(f"the cancel is in Amazon feed {row.feed_id or '(processed)'} "
                       f"(message {row.payload.get('feed_message_id')})")
            return report
        if row.status == OutboxStatus.FAILED:
            raise OperationRefused(f"order {self.order_id}: the cancel cannot be sent: {row.last_error}")
        raise NotYet(f"order {self.order_id}: the cancellation feed was not submitted ({row.last_error}); "
                     "retried (a lost submission is sent again in a later feed, and Amazon ignores a repeat)")

    # -- 3. finish ------------------------------------------------------------------------------------

    def finish(self) -> ActionReport:
        report = self.report()
        row = self._own_row()
        if row.status == OutboxStatus.SENT:
            self._feeds().follow()  # one look: the DAG's follow may have stopped waiting
            row = self._own_row()
        if row.status == OutboxStatus.FAILED:
            if "ship" in (row.last_error or "").lower():
                raise ShippedCannotCancel(self.order_id)
            raise OperationRefused(f"order {self.order_id}: Amazon refused the cancellation ({row.last_error}); "
                                   "nothing was changed in Commerce")
        if row.status != OutboxStatus.CONFIRMED:
            raise NotYet(f"order {self.order_id}: Amazon has not processed feed {row.feed_id} yet ({row.status}); "
                         "retried (the status sync follows the feed too)")
        report.add(f"Amazon cancelled order {self.order_id} (feed {row.feed_id}): {self.request.reason_label}")
        self._cancel_in_commerce(row, report)
        return report

    def _cancel_in_commerce(self, row: OutboxItem, report: ActionReport) -> None:
        commerce = self.commerce[self.store.key]
        effects = CommerceEffects(self.channel, commerce, self.store, self.work, self.logger)
        entity_id = int(row.payload["commerce_order_id"])
        note = f" Note: {self.request.note}" if self.request.note else ""
        with self.channel.transaction():  # the comment and the cancel: both queued, or neither
            effects.comment(self.order_id, entity_id, "manual-cancel",
                            f"Cancelled on Amazon at the request of {self.actor.who}: {self.request.reason_label} "
                            f"({self.request.reason.value}).{note}")
            effects.cancel(self.order_id, entity_id,
                           f"Amazon order {self.order_id} was cancelled on Amazon at the merchant's request "
                           f"({self.request.reason_label})")
        effects.apply_due()
        if StockMoves.for_store(self.store, self.work, commerce, self.channel, logger=self.logger).give_back(
                order_source(self.account, self.order_id)):
            self.channel.events.append(self.account, self.order_id, "stock_returned", "cancelled on Amazon: stock given back")
            report.add("the stock the import took for it was given back")
        cancel = self.channel.outbox.get(CANCEL_KIND, effects.source(self.order_id, "cancel"))
        if cancel is None or cancel.status == OutboxStatus.FAILED:
            reason = cancel.last_error if cancel is not None else "no cancel was queued"
            raise OperationRefused(f"order {self.order_id} is cancelled on Amazon, but its Commerce order "
                                   f"{self.link.commerce_increment_id} could not be cancelled: {reason}; a comment on "
                                   "it says so — resolve it by hand")
        if cancel.status != OutboxStatus.CONFIRMED:
            raise NotYet(f"order {self.order_id} is cancelled on Amazon; the cancel of Commerce order "
                         f"{self.link.commerce_increment_id} failed transiently ({cancel.last_error}) and is retried")
        self.channel.events.append(self.account, self.order_id, "cancelled_on_request",
                                   f"cancelled on Amazon ({self.request.reason.value}) and in Commerce (order "
                                   f"{self.link.commerce_increment_id}) at the request of {self.actor.who}",
                                   {**self.actor.details(), "reason": self.request.reason.value})
        report.add(f"Commerce order {self.link.commerce_increment_id} is cancelled, with a comment giving the reason"
                   + (" and the note" if self.request.note else ""))

    # -- helpers --------------------------------------------------------------------------------------

    def _read_amazon(self) -> AmazonOrder:
        try:
            raw = self.amazon.get_order(self.order_id, FRESH_DATA).raw
        except AmazonNotFound as exc:
            raise OperationRefused(f"order {self.order_id}: Amazon does not serve it to seller account {self.account} "
                                   f"(getOrder: 404 {exc.code}): nothing was changed") from exc
        return parse_order(raw)

    def _commerce_order(self) -> Order:
        try:
            return self.commerce[self.store.key].orders.get(self.link.commerce_entity_id)
        except CommerceNotFound as exc:
            raise OperationRefused(f"order {self.order_id}: its Commerce order {self.link.commerce_increment_id} "
                                   f"(entity {self.link.commerce_entity_id}) does not exist: nothing was changed") from exc

    def _ours(self, row: OutboxItem | None) -> bool:
        return row is not None and row.payload.get("operation") == self.actor.operation

    def _own_row(self) -> OutboxItem:
        row = self.channel.outbox.get(AMAZON_CANCEL_KIND, self.source)
        if row is None or not self._ours(row):
            raise OperationRefused(f"order {self.order_id}: this run queued no cancel for it (its first task decides "
                                   "whether there is one)")
        return row

    def _feeds(self) -> AccountFeeds:
        return AccountFeeds(self.account, self.account_stores, self.amazon, self.commerce, self.channel, self.work,
                            self.logger)

    def _refused_event(self, message: str) -> None:
        self.channel.events.append(self.account, self.order_id, "cancel_refused",
                                   f"{self.actor.who} asked to cancel it: refused, {message}", self.actor.details())
