"""The import and the status sync of one seller account, wired from plain URLs and credentials, without
Airflow (the CLI, benchmarks, tests). Both open the same clients (``open_account_clients``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta

from sales_channel.amazon.auth import LwaCredentials
from sales_channel.amazon.client import SpApiClient
from sales_channel.commerce.client import CommerceClient
from sales_channel.domain.settings import StoreSettings
from sales_channel.pipeline.importing.account import AccountImport, default_worker_id
from sales_channel.pipeline.importing.store_importer import connections_needed
from sales_channel.pipeline.outbox_work import DEFAULT_RETRY, DEFAULT_SETTLE, OutboxWork
from sales_channel.pipeline.status_sync.sync import AccountFeeds, StoreSync
from sales_channel.ratelimit.sql import SqlBucketStore
from sales_channel.store.channel_store import ChannelStore


@dataclass
class AccountClients:
    """One seller account's stores, its SP-API client, a Commerce client per store (by store key) and
    the channel store they share."""

    stores: list[StoreSettings]
    amazon: SpApiClient
    commerce: dict[str, CommerceClient]
    channel: ChannelStore

    @property
    def account(self) -> str:
        return self.stores[0].amazon_conn_id


@contextmanager
def open_account_clients(stores: Sequence[StoreSettings], *, amazon_url: str, commerce_url: str, db_url: str,
                         credentials: LwaCredentials, commerce_token: str, rate_scale: float = 1.0,
                         commerce_pool: int = 8) -> Iterator[AccountClients]:
    """The clients of one seller account's stores (one Commerce installation at ``commerce_url``, each
    store on its store view), closed when the block ends. The usage-plan buckets live in the channel
    database, shared with every other process using it."""
    accounts = {store.amazon_conn_id for store in stores}
    if len(accounts) != 1:
        raise ValueError(f"stores: the stores of one seller account are required, got accounts {sorted(accounts)}")
    with ExitStack() as stack:
        channel = ChannelStore.open(db_url)
        stack.callback(channel.close)
        amazon = SpApiClient(credentials, seller_id=stores[0].amazon_conn_id, base_url=amazon_url,
                             bucket_store=SqlBucketStore(channel.engine), rate_scale=rate_scale)
        stack.callback(amazon.close)
        # Its calls per operation, added to api_calls once, before the channel store closes.
        stack.callback(lambda: channel.api_calls.record(stores[0].amazon_conn_id, amazon.stats.counts()))
        commerce = {}
        for store in stores:
            commerce[store.key] = CommerceClient(commerce_url, commerce_token, store_code=store.store_code,
                                                 pool_maxsize=commerce_pool)
            stack.callback(commerce[store.key].close)
        yield AccountClients(list(stores), amazon, commerce, channel)


@contextmanager
def open_account_import(stores: Sequence[StoreSettings], *, amazon_url: str, commerce_url: str, db_url: str,
                        credentials: LwaCredentials, commerce_token: str, rate_scale: float = 1.0, workers: int = 8,
                        lease: timedelta = timedelta(minutes=15),
                        settle: timedelta = DEFAULT_SETTLE,
                        retry: timedelta = DEFAULT_RETRY) -> Iterator[AccountImport]:
    """The import of one seller account's stores; its clients and channel store are closed when the
    block ends."""
    with open_account_clients(stores, amazon_url=amazon_url, commerce_url=commerce_url, db_url=db_url,
                              credentials=credentials, commerce_token=commerce_token, rate_scale=rate_scale,
                              commerce_pool=connections_needed(workers)) as clients:
        yield AccountImport(clients.stores, clients.amazon, clients.commerce, clients.channel, workers=workers,
                            lease=lease, settle=settle, retry=retry)


@dataclass
class AccountStatusSync:
    """The status sync of one seller account's stores, as the DAG's tasks build it: ``store(key)`` is
    one store's run (``StoreSync.run``), ``feeds()`` the account's feeds (``send``, ``follow``)."""

    clients: AccountClients
    work: OutboxWork

    def store(self, key: str) -> StoreSync:
        store = next((s for s in self.clients.stores if s.key == key), None)
        if store is None:
            raise KeyError(f"store {key!r} is not one of this account's stores "
                           f"{[s.key for s in self.clients.stores]}")
        return StoreSync(store, self.clients.amazon, self.clients.commerce[key], self.clients.channel, self.work)

    def feeds(self) -> AccountFeeds:
        return AccountFeeds(self.clients.account, self.clients.stores, self.clients.amazon, self.clients.commerce,
                            self.clients.channel, self.work)


@contextmanager
def open_status_sync(stores: Sequence[StoreSettings], *, amazon_url: str, commerce_url: str, db_url: str,
                     credentials: LwaCredentials, commerce_token: str, rate_scale: float = 1.0,
                     worker_id: str | None = None, lease: timedelta = timedelta(minutes=15),
                     settle: timedelta = DEFAULT_SETTLE, retry: timedelta = DEFAULT_RETRY) -> Iterator[AccountStatusSync]:
    """The status sync of one seller account's stores; ``settle`` is how long an ambiguous write is left
    to land before it is read back, ``retry`` when a plain failure comes due again."""
    with open_account_clients(stores, amazon_url=amazon_url, commerce_url=commerce_url, db_url=db_url,
                              credentials=credentials, commerce_token=commerce_token,
                              rate_scale=rate_scale) as clients:
        work = OutboxWork(clients.channel.outbox, worker_id or f"{default_worker_id()}:status-sync", lease, settle,
                          retry)
        yield AccountStatusSync(clients, work)
