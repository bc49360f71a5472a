"""Task bodies of the ``amazon_order_import`` DAG."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import conf, get_current_context
from airflow.sdk.exceptions import AirflowFailException

from sales_channel.airflow.hooks import ChannelDatabaseHook
from sales_channel.airflow.tasks.common import (
    account_stores,
    load_stores,
    name_map_index,
    open_account,
    settle_delay,
)
from sales_channel.pipeline.importing import account as importing
from sales_channel.pipeline.importing.account import AccountImport, ImportWindow
from sales_channel.pipeline.importing.store_importer import connections_needed

log = logging.getLogger(__name__)

# What a run keeps for itself before its execution timeout: the last page's creates and the retries.
TIMEOUT_MARGIN = timedelta(minutes=5)


def workers() -> int:
    """How many Commerce orders one import task creates at once ([sales_channel] import_workers)."""
    return conf.getint("sales_channel", "import_workers", fallback=8)


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
    with open_account(account, commerce_pool=connections_needed(workers())) as ctx:
        run = AccountImport(ctx.stores, ctx.amazon, ctx.commerce, ctx.channel, workers=workers(),
                            settle=settle_delay())
        summary = run.run(ImportWindow.from_json(window), deadline=_deadline())
    return summary.to_json()


def _deadline() -> float:
    """When this run stops reading new pages: its time budget ([sales_channel] import_time_budget_minutes,
    40), and in any case well before the task's execution timeout."""
    budget = timedelta(minutes=conf.getfloat("sales_channel", "import_time_budget_minutes", fallback=40.0))
    timeout = get_current_context()["ti"].task.execution_timeout
    if timeout is not None:
        budget = min(budget, max(timeout - TIMEOUT_MARGIN, timeout / 2))
    return time.monotonic() + budget.total_seconds()
