"""Task bodies of the ``amazon_order_status_sync`` DAG."""

from __future__ import annotations

import logging
from typing import Any

from sales_channel.airflow.hooks import AdobeCommerceHook, AmazonSellingPartnerHook, ChannelDatabaseHook
from sales_channel.airflow.tasks.common import (
    active_stores,
    load_stores,
    name_map_index,
    open_account,
    outbox_work,
    store_settings,
    task_deadline,
)
from sales_channel.pipeline.status_sync.sync import AccountFeeds, StoreSync

log = logging.getLogger(__name__)


def store_keys() -> list[str]:
    """The active stores with valid settings (an invalid one is reported by the import's check_store)."""
    invalid = load_stores().invalid
    if invalid:
        log.warning("stores with invalid settings are not synced: %s", "; ".join(invalid.values()))
    return sorted(store.key for store in active_stores())


def accounts() -> list[str]:
    return sorted(load_stores().accounts())


def sync_store(store_key: str) -> dict[str, Any]:
    name_map_index(store=store_key)
    store = store_settings(store_key)
    channel = ChannelDatabaseHook().get_conn()
    try:
        amazon = AmazonSellingPartnerHook(store.amazon_conn_id, channel=channel).get_conn()
        commerce = AdobeCommerceHook(store.commerce_conn_id, store_code=store.store_code, pool_maxsize=8).get_conn()
        with amazon, commerce:
            summary = StoreSync(store, amazon, commerce, channel, outbox_work(channel)).run(deadline=task_deadline())
    finally:
        channel.close()
    _report(f"store {store_key}", summary)
    return summary


def send_feeds(account: str) -> dict[str, Any]:
    name_map_index(account=account)
    with open_account(account, commerce_pool=2) as ctx:
        summary = AccountFeeds(account, ctx.stores, ctx.amazon, ctx.commerce, ctx.channel, outbox_work(ctx.channel)).send()
    _report(f"account {account} feeds sent", summary.to_json())
    return summary.to_json()


def follow_feeds(account: str) -> dict[str, Any]:
    """One look at the account's feeds (the operator defers between looks)."""
    with open_account(account, commerce_pool=2) as ctx:
        summary = AccountFeeds(account, ctx.stores, ctx.amazon, ctx.commerce, ctx.channel, outbox_work(ctx.channel)).follow()
    _report(f"account {account} feed results", summary.to_json())
    return summary.to_json()


def _report(what: str, summary: dict[str, Any]) -> None:
    log.info("%s: %s", what, summary)
