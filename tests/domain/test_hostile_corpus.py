"""Every hostile order of the corpus ends as ImportBlocked (with its reason, naming the field, never a
buyer value) or as a Commerce order to the cent — never as another exception."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest
from sales_channel.domain.amazon_order import parse_order
from sales_channel.domain.errors import SHOWN_CHARS, ImportBlocked
from sales_channel.domain.mapping import CatalogProduct, CommerceOrderDraft, StoreCurrency, map_order
from sales_channel.domain.rules import decide
from sales_channel.domain.settings import parse_settings

from tests.fixtures.hostile_orders import BUYER_VALUES, HOSTILE_ORDERS, SKUS, base_order

STORE = parse_settings({"us": {"amazon_conn_id": "amazon", "marketplace_ids": ["ATVPDKIKX0DER"],
                               "commerce_conn_id": "commerce", "store_code": "default",
                               "connected_since": "2020-01-01T00:00:00Z"}})["us"]
USD = StoreCurrency(base="USD", rates={"EUR": Decimal("0.92")})
CATALOG = {sku: CatalogProduct(sku=sku, name=sku.title(), product_id=n + 1, enabled=True, salable_qty=Decimal(5000))
           for n, sku in enumerate(SKUS)}


def _import(raw: Any) -> CommerceOrderDraft:
    order = parse_order(raw)
    return map_order(order, decide(order, STORE), STORE, USD, CATALOG, {})


def _buyer_strings(raw: Any) -> list[str]:
    """The buyer data an entry carries (its own hostile names and streets as well as the base's)."""
    found = list(BUYER_VALUES)
    if isinstance(raw, dict):
        for part in (raw.get("buyer"), (raw.get("recipient") or {}).get("deliveryAddress")):
            if isinstance(part, dict):
                found += [v for k, v in part.items() if isinstance(v, str) and k != "countryCode"]
    return [value[:12] for value in found if len(value) >= 4]


@pytest.mark.parametrize("case", HOSTILE_ORDERS, ids=lambda case: case.name)
def test_hostile_order_is_quarantined_or_imported_to_the_cent(case):
    try:
        draft = _import(case.raw)
    except ImportBlocked as blocked:
        message = str(blocked)
        assert case.expectation[0] == "quarantine", f"{case.name} was quarantined: {message}"
        _, reason, field = case.expectation
        assert (blocked.reason.value, field in blocked.field) == (reason, True), message
        assert message.startswith(f"order {blocked.order_id}: {blocked.field}: ")
        assert len(blocked.order_id) <= SHOWN_CHARS + 3 and "\n" not in message
        assert [value for value in _buyer_strings(case.raw) if value in message] == []
        return
    assert case.expectation[0] == "import", f"{case.name} was imported, expected {case.expectation}"
    total = case.expectation[1]
    entity = draft.entity
    if total is not None:
        assert Decimal(str(entity["grand_total"])) == Decimal(total)
    parts = (entity["subtotal"], entity["shipping_amount"], entity["tax_amount"], entity["discount_amount"])
    assert sum(Decimal(str(p)) for p in parts) == Decimal(str(entity["grand_total"]))


def test_the_corpus_is_large_and_its_ids_are_unique():
    assert len(HOSTILE_ORDERS) >= 40
    assert len({case.name for case in HOSTILE_ORDERS}) == len(HOSTILE_ORDERS)
    ids = [case.raw["orderId"] for case in HOSTILE_ORDERS if isinstance(case.raw, dict) and "orderId" in case.raw]
    assert len(ids) == len(set(ids))


def test_legitimate_markup_and_scripts_reach_commerce_unchanged():
    by_name = {case.name: case for case in HOSTILE_ORDERS}
    entity = _import(by_name["html_in_the_names"].raw).entity
    assert entity["billing_address"]["firstname"] == "<script>alert(1)</script>"
    assert entity["items"][0]["name"] == "<img src=x onerror=alert(1)>"
    assert _import(by_name["japanese_names"].raw).entity["customer_lastname"] == "山田"
    street = _import(by_name["tabs_and_newlines_in_the_street"].raw).entity["billing_address"]["street"]
    assert street == ["1200 Westlake Ave N  Suite 7"]


def test_other_charges_ride_with_shipping_and_keep_the_total_exact():
    tip = next(c for c in HOSTILE_ORDERS if c.name == "delivery_tip_charged_on_the_order")
    entity = _import(tip.raw).entity
    assert Decimal(str(entity["shipping_amount"])) == Decimal("4.99") + Decimal("3.00")
    assert Decimal(str(entity["grand_total"])) == Decimal("45.22")


def test_a_thousand_item_order_parses_and_maps_fast():
    big = next(c for c in HOSTILE_ORDERS if c.name == "one_thousand_items")
    started = time.perf_counter()
    entity = _import(big.raw).entity
    assert time.perf_counter() - started < 1.0
    assert len(entity["items"]) == 1000 and entity["total_qty_ordered"] == 1000


def test_the_base_order_is_valid():
    assert Decimal(str(_import(base_order("990-0000000-0000001")).entity["grand_total"])) == Decimal("42.22")
