"""The Adobe Commerce (Magento 2.4) REST client the pipelines use: the entry point to the resources.

One client per store (base URL + store code), safe to share across the threads of a pool. Its resources
share one transport (``transport``: auth, retries, errors), each in a module of its own: ``orders``,
``invoices``, ``shipments``, ``creditmemos``, ``catalog`` (products, stock), ``customers``, ``directory``
(store configuration, currencies). Writes that create something are never repeated blindly.

    client = CommerceClient("https://shop.example.com", token, store_code="default")
    by_ext_id = client.orders.find_by_ext_order_ids(["113-1234567-1234567", ...])
    order = client.orders.create({...})          # AmbiguousWriteError -> look up by ext_order_id first
    client.orders.add_comment(order.entity_id, "Imported from Amazon", status=order.status)
    shipment_id = client.shipments.create(order.entity_id, tracks=[Track("1Z...", "ups", "UPS")])
"""

from __future__ import annotations

import re
from typing import Any, Self

from sales_channel.commerce.catalog import Catalog
from sales_channel.commerce.creditmemos import CreditMemos
from sales_channel.commerce.customers import Customers
from sales_channel.commerce.directory import Directory
from sales_channel.commerce.invoices import Invoices
from sales_channel.commerce.orders import Orders
from sales_channel.commerce.search import Chunking
from sales_channel.commerce.shipments import Shipments
from sales_channel.commerce.transport import (
    CallStats,
    RetryPolicy,
    Transport,
    refuse_sandbox_credentials_off_loopback,
)

_STORE_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds


class CommerceClient:
    """Commerce REST API for one store view, authenticated by a bearer integration (or admin) token.

    Its resources (``orders``, ``invoices``, ``shipments``, ``creditmemos``, ``catalog``, ``customers``,
    ``directory``) share its one transport: one connection pool, one token, one set of call counts."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        store_code: str = "default",
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        pool_maxsize: int = 16,
        retry: RetryPolicy | None = None,
        page_size: int = 100,
        chunking: Chunking | None = None,
    ) -> None:
        """``base_url`` is the store's root (``https://shop.example.com``, or with the install's path
        prefix); ``timeout`` is (connect, read) seconds for every call; ``pool_maxsize`` should be at least
        the number of threads sharing the client."""
        if not token:
            raise ValueError("token: a Commerce integration or admin token is required")
        self._transport = self._open(base_url, store_code, timeout, pool_maxsize, retry, token)
        self._transport.set_bearer(token)
        chunking = chunking or Chunking()
        if page_size < chunking.max_items:
            raise ValueError(f"page_size ({page_size}) must be >= chunking.max_items "
                             f"({chunking.max_items}) so a batch lookup takes one call per chunk")
        shared = (self._transport, page_size, chunking)
        self.orders = Orders(*shared)
        self.invoices = Invoices(*shared)
        self.shipments = Shipments(*shared)
        self.creditmemos = CreditMemos(*shared)
        self.catalog = Catalog(*shared)
        self.customers = Customers(*shared)
        self.directory = Directory(*shared)

    @classmethod
    def with_admin_login(cls, base_url: str, username: str, password: str, *, store_code: str = "default",
                         **kwargs: Any) -> Self:
        """Log in as an admin (``POST /V1/integration/admin/token``) and return a client using that token.

        For local use: the token lasts 4 hours and is not renewed, and real installs may require 2FA.
        Unattended pipelines use an integration token."""
        if not username or not password:
            raise ValueError("username and password are required for the admin login")
        login = cls._open(base_url, store_code, kwargs.get("timeout", DEFAULT_TIMEOUT), 1, kwargs.get("retry"),
                          password)
        try:
            token = login.call("POST", "/V1/integration/admin/token",
                               body={"username": username, "password": password}, idempotent=True)
        finally:
            login.close()
        if not isinstance(token, str) or not token:
            raise ValueError("admin login answered without a token")
        return cls(base_url, token, store_code=store_code, **kwargs)

    @staticmethod
    def _open(base_url: str, store_code: str, timeout: tuple[float, float], pool_maxsize: int,
              retry: RetryPolicy | None, secret: str) -> Transport:
        scheme = base_url.split("://", 1)[0].lower() if "://" in base_url else ""
        if scheme not in ("http", "https"):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        root = base_url.rstrip("/")
        if root.endswith(("/rest", "/V1")) or "/rest/" in root:
            raise ValueError(f"base_url is the store's root, without /rest/<store>/V1; got {base_url!r}")
        if not _STORE_CODE.match(store_code):
            raise ValueError(f"store_code {store_code!r} is not a Magento store code (letters, digits, _)")
        refuse_sandbox_credentials_off_loopback(root, secret)
        return Transport(f"{root}/rest/{store_code}", timeout=timeout, pool_maxsize=pool_maxsize,
                         retry=retry or RetryPolicy())

    @property
    def stats(self) -> CallStats:
        """HTTP requests made, per operation (``"GET /V1/orders"``), retries included."""
        return self._transport.stats

    @property
    def api_root(self) -> str:
        return self._transport.api_root

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_root={self.api_root!r}, token='****')"
