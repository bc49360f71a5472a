import pytest
from sales_channel.domain.settings import SettingsError, StockHandling, parse_settings

VALID = {"amazon_conn_id": "amazon_sp_api_default", "marketplace_ids": ["ATVPDKIKX0DER"],
         "commerce_conn_id": "adobe_commerce_default", "store_code": "default",
         "connected_since": "2026-11-01T00:00:00Z"}


def test_defaults_follow_the_adobe_extension():
    store = parse_settings({"us": VALID})["us"]
    assert store.import_enabled and store.active and not store.read_only
    assert store.customer_creation == "guest" and store.order_number_source == "commerce"
    assert store.stock_handling is StockHandling.DECREMENT


def test_round_trip_through_json():
    stores = parse_settings({"us": {**VALID, "order_number_prefixes": {"fba": "FBA-"}, "read_only": True}})
    assert parse_settings({"us": stores["us"].to_json()}) == stores


@pytest.mark.parametrize(("document", "message"), [
    ({"us": {**VALID, "stock_handling": "sometimes"}}, "store 'us': field 'stock_handling'"),
    ({"eu": {k: v for k, v in VALID.items() if k != "store_code"}}, "store 'eu': field 'store_code' is required"),
    ({"us": {**VALID, "marketplace_ids": ["not-an-id"]}}, "store 'us': field 'marketplace_ids.0'"),
    ({"us": {**VALID, "placeholder_email": "orders@example.com"}}, "store 'us': field 'placeholder_email'"),
    ({"us": {**VALID, "connected_since": "2026-11-01T00:00:00"}}, "store 'us': field 'connected_since'"),
    ({"us": {**VALID, "surprise": 1}}, "store 'us'"),
    ("{not json", "not valid JSON"),
    ({}, "stores settings"),
])
def test_invalid_settings_name_the_store_and_the_field(document, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(".", r"\.")):
        parse_settings(document)
