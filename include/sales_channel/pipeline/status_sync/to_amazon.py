"""Commerce → Amazon: what the merchant did in one store becomes outbox rows for Amazon.

Per run, Commerce is read in batches by update time (never one search per order): the store's
cancelled orders, shipments and credit memos updated since the stream's watermark (minus an overlap
that covers clock skew and late commits), then the orders they belong to in one lookup per chunk.
Only orders this pipeline linked to an Amazon order are touched. Each intended effect becomes an
outbox row unique on its source (``kinds``), so reading a document twice never queues it twice:

* a **shipment** of a merchant-fulfilled order → one confirmShipment package (``CONFIRM_KIND``,
  source ``<store>/shipment/<id>``; packageReferenceId = the shipment's entity id). Without a
  tracking number it is confirmed or *held* per ``shipments_without_tracking``; held rows are
  re-checked every run (one lookup for all of them) and released when a track is there;
* a **credit memo** → one refund (``REFUND_KIND``, source ``<store>/<amazon order>/creditmemo/<id>``),
  planned by ``refunds.plan_refund`` against what Amazon still holds (read with one getOrder per
  credit memo: a refund made in Seller Central counts); a refused one ends *failed* with a comment
  on the Commerce order and is never sent;
* a **cancelled order** → Amazon's cancellation (``AMAZON_CANCEL_KIND``, one per Amazon order) with
  the store's default reason — unless the order was cancelled by an admin *edit* (its copy takes
  the link over, nothing is sent), or Amazon has shipped something (nothing is sent; a comment says
  the order cannot be cancelled and returns are handled in Seller Central).

Per-document isolation: a document that cannot be turned into its effect gets a failed row naming
the document and the reason (visible, re-sendable once fixed), and the run goes on. Read-only stores
queue nothing; what would have been queued is logged and counted.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sales_channel.amazon.client import SpApiClient
from sales_channel.amazon.models import IncludedData, PackageDetail
from sales_channel.commerce.client import CommerceClient
from sales_channel.commerce.models import CreditMemo, Shipment
from sales_channel.commerce.models import Order as CommerceOrder
from sales_channel.commerce.search import SearchCriteria
from sales_channel.domain.amazon_order import AmazonOrder, FulfilledBy, FulfillmentStatus, parse_order
from sales_channel.domain.settings import StoreSettings, UntrackedShipments
from sales_channel.pipeline.outbox_work import OutboxWork
from sales_channel.pipeline.status_sync.carriers import amazon_carrier
from sales_channel.pipeline.status_sync.commerce_effects import CommerceEffects
from sales_channel.pipeline.status_sync.kinds import (
    AMAZON_CANCEL_KIND,
    CONFIRM_KIND,
    REFUND_KIND,
    amazon_cancel_source,
)
from sales_channel.pipeline.status_sync.refunds import RefundRefused, plan_refund, refunded_so_far
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.models import OrderLink, OutboxStatus

STREAM = "sync_to_amazon"
OVERLAP = timedelta(minutes=10)
UNTRACKED_CARRIER = "Not tracked"
# Refunds of ours that Amazon's proceeds may not show yet (a failed one never went out).
_IN_FLIGHT = (OutboxStatus.PENDING, OutboxStatus.CLAIMED, OutboxStatus.SENT)
REFUND_DATA = (IncludedData.PROCEEDS, IncludedData.FULFILLMENT, IncludedData.CANCELLATION)

log = logging.getLogger(__name__)


def shipment_source(store: str, shipment_id: int) -> str:
    return f"{store}/shipment/{shipment_id}"


def refund_source(store: str, amazon_order_id: str, credit_memo_id: int | None = None) -> str:
    """The source of a credit memo's refund; without the memo id, the prefix of all the order's refunds."""
    prefix = f"{store}/{amazon_order_id}/creditmemo/"
    return prefix if credit_memo_id is None else f"{prefix}{credit_memo_id}"


class DocumentRefused(ValueError):
    """A Commerce document that cannot become its Amazon effect; the message names it and says why."""


@dataclass
class ToAmazonSummary:
    since: str = ""
    until: str = ""
    documents: Counter[str] = field(default_factory=Counter)  # read from Commerce, by kind
    queued: Counter[str] = field(default_factory=Counter)  # new outbox rows, by kind
    held: int = 0
    released: int = 0
    edits_followed: int = 0
    cancels_refused_shipped: int = 0
    already_shipped: int = 0  # shipments of orders Amazon reports shipped in full: nothing sent
    refused: list[str] = field(default_factory=list)
    would_send: list[str] = field(default_factory=list)  # read-only stores
    unhandled: int = 0  # documents that failed transiently: read again next run (they hold the watermark)
    watermark: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"since": self.since, "until": self.until, "documents": dict(self.documents),
                "queued": dict(self.queued), "held": self.held, "released": self.released,
                "edits_followed": self.edits_followed, "cancels_refused_shipped": self.cancels_refused_shipped,
                "already_shipped": self.already_shipped,
                "refused": self.refused[:50], "refused_count": len(self.refused),
                "would_send": len(self.would_send), "unhandled": self.unhandled, "watermark": self.watermark}


@dataclass
class _Context:
    """What one run knows about the orders its documents belong to."""

    links: dict[int, OrderLink]  # Commerce entity_id → link
    orders: dict[int, CommerceOrder]
    amazon: dict[str, AmazonOrder]


class CommerceToAmazon:
    """One store's Commerce changes → outbox rows for its seller account."""

    def __init__(self, store: StoreSettings, channel: ChannelStore, commerce: CommerceClient, amazon: SpApiClient,
                 work: OutboxWork, effects: CommerceEffects, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 logger: logging.Logger = log) -> None:
        self.store, self.channel, self.commerce, self.amazon = store, channel, commerce, amazon
        self.work, self.effects = work, effects
        self.account = store.amazon_conn_id
        self.clock, self.log = clock, logger

    def run(self) -> ToAmazonSummary:
        summary = ToAmazonSummary()
        until = self.clock()
        since = self.channel.watermarks.get(self.store.key, STREAM) or self.store.connected_since
        summary.since, summary.until = since.isoformat(), until.isoformat()
        # No upper bound: what changes while this run reads is read now or by the next run's overlap (the
        # watermark moves to this run's start at most), and the outbox never queues a document twice.
        read_from = since - OVERLAP
        in_store = SearchCriteria().where("store_id", self.store.store_id)  # not the installation's other stores
        cancelled = list(self.commerce.orders.iter_updated(read_from, criteria=in_store.where("state", "canceled")))
        shipments = {s.entity_id: s for s in self.commerce.shipments.iter_updated(read_from, criteria=in_store)}
        memos = list(self.commerce.creditmemos.iter_updated(read_from, criteria=in_store))
        held = self.channel.outbox.find(CONFIRM_KIND, f"{self.store.key}/shipment/", [OutboxStatus.HELD])
        held_ids = {int(item.payload["shipment_id"]) for item in held}
        missing = held_ids - shipments.keys()
        if missing:
            shipments.update(self.commerce.shipments.get_many(sorted(missing)))
        summary.documents.update(cancelled_orders=len(cancelled), shipments=len(shipments), credit_memos=len(memos))

        context = self._context([o.entity_id for o in cancelled] + [s.order_id for s in shipments.values()]
                                + [m.order_id for m in memos], cancelled, summary)
        # A document that failed transiently holds the watermark at its update time (Commerce always gives
        # one; else where this run read from), so that the next runs read it again until it is handled,
        # however long that takes: the overlap alone would lose it.
        failed_at: list[datetime] = []
        for order in cancelled:
            self._isolated(summary, f"cancelled order {order.increment_id}", order.updated_at or read_from, failed_at,
                           lambda order=order: self._cancellation(order, context, summary))
        held_by_shipment = {int(item.payload["shipment_id"]): item for item in held}
        for shipment in shipments.values():
            # A held shipment read only for its re-check is re-checked next run anyway: it holds nothing.
            hold_at = None if shipment.entity_id in missing else shipment.updated_at or read_from
            self._isolated(summary, f"shipment {shipment.increment_id}", hold_at, failed_at,
                           lambda shipment=shipment: self._shipment(
                               shipment, context, held_by_shipment.get(shipment.entity_id), summary))
        for memo in sorted(memos, key=lambda m: m.entity_id):
            self._isolated(summary, f"credit memo {memo.increment_id}", memo.updated_at or read_from, failed_at,
                           lambda memo=memo: self._refund(memo, context, summary))
        summary.unhandled = len(failed_at)
        reached = min([until, *failed_at])
        summary.watermark = self.channel.watermarks.advance(self.store.key, STREAM, reached).isoformat()
        return summary

    # -- reading ------------------------------------------------------------------------------------

    def _context(self, order_ids: Iterable[int], cancelled: list[CommerceOrder], summary: ToAmazonSummary) -> _Context:
        """Links, Commerce orders and Amazon snapshots of the documents' orders: a few batch reads."""
        links = {entity_id: link for entity_id, link in self.channel.links.get_by_commerce_ids(
            self.store.store_code, set(order_ids)).items() if link.seller_account == self.account}
        self._follow_edits(cancelled, links, summary)
        orders = self.commerce.orders.get_many(sorted({link.commerce_entity_id for link in links.values()}))
        snapshots = self.channel.snapshots.get_many(self.account, {link.amazon_order_id for link in links.values()})
        amazon = {}
        for order_id, snapshot in snapshots.items():
            try:
                amazon[order_id] = parse_order(snapshot.raw)
            except ValueError as exc:  # the import quarantines such orders; never linked normally
                summary.refused.append(f"order {order_id}: its Amazon snapshot is unreadable ({exc})")
        return _Context(links, orders, amazon)

    def _follow_edits(self, cancelled: list[CommerceOrder], links: dict[int, OrderLink],
                      summary: ToAmazonSummary) -> None:
        """An admin edit cancels the order and creates a copy: the link moves to the copy (and the
        copy's documents are then found through it). Nothing is sent to Amazon for such a cancel."""
        edited = {o.entity_id: o.relation_child_id for o in cancelled if o.relation_child_id and o.entity_id in links}
        if not edited:
            return
        copies = self.commerce.orders.get_many(sorted(set(edited.values())))
        for original_id, copy_id in edited.items():
            link, copy = links[original_id], copies.get(copy_id)
            if copy is None:
                summary.refused.append(f"order {link.amazon_order_id}: edited into Commerce order {copy_id}, "
                                       "which cannot be read")
                continue
            if copy.relation_child_id and copy.state == "canceled":
                continue  # edited again: the newest copy is followed when its own cancel is read
            if self.channel.links.move(self.account, link.amazon_order_id, from_entity_id=original_id,
                                       to_entity_id=copy.entity_id, to_increment_id=copy.increment_id):
                summary.edits_followed += 1
                self.channel.events.append(self.account, link.amazon_order_id, "order_edited",
                                           f"Commerce order {link.commerce_increment_id} was edited into "
                                           f"{copy.increment_id}: the link follows the copy; nothing sent to Amazon",
                                           {"from": original_id, "to": copy.entity_id})
            links[copy.entity_id] = self.channel.links.get(self.account, link.amazon_order_id)
            links.pop(original_id, None)

    # -- effects ------------------------------------------------------------------------------------

    def _cancellation(self, order: CommerceOrder, context: _Context, summary: ToAmazonSummary) -> None:
        link = context.links.get(order.entity_id)
        if link is None or order.relation_child_id:
            return  # not an Amazon order, or an edit (followed above)
        amazon = context.amazon.get(link.amazon_order_id)
        if amazon is None or amazon.status == FulfillmentStatus.CANCELLED:
            return  # cancelled on Amazon first: nothing to tell Amazon
        if shipped_anything(amazon):
            summary.cancels_refused_shipped += 1
            self.effects.comment(link.amazon_order_id, order.entity_id, "cancel-refused-shipped",
                                 shipped_cannot_cancel(link.amazon_order_id))
            self.channel.events.append(self.account, link.amazon_order_id, "cancel_refused",
                                       "cancelled in Commerce after Amazon shipped it: nothing sent")
            return
        payload = {"amazon_order_id": amazon.order_id, "marketplace_id": amazon.marketplace_id,
                   "reason": self.store.default_cancellation_reason,
                   "item_ids": [item.order_item_id for item in amazon.items], "origin": "commerce_cancel",
                   "store": self.store.key, "commerce_order_id": order.entity_id}
        self._queue(AMAZON_CANCEL_KIND, amazon_cancel_source(self.account, amazon.order_id), payload, summary,
                    f"cancel Amazon order {amazon.order_id} ({self.store.default_cancellation_reason})")

    def _shipment(self, shipment: Shipment, context: _Context, held: Any, summary: ToAmazonSummary) -> None:
        link = context.links.get(shipment.order_id)
        if link is None:
            return
        amazon = context.amazon.get(link.amazon_order_id)
        order = context.orders.get(shipment.order_id)
        if amazon is None or order is None:
            raise DocumentRefused(f"order {link.amazon_order_id} has no Amazon snapshot or Commerce order to map "
                                  "the shipment's items with")
        if amazon.fulfilled_by != FulfilledBy.MERCHANT:
            return  # Amazon shipped it itself
        if amazon.status == FulfillmentStatus.SHIPPED and held is None:
            # Amazon has it all shipped already (confirmed in Seller Central): a package would be refused. The
            # snapshot will not change again, so this shipment is what completes the order in Commerce.
            if self.channel.outbox.get(CONFIRM_KIND, shipment_source(self.store.key, shipment.entity_id)) is None:
                summary.already_shipped += 1
                # Said once: when the completion is queued (a re-read of the shipment queues nothing more).
                if self.effects.complete_shipped(amazon.order_id, order) in ("commerce_invoice", "invoice_comment"):
                    self.channel.events.append(self.account, amazon.order_id, "shipment_not_sent",
                                               f"shipment {shipment.increment_id}: Amazon reports the order shipped "
                                               "in full already; no package sent, the order is completed in Commerce")
            return
        payload = shipment_payload(shipment, order, amazon, self.store)
        source = shipment_source(self.store.key, shipment.entity_id)
        if held is not None:
            if payload.get("held"):
                return
            if self.store.read_only:
                summary.would_send.append(f"release {source}")
                return
            if self.channel.outbox.release(held.id, payload):
                summary.released += 1
                self.channel.events.append(self.account, amazon.order_id, "shipment_released",
                                           f"shipment {shipment.increment_id} has a tracking number now: confirming")
            return
        if self._queue(CONFIRM_KIND, source, payload, summary,
                       f"confirm shipment {shipment.increment_id} of {amazon.order_id}", held=bool(payload.get("held"))):
            summary.held += bool(payload.get("held"))

    def _refund(self, memo: CreditMemo, context: _Context, summary: ToAmazonSummary) -> None:
        link = context.links.get(memo.order_id)
        if link is None:
            return
        source = refund_source(self.store.key, link.amazon_order_id, memo.entity_id)
        if self.channel.outbox.get(REFUND_KIND, source) is not None:
            return
        order = context.orders.get(memo.order_id)
        if order is None:
            raise DocumentRefused(f"order {link.amazon_order_id} has no Commerce order")
        # What Amazon still holds, read now (one getOrder per credit memo): its proceeds are net of the
        # refunds it applied, so only our refunds it has not confirmed yet are taken off as well.
        amazon = parse_order(self.amazon.get_order(link.amazon_order_id, REFUND_DATA).raw)
        earlier = self.channel.outbox.find(REFUND_KIND, refund_source(self.store.key, amazon.order_id), _IN_FLIGHT)
        try:
            if amazon.status == FulfillmentStatus.CANCELLED:
                raise RefundRefused(f"credit memo {memo.increment_id}: Amazon cancelled order {amazon.order_id}, "
                                    "so nothing was charged to refund")
            refund = plan_refund(memo, order, amazon, refunded_so_far(item.payload for item in earlier),
                                 adjustment_id=f"CM{memo.entity_id}")
        except RefundRefused as refused:
            self._refuse(REFUND_KIND, source, {"amazon_order_id": amazon.order_id, "store": self.store.key,
                                               "credit_memo_id": memo.entity_id}, str(refused), summary)
            self.effects.comment(amazon.order_id, order.entity_id, f"refund-refused-{memo.entity_id}",
                                 f"Not refunded on Amazon: {refused}.")
            return
        payload = {**refund.to_payload(), "marketplace_id": amazon.marketplace_id, "store": self.store.key,
                   "credit_memo_id": memo.entity_id, "commerce_order_id": order.entity_id}
        self._queue(REFUND_KIND, source, payload, summary,
                    f"refund {refund.total()} {refund.currency} of {amazon.order_id} (credit memo {memo.increment_id})")

    # -- outbox -------------------------------------------------------------------------------------

    def _queue(self, kind: str, source: str, payload: dict[str, Any], summary: ToAmazonSummary, what: str, *,
               held: bool = False) -> bool:
        if self.store.read_only:
            if self.channel.outbox.get(kind, source) is None:
                summary.would_send.append(what)
                self.log.info("store %s is read-only: would %s", self.store.key, what)
            return False
        _, created = self.channel.outbox.enqueue(kind, source, self.account, payload, held=held)
        if created:
            summary.queued[kind] += 1
            self.channel.events.append(self.account, payload["amazon_order_id"], f"{kind}_queued",
                                       what + (" — held until it has a tracking number" if held else ""))
        return created

    def _refuse(self, kind: str, source: str, payload: dict[str, Any], message: str, summary: ToAmazonSummary) -> None:
        """Record the effect as failed with ``message``: visible, and re-sendable once the cause is fixed."""
        summary.refused.append(message)
        self.log.warning("store %s: %s", self.store.key, message)
        if self.store.read_only:
            return
        self.channel.outbox.enqueue(kind, source, self.account, payload)
        claimed = self.work.claim(kind, [source]).get(source)
        if claimed is not None:
            self.work.rejected(claimed, message)
            if "amazon_order_id" in payload:
                self.channel.events.append(self.account, payload["amazon_order_id"], f"{kind}_refused", message)

    def _isolated(self, summary: ToAmazonSummary, what: str, hold_at: datetime | None, failed_at: list[datetime],
                  handle: Callable[[], None]) -> None:
        """Per-document isolation: whatever one document does, the others go on. A refused document is
        said and done with; any other failure is retried by the next run (``hold_at`` joins ``failed_at``, which
        holds the watermark)."""
        try:
            handle()
        except DocumentRefused as refused:
            summary.refused.append(f"{what}: {refused}")
            self.log.warning("store %s: %s: %s", self.store.key, what, refused)
        except Exception as exc:  # noqa: BLE001 - one document never stops the store; said, counted, retried
            summary.refused.append(f"{what}: {type(exc).__name__} (read again next run)")
            self.log.exception("store %s: %s could not be handled; it is read again next run", self.store.key, what)
            if hold_at is not None:
                failed_at.append(hold_at)


def shipped_anything(order: AmazonOrder) -> bool:
    return (order.status in (FulfillmentStatus.SHIPPED, FulfillmentStatus.PARTIALLY_SHIPPED)
            or any(item.quantity_shipped for item in order.items) or bool(order.packages))


def shipped_cannot_cancel(amazon_order_id: str) -> str:
    return (f"Amazon order {amazon_order_id} has shipped and cannot be cancelled on Amazon; returns and "
            "refunds of shipped orders are handled in Seller Central.")


def shipment_payload(shipment: Shipment, order: CommerceOrder, amazon: AmazonOrder,
                     store: StoreSettings) -> dict[str, Any]:
    """The confirmShipment package of a Commerce shipment (``held`` when it waits for a track)."""
    where = f"shipment {shipment.increment_id} of order {amazon.order_id}"
    amazon_item_of = {item.item_id: item.ext_order_item_id for item in order.items}
    amazon_items = {item.order_item_id for item in amazon.items}
    quantities: dict[str, int] = defaultdict(int)
    for line in shipment.items:
        if line.qty <= 0:
            continue
        item_id = amazon_item_of.get(line.order_item_id)
        if item_id not in amazon_items:
            raise DocumentRefused(f"{where}: item {line.sku} is not an item of the Amazon order")
        if line.qty != int(line.qty):
            raise DocumentRefused(f"{where}: item {line.sku} ships {line.qty} units, not a whole number")
        quantities[item_id] += int(line.qty)
    if not quantities:
        raise DocumentRefused(f"{where} ships no units")
    track = next((t for t in shipment.tracks if t.track_number.strip()), None)
    payload: dict[str, Any] = {"amazon_order_id": amazon.order_id, "marketplace_id": amazon.marketplace_id,
                               "store": store.key, "shipment_id": shipment.entity_id,
                               "commerce_order_id": order.entity_id}
    if track is None and store.shipments_without_tracking == UntrackedShipments.HOLD:
        return {**payload, "held": True}
    carrier = (amazon_carrier(track.carrier_code, track.title) if track is not None
               else amazon_carrier(None, UNTRACKED_CARRIER))
    shipped_at = shipment.created_at or datetime.now(UTC)
    package = PackageDetail(
        package_reference_id=str(shipment.entity_id), carrier_code=carrier.code, carrier_name=carrier.name,
        # Amazon requires a tracking number; an untracked shipment confirmed by setting carries its own id.
        tracking_number=track.track_number.strip() if track is not None else f"UNTRACKED-{shipment.increment_id}",
        ship_date=shipped_at, order_items=[{"order_item_id": k, "quantity": v} for k, v in quantities.items()])
    return {**payload, "package": package.to_api()}
