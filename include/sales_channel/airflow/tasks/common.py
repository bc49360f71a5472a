"""What every task needs: the stores' settings, and the clients and channel store of one seller account."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from airflow.sdk import Variable, conf, get_current_context
from airflow.sdk.exceptions import AirflowFailException

from sales_channel.airflow.hooks import AdobeCommerceHook, AmazonSellingPartnerHook, ChannelDatabaseHook
from sales_channel.amazon.client import SpApiClient
from sales_channel.commerce.client import DEFAULT_TIMEOUT, CommerceClient
from sales_channel.domain.settings import SettingsError, StoresDocument, StoreSettings, parse_stores
from sales_channel.pipeline.importing.account import AccountImport
from sales_channel.pipeline.importing.store_importer import connections_needed
from sales_channel.pipeline.operations.report import Actor
from sales_channel.pipeline.operations.requests import OperationRefused
from sales_channel.pipeline.outbox_work import DEFAULT_SETTLE, OutboxWork
from sales_channel.store.channel_store import ChannelStore

SETTINGS_VARIABLE = "sales_channel_stores"
# What a run keeps for itself before its execution timeout: the last page's creates and the retries.
TIMEOUT_MARGIN = timedelta(minutes=5)


def load_stores() -> StoresDocument:
    """The stores' settings from the Airflow Variable, each store validated on its own.

    A missing or unreadable document fails the task at once, without retries (retrying cannot fix
    it); an invalid store is listed with the store and the field named, and the others go on.
    """
    document = Variable.get(SETTINGS_VARIABLE, default=None)
    try:
        if document is None:
            raise SettingsError(f"Airflow Variable {SETTINGS_VARIABLE!r} is not set: it holds the stores' "
                                "settings as JSON (see the README, 'Configure')")
        return parse_stores(document)
    except SettingsError as invalid:
        raise AirflowFailException(str(invalid)) from invalid


def store_settings(store_key: str) -> StoreSettings:
    """One store's settings; the task fails at once, naming the store (and the field), when they are invalid
    or the store is not in the settings."""
    stores = load_stores()
    store = stores.valid.get(store_key)
    if store is None:
        raise AirflowFailException(stores.invalid.get(store_key) or f"store {store_key!r} is not in the settings")
    return store


def account_stores(account: str) -> list[StoreSettings]:
    """The active, valid stores of one seller account (its Airflow connection id)."""
    stores = load_stores().accounts().get(account)
    if not stores:
        raise AirflowFailException(f"seller account {account!r} has no active valid store in {SETTINGS_VARIABLE!r}")
    return stores


@dataclass
class AccountContext:
    stores: list[StoreSettings]
    amazon: SpApiClient
    commerce: dict[str, CommerceClient]  # by store key
    channel: ChannelStore


@contextmanager
def open_account(account: str, commerce_pool: int = 16) -> Iterator[AccountContext]:
    """The clients of one seller account and of each of its stores, all closed when the task is done
    (those already built included, when a later one fails to build)."""
    stores = account_stores(account)
    with ExitStack() as stack:
        channel = ChannelDatabaseHook().get_conn()
        stack.callback(channel.close)
        amazon = AmazonSellingPartnerHook(account, channel=channel).get_conn()
        stack.callback(amazon.close)
        commerce: dict[str, CommerceClient] = {}
        for store in stores:
            client = AdobeCommerceHook(store.commerce_conn_id, store_code=store.store_code,
                                       pool_maxsize=commerce_pool).get_conn()
            stack.callback(client.close)
            commerce[store.key] = client
        yield AccountContext(stores, amazon, commerce, channel)


@contextmanager
def open_account_import(account: str) -> Iterator[AccountImport]:
    """The import of one seller account's stores, built as every importing task builds it."""
    with open_account(account, commerce_pool=connections_needed(workers())) as ctx:
        yield AccountImport(ctx.stores, ctx.amazon, ctx.commerce, ctx.channel, workers=workers(),
                            settle=settle_delay())


def workers() -> int:
    """How many Commerce orders one import task creates at once ([sales_channel] import_workers)."""
    return conf.getint("sales_channel", "import_workers", fallback=8)


def task_deadline(budget: timedelta | None = None) -> float | None:
    """When a task stops starting new work (``time.monotonic()``): within ``budget``, and in any case well
    before its execution timeout; None when neither bounds it."""
    timeout = get_current_context()["ti"].task.execution_timeout
    limits = [limit for limit in (budget, timeout and max(timeout - TIMEOUT_MARGIN, timeout / 2)) if limit]
    return time.monotonic() + min(limits).total_seconds() if limits else None


def run_deadline() -> float | None:
    """When an importing task stops reading new pages: its time budget ([sales_channel]
    import_time_budget_minutes, 40), in any case well before its execution timeout."""
    return task_deadline(timedelta(minutes=conf.getfloat("sales_channel", "import_time_budget_minutes", fallback=40.0)))


def active_stores() -> list[StoreSettings]:
    """The active stores with valid settings."""
    return [store for store in load_stores().valid.values() if store.active]


def settle_delay() -> timedelta:
    """How long an ambiguous write is left to land before it is looked up again: at least twice the
    Commerce request timeout ([sales_channel] ambiguous_write_settle_seconds)."""
    configured = conf.getfloat("sales_channel", "ambiguous_write_settle_seconds",
                               fallback=DEFAULT_SETTLE.total_seconds())
    return timedelta(seconds=max(configured, 2 * DEFAULT_TIMEOUT[1]))


def outbox_work(channel: ChannelStore) -> OutboxWork:
    """This task's handle on the outbox: a worker id naming the host, the process and the task instance."""
    ti = get_current_context()["ti"]
    worker = f"{socket.gethostname()}:{os.getpid()}:{ti.dag_id}.{ti.task_id}[{ti.map_index}]"
    return OutboxWork(channel.outbox, worker, settle=settle_delay())


def name_map_index(**names: str) -> None:
    """What the grid shows for a mapped task (its ``map_index_template`` reads these)."""
    get_current_context().update(names)


@contextmanager
def refusals_fail_at_once() -> Iterator[None]:
    """An operator's request that is refused (``OperationRefused``: it names the field or the order)
    fails the task without retries: retrying cannot change the answer, the request must change."""
    try:
        yield
    except OperationRefused as refused:
        raise AirflowFailException(f"refused: {refused}") from refused


def operator() -> Actor:
    """Who triggered this DAG run, and the run (recorded with what a manual operation does)."""
    run = get_current_context()["dag_run"]
    return Actor(who=run.triggering_user_name or "unknown user", operation=f"{run.dag_id}/{run.run_id}")


def results_folder() -> Path:
    """``[sales_channel] results_folder``, by default ``$AIRFLOW_HOME/sales_channel_results``."""
    configured = conf.get("sales_channel", "results_folder", fallback=None)
    return Path(configured) if configured else Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser() / \
        "sales_channel_results"
