"""Amazon → Commerce: what Amazon reports about one store's orders reaches their Commerce orders.

It works from the snapshots the import keeps fresh, never reading Amazon itself: the store's linked
orders whose snapshot changed since the stream's watermark, page by page in (``last_changed_at``,
order id) order, with one ``orders.get_many`` per page for the Commerce state of the orders that need
a decision (never one GET per order). Per order:

* **Amazon reports it CANCELLED** → the stock the import took is given back (once: the import's own
  ``StockMoves`` rows), and the Commerce order is cancelled — or, where Commerce cannot cancel it
  (invoiced, shipped, on hold), a comment says why (``CommerceEffects``). A Commerce order canceled
  already is done.
* **A buyer's cancellation request** on an UNSHIPPED merchant-fulfilled order → with
  ``accept_buyer_cancellations``, an Amazon cancel row (``AMAZON_CANCEL_KIND``, reason
  ``BuyerCanceled``; the DAG sends it in a feed) and the Commerce order's cancel, with a comment.
  Only when both sides can cancel: an order Commerce cannot cancel (shipped, invoiced, on hold) gets a
  comment asking the merchant to decide, as it does when the setting is off.
* **A merchant-fulfilled order Amazon reports SHIPPED** whose Commerce order is fully shipped and not
  fully invoiced → an invoice (``auto_invoice``; Commerce then ends *complete*) or a comment asking
  for one. Amazon-fulfilled orders are created complete by the import: left alone.
* A Commerce order canceled by an admin **edit** (``relation_child_id``) is skipped: the Commerce →
  Amazon side moves the link to the copy.

Every effect is an outbox row unique on its cause, so re-reading an order (the overlap, a retry) never
repeats it. One order's failure never stops the others: it only holds the watermark, which advances to
the earliest order not fully handled (or to the run's start when every order was), so the next run
reads it again. Then the store's due Commerce effects are applied (``CommerceEffects.apply_due``) and
stock returns left by a failure are resumed.

The first run starts at the store's ``connected_since``: every linked order was created by Amazon
after it (the import never links an older one) and its snapshot was recorded after that, so nothing
is missed; the earliest link is no such bound, since an order's snapshot is recorded before its link
(a cancellation request present at import time would fall before it).

Read-only store: nothing is queued or sent to either side; what would have been is logged and counted
(``would_send``), and the watermark moves on as the import's does (a forced re-sync resets it).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sales_channel.commerce.client import CommerceClient
from sales_channel.commerce.models import Order
from sales_channel.domain.amazon_order import AmazonOrder, FulfilledBy, FulfillmentStatus, parse_order
from sales_channel.domain.settings import StoreSettings
from sales_channel.pipeline.importing.stock import RETURN_KIND, TAKE_KIND, StockMoves, order_source
from sales_channel.pipeline.outbox_work import OutboxWork, describe_error
from sales_channel.pipeline.status_sync.commerce_effects import (
    CommerceEffects,
    EffectsSummary,
    cannot_cancel,
)
from sales_channel.pipeline.status_sync.kinds import AMAZON_CANCEL_KIND, amazon_cancel_source
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.models import AmazonOrder as Snapshot
from sales_channel.store.models import OrderLink, OutboxStatus

log = logging.getLogger(__name__)

STREAM = "sync_from_amazon"
# Read again a little before the watermark: a snapshot written by a transaction that committed late,
# or by a worker whose clock is behind, carries a last_changed_at before it.
OVERLAP = timedelta(minutes=2)
BATCH = 100
MAX_ORDERS_PER_RUN = 5000
BUYER_CANCELED = "BuyerCanceled"


@dataclass
class FromAmazonSummary:
    """One store's Amazon → Commerce run: orders read, what was decided (newly queued), what is left."""

    store: str
    scanned: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    would_send: Counter[str] = field(default_factory=Counter)  # read-only: what would have been queued
    unreadable: int = 0  # snapshots that do not parse (the import quarantines them)
    missing_in_commerce: int = 0  # linked Commerce orders that do not exist
    unhandled: int = 0  # left for the next run (they hold the watermark)
    stock_returned: int = 0
    watermark: datetime | None = None
    complete: bool = False  # every changed order was read (not stopped by the run's budget)
    effects: EffectsSummary | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def incomplete(self) -> bool:
        """Something failed transiently and is retried by a later run."""
        return bool(self.unhandled or (self.effects and sum(self.effects.retrying.values())))

    def line(self) -> str:
        decided = ", ".join(f"{n} {d}" for d, n in sorted(self.decisions.items())) or "nothing to do"
        would = f"; read-only, would send {dict(self.would_send)}" if self.would_send else ""
        return (f"store {self.store}: {self.scanned} changed orders read: {decided}; {self.stock_returned} stock "
                f"returns; {self.unhandled} left for the next run{would}")

    def to_json(self) -> dict[str, Any]:
        return {"store": self.store, "scanned": self.scanned, "decisions": dict(self.decisions),
                "would_send": dict(self.would_send), "unreadable": self.unreadable,
                "missing_in_commerce": self.missing_in_commerce, "unhandled": self.unhandled,
                "stock_returned": self.stock_returned, "complete": self.complete,
                "watermark": self.watermark.isoformat() if self.watermark else None,
                "effects": self.effects.to_json() if self.effects else None, "errors": self.errors[:20]}


def _needs_commerce(amazon: AmazonOrder) -> bool:
    """Whether Amazon's state of the order may call for a Commerce effect."""
    merchant = amazon.fulfilled_by is FulfilledBy.MERCHANT
    return (amazon.status is FulfillmentStatus.CANCELLED
            or (merchant and amazon.status is FulfillmentStatus.SHIPPED)
            or (merchant and amazon.status is FulfillmentStatus.UNSHIPPED and amazon.buyer_cancellation_requested))


class AmazonToCommerce:
    """One store's Amazon → Commerce sync (see the module). ``run()`` once per task attempt."""

    def __init__(self, channel: ChannelStore, commerce: CommerceClient, store: StoreSettings, work: OutboxWork, *,
                 stock: StockMoves | None = None, effects: CommerceEffects | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), batch: int = BATCH,
                 max_orders: int = MAX_ORDERS_PER_RUN, logger: logging.Logger = log) -> None:
        self.channel, self.commerce, self.store, self.work = channel, commerce, store, work
        self.account = store.amazon_conn_id
        self.stock = stock or StockMoves.for_store(store, work, commerce, channel, logger=logger)
        self.effects = effects or CommerceEffects(channel, commerce, store, work, logger)
        self._clock, self.batch, self.max_orders, self._log = clock, batch, max_orders, logger

    def run(self) -> FromAmazonSummary:
        summary = FromAmazonSummary(self.store.key)
        until = self._clock()
        mark = self.channel.watermarks.get(self.store.key, STREAM)
        since = mark - OVERLAP if mark else self.store.connected_since
        after: tuple[datetime, str] | None = None
        held: datetime | None = None  # last_changed_at of the first order not fully handled
        while (limit := min(self.batch, self.max_orders - summary.scanned)) > 0:
            page = self.channel.snapshots.linked_changed(
                self.account, self.store.marketplace_ids, self.store.store_code, since=since, until=until,
                after=after, limit=limit)
            summary.scanned += len(page)
            for snapshot, _ in self._page(page, summary):
                held = snapshot.last_changed_at if held is None else min(held, snapshot.last_changed_at)
            if page:
                after = (page[-1][0].last_changed_at, page[-1][0].amazon_order_id)
            if len(page) < limit:
                summary.complete = True
                break
        # Up to the first order not fully handled; else the run's start, or (its budget spent) the last read.
        reached = held if held is not None else until if summary.complete else after[0] if after else None
        if reached is not None:
            summary.watermark = self.channel.watermarks.advance(self.store.key, STREAM, reached)
        if not self.store.read_only:
            self._resume_stock_returns(summary)
        summary.effects = self.effects.apply_due()
        self._log.info("summary: %s", summary.line())
        return summary

    # -- one page -----------------------------------------------------------------------------------

    def _page(self, page: Sequence[tuple[Snapshot, OrderLink]],
              summary: FromAmazonSummary) -> list[tuple[Snapshot, OrderLink]]:
        """Decide for each order of the page; returns the ones not fully handled."""
        parsed: list[tuple[Snapshot, OrderLink, AmazonOrder]] = []
        for snapshot, link in page:
            try:
                amazon = parse_order(snapshot.raw)
            except Exception as exc:  # noqa: BLE001 - one order's data never stops the others
                summary.unreadable += 1
                summary.errors.append(f"order {snapshot.amazon_order_id}: snapshot unreadable: {exc}")
                self._log.warning("store %s: order %s: snapshot unreadable (left as it is): %s",
                                  self.store.key, snapshot.amazon_order_id, type(exc).__name__)
                continue
            if _needs_commerce(amazon):
                parsed.append((snapshot, link, amazon))
        if not parsed:
            return []
        try:
            orders = self.commerce.orders.get_many(sorted({link.commerce_entity_id for _, link, _ in parsed}))
        except Exception as exc:  # noqa: BLE001 - the page is read again by the next run
            self._unhandled(summary, f"{len(parsed)} orders: Commerce orders could not be read: {describe_error(exc)}",
                            len(parsed))
            return [(snapshot, link) for snapshot, link, _ in parsed]
        left = []
        for snapshot, link, amazon in parsed:
            try:
                self._order(amazon, link, orders.get(link.commerce_entity_id), summary)
            except Exception as exc:  # noqa: BLE001 - one order's failure never stops the others
                self._unhandled(summary, f"order {amazon.order_id}: {describe_error(exc)}")
                left.append((snapshot, link))
        return left

    def _order(self, amazon: AmazonOrder, link: OrderLink, order: Order | None, summary: FromAmazonSummary) -> None:
        if amazon.status is FulfillmentStatus.CANCELLED:
            self._give_back(amazon, summary)  # whatever became of the Commerce order
        if order is None:
            summary.missing_in_commerce += 1
            summary.errors.append(f"order {amazon.order_id}: Commerce order {link.commerce_entity_id} does not exist")
            self._event(amazon, "commerce_order_missing",
                        f"Commerce order {link.commerce_increment_id} (entity {link.commerce_entity_id}) does not "
                        "exist: Amazon's state cannot reach it")
            return
        if order.is_edited_copy_source:
            summary.decisions["edited_skipped"] += 1  # the Commerce → Amazon side moves the link to the copy
            return
        if amazon.status is FulfillmentStatus.CANCELLED:
            self._cancelled(amazon, order, summary)
        elif amazon.status is FulfillmentStatus.SHIPPED:
            self._shipped(amazon, order, summary)
        else:
            self._buyer_request(amazon, order, summary)

    # -- the rules ----------------------------------------------------------------------------------

    def _cancelled(self, amazon: AmazonOrder, order: Order, summary: FromAmazonSummary) -> None:
        if order.state == "canceled":
            return  # canceled in Commerce already (possibly what made Amazon cancel it): done
        if self.effects.cancel(amazon.order_id, order.entity_id, f"Amazon reports Amazon order {amazon.order_id} "
                                                                  "cancelled"):
            summary.decisions["commerce_cancel"] += 1

    def _buyer_request(self, amazon: AmazonOrder, order: Order, summary: FromAmazonSummary) -> None:
        asked = f"The buyer asked Amazon to cancel Amazon order {amazon.order_id}"
        if order.state == "canceled":
            # The merchant canceled it in Commerce: the cancel reaches Amazon (as the buyer's, when accepted).
            if self.store.accept_buyer_cancellations:
                self._queue_amazon_cancel(amazon, order, summary)
            return
        if not self.store.accept_buyer_cancellations:
            if self.effects.comment(amazon.order_id, order.entity_id, "buyer_cancel_request",
                                    f"{asked}. This store does not accept buyer cancellations automatically: "
                                    "cancel this order in Commerce to cancel it on Amazon too, or decline the "
                                    "request in Seller Central."):
                summary.decisions["buyer_request_comment"] += 1
            return
        if (reason := cannot_cancel(order)) is not None:
            # Never one side only: Amazon would cancel (and refund) what Commerce still holds as live.
            if self.effects.comment(amazon.order_id, order.entity_id, "buyer_cancel_request",
                                    f"{asked}. It was not accepted automatically because Commerce cannot cancel "
                                    f"this order: {reason}. Please decide in Seller Central."):
                summary.decisions["buyer_request_refused"] += 1
            return
        with self.channel.transaction():  # both sides' cancels queued, or neither
            self._queue_amazon_cancel(amazon, order, summary)
            if self.effects.cancel(amazon.order_id, order.entity_id,
                                   f"{asked}; accepted per the store's settings (cancelled on Amazon too, "
                                   f"reason {BUYER_CANCELED})"):
                summary.decisions["commerce_cancel"] += 1

    def _shipped(self, amazon: AmazonOrder, order: Order, summary: FromAmazonSummary) -> None:
        if (decision := self.effects.complete_shipped(amazon.order_id, order)) is not None:
            summary.decisions[decision] += 1

    def _queue_amazon_cancel(self, amazon: AmazonOrder, order: Order, summary: FromAmazonSummary) -> None:
        what = f"cancel Amazon order {amazon.order_id} ({BUYER_CANCELED})"
        if self.store.read_only:
            summary.would_send[AMAZON_CANCEL_KIND] += 1
            self._log.info("read-only store %s: would %s", self.store.key, what)
            return
        payload = {"amazon_order_id": amazon.order_id, "marketplace_id": amazon.marketplace_id,
                   "reason": BUYER_CANCELED, "item_ids": [item.order_item_id for item in amazon.items],
                   "origin": "buyer_request", "store": self.store.key, "commerce_order_id": order.entity_id}
        _, created = self.channel.outbox.enqueue(AMAZON_CANCEL_KIND, amazon_cancel_source(self.account, amazon.order_id),
                                                 self.account, payload)
        if created:
            summary.decisions["amazon_cancel"] += 1
            self._event(amazon, "amazon_cancel_queued", f"buyer's cancellation request accepted: queued to {what}")

    # -- stock --------------------------------------------------------------------------------------

    def _give_back(self, amazon: AmazonOrder, summary: FromAmazonSummary) -> None:
        source = order_source(self.account, amazon.order_id)
        if self.store.read_only:
            taken = self.channel.outbox.get(TAKE_KIND, source)
            if taken is not None and taken.status == OutboxStatus.CONFIRMED \
                    and self.channel.outbox.get(RETURN_KIND, source) is None:
                summary.would_send[RETURN_KIND] += 1
                self._log.info("read-only store %s: would give back the stock of Amazon order %s", self.store.key,
                               amazon.order_id)
            return
        if self.stock.give_back(source):
            summary.stock_returned += 1
            self._event(amazon, "stock_returned", "cancelled on Amazon: stock given back")

    def _resume_stock_returns(self, summary: FromAmazonSummary, limit: int = 500) -> None:
        """Returns an earlier failure left due (the import resumes them too: whoever comes first)."""
        for source in self.work.due(RETURN_KIND, self.store.key, limit):
            if self.stock.give_back(source):
                summary.stock_returned += 1
                self.channel.events.append(self.account, source.split("/", 1)[1], "stock_returned",
                                           "cancelled on Amazon: stock given back")

    # -- helpers ------------------------------------------------------------------------------------

    def _unhandled(self, summary: FromAmazonSummary, message: str, count: int = 1) -> None:
        summary.unhandled += count
        summary.errors.append(message)
        self._log.error("store %s: %s (read again by the next run)", self.store.key, message)

    def _event(self, amazon: AmazonOrder, kind: str, message: str) -> None:
        self.channel.events.append(self.account, amazon.order_id, kind, message)
