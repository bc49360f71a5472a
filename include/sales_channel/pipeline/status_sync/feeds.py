"""Cancellations and refunds of one seller account, sent to Amazon in feeds and followed to their result.

**Sending** (``FeedSender.send_due``): every due row of a kind becomes one message of **one** feed per
account and feed type per run — POST_ORDER_ACKNOWLEDGEMENT_DATA for cancellations, POST_PAYMENT_
ADJUSTMENT_DATA for refunds — so createFeed's usage plan (one per two minutes, burst 15) is never the
limit; an empty feed is never sent. Each row keeps its feed id and MessageID. A row that cannot be
written as a message ends failed, alone. When createFeed fails ambiguously the rows are sent again in a
later feed, after the settle delay: Amazon keeps each refund's MerchantAdjustmentItemID (derived from
the credit memo) and reports a repeat as a duplicate, and reports a repeated cancel as already
cancelled, so a second feed never pays or cancels twice; the processing report is the read-back.

**Following** (``FeedResults.check``): getFeed for each feed with rows still *sent*; for a DONE feed
its processing report is read and each message's result goes back to its row — no result or a
warning (a duplicate, already cancelled) → confirmed; an error → failed with Amazon's message, and
a comment on the Commerce order says what Amazon refused. A FATAL or CANCELLED feed puts its rows
back in the queue. ``check`` never waits: the DAG defers between checks without holding a worker.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sales_channel.amazon.client import SpApiClient
from sales_channel.amazon.feeds_xml import (
    AdjustedItem,
    CancelItem,
    FeedBatch,
    OrderCancellation,
    OrderRefund,
    build_order_acknowledgement_feed,
    build_payment_adjustment_feed,
)
from sales_channel.amazon.models import ProcessingStatus
from sales_channel.pipeline.outbox_work import OutboxWork, describe_error
from sales_channel.pipeline.status_sync.kinds import AMAZON_CANCEL_KIND, REFUND_KIND
from sales_channel.pipeline.status_sync.to_amazon import shipped_cannot_cancel
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.models import OutboxItem

log = logging.getLogger(__name__)

MAX_MESSAGES = 5000  # per feed: far below Amazon's document size limit for these small messages


def _cancellation(payload: dict[str, Any]) -> OrderCancellation:
    return OrderCancellation(payload["amazon_order_id"],
                             [CancelItem(item_id, payload["reason"]) for item_id in payload["item_ids"]])


def _refund(payload: dict[str, Any]) -> OrderRefund:
    return OrderRefund(payload["amazon_order_id"], payload["adjustment_id"], payload["currency"], [
        AdjustedItem(item["order_item_id"], item["reason"],
                     {component: Decimal(amount) for component, amount in item["components"].items()})
        for item in payload["items"]])


# Per outbox kind: how one row becomes one message, and the feed builder.
_FEEDS: dict[str, tuple[Callable[[dict[str, Any]], Any], Callable[[str, list[Any]], FeedBatch]]] = {
    AMAZON_CANCEL_KIND: (_cancellation, build_order_acknowledgement_feed),
    REFUND_KIND: (_refund, build_payment_adjustment_feed),
}


@dataclass
class FeedSent:
    feed_type: str
    feed_id: str | None
    messages: int
    refused: int = 0


@dataclass
class SendSummary:
    feeds: list[FeedSent] = field(default_factory=list)
    held_read_only: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"feeds": [vars(f) for f in self.feeds], "held_read_only": self.held_read_only}


class FeedSender:
    def __init__(self, amazon: SpApiClient, channel: ChannelStore, work: OutboxWork, *, account: str,
                 read_only_stores: frozenset[str] = frozenset(), logger: logging.Logger = log) -> None:
        self.amazon, self.channel, self.work, self.account = amazon, channel, work, account
        self.read_only_stores, self.log = read_only_stores, logger

    def send_due(self) -> SendSummary:
        summary = SendSummary()
        for kind, (message_of, build) in _FEEDS.items():
            rows = self.work.outbox.claim(self.work.worker_id, MAX_MESSAGES, self.work.lease, kinds=[kind],
                                          target=self.account)
            sent = self._send(kind, rows, message_of, build, summary)
            if sent is not None:
                summary.feeds.append(sent)
        return summary

    def _send(self, kind: str, rows: list[OutboxItem], message_of: Callable[[dict[str, Any]], Any],
              build: Callable[[str, list[Any]], FeedBatch], summary: SendSummary) -> FeedSent | None:
        messages, members, refused = [], [], 0
        for row in rows:
            if row.payload.get("store") in self.read_only_stores:
                # Queued before the store went read-only: kept, sent once it is writable again.
                self.work.failed(row, ReadOnlyStore(row.payload["store"]))
                summary.held_read_only += 1
                continue
            try:
                message = message_of(row.payload)
                build(self.amazon.seller_id, [message])  # each message checked alone: one bad row stays out
            except (KeyError, ValueError, ArithmeticError) as exc:
                refused += 1
                self.work.rejected(row, f"cannot be written as a feed message: {type(exc).__name__}: {exc}")
                continue
            messages.append(message)
            members.append(row)
        if not members:
            return None
        batch = build(self.amazon.seller_id, messages)
        marketplaces = sorted({row.payload["marketplace_id"] for row in members})
        try:
            feed_id = self.amazon.submit_feed(batch.feed_type, marketplaces, batch.xml)
        except Exception as exc:  # noqa: BLE001 - the rows go back to the queue (after settle if it may have landed)
            self.log.warning("account %s: %s feed of %d messages not submitted: %s", self.account, batch.feed_type,
                             len(members), describe_error(exc))
            for row in members:
                self.work.failed(row, exc)
            return FeedSent(batch.feed_type, None, len(members), refused)
        with self.channel.transaction():
            for message_id, row in enumerate(members, start=1):
                self.work.outbox.update_payload(row.id, self.work.worker_id, {**row.payload, "feed_message_id": message_id})
                self.work.outbox.mark_sent(row.id, self.work.worker_id, feed_id=feed_id)
                self.channel.events.append(self.account, row.payload["amazon_order_id"], f"{kind}_sent",
                                           f"sent to Amazon in feed {feed_id} (message {message_id})")
        self.log.info("account %s: %s feed %s with %d messages", self.account, batch.feed_type, feed_id, len(members))
        return FeedSent(batch.feed_type, feed_id, len(members), refused)


class ReadOnlyStore(Exception):
    def __init__(self, store: str) -> None:
        super().__init__(f"store {store} is read-only: not sent")


@dataclass
class FollowSummary:
    pending: list[str] = field(default_factory=list)  # feeds not processed yet
    outcomes: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {"pending_feeds": self.pending, **dict(self.outcomes)}


Refusal = Callable[[OutboxItem, str], None]
"""Told of every row Amazon refused, with Amazon's reason (the caller comments on the Commerce order)."""


class FeedResults:
    def __init__(self, amazon: SpApiClient, channel: ChannelStore, *, account: str, on_refused: Refusal,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), logger: logging.Logger = log) -> None:
        self.amazon, self.channel, self.account = amazon, channel, account
        self.on_refused, self.clock, self.log = on_refused, clock, logger

    def check(self) -> FollowSummary:
        """One look at every feed of the account with rows waiting; applies the finished ones."""
        summary = FollowSummary()
        for feed_id in self.channel.outbox.sent_feed_ids(target=self.account):
            try:
                self._check(feed_id, summary)
            except Exception as exc:  # noqa: BLE001 - one feed's trouble never stops the others
                self.log.warning("feed %s: %s; looked at again next time", feed_id, describe_error(exc))
                summary.pending.append(feed_id)
        return summary

    def _check(self, feed_id: str, summary: FollowSummary) -> None:
        feed = self.amazon.get_feed(feed_id)
        rows = [row for row in self.channel.outbox.for_feed(feed_id) if row.status == "sent"]
        if not feed.processing_status.is_final:
            summary.pending.append(feed_id)
            return
        if feed.processing_status != ProcessingStatus.DONE or not feed.result_feed_document_id:
            for row in rows:  # nothing was applied: send again in a new feed
                self.channel.outbox.mark_failed(row.id, f"feed {feed_id} ended {feed.processing_status}",
                                                retry_at=self.clock())
            summary.outcomes["requeued"] += len(rows)
            return
        report = self.amazon.get_processing_report(feed.result_feed_document_id)
        results: dict[int, list[Any]] = {}
        for result in report.results:
            results.setdefault(result.message_id, []).append(result)
        for row in rows:
            errors = [r for r in results.get(row.payload.get("feed_message_id"), []) if r.is_error]
            order_id = row.payload["amazon_order_id"]
            if errors:
                reason = "; ".join(f"{e.result_message_code or 'Error'}: {e.description or ''}".strip()
                                   for e in errors)
                self.channel.outbox.mark_failed(row.id, f"Amazon refused it in feed {feed_id}: {reason}")
                self.channel.events.append(self.account, order_id, f"{row.kind}_refused",
                                           f"Amazon refused it in feed {feed_id}: {reason}")
                self.on_refused(row, reason)
                summary.outcomes["refused"] += 1
            else:
                self.channel.outbox.mark_confirmed(row.id)
                self.channel.events.append(self.account, order_id, f"{row.kind}_confirmed",
                                           f"Amazon processed feed {feed_id}")
                summary.outcomes["confirmed"] += 1


def refusal_comment(row: OutboxItem, reason: str) -> str:
    """What the Commerce order's comment says when Amazon refused a cancellation or a refund."""
    order_id = row.payload["amazon_order_id"]
    if row.kind == AMAZON_CANCEL_KIND and "ship" in reason.lower():
        return shipped_cannot_cancel(order_id)
    what = "cancellation" if row.kind == AMAZON_CANCEL_KIND else f"refund (credit memo {row.payload.get('credit_memo_id')})"
    return f"Amazon refused the {what} of order {order_id}: {reason}"
