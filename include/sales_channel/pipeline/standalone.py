"""An importer wired from plain URLs and credentials, without Airflow (the CLI, benchmarks, tests)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sales_channel.amazon.auth import LwaCredentials
from sales_channel.amazon.client import SpApiClient
from sales_channel.commerce.client import CommerceClient
from sales_channel.domain.settings import StoreSettings
from sales_channel.pipeline.importer import OrderImporter
from sales_channel.ratelimit.sql import SqlBucketStore
from sales_channel.store.channel_store import ChannelStore


@contextmanager
def open_importer(settings: StoreSettings, *, amazon_url: str, commerce_url: str, db_url: str,
                  credentials: LwaCredentials, commerce_token: str, rate_scale: float = 1.0, workers: int = 8,
                  lease: timedelta = timedelta(minutes=15)) -> Iterator[OrderImporter]:
    """The importer of one store; its clients and channel store are closed when the block ends. The
    usage-plan buckets live in the channel database, shared with every other process using it."""
    channel = ChannelStore.open(db_url)
    amazon = SpApiClient(credentials, seller_id=settings.amazon_conn_id, base_url=amazon_url,
                         bucket_store=SqlBucketStore(channel.engine), rate_scale=rate_scale)
    commerce = CommerceClient(commerce_url, commerce_token, store_code=settings.store_code, pool_maxsize=workers * 2)
    try:
        yield OrderImporter(settings, amazon, commerce, channel, workers=workers, lease=lease)
    finally:
        amazon.close()
        commerce.close()
        channel.close()
