"""No buyer PII in the channel database: not in the schema, not in snapshots, not in free-form JSON."""

from __future__ import annotations

import json
import re

import pytest
from sales_channel.store import OrderSnapshot, create_engine_for, strip_buyer_pii
from sales_channel.store.models import Base
from sqlalchemy import inspect

from tests.store.amazon_orders import BUYER_VALUES, amazon_order

PII_WORDS = re.compile(r"buyer|recipient|customer|name|email|mail|phone|tel|address|street|city|postal|zip"
                       r"|gift|tax_?reg|birth", re.IGNORECASE)


def test_no_column_is_meant_for_buyer_pii(migrated_url):
    engine = create_engine_for(migrated_url)
    try:
        inspector = inspect(engine)
        columns = {f"{table}.{column['name']}" for table in inspector.get_table_names()
                   for column in inspector.get_columns(table)}
    finally:
        engine.dispose()
    modelled = {f"{table.name}.{column.name}" for table in Base.metadata.sorted_tables for column in table.columns}

    assert modelled <= columns
    assert [column for column in columns if PII_WORDS.search(column)] == []


def test_sanitizer_strips_every_kind_of_buyer_data_and_keeps_the_rest():
    order = amazon_order()
    original = json.dumps(order, sort_keys=True)

    clean = strip_buyer_pii(order)

    text = json.dumps(clean, ensure_ascii=False)
    assert [value for value in BUYER_VALUES if value in text] == []
    assert "buyer" not in clean and "recipient" not in clean and "taxRegistrations" not in clean["tax"]
    assert clean["orderItems"][0]["product"]["sellerSku"] == "TEA-POT-1"
    assert clean["orderItems"][0]["fulfillment"]["packing"]["giftOption"] == {"giftWrapLevel": "Classic"}
    assert clean["packages"][0]["trackingNumber"] == "JJD000390007"
    assert json.dumps(order, sort_keys=True) == original, "the caller's order must not be modified"


def test_stored_snapshot_holds_no_buyer_data(store):
    store.snapshots.upsert(OrderSnapshot.from_amazon("ACCOUNT-1", amazon_order()))

    with store.engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT * FROM amazon_orders").all()
    dumped = json.dumps([[str(value) for value in row] for row in rows], ensure_ascii=False)
    assert "TEA-POT-1" in dumped
    assert [value for value in BUYER_VALUES if value in dumped] == []


def test_a_snapshot_with_buyer_data_cannot_be_built_by_hand():
    with pytest.raises(ValueError, match="raw snapshot holds buyer data"):
        OrderSnapshot("ACCOUNT-1", "302-1234567-7654321", created_time=None, last_updated_time=None,
                      raw=amazon_order())


def test_event_details_naming_buyer_data_are_refused(store):
    with pytest.raises(ValueError, match=r"details of event 'imported' of order 302-1 holds buyer data at \$\.customer\.email"):
        store.events.append("ACCOUNT-1", "302-1", "imported", "Order created", {"customer": {"email": "a@b.example"}})
    assert store.events.for_order("ACCOUNT-1", "302-1") == []


def test_stripping_and_finding_work_at_any_depth_and_keep_the_order_of_things():
    deep: dict = {"buyer": {"buyerName": "x"}, "keep": [1, 2, 3]}
    for _ in range(5000):
        deep = {"next": deep, "list": [{"email": "a@b.example"}, 2]}
    clean = strip_buyer_pii(deep)
    node, depth = clean, 0
    while "next" in node:
        assert node["list"] == [{"email": "a@b.example"}, 2]  # only Amazon's buyer parts are stripped
        node, depth = node["next"], depth + 1
    assert depth == 5000 and node == {"keep": [1, 2, 3]}
    from sales_channel.store.sanitize import find_pii_keys
    found = find_pii_keys({"a": [{"email": 1}, {"b": {"phone": 2}}], "street": 3})
    assert found == ["$.a[0].email", "$.a[1].b.phone", "$.street"]
    assert len(find_pii_keys(deep)) == 5001
