"""Sending the queued shipment confirmations of one store to Amazon, exactly once by effect.

Rows (``to_amazon.CONFIRM_KIND``) are claimed under a lease and sent a few at a time, so the account's
confirmShipment usage plan (2/s, burst 10, shared by every worker through the token buckets) is what
paces them, not the round trips. confirmShipment is never re-sent blindly: a row tried before (its
answer lost, its worker killed, a 5xx) first looks for its packageReferenceId in getOrder's PACKAGES,
and is confirmed without a second call when Amazon has it. A refusal (400: cancelled order, more units
than unshipped, an unknown item) ends the row failed with Amazon's message and a comment on the
Commerce order; ``amazon_resend_shipment`` re-sends it once the cause is fixed.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sales_channel.amazon.client import SpApiClient
from sales_channel.amazon.errors import InvalidInputError, NotFoundError
from sales_channel.amazon.models import IncludedData
from sales_channel.pipeline.outbox_work import OutboxWork, describe_error
from sales_channel.pipeline.status_sync.commerce_effects import CommerceEffects
from sales_channel.pipeline.status_sync.kinds import CONFIRM_KIND
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.models import OutboxItem

log = logging.getLogger(__name__)

BATCH = 50
SENDERS = 4  # calls in flight: enough to keep the usage plan busy at local round-trip times


@dataclass
class ConfirmSummary:
    outcomes: Counter[str] = field(default_factory=Counter)  # confirmed, already_on_amazon, refused, retry
    elapsed_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {**dict(self.outcomes), "elapsed_s": round(self.elapsed_s, 3)}


class ShipmentConfirmations:
    def __init__(self, amazon: SpApiClient, channel: ChannelStore, work: OutboxWork, effects: CommerceEffects,
                 *, store_key: str, account: str, logger: logging.Logger = log) -> None:
        self.amazon, self.channel, self.work, self.effects = amazon, channel, work, effects
        self.store_key, self.account, self.log = store_key, account, logger

    def send_due(self, deadline: float | None = None) -> ConfirmSummary:
        """Send every due confirmation of the store (until ``deadline``, a ``time.monotonic()`` value)."""
        summary = ConfirmSummary()
        started = time.monotonic()
        with ThreadPoolExecutor(SENDERS, thread_name_prefix="confirm") as pool:
            while deadline is None or time.monotonic() < deadline:
                batch = self.work.outbox.claim(self.work.worker_id, BATCH, self.work.lease, kinds=[CONFIRM_KIND],
                                               target=self.account, source_prefix=f"{self.store_key}/shipment/")
                if not batch:
                    break
                summary.outcomes.update(pool.map(self._send, batch))
        summary.elapsed_s = time.monotonic() - started
        return summary

    def _send(self, item: OutboxItem) -> str:
        payload = item.payload
        order_id = payload["amazon_order_id"]
        package = payload["package"]
        try:
            if item.attempts > 1 and self._on_amazon(order_id, package["packageReferenceId"]):
                self.work.done(item)
                self._event(order_id, "shipment_confirmed",
                            f"shipment {payload['shipment_id']} found on Amazon (an earlier send landed)")
                return "already_on_amazon"
            if not self.work.renew(item):
                return "taken_over"
            self.amazon.confirm_shipment(order_id, payload["marketplace_id"], package)
        except (InvalidInputError, NotFoundError) as refused:
            message = f"Amazon refused the shipment confirmation: {refused.code} {refused.message}"
            self.work.rejected(item, message)
            self._event(order_id, "shipment_refused", message)
            self.effects.comment(order_id, payload["commerce_order_id"], f"shipment-refused-{payload['shipment_id']}",
                                 f"{message}. Fix it, then re-send the shipment (DAG amazon_resend_shipment).")
            return "refused"
        except Exception as exc:  # noqa: BLE001 - retried (after settle when it may have landed); said in the row
            self.log.warning("shipment %s of %s: %s", payload["shipment_id"], order_id, describe_error(exc))
            self.work.failed(item, exc)
            return "retry"
        self.work.done(item)
        self._event(order_id, "shipment_confirmed",
                    f"shipment {payload['shipment_id']} confirmed to Amazon: {package['carrierCode']} "
                    f"{package['trackingNumber']}, {sum(i['quantity'] for i in package['orderItems'])} unit(s)")
        return "confirmed"

    def _on_amazon(self, order_id: str, reference: str) -> bool:
        """Whether Amazon has the package already (read back before any re-send)."""
        order = self.amazon.get_order(order_id, [IncludedData.PACKAGES]).raw
        return any(str(p.get("packageReferenceId")) == str(reference) for p in (order or {}).get("packages") or ())

    def _event(self, order_id: str, event: str, message: str) -> None:
        self.channel.events.append(self.account, order_id, event, message)
