from datetime import UTC, datetime

import pytest
from sales_channel.domain.amazon_order import parse_order
from sales_channel.domain.rules import Decision, decide
from sales_channel.domain.settings import parse_settings

from tests.domain.factories import order

STORE = parse_settings({"us": {"amazon_conn_id": "amazon", "marketplace_ids": ["ATVPDKIKX0DER"],
                               "commerce_conn_id": "commerce", "store_code": "default",
                               "connected_since": "2026-11-01T00:00:00Z"}})["us"]


@pytest.mark.parametrize(("status", "channel", "expected"), [
    ("UNSHIPPED", "MERCHANT", Decision.CREATE),
    ("PARTIALLY_SHIPPED", "MERCHANT", Decision.CREATE),
    ("SHIPPED", "MERCHANT", Decision.CREATE),
    ("PENDING", "MERCHANT", Decision.WAIT_PENDING),
    ("PENDING_AVAILABILITY", "MERCHANT", Decision.WAIT_PENDING),
    ("CANCELLED", "MERCHANT", Decision.SKIP_CANCELLED),
    ("UNSHIPPED", "AMAZON", Decision.WAIT_AFN_NOT_SHIPPED),
    ("PENDING", "AMAZON", Decision.WAIT_PENDING),
    ("SHIPPED", "AMAZON", Decision.CREATE_COMPLETE),
    ("CANCELLED", "AMAZON", Decision.SKIP_CANCELLED),
    ("UNFULFILLABLE", "AMAZON", Decision.SKIP_UNFULFILLABLE),
])
def test_creation_matrix(status, channel, expected):
    assert decide(parse_order(order(status=status, fulfilled_by=channel)), STORE) is expected


def test_orders_before_the_store_was_connected_are_never_imported():
    old = parse_order(order(created="2026-10-31T23:59:59Z"))
    assert decide(old, STORE) is Decision.SKIP_BEFORE_CONNECTED
    assert STORE.connected_since == datetime(2026, 11, 1, tzinfo=UTC)


def test_fba_orders_skipped_when_the_store_does_not_import_them():
    from dataclasses import replace
    store = replace(STORE, import_fba_orders=False)
    assert decide(parse_order(order(status="SHIPPED", fulfilled_by="AMAZON")), store) is Decision.SKIP_FBA_DISABLED


def test_orders_of_other_marketplaces_are_not_this_stores():
    assert decide(parse_order(order(marketplace="A1PA6795UKMFR9")), STORE) is Decision.SKIP_OTHER_MARKETPLACE


def test_a_status_or_channel_amazon_added_holds_the_order_naming_the_value():
    from sales_channel.domain.errors import ImportBlocked, QuarantineReason

    for field, raw in (("fulfillment.fulfillmentStatus", order(status="AWAITING_PICKUP")),
                       ("fulfillment.fulfilledBy", order(fulfilled_by="PARTNER"))):
        with pytest.raises(ImportBlocked) as caught:
            decide(parse_order(raw), STORE)
        assert (caught.value.reason, caught.value.field) == (QuarantineReason.UNSUPPORTED_VALUE, field)
        assert "'AWAITING_PICKUP'" in str(caught.value) or "'PARTNER'" in str(caught.value)


def test_unknown_values_do_not_matter_where_the_rules_decide_without_them():
    assert decide(parse_order(order(marketplace="A1PA6795UKMFR9", status="AWAITING_PICKUP")), STORE) \
        is Decision.SKIP_OTHER_MARKETPLACE
    assert decide(parse_order(order(status="CANCELLED", fulfilled_by="PARTNER")), STORE) is Decision.SKIP_CANCELLED
