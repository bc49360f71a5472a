"""Where the view's data comes from inside the api-server: the channel database, the stores' settings and
the Commerce base URLs, each read through Airflow's own connection and Variable facilities.

Nothing happens at import time (every Airflow component imports the plugin): the engine is made at the
first request and kept for as long as the connection names the same database.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.orm import Session

from sales_channel.airflow.hooks import AdobeCommerceHook, ChannelDatabaseHook
from sales_channel.airflow.plugin.queries import Stores
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.engine import read_only

CONN_ID = ChannelDatabaseHook.default_conn_name


class ChannelUnavailable(RuntimeError):
    """The channel database cannot be read; the message names the connection and says what to do."""


@dataclass(frozen=True)
class Settings:
    """The stores' settings, or why they could not be read (the view still lists orders without them)."""

    stores: Stores
    problem: str | None = None


class ChannelSource:
    """The channel store of the connection ``sales_channel_db``, opened at first use (schema checked)."""

    def __init__(self, conn_id: str = CONN_ID) -> None:
        self.conn_id = conn_id
        self._lock = threading.Lock()
        self._store: ChannelStore | None = None
        self._url: str | None = None

    def store(self) -> ChannelStore:
        hook = ChannelDatabaseHook(self.conn_id)
        try:
            url = hook.get_url().render_as_string(hide_password=False)
        except Exception as exc:  # noqa: BLE001 - the page says why, naming the connection
            raise ChannelUnavailable(f"connection {self.conn_id!r}: {exc}") from exc
        with self._lock:
            if self._store is None or self._url != url:
                try:
                    opened = hook.get_conn()
                except Exception as exc:  # noqa: BLE001 - the page says why, naming the connection
                    raise ChannelUnavailable(f"channel database of connection {self.conn_id!r}: "
                                             f"{type(exc).__name__}: {exc}") from exc
                if self._store is not None:
                    self._store.close()
                self._store, self._url = opened, url
            return self._store

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read-only transaction (deferred on SQLite: it never waits for a pipeline's writer)."""
        with Session(read_only(self.store().engine)) as session, session.begin():
            yield session

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
            self._store = self._url = None


def load_settings() -> Settings:
    """The stores of the Variable ``sales_channel_stores`` (the tasks' own loader), or why not."""
    from sales_channel.airflow.tasks.common import load_stores

    try:
        document = load_stores()
    except Exception as exc:  # noqa: BLE001 - shown on the page: the orders are listed without store keys
        return Settings(Stores(), f"the stores' settings could not be read: {exc}")
    problem = "; ".join(f"store {key}: {why}" for key, why in document.invalid.items()) or None
    return Settings(Stores(document.valid), problem)


def commerce_admin_urls(stores: Stores) -> dict[str, str]:
    """Per store key, the Commerce admin's order URL prefix, from the store's Commerce connection
    (``<base>/admin/sales/order/view/order_id/``: Magento's default admin path). Stores whose
    connection cannot be read are left out: their orders show the increment id without a link."""
    urls: dict[str, str] = {}
    for key, store in stores.by_key.items():
        try:
            client = AdobeCommerceHook(store.commerce_conn_id).get_conn()
        except Exception:  # noqa: BLE001, S112 - a link is a convenience; the increment id is still shown
            continue
        try:
            root = client._transport.api_root.rsplit("/rest/", 1)[0]  # the hook's base URL, as the client has it
            urls[key] = f"{root}/admin/sales/order/view/order_id/"
        finally:
            client.close()
    return urls
