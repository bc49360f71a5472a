"""The order timeline and the SKU map."""

from __future__ import annotations

from datetime import timedelta

import pytest


def test_timeline_is_per_order_and_oldest_first(store, clock):
    store.events.append("ACCOUNT-1", "302-1", "snapshot", "Order read from Amazon (Unshipped)")
    clock.advance(timedelta(seconds=1))
    store.events.append("ACCOUNT-1", "302-2", "snapshot", "Order read from Amazon (Pending)")
    store.events.append("ACCOUNT-1", "302-1", "imported", "Commerce order 000000041 created",
                        {"entity_id": 41, "increment_id": "000000041"})
    store.events.append("ACCOUNT-1", "302-1", "quarantined", "SKU X missing", occurred_at=clock() - timedelta(hours=1))

    timeline = store.events.for_order("ACCOUNT-1", "302-1")

    assert [e.event_type for e in timeline] == ["quarantined", "snapshot", "imported"]
    assert timeline[-1].details == {"entity_id": 41, "increment_id": "000000041"}
    assert timeline[-1].occurred_at == clock()
    assert [e.amazon_order_id for e in store.events.recent(limit=2)] == ["302-1", "302-2"]
    assert store.events.for_order("ACCOUNT-2", "302-1") == []


def test_sku_map_put_get_remap_remove(store):
    store.skus.put("ACCOUNT-1", "AMZ-TEA-1", "tea-pot-classic")
    store.skus.put("ACCOUNT-2", "AMZ-TEA-1", "teekanne")
    store.skus.put("ACCOUNT-1", "AMZ-TEA-1", "tea-pot-v2")

    assert store.skus.get("ACCOUNT-1", "AMZ-TEA-1") == "tea-pot-v2"
    assert store.skus.get_many("ACCOUNT-2", ["AMZ-TEA-1", "UNMAPPED"]) == {"AMZ-TEA-1": "teekanne"}
    assert store.skus.remove("ACCOUNT-1", "AMZ-TEA-1") is True
    assert store.skus.get("ACCOUNT-1", "AMZ-TEA-1") is None
    with pytest.raises(ValueError, match="sku_map ACCOUNT-1/AMZ-X: field commerce_sku is empty"):
        store.skus.put("ACCOUNT-1", "AMZ-X", "")
