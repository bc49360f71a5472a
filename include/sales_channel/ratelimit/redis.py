"""Usage-plan buckets in Redis, for deployments with many workers."""

from __future__ import annotations

from typing import Any

# The arithmetic of ``SqlBucketStore.reserve`` (``reserve_in_state`` as of the later of the caller's and
# the bucket's time; see sql.py), run inside Redis so that read, refill, take and write are one atomic step. Numbers travel as strings: Redis would truncate a Lua number reply to an
# integer. The hash expires once the bucket would be full again, which is what a missing key means.
_RESERVE = """
local level = tonumber(redis.call('HGET', KEYS[1], 'level'))
local updated_at = tonumber(redis.call('HGET', KEYS[1], 'updated_at'))
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if level == nil or updated_at == nil then
  level, updated_at = burst, now
end
local start = math.max(now, updated_at)
local refilled = math.min(burst, level + (start - updated_at) * rate)
local new_level = refilled - 1
local wait = start - now
if new_level < 0 then wait = wait + -new_level / rate end
redis.call('HSET', KEYS[1], 'level', string.format('%.17g', new_level),
           'updated_at', string.format('%.17g', start))
redis.call('PEXPIRE', KEYS[1], math.ceil(((burst - new_level) / rate + 60) * 1000))
return string.format('%.17g', wait)
"""

KEY_PREFIX = "sales_channel:bucket:"


class RedisBucketStore:
    """A ``BucketStore`` in Redis: one hash per bucket, reserved atomically by a Lua script.

    ``client`` is a ``redis.Redis`` (or anything with ``register_script``).
    """

    def __init__(self, client: Any, prefix: str = KEY_PREFIX) -> None:
        self._reserve = client.register_script(_RESERVE)
        self._prefix = prefix

    def reserve(self, key: str, rate: float, burst: int, now: float) -> float:
        if rate <= 0:
            raise ValueError(f"bucket {key}: rate must be positive, got {rate}")
        return float(self._reserve(keys=[self._prefix + key], args=[repr(float(rate)), burst, repr(float(now))]))
