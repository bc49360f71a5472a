"""The channel database, reached through the Airflow connection ``sales_channel_db``."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import BaseHook, conf
from sqlalchemy.engine import URL, make_url

from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.quarantine import Backoff


class ChannelDatabaseHook(BaseHook):
    """The project's own database (not Airflow's metadata database).

    The connection is a ``sales_channel_db`` connection whose *Host* is a SQLite file path (the
    embedded default) or a SQLAlchemy URL, or a standard ``postgres`` connection (production). Without the connection, a SQLite file under the Airflow
    home is used, so a laptop install needs no setup. Quarantined orders are retried after
    ``[sales_channel] quarantine_first_retry_minutes`` (5), doubling up to
    ``quarantine_longest_retry_hours`` (6).
    """

    conn_name_attr = "channel_db_conn_id"
    default_conn_name = "sales_channel_db"
    conn_type = "sales_channel_db"
    hook_name = "Amazon Sales Channel database"

    def __init__(self, channel_db_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.channel_db_conn_id = channel_db_conn_id
        self._store: ChannelStore | None = None

    def get_url(self) -> URL:
        from airflow.sdk.exceptions import AirflowNotFoundException

        try:
            conn = self.get_connection(self.channel_db_conn_id)
        except AirflowNotFoundException:
            home = Path(os.environ.get("AIRFLOW_HOME", Path.home() / "airflow"))
            return URL.create("sqlite", database=str(home / "sales_channel.db"))
        if conn.conn_type == "sales_channel_db" and conn.host and "://" in conn.host:
            return make_url(conn.host)  # a full SQLAlchemy URL
        if conn.conn_type in ("sales_channel_db", "sqlite"):
            return URL.create("sqlite", database=conn.host or str(Path(conn.schema or "sales_channel.db")))
        if conn.conn_type in ("postgres", "postgresql"):
            return URL.create("postgresql+psycopg2", username=conn.login, password=conn.password,
                              host=conn.host, port=conn.port, database=conn.schema or "sales_channel")
        raise ValueError(f"connection {self.channel_db_conn_id!r}: type {conn.conn_type!r} is not supported "
                         "(use sales_channel_db or postgres)")

    def get_conn(self) -> ChannelStore:
        """The channel store, migrated to the schema this code expects (cheap when it already is)."""
        if self._store is None:
            backoff = Backoff(first=timedelta(minutes=conf.getfloat("sales_channel", "quarantine_first_retry_minutes",
                                                                      fallback=5.0)),
                              longest=timedelta(hours=conf.getfloat("sales_channel", "quarantine_longest_retry_hours",
                                                                     fallback=6.0)))
            self._store = ChannelStore.open(self.get_url(), quarantine_backoff=backoff)
        return self._store

    def test_connection(self) -> tuple[bool, str]:
        try:
            store = self.get_conn()
            with store.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
            return True, f"Connected to the channel database ({store.engine.dialect.name}), schema up to date"
        except Exception as exc:  # noqa: BLE001 - the UI's Test button shows the reason
            return False, f"{type(exc).__name__}: {exc}"
