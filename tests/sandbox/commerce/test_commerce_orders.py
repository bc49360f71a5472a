"""POST/PUT/GET orders: what is stored, how input is validated, per-store increment ids."""

from __future__ import annotations

import re

import pytest

from .support import CommerceApi, assert_magento_error, assert_schema, order_entity

REQUIRED = '"%fieldName" is required. Enter and try again.'
PROCESSING = 'Error occurred during "%field_name" processing. %details'
DATE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def test_post_order_keeps_what_the_import_sends(api: CommerceApi) -> None:
    stock_before = api.get("stockItems/MUG-CERAMIC-WHT").json()["qty"]
    order = api.create_order()
    assert_schema(order, "sales-data-order-interface")
    assert order == api.order(order["entity_id"])
    assert isinstance(order["entity_id"], int) and order["increment_id"] == "000000001"
    assert (order["state"], order["status"]) == ("new", "pending")
    assert DATE.match(order["created_at"]) and DATE.match(order["updated_at"])
    assert order["ext_order_id"] == "113-0000001-0000001"
    # Totals exactly as sent: nothing recomputed (the items alone sum to 38.98).
    assert (order["grand_total"], order["subtotal"], order["shipping_amount"]) == (43.97, 38.98, 4.99)
    assert order["payment"]["additional_information"] == ["Amazon", "113-0000001-0000001"]
    assert order["payment"]["method"] == "checkmo"
    assert order["billing_address"]["address_type"] == "billing"
    assert order["billing_address"]["street"] == ["410 Terry Ave N"]
    shipping = order["extension_attributes"]["shipping_assignments"][0]["shipping"]
    assert shipping["address"]["address_type"] == "shipping" and shipping["method"] == "flatrate_flatrate"
    assert [i["ext_order_item_id"] for i in order["items"]] == ["11111111111111", "22222222222222"]
    assert all(i["order_id"] == order["entity_id"] and isinstance(i["item_id"], int) for i in order["items"])
    # No stock reservation.
    assert api.get("stockItems/MUG-CERAMIC-WHT").json()["qty"] == stock_before
    created = api.ledger(event="order_created")
    assert [(e["entity_id"], e["ext_order_id"]) for e in created] == [(order["entity_id"], "113-0000001-0000001")]


def test_put_orders_create_is_the_same_operation(api: CommerceApi) -> None:
    response = api.put("orders/create", {"entity": order_entity(increment_id="AMZ-1")})
    assert response.status_code == 200
    assert_schema(response.json(), "sales-data-order-interface")
    assert response.json()["increment_id"] == "AMZ-1"


def test_increment_ids_are_assigned_in_sequence_and_kept_when_given(api: CommerceApi) -> None:
    first, given, second = (api.create_order(), api.create_order(order_entity(increment_id="AMZ-113-1")),
                            api.create_order())
    assert (first["increment_id"], given["increment_id"], second["increment_id"]) == (
        "000000001", "AMZ-113-1", "000000002")
    assert len({first["entity_id"], given["entity_id"], second["entity_id"]}) == 3


def test_duplicate_increment_id_is_rejected_per_store(api: CommerceApi) -> None:
    api.create_order(order_entity(increment_id="AMZ-DUP"))
    response = api.post("orders", {"entity": order_entity(increment_id="AMZ-DUP")})
    assert_magento_error(response, 400, "Unique constraint violation found")
    assert len(api.ledger(event="order_created")) == 1
    other_store = api.create_order(order_entity(increment_id="AMZ-DUP"), store="de")
    assert other_store["store_id"] == 2


def test_created_at_given_is_kept(api: CommerceApi) -> None:
    order = api.create_order(order_entity(created_at="2026-01-02 03:04:05"))
    assert order["created_at"] == "2026-01-02 03:04:05"


@pytest.mark.parametrize(("drop", "field"), [
    ("customer_email", "customer_email"), ("grand_total", "grand_total"),
    ("base_grand_total", "base_grand_total"), ("items", "items"),
])
def test_missing_required_order_field_is_named(api: CommerceApi, drop: str, field: str) -> None:
    entity = order_entity()
    entity.pop(drop)
    assert_magento_error(api.post("orders", {"entity": entity}), 400, REQUIRED, {"fieldName": field})
    assert api.ledger() == []


def test_missing_nested_required_fields_are_named_with_their_path(api: CommerceApi) -> None:
    entity = order_entity()
    entity["items"][1].pop("sku")
    assert_magento_error(api.post("orders", {"entity": entity}), 400, REQUIRED, {"fieldName": "items[1].sku"})
    entity = order_entity()
    entity["payment"].pop("method")
    assert_magento_error(api.post("orders", {"entity": entity}), 400, REQUIRED, {"fieldName": "payment.method"})
    entity = order_entity()
    entity["billing_address"].pop("postcode")
    assert_magento_error(api.post("orders", {"entity": entity}), 400, REQUIRED,
                         {"fieldName": "billing_address.postcode"})


@pytest.mark.parametrize(("field", "value", "path", "php_type"), [
    ("grand_total", "forty", "grand_total", "float"),
    ("store_id", "one", "store_id", "int"),
    ("items", {"sku": "X"}, "items", "array"),
    ("customer_is_guest", "maybe", "customer_is_guest", "int"),
])
def test_wrong_types_are_refused_naming_the_field(api: CommerceApi, field: str, value: object, path: str,
                                                  php_type: str) -> None:
    response = api.post("orders", {"entity": order_entity(**{field: value})})
    assert_magento_error(response, 400, PROCESSING)
    parameters = response.json()["parameters"]
    assert parameters["field_name"] == path and f'The "{php_type}" type was expected' in parameters["details"]


def test_numeric_strings_are_converted_like_magento_does(api: CommerceApi) -> None:
    order = api.create_order(order_entity(grand_total="43.97", store_id="1"))
    assert (order["grand_total"], order["store_id"]) == (43.97, 1)


def test_unknown_property_and_missing_entity_are_refused(api: CommerceApi) -> None:
    response = api.post("orders", {"entity": order_entity(amazon_order_id="113-1")})
    assert_magento_error(response, 400, 'Property "%1" does not have accessor method "%2" in class "%3".',
                         ["AmazonOrderId", "getAmazonOrderId", "Magento\\Sales\\Api\\Data\\OrderInterface"])
    assert_magento_error(api.post("orders", {}), 400, REQUIRED, {"fieldName": "entity"})


def test_get_unknown_order_is_404_with_magento_message(api: CommerceApi) -> None:
    assert_magento_error(api.get("orders/999"), 404,
                         "The entity that was requested doesn't exist. Verify the entity and try again.")
    response = api.get("orders/abc")
    assert_magento_error(response, 400, PROCESSING)
    assert response.json()["parameters"]["field_name"] == "order_id"


def test_saving_with_entity_id_updates_the_order(api: CommerceApi) -> None:
    order = api.create_order()
    response = api.post("orders", {"entity": {"entity_id": order["entity_id"], "customer_email": "new@example.com",
                                              "grand_total": 43.97, "base_grand_total": 43.97,
                                              "items": [{"sku": "MUG-CERAMIC-WHT"}]}})
    assert response.status_code == 200, response.text
    updated = api.order(order["entity_id"])
    assert updated["customer_email"] == "new@example.com"
    assert updated["items"] == order["items"]
    assert [e["event"] for e in api.ledger()] == ["order_created", "order_updated"]
