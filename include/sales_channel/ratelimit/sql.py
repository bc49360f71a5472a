"""Usage-plan buckets in the channel database, shared by every process that reaches it."""

from __future__ import annotations

from sqlalchemy import Engine

from sales_channel.ratelimit.buckets import reserve_in_state
from sales_channel.store._sql import Sessions, lock_row
from sales_channel.store.models import RateBucket


class SqlBucketStore:
    """A ``BucketStore`` keeping one ``rate_buckets`` row per bucket.

    Each reservation is one short transaction that locks the row (``SELECT ... FOR UPDATE`` on
    PostgreSQL, the write lock of ``BEGIN IMMEDIATE`` on SQLite), applies ``reserve_in_state`` and
    writes it back, so reservations from any number of processes are serialized per bucket.
    """

    def __init__(self, engine: Engine) -> None:
        self._sessions = Sessions(engine)

    def reserve(self, key: str, rate: float, burst: int, now: float) -> float:
        with self._sessions.write() as session:
            bucket = lock_row(session, RateBucket, {"key": key}, {"level": float(burst), "updated_at": now})
            # A caller's ``now`` can be older than the row's (it read its clock, then waited for the
            # lock; or its clock is behind). Reserve as of the row's time, never before it: otherwise
            # the time between the two readings is refilled twice, and the wait, counted from the
            # caller's older now, hands out the token too early.
            start = max(now, bucket.updated_at)
            bucket.level, wait = reserve_in_state(bucket.level, bucket.updated_at, rate, burst, start)
            bucket.updated_at = start
            return wait + (start - now)
