"""An account import wired from plain URLs and credentials, without Airflow (the CLI, benchmarks, tests)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import timedelta

from sales_channel.amazon.auth import LwaCredentials
from sales_channel.amazon.client import SpApiClient
from sales_channel.commerce.client import CommerceClient
from sales_channel.domain.settings import StoreSettings
from sales_channel.pipeline.importing.account import AccountImport
from sales_channel.pipeline.importing.store_importer import connections_needed
from sales_channel.pipeline.outbox_work import DEFAULT_RETRY, DEFAULT_SETTLE
from sales_channel.ratelimit.sql import SqlBucketStore
from sales_channel.store.channel_store import ChannelStore


@contextmanager
def open_account_import(stores: Sequence[StoreSettings], *, amazon_url: str, commerce_url: str, db_url: str,
                        credentials: LwaCredentials, commerce_token: str, rate_scale: float = 1.0, workers: int = 8,
                        lease: timedelta = timedelta(minutes=15),
                        settle: timedelta = DEFAULT_SETTLE,
                        retry: timedelta = DEFAULT_RETRY) -> Iterator[AccountImport]:
    """The import of one seller account's stores (one Commerce installation at ``commerce_url``, each
    store on its store view); its clients and channel store are closed when the block ends. The
    usage-plan buckets live in the channel database, shared with every other process using it."""
    with ExitStack() as stack:
        channel = ChannelStore.open(db_url)
        stack.callback(channel.close)
        amazon = SpApiClient(credentials, seller_id=stores[0].amazon_conn_id, base_url=amazon_url,
                             bucket_store=SqlBucketStore(channel.engine), rate_scale=rate_scale)
        stack.callback(amazon.close)
        commerce = {}
        for store in stores:
            commerce[store.key] = CommerceClient(commerce_url, commerce_token, store_code=store.store_code,
                                                 pool_maxsize=connections_needed(workers))
            stack.callback(commerce[store.key].close)
        yield AccountImport(stores, amazon, commerce, channel, workers=workers, lease=lease, settle=settle,
                            retry=retry)
