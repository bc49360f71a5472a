"""Task bodies of the ``amazon_order_import`` DAG."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from sales_channel.airflow.hooks import ChannelDatabaseHook
from sales_channel.airflow.tasks.common import (
    account_stores,
    load_stores,
    name_map_index,
    open_account_import,
    run_deadline,
)
from sales_channel.pipeline.importing import account as importing
from sales_channel.pipeline.importing.account import ImportWindow

log = logging.getLogger(__name__)

def accounts_to_import() -> list[str]:
    """The seller accounts with at least one active valid store (one search serves all of an
    account's stores). Invalid stores are left to their own ``check_store`` task."""
    stores = load_stores()
    accounts = stores.accounts()
    paused = sorted(key for key, store in stores.valid.items() if not store.active)
    log.info("importing %d seller accounts: %s%s%s", len(accounts),
             "; ".join(f"{account} ({', '.join(s.key for s in group)})" for account, group in accounts.items()) or "none",
             f"; inactive stores: {', '.join(paused)}" if paused else "",
             f"; invalid stores: {', '.join(sorted(stores.invalid))}" if stores.invalid else "")
    return sorted(accounts)


def store_keys() -> list[str]:
    stores = load_stores()
    return sorted({*stores.valid, *stores.invalid})


def check_store(store: str) -> str:
    """Fails (without retries) when the store's settings are invalid, naming the field."""
    name_map_index(store=store)
    stores = load_stores()
    if store in stores.invalid:
        raise AirflowFailException(f"{stores.invalid[store]} — fix the Variable sales_channel_stores; "
                                   "this store is not imported until then, the others are")
    return "valid" if stores.valid[store].active else "inactive"


def plan_window(account: str) -> dict[str, Any]:
    """The account's window, fixed in its checkpoint so that retries and later runs finish it."""
    name_map_index(account=account)
    channel = ChannelDatabaseHook().get_conn()
    try:
        window = importing.plan_window(account_stores(account), channel, datetime.now(UTC))
    finally:
        channel.close()
    log.info("account %s: window lastUpdatedAfter=%s lastUpdatedBefore=%s, marketplaces %s", account, window.after,
             window.before, ", ".join(window.marketplace_ids))
    return window.to_json()


def import_orders(account: str, window: dict[str, Any]) -> dict[str, Any]:
    name_map_index(account=account)
    with open_account_import(account) as run:
        summary = run.run(ImportWindow.from_json(window), deadline=run_deadline())
    return summary.to_json()

