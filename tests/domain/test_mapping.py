from dataclasses import replace
from decimal import Decimal

import pytest
from sales_channel.domain.amazon_order import parse_order
from sales_channel.domain.errors import ImportBlocked, QuarantineReason
from sales_channel.domain.mapping import CatalogProduct, StoreCurrency, for_customer, map_order, split_name
from sales_channel.domain.rules import Decision, decide
from sales_channel.domain.settings import OrderNumberSource, parse_settings

from tests.domain.factories import item, order

STORE = parse_settings({"us": {"amazon_conn_id": "amazon", "marketplace_ids": ["ATVPDKIKX0DER", "A1VC38T7YXB528"],
                               "commerce_conn_id": "commerce", "store_code": "default",
                               "connected_since": "2026-11-01T00:00:00Z"}})["us"]
USD = StoreCurrency(base="USD", rates={"JPY": Decimal("151.20")})


def catalog(**overrides: CatalogProduct) -> dict[str, CatalogProduct]:
    products = {sku: CatalogProduct(sku=sku, name=sku.title(), product_id=n + 1, enabled=True,
                                    salable_qty=Decimal(100))
                for n, sku in enumerate(["MUG-CERAMIC-WHT", "TEA-GREEN-100", "FRENCH-PRESS-1L"])}
    products.update(overrides)
    return products


def mapped(raw, store=STORE, currency=USD, products=None, sku_map=None):
    parsed = parse_order(raw)
    return map_order(parsed, decide(parsed, store), store, currency, products or catalog(), sku_map or {})


def test_totals_match_what_the_buyer_paid_to_the_cent():
    raw = order(items=[
        item("1", "MUG-CERAMIC-WHT", 3, "12.99", "USD", tax="3.51", shipping="5.99", shipping_tax="0.48",
             discount="3.90"),
        item("2", "TEA-GREEN-100", 1, "8.49", "USD", tax="0.77", gift_wrap="2.99", gift_message="Enjoy"),
    ])
    e = mapped(raw).entity
    paid = Decimal("38.97") + Decimal("5.99") + Decimal("3.51") - Decimal("3.90") + Decimal("8.49") + \
        Decimal("0.77") + Decimal("2.99")
    assert Decimal(str(e["grand_total"])) == paid == Decimal("56.82")
    assert Decimal(str(e["subtotal"])) == Decimal("47.46")
    assert Decimal(str(e["shipping_amount"])) == Decimal("5.99")
    assert Decimal(str(e["tax_amount"])) == Decimal("4.28")
    assert Decimal(str(e["discount_amount"])) == Decimal("-3.90")
    assert e["extension_attributes"]["gw_items_price"] == "2.99"
    parts = (e["subtotal"], e["shipping_amount"], e["tax_amount"], e["discount_amount"])
    assert sum(Decimal(str(p)) for p in parts) + Decimal("2.99") == Decimal(str(e["grand_total"]))
    first = e["items"][0]
    assert (first["sku"], first["qty_ordered"], first["price"], first["row_total"], first["discount_amount"]) == (
        "MUG-CERAMIC-WHT", 3, 12.99, 38.97, 3.9)
    assert Decimal(str(first["tax_amount"])) == Decimal("3.03")  # shipping tax is on the order's shipping
    assert e["extension_attributes"]["gift_message"]["message"] == "Enjoy"
    assert e["discount_description"] == "PROMO-AUTUMN-10"


def test_amazon_order_number_is_in_ext_order_id_and_the_payment_section():
    e = mapped(order(order_id="113-0000001-0000002")).entity
    assert e["ext_order_id"] == "113-0000001-0000002"
    assert "Amazon order 113-0000001-0000002" in e["payment"]["additional_information"]
    info = {i["key"]: i["value"] for i in e["extension_attributes"]["payment_additional_info"]}
    assert info["amazon_order_id"] == "113-0000001-0000002"
    assert info["amazon_fulfillment_channel"] == "MFN" and info["amazon_marketplace_name"] == "Amazon.com"
    assert "increment_id" not in e  # Commerce numbers it by default


def test_base_amounts_use_the_store_rate_and_jpy_has_no_decimals():
    raw = order(marketplace="A1VC38T7YXB528", currency="JPY",
                items=[item("1", "TEA-GREEN-100", 2, "1280", "JPY", tax="256", shipping="500")])
    e = mapped(raw).entity
    assert e["order_currency_code"] == "JPY" and e["base_currency_code"] == "USD"
    assert e["grand_total"] == 3316
    assert Decimal(str(e["base_grand_total"])) == (Decimal(3316) / Decimal("151.20")).quantize(Decimal("0.01"))


def test_currency_not_allowed_in_the_store_is_quarantined():
    raw = order(marketplace="A1VC38T7YXB528", currency="JPY",
                items=[item("1", "TEA-GREEN-100", 1, "1280", "JPY")])
    with pytest.raises(ImportBlocked) as caught:
        mapped(raw, currency=StoreCurrency(base="USD", rates={}))
    assert caught.value.reason is QuarantineReason.CURRENCY_NOT_ALLOWED
    assert "JPY" in str(caught.value) and "113-1234567-7654321" in str(caught.value)


@pytest.mark.parametrize(("products", "sku", "reason"), [
    (catalog(), "GIFTCARD-PHYS-50", QuarantineReason.UNKNOWN_SKU),
    (catalog(**{"TEA-GREEN-100": CatalogProduct("TEA-GREEN-100", "Tea", 2, False, Decimal(9))}), "TEA-GREEN-100",
     QuarantineReason.PRODUCT_DISABLED),
    (catalog(**{"TEA-GREEN-100": CatalogProduct("TEA-GREEN-100", "Tea", 2, True, Decimal(1))}), "TEA-GREEN-100",
     QuarantineReason.OUT_OF_STOCK),
])
def test_catalog_blockers(products, sku, reason):
    raw = order(items=[item("1", "MUG-CERAMIC-WHT", 1, "12.99", "USD"), item("2", sku, 2, "8.49", "USD")])
    with pytest.raises(ImportBlocked) as caught:
        mapped(raw, products=products)
    assert caught.value.reason is reason
    assert sku in str(caught.value)


def test_amazon_fulfilled_orders_skip_the_stock_check_and_take_no_stock():
    products = catalog(**{"TEA-GREEN-100": CatalogProduct("TEA-GREEN-100", "Tea", 2, True, Decimal(0))})
    raw = order(status="SHIPPED", fulfilled_by="AMAZON", email=None,
                items=[item("1", "TEA-GREEN-100", 2, "8.49", "USD", shipped=2)])
    draft = mapped(raw, products=products)
    assert draft.stock_moves == ()
    info = {i["key"]: i["value"] for i in draft.entity["extension_attributes"]["payment_additional_info"]}
    assert info["amazon_fulfillment_channel"] == "AFN"
    assert draft.entity["customer_email"] == "113-1234567-7654321@marketplace.amazon.invalid"


def test_stock_moves_count_only_what_is_left_to_ship():
    raw = order(status="PARTIALLY_SHIPPED", items=[item("1", "MUG-CERAMIC-WHT", 3, "12.99", "USD", shipped=1)])
    assert mapped(raw).stock_moves == (("MUG-CERAMIC-WHT", 2),)


def test_sku_map_resolves_a_different_amazon_seller_sku():
    raw = order(items=[item("1", "FP-1000-AMZ", 1, "31.90", "USD")])
    draft = mapped(raw, sku_map={"FP-1000-AMZ": "FRENCH-PRESS-1L"})
    assert draft.entity["items"][0]["sku"] == "FRENCH-PRESS-1L"
    assert draft.entity["items"][0]["ext_order_item_id"] == "1"


@pytest.mark.parametrize(("address", "field", "reason"), [
    ({}, "recipient.deliveryAddress.name", QuarantineReason.INVALID_ADDRESS),
    ({"name": "A B", "city": "Seattle", "postalCode": "98101", "countryCode": "US"},
     "recipient.deliveryAddress.addressLine1", QuarantineReason.INVALID_ADDRESS),
    ({"name": "A B", "addressLine1": "x", "city": "Seattle", "countryCode": "USA", "postalCode": "1"},
     "recipient.deliveryAddress.countryCode", QuarantineReason.INVALID_ADDRESS),
    ({"name": "A B", "addressLine1": "x", "city": "Seattle", "countryCode": "US"},
     "recipient.deliveryAddress.postalCode", QuarantineReason.INVALID_ADDRESS),
])
def test_invalid_addresses_are_quarantined_naming_the_field(address, field, reason):
    with pytest.raises(ImportBlocked) as caught:
        mapped(order(address=address))
    assert (caught.value.reason, caught.value.field) == (reason, field)


def test_missing_address_is_quarantined():
    raw = order()
    raw.pop("recipient")
    with pytest.raises(ImportBlocked) as caught:
        mapped(raw)
    assert caught.value.reason is QuarantineReason.MISSING_ADDRESS


def test_non_latin_names_and_addresses_are_preserved():
    raw = order(marketplace="A1VC38T7YXB528", currency="JPY", name="山田 太郎",
                items=[item("1", "TEA-GREEN-100", 1, "1280", "JPY")],
                address={"name": "山田 太郎", "addressLine1": "千代田区丸の内1-1-1", "city": "東京都",
                         "postalCode": "100-0005", "countryCode": "JP", "phone": "03-1234-5678"})
    shipping = mapped(raw).entity["extension_attributes"]["shipping_assignments"][0]["shipping"]["address"]
    assert (shipping["firstname"], shipping["lastname"]) == ("太郎", "山田")
    assert shipping["street"] == ["千代田区丸の内1-1-1"] and shipping["city"] == "東京都"


@pytest.mark.parametrize(("name", "expected"), [
    ("Jane Q. Public", ("Jane Q.", "Public")), ("Zoë Ångström", ("Zoë", "Ångström")),
    ("山田 太郎", ("太郎", "山田")), ("Иван Петров", ("Иван", "Петров")), ("Madonna", ("Madonna", "-")),
])
def test_split_name(name, expected):
    assert split_name(name) == expected


def test_increment_id_from_amazon_with_prefixes():
    store = replace(STORE, order_number_source=OrderNumberSource.AMAZON, prefix_regular="AMZ-", prefix_fba="FBA-",
                    prefix_prime="P-", prefix_business="B2B-")
    assert mapped(order(), store=store).increment_id == "AMZ-113-1234567-7654321"
    assert mapped(order(programs=["PRIME"]), store=store).increment_id == "AMZ-P-113-1234567-7654321"
    assert mapped(order(programs=["AMAZON_BUSINESS", "PRIME"]), store=store).increment_id == \
        "AMZ-B2B-113-1234567-7654321"
    fba = order(status="SHIPPED", fulfilled_by="AMAZON", items=[item("1", "TEA-GREEN-100", 1, "8.49", "USD", shipped=1)])
    assert mapped(fba, store=store).entity["increment_id"] == "AMZ-FBA-113-1234567-7654321"


def test_mapping_refuses_orders_the_matrix_does_not_create():
    parsed = parse_order(order(status="PENDING"))
    with pytest.raises(ValueError, match="does not create"):
        map_order(parsed, Decision.WAIT_PENDING, STORE, USD, catalog(), {})


def test_for_customer_places_the_order_on_an_account_and_keeps_the_rest():
    draft = mapped(order())
    placed = for_customer(draft, 42)
    assert (draft.entity["customer_is_guest"], placed.entity["customer_is_guest"]) == (1, 0)
    assert placed.entity["customer_id"] == 42 and placed.entity["customer_group_id"] == 1
    assert {k: v for k, v in placed.entity.items() if not k.startswith("customer_")} == \
        {k: v for k, v in draft.entity.items() if not k.startswith("customer_")}
