"""Adobe Commerce REST API, reached through an ``adobe_commerce`` Airflow connection."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from sales_channel.airflow.hooks._connection import conn_extras, mask
from sales_channel.commerce.client import CommerceClient


class AdobeCommerceHook(BaseHook):
    """One Commerce installation. *Host* is the store's base URL (``https://shop.example.com``),
    *Password* the integration token; the extra ``store_code`` picks the store view (default
    ``default``), and callers may override it per store."""

    conn_name_attr = "commerce_conn_id"
    default_conn_name = "adobe_commerce_default"
    conn_type = "adobe_commerce"
    hook_name = "Adobe Commerce"

    def __init__(self, commerce_conn_id: str = default_conn_name, store_code: str | None = None,
                 pool_maxsize: int = 16, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commerce_conn_id = commerce_conn_id
        self.store_code = store_code
        self.pool_maxsize = pool_maxsize

    def get_conn(self) -> CommerceClient:
        conn = self.get_connection(self.commerce_conn_id)
        if not conn.host:
            raise ValueError(f"connection {self.commerce_conn_id!r}: Host (the store's base URL) is required")
        if not conn.password:
            raise ValueError(f"connection {self.commerce_conn_id!r}: Password (the integration token) is required")
        mask(conn.password)
        base_url = conn.host if "://" in conn.host else f"https://{conn.host}"
        if conn.port and f":{conn.port}" not in base_url:
            base_url = f"{base_url.rstrip('/')}:{conn.port}"
        store_code = self.store_code or conn_extras(conn).get("store_code") or "default"
        return CommerceClient(base_url, conn.password, store_code=store_code, pool_maxsize=self.pool_maxsize)

    def test_connection(self) -> tuple[bool, str]:
        """Reads the store's currency settings: proves the URL, the token and its ACL."""
        try:
            with self.get_conn() as client:
                info = client.directory.currency_info()
            return True, f"Connected: base currency {info.base_currency_code}"
        except Exception as exc:  # noqa: BLE001 - the UI's Test button shows the reason
            return False, f"{type(exc).__name__}: {exc}"
