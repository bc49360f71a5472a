"""Quarantine: attempts, bounded backoff, due lists, resolving and reopening."""

from __future__ import annotations

from datetime import timedelta

from sales_channel.store import Backoff


def test_each_failure_counts_and_backs_off_up_to_the_cap(store, clock):
    start = clock()
    delays = []
    for _ in range(9):
        entry = store.quarantine.record("ACCOUNT-1", "302-1", "SKU_NOT_FOUND", "SKU TEA-POT-1 is not in the catalog")
        delays.append(entry.next_attempt_at - clock())

    assert entry.attempts == 9 and entry.first_seen_at == start and entry.last_seen_at == clock()
    assert delays[:4] == [timedelta(minutes=m) for m in (5, 10, 20, 40)]
    assert delays[-1] == timedelta(hours=6) and max(delays) == timedelta(hours=6)
    assert Backoff().delay(10_000) == timedelta(hours=6)


def test_due_lists_only_open_entries_whose_time_has_come(store, clock):
    store.quarantine.record("ACCOUNT-1", "302-1", "SKU_NOT_FOUND", "SKU A is not in the catalog")
    clock.advance(timedelta(minutes=3))
    store.quarantine.record("ACCOUNT-1", "302-2", "OUT_OF_STOCK", "SKU B is out of stock")
    store.quarantine.record("ACCOUNT-2", "302-3", "OUT_OF_STOCK", "SKU C is out of stock")

    assert store.quarantine.due() == []
    clock.advance(timedelta(minutes=2))
    assert [e.amazon_order_id for e in store.quarantine.due()] == ["302-1"]
    clock.advance(timedelta(minutes=3))
    assert [e.amazon_order_id for e in store.quarantine.due("ACCOUNT-1")] == ["302-1", "302-2"]
    assert [e.amazon_order_id for e in store.quarantine.due(limit=1)] == ["302-1"]
    assert [e.amazon_order_id for e in store.quarantine.open("ACCOUNT-2")] == ["302-3"]


def test_resolve_closes_and_a_new_failure_reopens_with_a_fresh_count(store, clock):
    store.quarantine.record("ACCOUNT-1", "302-1", "SKU_NOT_FOUND", "SKU A is not in the catalog")
    store.quarantine.record("ACCOUNT-1", "302-1", "SKU_NOT_FOUND", "SKU A is not in the catalog")

    assert store.quarantine.resolve("ACCOUNT-1", "302-1", resolved_by="import", resolution="imported") is True
    assert store.quarantine.resolve("ACCOUNT-1", "302-1", resolved_by="import", resolution="imported") is False
    resolved = store.quarantine.get("ACCOUNT-1", "302-1")
    assert (resolved.resolved_by, resolved.resolution, resolved.resolved_at) == ("import", "imported", clock())
    clock.advance(timedelta(days=1))
    assert store.quarantine.due() == [] and store.quarantine.open() == []

    reopened = store.quarantine.record("ACCOUNT-1", "302-1", "OUT_OF_STOCK", "SKU A is out of stock")
    assert (reopened.attempts, reopened.reason_code, reopened.resolved_at, reopened.first_seen_at) == (
        1, "OUT_OF_STOCK", None, clock())


def test_open_among_tells_which_of_a_batch_are_quarantined_now(store):
    store.quarantine.record("acct", "111-0000000-0000001", "unknown_sku", "SKU X is not in the catalog")
    store.quarantine.record("acct", "111-0000000-0000002", "out_of_stock", "product Y: 2 needed, 0 salable")
    store.quarantine.record("other", "111-0000000-0000003", "unknown_sku", "SKU X is not in the catalog")
    store.quarantine.resolve("acct", "111-0000000-0000002", resolved_by="import", resolution="created")
    ids = ["111-0000000-0000001", "111-0000000-0000002", "111-0000000-0000003", "111-0000000-0000004"]
    assert store.quarantine.open_among("acct", ids) == {"111-0000000-0000001"}
