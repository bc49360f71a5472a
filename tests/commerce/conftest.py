"""Fixtures of the Commerce client's contract tests: a fresh Commerce sandbox, a client on it, the
sandbox's control API, and valid order bodies (what the import's mapping sends, reduced)."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import requests
from sales_channel.commerce import CommerceClient, RetryPolicy
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS

FAST_RETRY = RetryPolicy(max_attempts=4, initial_wait=0.01, max_wait=0.05, jitter=0.01)


class Control:
    """The sandbox's control API (``/_sandbox``): faults, call counts, ledger."""

    def __init__(self, url: str) -> None:
        self.url = f"{url}/_sandbox"

    def faults(self, **settings: Any) -> None:
        requests.put(f"{self.url}/faults", json=settings, timeout=5).raise_for_status()

    def calls(self) -> dict[str, int]:
        response = requests.get(f"{self.url}/calls", timeout=5)
        response.raise_for_status()
        return response.json()["calls"]

    def reset_calls(self) -> None:
        requests.delete(f"{self.url}/calls", timeout=5).raise_for_status()

    def insert_order(self, entity: dict[str, Any]) -> dict[str, Any]:
        """An order "created by another connector" (not through the client under test)."""
        response = requests.post(f"{self.url}/orders", data=json.dumps({"entity": entity}, default=float),
                                 headers={"Content-Type": "application/json"}, timeout=5)
        response.raise_for_status()
        return response.json()

    def settled_calls(self, expected_total: int, timeout: float = 5.0) -> dict[str, int]:
        """The call counts once ``expected_total`` calls are recorded: the sandbox records a call when
        its handler finishes, which can be after a client gave up waiting for it."""
        deadline = time.monotonic() + timeout
        while sum((calls := self.calls()).values()) < expected_total and time.monotonic() < deadline:
            time.sleep(0.05)
        return calls

    def get(self, path: str, **params: Any) -> Any:
        response = requests.get(f"{self.url}/{path}", params=params, timeout=5)
        response.raise_for_status()
        return response.json()


@pytest.fixture
def sandbox(sandbox_factory: Callable[..., Any]) -> Any:
    """An empty Commerce store (catalog seeded, no orders)."""
    return sandbox_factory("commerce", orders=0)


@pytest.fixture
def client(sandbox: Any) -> CommerceClient:
    with CommerceClient(sandbox.url, DEFAULT_CREDENTIALS["commerce_token"], retry=FAST_RETRY) as commerce:
        yield commerce


@pytest.fixture
def control(sandbox: Any) -> Control:
    return Control(sandbox.url)


_ext_ids = itertools.count(1)


def next_ext_order_id() -> str:
    return f"113-{next(_ext_ids):07d}-{4242424:07d}"


def order_entity(ext_order_id: str | None = None, lines: tuple[tuple[str, int, str], ...] = (
        ("MUG-CERAMIC-WHT", 2, "12.99"), ("TEA-GREEN-100", 1, "8.49"))) -> dict[str, Any]:
    """A complete order body: items, totals to the cent, payment, billing and shipping addresses."""
    ext_order_id = ext_order_id or next_ext_order_id()
    items = [{"sku": sku, "name": sku, "qty_ordered": qty, "price": Decimal(price), "base_price": Decimal(price),
              "row_total": Decimal(price) * qty, "base_row_total": Decimal(price) * qty,
              "product_type": "simple", "ext_order_item_id": f"{ext_order_id}-{n}"}
             for n, (sku, qty, price) in enumerate(lines)]
    subtotal = sum((item["row_total"] for item in items), Decimal(0))
    shipping = Decimal("4.99")
    total = subtotal + shipping
    address = {"firstname": "Jürgen", "lastname": "Müller", "street": ["Hauptstraße 1"], "city": "Berlin",
               "postcode": "10115", "country_id": "DE", "telephone": "+49 30 1234567",
               "email": "buyer@marketplace.example"}
    return {
        "ext_order_id": ext_order_id, "store_id": 1, "state": "new", "status": "pending",
        "customer_email": "buyer@marketplace.example", "customer_firstname": "Jürgen",
        "customer_lastname": "Müller", "customer_is_guest": 1, "order_currency_code": "EUR",
        "base_currency_code": "EUR", "global_currency_code": "EUR", "store_currency_code": "EUR",
        "subtotal": subtotal, "base_subtotal": subtotal, "shipping_amount": shipping,
        "base_shipping_amount": shipping, "tax_amount": Decimal(0), "base_tax_amount": Decimal(0),
        "grand_total": total, "base_grand_total": total, "total_due": total, "base_total_due": total,
        "billing_address": {**address, "address_type": "billing"},
        "payment": {"method": "checkmo", "account_status": "active", "cc_last4": "",
                    "additional_information": [f"Amazon order {ext_order_id}"]},
        "items": items,
        "extension_attributes": {"shipping_assignments": [{"shipping": {
            "address": {**address, "address_type": "shipping"}, "method": "flatrate_flatrate"},
            "items": [{"sku": item["sku"], "qty_ordered": item["qty_ordered"]} for item in items]}]},
    }
