"""One store's status sync run, and one seller account's feeds: the flows wired together.

``StoreSync.run`` reads the store's Commerce changes into outbox rows, sends its shipment
confirmations, then brings Amazon's changes to Commerce and applies the Commerce effects (comments
queued by any step included). ``AccountFeeds`` sends an account's cancellations and refunds (one
feed per type) and follows its feeds to their results. Airflow-free: the DAG's tasks, the benchmark
and scripts call these.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sales_channel.amazon.client import SpApiClient
from sales_channel.commerce.client import CommerceClient
from sales_channel.domain.settings import StoreSettings
from sales_channel.pipeline.outbox_work import OutboxWork
from sales_channel.pipeline.status_sync.commerce_effects import CommerceEffects
from sales_channel.pipeline.status_sync.feeds import (
    FeedResults,
    FeedSender,
    FollowSummary,
    SendSummary,
    refusal_comment,
)
from sales_channel.pipeline.status_sync.from_amazon import AmazonToCommerce
from sales_channel.pipeline.status_sync.shipments import ShipmentConfirmations
from sales_channel.pipeline.status_sync.to_amazon import CommerceToAmazon
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.models import OutboxItem

log = logging.getLogger(__name__)


class StoreSync:
    def __init__(self, store: StoreSettings, amazon: SpApiClient, commerce: CommerceClient, channel: ChannelStore,
                 work: OutboxWork, logger: logging.Logger = log) -> None:
        self.store, self.amazon, self.commerce, self.channel, self.work, self.log = (
            store, amazon, commerce, channel, work, logger)

    def run(self, deadline: float | None = None) -> dict[str, Any]:
        effects = CommerceEffects(self.channel, self.commerce, self.store, self.work, self.log)
        to_amazon = CommerceToAmazon(self.store, self.channel, self.commerce, self.amazon, self.work, effects,
                                     logger=self.log).run()
        confirmed = ShipmentConfirmations(self.amazon, self.channel, self.work, effects, store_key=self.store.key,
                                          account=self.store.amazon_conn_id, logger=self.log).send_due(deadline)
        from_amazon = AmazonToCommerce(self.channel, self.commerce, self.store, self.work, effects=effects,
                                       logger=self.log).run()
        return {"store": self.store.key, "to_amazon": to_amazon.to_json(), "confirmations": confirmed.to_json(),
                "from_amazon": from_amazon.to_json()}


class AccountFeeds:
    """One seller account's feeds; comments on refusals go to the store each row came from."""

    def __init__(self, account: str, stores: list[StoreSettings], amazon: SpApiClient,
                 commerce: Mapping[str, CommerceClient], channel: ChannelStore, work: OutboxWork,
                 logger: logging.Logger = log) -> None:
        self.account, self.amazon, self.channel, self.work, self.log = account, amazon, channel, work, logger
        self.stores = {store.key: store for store in stores}
        self.commerce = commerce

    def send(self) -> SendSummary:
        read_only = frozenset(key for key, store in self.stores.items() if store.read_only)
        return FeedSender(self.amazon, self.channel, self.work, account=self.account, read_only_stores=read_only,
                          logger=self.log).send_due()

    def follow(self) -> FollowSummary:
        return FeedResults(self.amazon, self.channel, account=self.account, on_refused=self._comment,
                           logger=self.log).check()

    def _comment(self, row: OutboxItem, reason: str) -> None:
        store = self.stores.get(row.payload.get("store", ""))
        commerce_order_id = row.payload.get("commerce_order_id")
        if store is None or commerce_order_id is None:
            self.log.warning("account %s: %s of %s refused, and no store to comment on: %s", self.account, row.kind,
                             row.payload["amazon_order_id"], reason)
            return
        CommerceEffects(self.channel, self.commerce[store.key], store, self.work, self.log).comment(
            row.payload["amazon_order_id"], int(commerce_order_id), f"{row.kind}-refused-{row.id}",
            refusal_comment(row, reason))
