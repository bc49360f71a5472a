"""What an operator asks for: the rules between a form's fields, and a corrected address, refused with
the field named (and never a buyer's value) before anything is read or written."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sales_channel.domain.amazon_order import parse_order
from sales_channel.pipeline.operations.requests import (
    Action,
    OperationRefused,
    ReimportRequest,
    ResolveRequest,
)

from tests.fixtures.hostile_orders import base_order

ORDER = "113-1234567-1234567"
ADDRESS = {"street": ["1 Main St"], "city": "Springfield", "country_code": "us", "postcode": "12345"}


def test_a_reimport_is_one_order_or_a_store_window():
    assert ReimportRequest.from_form({"amazon_order_id": ORDER, "store": None}).one_order
    window = ReimportRequest.from_form({"store": "us", "start": "2026-03-01T00:00:00.000Z",
                                        "end": "2026-03-31T00:00:00+02:00"})
    assert window.start == datetime(2026, 3, 1, tzinfo=UTC) and window.end == datetime(2026, 3, 30, 22, tzinfo=UTC)


@pytest.mark.parametrize(("form", "message"), [
    ({"amazon_order_id": "113-123"}, "field amazon_order_id: '113-123' is not an Amazon order id"),
    ({"amazon_order_id": ORDER, "start": "2026-03-01T00:00:00Z"}, "either amazon_order_id or a window"),
    ({"start": "2026-03-01T00:00:00Z", "end": "2026-03-02T00:00:00Z"}, "field store: required for a window"),
    ({"store": "us", "start": "2026-03-01T00:00:00Z"}, "field end: a window needs both"),
    ({"store": "us", "start": "2026-03-02T00:00:00Z", "end": "2026-03-01T00:00:00Z"}, "field end: .* is not after"),
    ({"store": "us", "start": "2026-01-01T00:00:00Z", "end": "2026-03-01T00:00:00Z"}, "59.0 days; at most 31"),
    ({"store": "us", "start": "yesterday", "end": "2026-03-01T00:00:00Z"}, "field start: 'yesterday' is not"),
    ({"store": "us", "start": "2026-03-01T00:00:00", "end": "2026-03-02T00:00:00Z"}, "field start: .* no UTC offset"),
])
def test_a_malformed_reimport_is_refused_naming_the_field(form, message):
    with pytest.raises(OperationRefused, match=message):
        ReimportRequest.from_form(form)


def test_each_resolution_takes_its_own_fields():
    assert ResolveRequest.from_form({"amazon_order_id": ORDER, "action": "map_sku", "amazon_sku": " A-1 ",
                                     "commerce_sku": "C-1"}).amazon_sku == "A-1"
    corrected = ResolveRequest.from_form({"amazon_order_id": ORDER, "action": "correct_address", **ADDRESS})
    assert corrected.action is Action.CORRECT_ADDRESS and corrected.address.country_code == "US"
    assert "Springfield" not in repr(corrected), "a corrected address never reaches a log through repr"
    assert ResolveRequest.from_form({"amazon_order_id": ORDER, "action": "skip", "reason": " test "}).reason == "test"


@pytest.mark.parametrize(("form", "message"), [
    ({"action": "skip", "reason": "x"}, "field amazon_order_id: required"),
    ({"amazon_order_id": ORDER, "action": "delete"}, "field action: 'delete' is not one of the actions \\(map_sku"),
    ({"amazon_order_id": ORDER, "action": "skip"}, "field reason: required"),
    ({"amazon_order_id": ORDER, "action": "skip", "reason": "x" * 501}, "at most 500"),
    ({"amazon_order_id": ORDER, "action": "map_sku", "amazon_sku": "A-1"}, "field commerce_sku: required"),
    ({"amazon_order_id": ORDER, "action": "map_sku", "amazon_sku": "A", "commerce_sku": "B", "reason": "why"},
     "field reason: belongs to action skip"),
    ({"amazon_order_id": ORDER, "action": "skip", "reason": "x", "city": "Springfield"},
     "field city: belongs to action correct_address"),
    ({"amazon_order_id": ORDER, "action": "correct_address", **ADDRESS, "street": []}, "field street: at least one"),
    ({"amazon_order_id": ORDER, "action": "correct_address", **ADDRESS, "street": ["a", "b", "c", "d"]},
     "field street: at most 3"),
    ({"amazon_order_id": ORDER, "action": "correct_address", **ADDRESS, "city": " "}, "field city: is empty"),
    ({"amazon_order_id": ORDER, "action": "correct_address", **ADDRESS, "country_code": "XX"},
     "field country_code: is not an ISO 3166-1"),
    ({"amazon_order_id": ORDER, "action": "correct_address", **ADDRESS, "postcode": 12345},
     "field postcode: must be text, got a JSON int$"),
])
def test_a_malformed_resolution_is_refused_naming_the_field_never_its_value(form, message):
    with pytest.raises(OperationRefused, match=message) as refused:
        ResolveRequest.from_form(form)
    assert "Springfield" not in str(refused.value) and "12345" not in str(refused.value)


def test_a_correction_replaces_where_the_order_goes_not_to_whom():
    order = parse_order(base_order(ORDER))
    request = ResolveRequest.from_form({"amazon_order_id": ORDER, "action": "correct_address", **ADDRESS})
    corrected = request.address.applied_to(order)
    assert corrected.ship_to.name == order.ship_to.name and corrected.ship_to.phone == order.ship_to.phone
    assert (corrected.ship_to.lines, corrected.ship_to.city, corrected.ship_to.region) == (("1 Main St",), "Springfield",
                                                                                          None)
    assert request.address.fields_corrected(order) == ["addressLines", "city", "stateOrRegion", "postalCode"]
