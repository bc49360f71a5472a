"""Token buckets for Amazon's usage plans (see the package docstring)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class UsagePlan:
    rate: float  # requests per second
    burst: int


# Amazon's published default usage plans (../shared/reference/amazon-sp-api.md), by operation name.
USAGE_PLANS: dict[str, UsagePlan] = {
    "searchOrders": UsagePlan(0.0056, 20),
    "getOrder": UsagePlan(0.5, 30),
    "confirmShipment": UsagePlan(2.0, 10),
    "updateShipmentStatus": UsagePlan(5.0, 15),
    "createFeedDocument": UsagePlan(0.5, 15),
    "createFeed": UsagePlan(0.0083, 15),
    "getFeed": UsagePlan(2.0, 15),
    "getFeedDocument": UsagePlan(0.0222, 10),
    "createReport": UsagePlan(0.0167, 15),
    "getReport": UsagePlan(2.0, 15),
    "getReportDocument": UsagePlan(0.0167, 15),
    "getReports": UsagePlan(0.0222, 10),
    "cancelReport": UsagePlan(0.0222, 10),
}


def reserve_in_state(level: float, updated_at: float, rate: float, burst: int, now: float) -> tuple[float, float]:
    """One reservation on a bucket's state: returns (new level, seconds to wait).

    The level refills at ``rate`` up to ``burst`` since ``updated_at``; taking a token may drive it
    negative, and the wait is the time until the level would have been back at zero. Every store
    applies this same arithmetic atomically (a row lock, a Lua script, a mutex).
    """
    # A caller that read its clock before another took the bucket may come with an older ``now``:
    # reserve as of the later moment, or the gap would be refilled twice.
    now = max(now, updated_at)
    refilled = min(float(burst), level + (now - updated_at) * rate)
    new_level = refilled - 1.0
    wait = 0.0 if new_level >= 0 else -new_level / rate
    return new_level, wait


class BucketStore(Protocol):
    """Where bucket levels live. ``reserve`` must be atomic across threads and processes."""

    def reserve(self, key: str, rate: float, burst: int, now: float) -> float:
        """Take one token from the bucket ``key``; return how many seconds to wait before using it."""
        ...


class InMemoryBucketStore:
    """Buckets shared by the threads of one process (tests, scripts). Not shared across processes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, float]] = {}

    def reserve(self, key: str, rate: float, burst: int, now: float) -> float:
        with self._lock:
            level, updated_at = self._state.get(key, (float(burst), now))
            new_level, wait = reserve_in_state(level, updated_at, rate, burst, now)
            self._state[key] = (new_level, max(now, updated_at))
            return wait


class RateLimiter:
    """Waits for a token of ``(account, operation)`` before each call.

    ``scale`` multiplies every rate (1 against Amazon; the sandbox's time scale F against it).
    ``adapt`` takes the rate Amazon reports in ``x-amzn-RateLimit-Limit`` (already scaled by the
    sandbox), so a plan Amazon raised or lowered for this account is followed.
    """

    def __init__(self, store: BucketStore, account: str, scale: float = 1.0,
                 plans: dict[str, UsagePlan] | None = None,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.store, self.account, self.scale = store, account, scale
        self._plans = dict(plans or USAGE_PLANS)
        self._reported: dict[str, float] = {}
        self._clock, self._sleep = clock, sleep
        self.waited_s = 0.0

    def rate(self, operation: str) -> float:
        return self._reported.get(operation) or self._plans[operation].rate * self.scale

    def adapt(self, operation: str, reported_rate: float) -> None:
        if reported_rate > 0:
            self._reported[operation] = reported_rate

    def acquire(self, operation: str) -> float:
        """Block until a token is ours; return the seconds waited."""
        wait = self.store.reserve(f"{self.account}:{operation}", self.rate(operation),
                                  self._plans[operation].burst, self._clock())
        if wait > 0:
            self._sleep(wait)
            self.waited_s += wait
        return wait
