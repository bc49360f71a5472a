"""Order snapshots: fields, change detection, no going back to an older snapshot, exact money and UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sales_channel.store import OrderSnapshot

from tests.store.amazon_orders import amazon_order


def test_from_amazon_extracts_the_searchable_fields():
    snapshot = OrderSnapshot.from_amazon("ACCOUNT-1", amazon_order())

    assert (snapshot.amazon_order_id, snapshot.marketplace_id, snapshot.fulfillment_channel, snapshot.status) == (
        "302-1234567-7654321", "A1PA6795UKMFR9", "MERCHANT", "UNSHIPPED")
    assert snapshot.created_time == datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    assert (snapshot.order_total, snapshot.currency) == (Decimal("1234.56"), "EUR")
    assert len(snapshot.content_hash) == 64


def test_upsert_reports_new_and_changed_content_only(store, clock):
    first = OrderSnapshot.from_amazon("ACCOUNT-1", amazon_order())
    assert store.snapshots.upsert(first) is True
    clock.advance(timedelta(minutes=5))
    assert store.snapshots.upsert(OrderSnapshot.from_amazon("ACCOUNT-1", amazon_order())) is False

    stored = store.snapshots.get("ACCOUNT-1", first.amazon_order_id)
    assert stored.first_seen_at == stored.last_changed_at == clock() - timedelta(minutes=5)
    assert stored.last_seen_at == clock()

    shipped = OrderSnapshot.from_amazon("ACCOUNT-1", amazon_order(last_updated="2026-11-29T12:00:00Z",
                                                                  status="SHIPPED"))
    assert store.snapshots.upsert_many([shipped, first]) == [True, False]  # the stale read never wins
    stored = store.snapshots.get("ACCOUNT-1", first.amazon_order_id)
    assert (stored.status, stored.content_hash, stored.last_changed_at) == ("SHIPPED", shipped.content_hash, clock())


def test_money_is_exact_and_times_are_utc_on_every_backend(store):
    store.snapshots.upsert(OrderSnapshot.from_amazon("ACCOUNT-1", amazon_order(amount="98765432109.1234")))
    store.snapshots.upsert(OrderSnapshot.from_amazon("ACCOUNT-1", amazon_order("302-0000000-0000002", amount="0.1")))

    found = store.snapshots.get_many("ACCOUNT-1", ["302-1234567-7654321", "302-0000000-0000002", "302-9"])

    assert found["302-1234567-7654321"].order_total == Decimal("98765432109.1234")
    assert str(found["302-0000000-0000002"].order_total) == "0.1000"
    assert found["302-0000000-0000002"].created_time == datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    assert found["302-0000000-0000002"].created_time.tzinfo is UTC
    assert found.keys() == {"302-1234567-7654321", "302-0000000-0000002"}


def test_bad_orders_are_refused_naming_the_order_and_field():
    order = amazon_order()
    order["lastUpdatedTime"] = "2026-11-29 11:00:00"
    with pytest.raises(ValueError, match="302-1234567-7654321: field lastUpdatedTime"):
        OrderSnapshot.from_amazon("ACCOUNT-1", order)
    with pytest.raises(ValueError, match="302-1234567-7654321: field proceeds.grandTotal.amount"):
        OrderSnapshot.from_amazon("ACCOUNT-1", amazon_order(amount="12,30"))
    with pytest.raises(ValueError, match="field orderId"):
        OrderSnapshot.from_amazon("ACCOUNT-1", {"createdTime": "2026-11-29T10:00:00Z"})
    with pytest.raises(ValueError, match="302-1234567-7654321: field proceeds.grandTotal.amount: 1.23456 does not fit"):
        OrderSnapshot.from_amazon("ACCOUNT-1", amazon_order(amount="1.23456"))


def test_naive_times_are_refused(store):
    with pytest.raises(Exception, match="naive datetime"):
        store.watermarks.advance("ACCOUNT-1", "import", datetime(2026, 11, 29, 12, 0))


def test_any_json_gives_a_snapshot_or_a_value_error_never_a_crash_nor_buyer_data():
    from tests.fixtures.hostile_orders import BUYER_VALUES, HOSTILE_ORDERS

    for case in HOSTILE_ORDERS:
        try:
            snapshot = OrderSnapshot.from_amazon("ACCOUNT-1", case.raw)
        except ValueError as refused:
            assert [v for v in BUYER_VALUES if v in str(refused)] == [] and len(str(refused)) < 300, case.name
            continue
        assert [v for v in BUYER_VALUES if v in repr(snapshot.raw)] == [], case.name


def test_deep_nesting_malformed_ids_and_odd_columns_are_handled():
    deep: dict = {"leaf": 1}
    for _ in range(5000):
        deep = {"next": deep}
    with pytest.raises(ValueError, match="302-1234567-7654321: field extendedFields nests deeper than 32 levels"):
        OrderSnapshot.from_amazon("ACCOUNT-1", {**amazon_order(), "extendedFields": deep})
    with pytest.raises(ValueError, match="not a JSON object"):
        OrderSnapshot.from_amazon("ACCOUNT-1", ["302-1234567-7654321"])
    with pytest.raises(ValueError, match="field orderId is missing"):
        OrderSnapshot.from_amazon("ACCOUNT-1", {**amazon_order(), "orderId": 3021234567})
    with pytest.raises(ValueError, match="field orderId is not an Amazon order id"):
        OrderSnapshot.from_amazon("ACCOUNT-1", {**amazon_order(), "orderId": "x" * 100_000})
    odd = {**amazon_order(), "salesChannel": "Amazon.de", "fulfillment": {"fulfillmentStatus": "S" * 100,
                                                                         "fulfilledBy": ["MERCHANT"]}}
    snapshot = OrderSnapshot.from_amazon("ACCOUNT-1", odd)
    assert (snapshot.marketplace_id, snapshot.status, snapshot.fulfillment_channel) == (None, None, None)
