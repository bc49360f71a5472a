"""amazon_items_from_report: Amazon's flat-file order report (strings) into the typed amazon_items frame."""

from __future__ import annotations

import pandas as pd
import pytest
from sales_channel.amazon.reports import ORDER_REPORT_COLUMNS
from sales_channel.pipeline.reconciliation.frames import (
    AMAZON_ITEMS,
    amazon_items_from_report,
    empty_frame,
    validate_amazon_items,
)

ROW = {column: "" for column in ORDER_REPORT_COLUMNS} | {
    "amazon-order-id": "111-0000001-0000001", "purchase-date": "2024-05-01T10:00:00+00:00",
    "last-updated-date": "2024-05-02T08:30:00+00:00", "order-status": "Unshipped",
    "fulfillment-channel": "Merchant", "sales-channel": "Amazon.com", "sku": "MUG-01", "asin": "B0000MUG01",
    "item-status": "Unshipped", "quantity": "2", "currency": "USD", "item-price": "25.98", "item-tax": "2.14",
    "shipping-price": "4.99", "shipping-tax": "0.41", "gift-wrap-price": "", "gift-wrap-tax": "",
    "item-promotion-discount": "-2.00", "ship-promotion-discount": "-4.99",
}


def report(*rows: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame([ROW | row for row in rows], dtype=str)


def test_amounts_add_up_exactly_in_minor_units_with_discounts_taken_off():
    items = amazon_items_from_report(report({}, {"amazon-order-id": "111-0000002-0000002", "item-promotion-discount":
                                                  "2.00", "ship-promotion-discount": "4.99"}))
    # 25.98 + 2.14 + 4.99 + 0.41 - 2.00 - 4.99, whichever sign the discounts have
    assert items["total_minor"].tolist() == [2653, 2653]
    assert items.dtypes.astype(str).to_dict() == {
        "amazon_order_id": "category", "purchase_date": "datetime64[ns, UTC]", "last_updated": "datetime64[ns, UTC]",
        "order_status": "category", "fulfillment": "category", "marketplace": "category", "sku": "string",
        "quantity": "int64", "quantity_shipped": "int64", "currency": "category", "total_minor": "int64"}
    assert items["amazon_order_id"].tolist() == ["111-0000001-0000001", "111-0000002-0000002"]
    assert list(items.columns) == list(AMAZON_ITEMS)


def test_skus_can_be_translated_through_the_sku_map_as_the_loaders_do():
    items = amazon_items_from_report(report({}, {"amazon-order-id": "111-0000002-0000002", "sku": "FP-1000-AMZ"}))
    items["sku"] = items["sku"].replace({"FP-1000-AMZ": "FRENCH-PRESS-1L"})
    assert validate_amazon_items(items)["sku"].tolist() == ["MUG-01", "FRENCH-PRESS-1L"]


def test_each_currency_has_its_own_minor_units_and_empty_cells_are_no_charge():
    items = amazon_items_from_report(report(
        {"currency": "JPY", "item-price": "4980", "item-tax": "", "shipping-price": "350", "shipping-tax": "",
         "item-promotion-discount": "-500", "ship-promotion-discount": ""},
        {"currency": "KWD", "item-price": "12.345", "item-tax": "0.5", "shipping-price": "", "shipping-tax": "",
         "item-promotion-discount": "", "ship-promotion-discount": ""},
        {"currency": "EUR", "item-price": "19.9", "item-tax": "3.780", "shipping-price": "0", "shipping-tax": "",
         "item-promotion-discount": "", "ship-promotion-discount": ""},
    ))
    assert items["total_minor"].tolist() == [4830, 12845, 2368]


def test_statuses_in_every_spelling_amazon_uses_and_both_channels():
    spellings = ["Pending", "PendingAvailability", "Unshipped", "PartiallyShipped", "Shipping", "Shipped",
                 "Cancelled", "Canceled", "Unfulfillable"]
    items = amazon_items_from_report(report(*(
        {"amazon-order-id": f"111-0000001-{n:07d}", "order-status": status,
         "fulfillment-channel": "Amazon" if n % 2 else "Merchant"} for n, status in enumerate(spellings))))
    assert items["order_status"].tolist() == ["pending", "pending", "unshipped", "partially_shipped",
                                              "partially_shipped", "shipped", "cancelled", "cancelled",
                                              "unfulfillable"]
    assert items["fulfillment"].tolist()[:2] == ["merchant", "amazon"]


def test_quantity_shipped_from_its_column_else_item_status_else_the_orders_status():
    rows = [{"order-status": "Shipping", "item-status": "Shipped", "quantity": "3"},
            {"order-status": "Shipping", "item-status": "Unshipped", "quantity": "1"},
            {"order-status": "Shipped", "item-status": "", "quantity": "2"}]
    assert amazon_items_from_report(report(*rows))["quantity_shipped"].tolist() == [3, 0, 2]
    with_column = report(*rows).assign(**{"quantity-shipped": ["1", "0", "2"]})
    assert amazon_items_from_report(with_column)["quantity_shipped"].tolist() == [1, 0, 2]


def test_times_are_utc():
    items = amazon_items_from_report(report({"purchase-date": "2024-05-01T12:00:00+02:00",
                                             "last-updated-date": "2024-05-01T11:00:00Z"}))
    assert items["purchase_date"].iloc[0] == pd.Timestamp("2024-05-01T10:00:00Z")
    assert items["last_updated"].iloc[0] == pd.Timestamp("2024-05-01T11:00:00Z")


@pytest.mark.parametrize(("column", "value", "message"), [
    ("item-price", "12.345", "column 'item-price' of order 111-0000009-0000009 has '12.345': more decimals than "
                             "its currency has (2)"),
    ("item-tax", "1,50", "column 'item-tax' of order 111-0000009-0000009 has '1,50': not a decimal amount"),
    ("shipping-price", "1e3", "column 'shipping-price' of order 111-0000009-0000009 has '1e3': not a decimal"),
    ("gift-wrap-price", "NaN", "column 'gift-wrap-price' of order 111-0000009-0000009 has 'NaN': not a decimal"),
    ("order-status", "Lost", "column 'order-status' of order 111-0000009-0000009 has 'Lost': unknown value"),
    ("fulfillment-channel", "Drone", "column 'fulfillment-channel' of order 111-0000009-0000009 has 'Drone'"),
    ("quantity", "1.5", "column 'quantity' of order 111-0000009-0000009 has '1.5': not a whole number"),
    ("quantity", "", "column 'quantity' of order 111-0000009-0000009 has '': a value is required"),
    ("purchase-date", "yesterday", "column 'purchase-date' of order 111-0000009-0000009 has 'yesterday': not an "
                                   "ISO 8601 time"),
    ("sku", "", "column 'sku' of order 111-0000009-0000009 has '': a value is required"),
    ("currency", "", "column 'currency' of order 111-0000009-0000009 has '': an order with amounts needs a currency"),
])
def test_a_bad_value_is_refused_naming_its_column_and_order(column, value, message):
    bad = report({}, {"amazon-order-id": "111-0000009-0000009", column: value}, {"amazon-order-id": "111-0000003-0"})
    with pytest.raises(ValueError) as refused:
        amazon_items_from_report(bad)
    assert message in str(refused.value)


def test_a_jpy_amount_with_decimals_is_refused_and_trailing_zeros_are_not():
    assert amazon_items_from_report(report({"currency": "JPY", "item-price": "4980.00", "item-tax": "0",
                                            "shipping-price": "", "shipping-tax": "", "item-promotion-discount": "",
                                            "ship-promotion-discount": ""}))["total_minor"].tolist() == [4980]
    with pytest.raises(ValueError, match="'4980.5': more decimals than its currency has \\(0\\)"):
        amazon_items_from_report(report({"currency": "JPY", "item-price": "4980.5"}))


def test_a_report_missing_a_column_or_an_order_id_is_refused():
    with pytest.raises(ValueError, match="order report: column 'item-tax' is missing"):
        amazon_items_from_report(report({}).drop(columns="item-tax"))
    with pytest.raises(ValueError, match="column 'amazon-order-id' is empty on row 1"):
        amazon_items_from_report(report({}, {"amazon-order-id": ""}))


def test_an_empty_report_gives_the_empty_typed_frame():
    items = amazon_items_from_report(pd.DataFrame({column: pd.Series(dtype=str) for column in ORDER_REPORT_COLUMNS}))
    assert items.empty and list(items.columns) == list(AMAZON_ITEMS)
    validate_amazon_items(items)


def test_validate_names_the_frame_column_and_order():
    validate_amazon_items(empty_frame(AMAZON_ITEMS))
    items = amazon_items_from_report(report({}, {"amazon-order-id": "111-0000002-0000002"}))
    with pytest.raises(ValueError, match="frame amazon_items: column 'sku' has no value on order 111-0000002-0000002"):
        validate_amazon_items(items.assign(sku=pd.array(["MUG-01", None], dtype="string")))
    with pytest.raises(ValueError, match="column 'quantity' is negative on order 111-0000002-0000002"):
        validate_amazon_items(items.assign(quantity=[1, -1]))
    with pytest.raises(ValueError, match="column 'purchase_date' must be datetime \\(UTC\\)"):
        validate_amazon_items(items.assign(purchase_date=items["purchase_date"].dt.tz_convert("Europe/Paris")))
