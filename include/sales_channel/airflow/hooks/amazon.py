"""Amazon Selling Partner API, reached through an ``amazon_sp_api`` Airflow connection."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from airflow.sdk import BaseHook

from sales_channel.airflow.hooks._connection import conn_extras, mask
from sales_channel.amazon.auth import LwaCredentials
from sales_channel.amazon.client import SpApiClient
from sales_channel.ratelimit import BucketStore, InMemoryBucketStore
from sales_channel.store.channel_store import ChannelStore


class AmazonSellingPartnerHook(BaseHook):
    """One seller account.

    Connection fields: *Login* is the LWA client id, *Password* the LWA client secret; extras hold the
    ``refresh_token`` (secret), ``marketplace_id`` (picks the regional endpoint), ``seller_id`` (keys
    the usage-plan buckets and signs feeds; default: the connection id), ``base_url`` or *Host* (a
    stand-in such as the sandbox), ``rate_scale`` (the sandbox's time scale) and ``rate_limit_store``
    (``database``, the default, or a ``redis://`` URL). The usage-plan buckets are shared by every
    task of the account through that store.
    """

    conn_name_attr = "amazon_conn_id"
    default_conn_name = "amazon_sp_api_default"
    conn_type = "amazon_sp_api"
    hook_name = "Amazon Selling Partner API"

    def __init__(self, amazon_conn_id: str = default_conn_name, bucket_store: BucketStore | None = None,
                 channel: ChannelStore | None = None, **kwargs: Any) -> None:
        """``channel``: the task's open channel database, where the buckets live by default (else the
        hook opens it)."""
        super().__init__(**kwargs)
        self.amazon_conn_id = amazon_conn_id
        self._bucket_store = bucket_store
        self._channel = channel

    def get_conn(self) -> SpApiClient:
        """The client; what the hook opened for it alone (the channel database, a Redis client) closes
        with it, or at once when building the client fails. Every task's client comes from here: on
        close, its calls per operation are added to the channel database's ``api_calls``, once."""
        conn, extra, credentials = self._read_connection()
        owned = ExitStack()
        try:
            channel = self._channel or self._open_channel(owned)
            bucket_store = self._bucket_store or self._configure_bucket_store(extra.get("rate_limit_store"), channel,
                                                                              owned)
            client = self._client(conn, extra, credentials, bucket_store, on_close=owned.close)
            # Last in, first out: recorded before the channel the hook opened is closed.
            owned.callback(lambda: channel.api_calls.record(self.amazon_conn_id, client.stats.counts()))
            return client
        except BaseException:
            owned.close()
            raise

    @staticmethod
    def _open_channel(owned: ExitStack) -> ChannelStore:
        from sales_channel.airflow.hooks.channel_db import ChannelDatabaseHook

        channel = ChannelDatabaseHook().get_conn()
        owned.callback(channel.close)
        return channel

    def _read_connection(self) -> tuple[Any, dict[str, Any], LwaCredentials]:
        conn = self.get_connection(self.amazon_conn_id)
        extra = conn_extras(conn)
        return conn, extra, self._configure_credentials(conn.login, conn.password, extra)

    def _client(self, conn: Any, extra: dict[str, Any], credentials: LwaCredentials, bucket_store: BucketStore,
                on_close: Callable[[], object] | None = None) -> SpApiClient:
        return SpApiClient(
            credentials,
            seller_id=str(extra.get("seller_id") or self.amazon_conn_id),
            marketplace_id=extra.get("marketplace_id"),
            base_url=extra.get("base_url") or conn.host or None,
            lwa_url=extra.get("lwa_endpoint") or None,
            bucket_store=bucket_store,
            rate_scale=float(extra.get("rate_scale", 1.0)),
            on_token=mask,
            on_close=on_close,
        )

    def _configure_credentials(self, client_id: str | None, secret: str | None, extra: dict) -> LwaCredentials:
        refresh_token = extra.get("refresh_token")
        for name, value in (("Login (LWA client id)", client_id), ("Password (LWA client secret)", secret),
                            ("extra refresh_token", refresh_token)):
            if not value:
                raise ValueError(f"connection {self.amazon_conn_id!r}: {name} is required")
        mask(refresh_token)
        return LwaCredentials(client_id=client_id, client_secret=secret, refresh_token=refresh_token)

    def _configure_bucket_store(self, setting: str | None, channel: ChannelStore, owned: ExitStack) -> BucketStore:
        """The shared usage-plan buckets (Redis, or ``channel``); what is opened for them here goes on ``owned``."""
        if setting and setting.startswith(("redis://", "rediss://")):
            import redis

            from sales_channel.ratelimit.redis import RedisBucketStore

            client = redis.Redis.from_url(setting)
            owned.callback(client.close)
            return RedisBucketStore(client)
        from sales_channel.ratelimit.sql import SqlBucketStore

        return SqlBucketStore(channel.engine)

    def test_connection(self) -> tuple[bool, str]:
        """Exchanges the refresh token with Login with Amazon (no SP-API quota is spent, so no shared
        bucket is needed: the Test button works before the channel database exists)."""
        try:
            with self._client(*self._read_connection(), InMemoryBucketStore()) as client:
                return client.test_connection()
        except Exception as exc:  # noqa: BLE001 - the UI's Test button shows the reason
            return False, f"{type(exc).__name__}: {exc}"
