"""Amazon's usage plans, respected across every process that calls on behalf of one seller account.

Amazon meters each operation with a token bucket per selling partner and application. Every Airflow
task is a process of its own, so a bucket held in memory would let N tasks send N times the allowed
rate: the buckets live in a shared store (the channel database, or Redis at scale), keyed by seller
account and operation.

The bucket is *reservation based*: a caller takes a token even when none is left (the level goes
negative) and is told how long to wait until that token exists. Callers in any process then queue
fairly behind one another at exactly the plan's rate, with no polling and no thundering herd.
"""

from sales_channel.ratelimit.buckets import (
    USAGE_PLANS,
    BucketStore,
    InMemoryBucketStore,
    RateLimiter,
    UsagePlan,
    reserve_in_state,
)

__all__ = ["USAGE_PLANS", "BucketStore", "InMemoryBucketStore", "RateLimiter", "UsagePlan", "reserve_in_state"]
