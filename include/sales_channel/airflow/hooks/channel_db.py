"""The channel database, reached through the Airflow connection ``sales_channel_db``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import BaseHook, conf
from airflow.sdk.exceptions import AirflowNotFoundException
from sqlalchemy.engine import URL

from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.engine import create_engine_for, normalize_url
from sales_channel.store.migrate import SchemaNotCurrentError, check_schema
from sales_channel.store.quarantine import Backoff


class ChannelDatabaseHook(BaseHook):
    """The project's own database (not Airflow's metadata database), shared by every task and worker.

    The connection is a ``sales_channel_db`` connection whose *Host* is a SQLAlchemy URL
    (``postgresql://user:password@host/db``) or a SQLite file path (one machine only), or a standard
    ``postgres`` connection. It must exist: a task without it fails naming it (there is no per-worker
    fallback, which would give each Celery worker a database of its own). The schema is migrated by
    ``python -m sales_channel migrate --conn-id sales_channel_db``, never by a task; ``get_conn`` checks
    it. Quarantined orders are retried after ``[sales_channel] quarantine_first_retry_minutes`` (5),
    doubling up to ``quarantine_longest_retry_hours`` (6).
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
        try:
            conn = self.get_connection(self.channel_db_conn_id)
        except AirflowNotFoundException:
            raise AirflowNotFoundException(
                f"the channel database connection {self.channel_db_conn_id!r} is not defined. Create it "
                f"(`make run` does for the sandbox): type 'Amazon Sales Channel database' with Host = a "
                f"SQLAlchemy URL such as postgresql://user:password@host/sales_channel, e.g. "
                f"AIRFLOW_CONN_{self.channel_db_conn_id.upper()}='{{\"conn_type\": \"sales_channel_db\", "
                f"\"host\": \"postgresql://user:password@host/sales_channel\"}}', or a standard Postgres "
                f"connection; then run `python -m sales_channel migrate --conn-id {self.channel_db_conn_id}`"
            ) from None
        return self.url_of(conn)

    def url_of(self, conn: Any) -> URL:
        """The SQLAlchemy URL a ``sales_channel_db``, ``sqlite`` or ``postgres`` connection names."""
        if conn.conn_type == "sales_channel_db" and conn.host and "://" in conn.host:
            return normalize_url(conn.host)  # a full SQLAlchemy URL
        if conn.conn_type in ("sales_channel_db", "sqlite"):
            return URL.create("sqlite", database=conn.host or str(Path(conn.schema or "sales_channel.db")))
        if conn.conn_type in ("postgres", "postgresql"):
            return normalize_url(URL.create("postgresql", username=conn.login, password=conn.password,
                                            host=conn.host, port=conn.port, database=conn.schema or "sales_channel"))
        raise ValueError(f"connection {self.channel_db_conn_id!r}: type {conn.conn_type!r} is not supported "
                         "(use sales_channel_db or postgres)")

    def get_conn(self) -> ChannelStore:
        """The channel store, once its schema is checked to be the one this code expects."""
        if self._store is None:
            backoff = Backoff(first=timedelta(minutes=conf.getfloat("sales_channel", "quarantine_first_retry_minutes",
                                                                      fallback=5.0)),
                              longest=timedelta(hours=conf.getfloat("sales_channel", "quarantine_longest_retry_hours",
                                                                     fallback=6.0)))
            self._store = ChannelStore.open(self.get_url(), quarantine_backoff=backoff,
                                            migrate_command=self._migrate_command)
        return self._store

    @property
    def _migrate_command(self) -> str:
        return f"python -m sales_channel migrate --conn-id {self.channel_db_conn_id}"

    def test_connection(self) -> tuple[bool, str]:
        """Connects and reads the schema revision; never migrates (the Test button changes nothing)."""
        try:
            engine = create_engine_for(self.get_url())
        except Exception as exc:  # noqa: BLE001 - the UI's Test button shows the reason
            return False, f"{type(exc).__name__}: {exc}"
        try:
            check_schema(engine, self._migrate_command)
            return True, f"Connected to the channel database ({engine.dialect.name}), schema up to date"
        except SchemaNotCurrentError as behind:
            return False, f"Connected to the channel database ({engine.dialect.name}), but {behind}"
        except Exception as exc:  # noqa: BLE001 - the UI's Test button shows the reason
            return False, f"{type(exc).__name__}: {exc}"
        finally:
            engine.dispose()
