"""A world for import tests below the DAG: both sandboxes over real HTTP, a real channel database
(SQLite, and PostgreSQL when configured), and ``AccountImport`` runs built as the task builds them."""

from __future__ import annotations

import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from sales_channel.amazon.auth import LwaCredentials
from sales_channel.domain.settings import StoreSettings, parse_settings
from sales_channel.pipeline.importing.account import AccountImport, AccountSummary
from sales_channel.pipeline.standalone import open_account_import
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS as CREDS
from sales_channel.sandbox.oracle import amazon_orders, commerce_orders_created
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.models import QuarantinedOrder
from sqlalchemy import update

ACCOUNT = "seller-1"
US = ["ATVPDKIKX0DER", "A1VC38T7YXB528"]
EU = ["A1PA6795UKMFR9", "A2NODRKZP88ZB9"]


@dataclass
class Harness:
    amazon_url: str
    commerce_url: str
    db_url: str
    stack: ExitStack
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)

    def settings(self, **common: Any) -> list[StoreSettings]:
        since = (datetime.now(UTC) - timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
        base = {"amazon_conn_id": ACCOUNT, "commerce_conn_id": "commerce", "connected_since": since, **common}
        document = {"us": {**base, "marketplace_ids": US, "store_code": "default", "store_id": 1,
                           **self.overrides.get("us", {})},
                    "eu": {**base, "marketplace_ids": EU, "store_code": "de", "store_id": 2,
                           **self.overrides.get("eu", {})}}
        return [s for s in parse_settings(document).values() if s.active]

    def importer(self, settle: timedelta = timedelta(seconds=2), retry: timedelta = timedelta(0), workers: int = 4,
                 **common: Any) -> AccountImport:
        return self.stack.enter_context(open_account_import(
            self.settings(**common), amazon_url=self.amazon_url, commerce_url=self.commerce_url, db_url=self.db_url,
            credentials=LwaCredentials(CREDS["lwa_client_id"], CREDS["lwa_client_secret"], CREDS["refresh_token"]),
            commerce_token=CREDS["commerce_token"], rate_scale=1.0, workers=workers, settle=settle,
            retry=retry))

    def run(self, deadline_s: float | None = None, **kwargs: Any) -> AccountSummary:
        """One run, as one task attempt: a new importer each time (nothing carried in memory)."""
        run = self.importer(**kwargs)
        return run.run(run.plan_window(), deadline=time.monotonic() + deadline_s if deadline_s else None)

    def channel(self) -> ChannelStore:
        store = ChannelStore.open(self.db_url)
        self.stack.callback(store.close)
        return store

    def make_due(self, *order_ids: str) -> None:
        """The quarantine's backoff of these orders has passed (instead of waiting minutes), in this order."""
        with self.channel().engine.begin() as connection:
            for n, order_id in enumerate(order_ids):
                connection.execute(update(QuarantinedOrder).where(QuarantinedOrder.amazon_order_id == order_id)
                                   .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=60 - n * 0.001)))

    def amazon(self, method: str, path: str, **kw: Any) -> Any:
        response = requests.request(method, f"{self.amazon_url}/_sandbox/{path}", timeout=60, **kw)
        response.raise_for_status()
        return response.json()

    def commerce(self, method: str, path: str, **kw: Any) -> Any:
        response = requests.request(method, f"{self.commerce_url}/_sandbox/{path}", timeout=60, **kw)
        response.raise_for_status()
        return response.json()

    def created(self) -> Counter[str]:
        """Commerce orders created, by ext_order_id (from the sandbox's ledger, not from our records)."""
        return commerce_orders_created(self.commerce_url)

    def amazon_orders(self) -> list[dict[str, Any]]:
        return amazon_orders(self.amazon_url, US + EU)

    def search_calls(self) -> int:
        return requests.get(f"{self.amazon_url}/_sandbox/calls", timeout=10).json()["calls"].get("searchOrders", 0)


@pytest.fixture
def harness(sandbox_factory, db_url) -> Harness:
    amazon = sandbox_factory("amazon", orders=40, seed=23)
    commerce = sandbox_factory("commerce")
    ChannelStore.open(db_url, migrate=True).close()
    with ExitStack() as stack:
        yield Harness(amazon.url, commerce.url, db_url, stack)
