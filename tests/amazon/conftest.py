"""Fixtures of the SP-API client's contract tests: a fresh Amazon sandbox per test, clients bound to
it, and a thin helper for the sandbox's control API (faults, call counts, orders, auth, ledger)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from sales_channel.amazon import LwaCredentials, SpApiClient
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS

# The sandbox's time scale F in these tests: usage plans refill 1000x faster, so a test can page past a
# burst in about a second; the client paces at the same F (rate_scale).
TIME_SCALE = 1000.0
SELLER_ID = "A1SANDBOXSELLER"
MARKETPLACE_US = "ATVPDKIKX0DER"
CREDENTIALS = LwaCredentials(DEFAULT_CREDENTIALS["lwa_client_id"], DEFAULT_CREDENTIALS["lwa_client_secret"],
                             DEFAULT_CREDENTIALS["refresh_token"])


class SandboxControl:
    """The Amazon sandbox's control API (never the faithful API: that is what the client is for)."""

    def __init__(self, url: str) -> None:
        self.url = f"{url}/_sandbox"
        self.http = requests.Session()

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, f"{self.url}{path}", timeout=30, **kwargs)
        response.raise_for_status()
        return response.json()

    def faults(self, **settings: Any) -> None:
        self._json("PUT", "/faults", json=settings)

    def calls(self, operation: str) -> dict[str, int]:
        """{status: count} of one operation (e.g. {"200": 3, "429": 1})."""
        return {status: n for status, n in self._json("GET", "/calls")["by_status"].get(operation, {}).items()}

    def add_order(self, **spec: Any) -> dict[str, Any]:
        spec.setdefault("items", [{"sellerSku": "MUG-CERAMIC-WHT", "quantity": 2}, {"sellerSku": "TEA-GREEN-100"}])
        return self._json("POST", "/orders", json=spec)["order"]

    def order(self, order_id: str) -> dict[str, Any]:
        return self._json("GET", f"/orders/{order_id}")["order"]

    def change_order(self, order_id: str, **change: Any) -> dict[str, Any]:
        return self._json("PATCH", f"/orders/{order_id}", json=change)["order"]

    def settings(self, **settings: Any) -> dict[str, Any]:
        return self._json("PUT", "/settings", json=settings)

    def expire_tokens(self) -> None:
        self._json("POST", "/auth/expire")

    def ledger(self, kind: str, order_id: str) -> list[dict[str, Any]]:
        return self._json("GET", "/ledger", params={"kind": kind, "orderId": order_id})["entries"]

    def summary(self) -> dict[str, Any]:
        return self._json("GET", "/summary")


@pytest.fixture
def amazon(sandbox_factory: Callable[..., Any]) -> Any:
    """A fresh Amazon sandbox with 30 seeded orders at time scale F."""
    return sandbox_factory("amazon", orders=30, time_scale=TIME_SCALE)


@pytest.fixture
def control(amazon: Any) -> Iterator[SandboxControl]:
    helper = SandboxControl(amazon.url)
    yield helper
    helper.http.close()


@pytest.fixture
def make_client(amazon: Any) -> Iterator[Callable[..., SpApiClient]]:
    """``make_client(**overrides)``: a client of the sandbox, paced at F, with short retry backoff."""
    clients: list[SpApiClient] = []

    def make(credentials: LwaCredentials = CREDENTIALS, **overrides: Any) -> SpApiClient:
        settings: dict[str, Any] = {"seller_id": SELLER_ID, "base_url": amazon.url, "rate_scale": TIME_SCALE,
                                    "backoff_base_s": 0.05, "timeout": (5.0, 15.0)}
        client = SpApiClient(credentials, **{**settings, **overrides})
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
