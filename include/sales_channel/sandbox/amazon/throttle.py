"""Amazon's usage plans as the sandbox enforces them: a token bucket per (seller, operation) with the
published rate and burst (``sales_channel.ratelimit.USAGE_PLANS``), the rate scaled by F.

Unlike the project's client-side limiter, which waits for a token, the service rejects a call that
finds the bucket empty (429 QuotaExceeded). The sandbox serves one seller; buckets are keyed by the
refresh token behind the caller's access token all the same, so a second seller would get its own.
"""

from __future__ import annotations

import threading

from sales_channel.ratelimit.buckets import USAGE_PLANS, reserve_in_state
from sales_channel.sandbox.common.clock import SandboxClock


class UsagePlanBuckets:
    def __init__(self, clock: SandboxClock) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._state: dict[tuple[str, str], tuple[float, float]] = {}

    def rate(self, operation: str) -> float | None:
        """The scaled rate of a rate-limited operation (None for anything else)."""
        plan = USAGE_PLANS.get(operation)
        return self.clock.scaled_rate(plan.rate) if plan else None

    def take(self, seller: str, operation: str) -> bool:
        """Take a token for one call; False when the bucket is empty (the call is throttled)."""
        plan = USAGE_PLANS.get(operation)
        if plan is None:
            return True
        rate = self.clock.scaled_rate(plan.rate)
        now = self.clock.monotonic()
        with self._lock:
            level, updated_at = self._state.get((seller, operation), (float(plan.burst), now))
            new_level, wait = reserve_in_state(level, updated_at, rate, plan.burst, now)
            if wait > 0:
                # Rejected calls take nothing: keep the refilled level.
                self._state[(seller, operation)] = (new_level + 1.0, now)
                return False
            self._state[(seller, operation)] = (new_level, now)
            return True

    def reset(self) -> None:
        with self._lock:
            self._state.clear()


def rate_header(rate: float) -> str:
    """``x-amzn-RateLimit-Limit`` as Amazon writes it (e.g. ``0.0056``)."""
    return f"{rate:.6g}"
