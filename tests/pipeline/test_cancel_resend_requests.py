"""The forms of amazon_cancel_unshipped_order and amazon_resend_shipment, checked before anything is read
or written: a malformed value is refused with the field named."""

from __future__ import annotations

import pytest
from sales_channel.amazon.feeds_xml import CancelReason
from sales_channel.domain.settings import CANCEL_REASONS
from sales_channel.pipeline.operations.requests import (
    CANCEL_REASON_LABELS,
    MAX_NOTE_CHARS,
    CancelRequest,
    OperationRefused,
    ResendRequest,
)

ORDER = "113-1234567-1234567"


def test_every_amazon_cancel_reason_has_a_label_and_the_settings_offer_the_same_reasons():
    assert [reason.value for reason in CANCEL_REASON_LABELS] == [r.value for r in CancelReason] == CANCEL_REASONS


def test_a_cancel_takes_an_order_a_reason_and_an_optional_note():
    request = CancelRequest.from_form({"amazon_order_id": ORDER, "reason": "NoInventory", "note": "  last unit broke "})
    assert (request.reason, request.reason_label, request.note) == (CancelReason.NO_INVENTORY,
                                                                     "No inventory (out of stock)", "last unit broke")
    assert CancelRequest.from_form({"amazon_order_id": ORDER, "reason": "BuyerCanceled", "note": ""}).note is None


@pytest.mark.parametrize(("form", "message"), [
    ({"reason": "NoInventory"}, "field amazon_order_id: required"),
    ({"amazon_order_id": "113-123", "reason": "NoInventory"}, "field amazon_order_id: '113-123' is not"),
    ({"amazon_order_id": ORDER, "reason": "OutOfStock"}, "field reason: 'OutOfStock' is not one of Amazon's"),
    ({"amazon_order_id": ORDER}, "field reason: None is not one of"),
    ({"amazon_order_id": ORDER, "reason": "NoInventory", "note": "x" * (MAX_NOTE_CHARS + 1)}, "field note: at most"),
])
def test_a_malformed_cancel_is_refused_naming_the_field(form, message):
    with pytest.raises(OperationRefused, match=message):
        CancelRequest.from_form(form)


@pytest.mark.parametrize(("form", "message"), [
    ({"shipment_id": 3}, "field store: required"),
    ({"store": "us", "shipment_id": 0}, "field shipment_id: 0 is not"),
    ({"store": "us", "shipment_id": "12"}, "field shipment_id: '12' is not"),
    ({"store": "us", "shipment_id": True}, "field shipment_id: True is not"),
])
def test_a_malformed_resend_is_refused_naming_the_field(form, message):
    with pytest.raises(OperationRefused, match=message):
        ResendRequest.from_form(form)
    assert ResendRequest.from_form({"store": "us", "shipment_id": 12}) == ResendRequest("us", 12)
