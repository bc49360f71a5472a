"""The outbox: idempotent enqueue, leases, the status lifecycle, and concurrent claimers."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sales_channel.store import LeaseLost, OutboxStatus

from tests.store.workers import claim_until_empty, spawn_map

LEASE = timedelta(minutes=5)


def test_enqueue_is_idempotent_on_kind_and_source(store):
    first, created = store.outbox.enqueue("confirm_shipment", "shipment-7", "ACCOUNT-1", {"package": 1})
    again, created_again = store.outbox.enqueue("confirm_shipment", "shipment-7", "ACCOUNT-1", {"package": 2})
    other_kind, _ = store.outbox.enqueue("refund", "shipment-7", "ACCOUNT-1", {})

    assert (created, created_again) == (True, False)
    assert again.id == first.id and again.payload == {"package": 1}
    assert other_kind.id != first.id
    assert first.status == OutboxStatus.PENDING and first.attempts == 0


def test_claim_takes_due_items_once_and_expired_leases_can_be_claimed_again(store, clock):
    for n in range(3):
        store.outbox.enqueue("confirm_shipment", f"s{n}", "ACCOUNT-1", {"n": n})
    store.outbox.enqueue("confirm_shipment", "later", "ACCOUNT-1", {}, not_before=clock() + timedelta(hours=1))

    first = store.outbox.claim("worker-a", 10, LEASE)
    assert [item.source_id for item in first] == ["s0", "s1", "s2"]
    assert all(item.claimed_by == "worker-a" and item.claimed_until == clock() + LEASE for item in first)
    assert store.outbox.claim("worker-b", 10, LEASE) == []

    clock.advance(LEASE + timedelta(seconds=1))  # worker-a died: its leases run out
    assert store.outbox.due_sources("confirm_shipment") == ["s0", "s1", "s2"]
    second = store.outbox.claim("worker-b", 2, LEASE)
    assert [(item.source_id, item.attempts, item.claimed_by) for item in second] == [
        ("s0", 2, "worker-b"), ("s1", 2, "worker-b")]

    with pytest.raises(LeaseLost, match="no longer claimed by worker-a"):
        store.outbox.mark_sent(first[0].id, "worker-a")
    store.outbox.mark_confirmed(second[0].id, "worker-b")
    assert store.outbox.get("confirm_shipment", "s0").status == OutboxStatus.CONFIRMED


def test_claim_filters_by_kind_and_target(store):
    store.outbox.enqueue("confirm_shipment", "s1", "ACCOUNT-1", {})
    store.outbox.enqueue("cancel_order", "c1", "ACCOUNT-1", {})
    store.outbox.enqueue("cancel_order", "c2", "ACCOUNT-2", {})

    assert [i.source_id for i in store.outbox.claim("w", 10, LEASE, kinds=["cancel_order"], target="ACCOUNT-2")] == ["c2"]
    assert [i.source_id for i in store.outbox.claim("w", 10, LEASE, kinds=["cancel_order"])] == ["c1"]
    assert [i.source_id for i in store.outbox.claim("w", 10, LEASE)] == ["s1"]


def test_claim_sources_takes_only_the_named_due_items(store):
    for source in ("a", "b", "c"):
        store.outbox.enqueue("create_order", source, "store-1", {})
    store.outbox.claim_sources("create_order", ["b"], "worker-a", LEASE)

    won = store.outbox.claim_sources("create_order", ["a", "b", "missing"], "worker-b", LEASE)

    assert set(won) == {"a"} and won["a"].claimed_by == "worker-b"


def test_feed_items_go_sent_then_confirmed_or_failed(store):
    items = [store.outbox.enqueue("cancel_order", f"c{n}", "ACCOUNT-1", {"n": n})[0] for n in range(3)]
    for item in store.outbox.claim("feeder", 10, LEASE):
        store.outbox.mark_sent(item.id, "feeder", feed_id="FEED-1")
    assert store.outbox.sent_feed_ids() == ["FEED-1"]

    store.outbox.mark_confirmed(items[0].id)
    store.outbox.mark_failed(items[1].id, "Feed error 18028: order already shipped")
    store.outbox.mark_failed(items[2].id, "Feed processing timed out", retry_at=store.outbox._clock())

    by_source = {item.source_id: item for item in store.outbox.for_feed("FEED-1")}
    assert by_source["c0"].status == OutboxStatus.CONFIRMED and by_source["c0"].confirmed_at is not None
    assert by_source["c1"].status == OutboxStatus.FAILED and "18028" in by_source["c1"].last_error
    assert store.outbox.sent_feed_ids() == []
    assert [item.source_id for item in store.outbox.claim("feeder", 10, LEASE)] == ["c2"]
    with pytest.raises(LeaseLost):
        store.outbox.mark_confirmed(items[0].id)  # confirmed already: not "sent" any more


def test_retryable_failure_waits_for_its_time_and_requeue_resends(store, clock):
    item, _ = store.outbox.enqueue("confirm_shipment", "s1", "ACCOUNT-1", {})
    store.outbox.claim("w", 1, LEASE)
    store.outbox.mark_failed(item.id, "503 ServiceUnavailable", "w", retry_at=clock() + timedelta(minutes=2))

    assert store.outbox.claim("w", 1, LEASE) == []
    clock.advance(timedelta(minutes=2))
    (retried,) = store.outbox.claim("w", 1, LEASE)
    assert retried.attempts == 2 and retried.last_error == "503 ServiceUnavailable"

    store.outbox.mark_failed(item.id, "400 InvalidInput: tracking number", "w")
    assert store.outbox.get("confirm_shipment", "s1").status == OutboxStatus.FAILED
    assert store.outbox.claim("w", 1, LEASE) == []
    assert store.outbox.requeue("confirm_shipment", "s1") is True
    assert [i.source_id for i in store.outbox.claim("w", 1, LEASE)] == ["s1"]
    assert store.outbox.requeue("confirm_shipment", "s1") is False  # held by a live lease


def test_requeue_with_a_corrected_payload_keeps_the_attempts(store):
    item, _ = store.outbox.enqueue("confirm_shipment", "s2", "ACCOUNT-1", {"track": "wrong"})
    store.outbox.claim("w", 1, LEASE)
    store.outbox.mark_failed(item.id, "400 InvalidInput", "w")
    assert store.outbox.requeue("confirm_shipment", "s2", {"track": "right"}) is True
    (again,) = store.outbox.claim("w", 1, LEASE)
    assert again.payload == {"track": "right"} and again.attempts == 2  # a re-send reads back first
    with pytest.raises(ValueError, match="buyer data"):
        store.outbox.requeue("confirm_shipment", "s2", {"buyer_email": "a@b.example"})


def test_payload_with_buyer_data_is_refused(store):
    with pytest.raises(ValueError, match=r"outbox payload create_order/o1 holds buyer data at \$\.order\.customer_email"):
        store.outbox.enqueue("create_order", "o1", "store-1", {"order": {"customer_email": "a@b.example"}})
    assert store.outbox.get("create_order", "o1") is None


def _fill(store, count: int) -> set[int]:
    return {store.outbox.enqueue("confirm_shipment", f"s{n}", "ACCOUNT-1", {"n": n})[0].id for n in range(count)}


def test_concurrent_claiming_threads_never_share_an_item(live_store):
    ids = _fill(live_store, 80)
    won: list[list[int]] = [[] for _ in range(4)]

    def claimer(index: int) -> None:
        while items := live_store.outbox.claim(f"thread-{index}", 3, LEASE):
            for item in items:
                live_store.outbox.mark_confirmed(item.id, f"thread-{index}")
                won[index].append(item.id)

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    claims = Counter(item_id for ids_won in won for item_id in ids_won)
    assert set(claims) == ids and set(claims.values()) == {1}
    assert sum(1 for ids_won in won if ids_won) >= 2, "the claimers did not overlap"


def test_concurrent_claiming_processes_never_share_an_item(live_store, migrated_url):
    ids = _fill(live_store, 240)

    won = spawn_map(claim_until_empty, [(migrated_url, f"process-{n}", 2) for n in range(3)])

    claims = Counter(item_id for ids_won in won for item_id in ids_won)
    assert set(claims) == ids and set(claims.values()) == {1}
    assert sum(1 for ids_won in won if ids_won) >= 2, "the claimers did not overlap"
    confirmed = [live_store.outbox.get("confirm_shipment", f"s{n}") for n in range(240)]
    assert {(item.status, item.attempts) for item in confirmed} == {(OutboxStatus.CONFIRMED, 1)}


def test_renew_extends_a_held_claim_and_refuses_one_taken_over(store, clock):
    store.outbox.enqueue("k", "s1", "t", {})
    (item,) = store.outbox.claim("w1", 10, timedelta(seconds=30))
    clock.advance(timedelta(seconds=20))
    assert store.outbox.renew(item.id, "w1", timedelta(seconds=30))
    clock.advance(timedelta(seconds=20))  # still held thanks to the renewal
    assert store.outbox.claim_sources("k", ["s1"], "w2", timedelta(seconds=30)) == {}
    clock.advance(timedelta(seconds=20))  # now expired: another worker takes it over
    assert set(store.outbox.claim_sources("k", ["s1"], "w2", timedelta(seconds=30))) == {"s1"}
    assert not store.outbox.renew(item.id, "w1", timedelta(seconds=30))
