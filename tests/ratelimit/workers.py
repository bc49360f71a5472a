"""Building a shared bucket store from a picklable spec, and reserving from child processes."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sales_channel.ratelimit import BucketStore

from tests.store.workers import StartLine


@dataclass(frozen=True)
class StoreSpec:
    kind: str  # "sql" or "redis"
    url: str
    prefix: str = ""


def open_store(spec: StoreSpec) -> tuple[BucketStore, object]:
    """The store and the resource to close afterwards (an engine or a Redis client)."""
    if spec.kind == "sql":
        from sales_channel.ratelimit.sql import SqlBucketStore
        from sales_channel.store import create_engine_for

        engine = create_engine_for(spec.url)
        return SqlBucketStore(engine), engine
    import redis
    from sales_channel.ratelimit.redis import RedisBucketStore

    client = redis.Redis.from_url(spec.url)
    return RedisBucketStore(client, prefix=spec.prefix), client


def close(resource: object) -> None:
    (resource.dispose if hasattr(resource, "dispose") else resource.close)()


def reserve_many(spec: StoreSpec, key: str, rate: float, burst: int, count: int,
                 start_line: StartLine) -> list[tuple[float, float]]:
    """Reserve ``count`` tokens as fast as possible; the (now, wait) of each reservation."""
    store, resource = open_store(spec)
    start_line.wait()
    try:
        grants = []
        for _ in range(count):
            now = time.time()
            grants.append((now, store.reserve(key, rate, burst, now)))
        return grants
    finally:
        close(resource)
