"""Shared bucket stores: the plan's arithmetic, and never more tokens than burst + rate·t under concurrency."""

from __future__ import annotations

import threading
import time

import pytest
from sales_channel.ratelimit import InMemoryBucketStore, RateLimiter, UsagePlan

from tests.ratelimit.workers import close, open_store, reserve_many
from tests.store.workers import spawn_map

RATE, BURST = 20.0, 5


def assert_within_plan(grants: list[tuple[float, float]], rate: float, burst: int) -> None:
    """Every token is usable only once the plan allows it: by time t, at most burst + rate·(t - t0)
    tokens, t0 being the first reservation; and none was wasted (the last one is not later than a
    perfectly packed queue would put it)."""
    t0, last_now = min(now for now, _ in grants), max(now for now, _ in grants)
    usable = sorted(now + wait for now, wait in grants)
    over = [(k, t) for k, t in enumerate(usable, start=1) if k > burst + rate * (t - t0) + 1e-3]
    assert over == [], f"{len(over)} tokens granted beyond the plan, first: {over[:3]}"
    assert usable[-1] <= last_now + (len(grants) - burst) / rate + 1e-3


def test_shared_store_agrees_with_the_reference_arithmetic(store_spec):
    store, resource = open_store(store_spec)
    reference = InMemoryBucketStore()
    base = 1_800_000_000.0
    try:
        for offset in (0, 0, 0, 0, 0.1, 0.6, 5, 5, 5, 5, 5, 5, 5.2):
            expected = reference.reserve("k", 2.0, 3, base + offset)
            assert store.reserve("k", 2.0, 3, base + offset) == pytest.approx(expected, rel=1e-12, abs=1e-9)
        # A caller whose clock is behind the bucket is served as of the bucket's time: its token is
        # usable at 10 + 1 (wait 2 from its 9), and the next caller's refill is not counted twice.
        assert [store.reserve("slow", 1.0, 1, base + t) for t in (10, 9, 11)] == pytest.approx([0, 2, 1])
    finally:
        close(resource)


def test_rate_limiter_waits_through_a_shared_store(store_spec):
    store, resource = open_store(store_spec)
    waits: list[float] = []
    clock = iter([100.0] * 4).__next__
    limiter = RateLimiter(store, "ACCOUNT-1", plans={"getOrder": UsagePlan(0.5, 2)}, clock=clock, sleep=waits.append)
    try:
        assert [limiter.acquire("getOrder") for _ in range(4)] == pytest.approx([0, 0, 2, 4])
        assert waits == pytest.approx([2, 4]) and limiter.waited_s == pytest.approx(6)
    finally:
        close(resource)


def test_many_threads_never_get_more_than_the_plan(store_spec):
    store, resource = open_store(store_spec)
    grants: list[tuple[float, float]] = []
    lock, barrier = threading.Lock(), threading.Barrier(6)

    def reserve() -> None:
        barrier.wait()
        for _ in range(20):
            now = time.time()
            wait = store.reserve("ACCOUNT-1:getOrder", RATE, BURST, now)
            with lock:
                grants.append((now, wait))

    threads = [threading.Thread(target=reserve) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close(resource)

    assert len(grants) == 120
    assert_within_plan(grants, RATE, BURST)


def test_several_processes_never_get_more_than_the_plan(store_spec):
    results = spawn_map(reserve_many, [(store_spec, "ACCOUNT-1:getOrder", RATE, BURST, 25)] * 3)

    grants = [grant for grants in results for grant in grants]
    assert len(grants) == 75
    assert_within_plan(grants, RATE, BURST)
