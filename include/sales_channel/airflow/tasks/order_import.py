"""Task bodies of the ``amazon_order_import`` DAG."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from airflow.sdk import conf

from sales_channel.airflow.hooks import ChannelDatabaseHook
from sales_channel.airflow.tasks.common import load_settings, open_store, store_settings
from sales_channel.pipeline import importer
from sales_channel.pipeline.importer import ImportWindow, OrderImporter

log = logging.getLogger(__name__)


def workers() -> int:
    """How many Commerce orders one import task creates at once ([sales_channel] import_workers)."""
    return conf.getint("sales_channel", "import_workers", fallback=8)


def stores_to_import() -> list[str]:
    """The active stores (inactive ones pause order sync). Fails the run on invalid settings."""
    stores = load_settings()
    active = [key for key, store in stores.items() if store.active]
    paused = sorted(set(stores) - set(active))
    log.info("importing %d stores: %s%s", len(active), ", ".join(active) or "none",
             f" (inactive: {', '.join(paused)})" if paused else "")
    return active


def plan_window(store: str) -> dict[str, str]:
    """Fixed once per run: the import task's retries reuse this window from XCom."""
    channel = ChannelDatabaseHook().get_conn()
    try:
        window = importer.plan_window(store_settings(store), channel, datetime.now(UTC))
    finally:
        channel.close()
    log.info("store %s: window lastUpdatedAfter=%s lastUpdatedBefore=%s", store, window.after, window.before)
    return window.to_json()


def import_orders(store: str, window: dict[str, str]) -> dict[str, Any]:
    with open_store(store, commerce_pool=workers() * 2) as ctx:
        importer = OrderImporter(ctx.settings, ctx.amazon, ctx.commerce, ctx.channel, workers=workers())
        summary = importer.run(ImportWindow.from_json(window))
    return summary.to_json()
