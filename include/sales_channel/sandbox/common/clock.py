"""Time in the sandboxes: timestamps on the real UTC clock, delays and refills scaled by F.

With a time scale F, usage-plan buckets refill F times faster and lifecycle delays are F times
shorter, while every timestamp the services return stays on the real UTC clock, so the two-minute
rule of searchOrders and the clients' watermarks behave exactly as in production.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class SandboxClock:
    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale}")
        self.time_scale = time_scale

    @staticmethod
    def now() -> datetime:
        """The real current time, UTC."""
        return datetime.now(UTC)

    @staticmethod
    def monotonic() -> float:
        return time.monotonic()

    def scaled_rate(self, rate_per_second: float) -> float:
        """A usage-plan rate as the sandbox applies it (F times faster)."""
        return rate_per_second * self.time_scale

    def scaled_delay(self, delay: timedelta) -> timedelta:
        """A lifecycle delay as the sandbox applies it (F times shorter)."""
        return delay / self.time_scale

    def elapsed_lifecycle_time(self, since: datetime, now: datetime | None = None) -> timedelta:
        """How much *lifecycle* time has passed since ``since``: real time multiplied by F."""
        return ((now or self.now()) - since) * self.time_scale


def to_iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` and whole seconds, as Amazon returns it."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> datetime:
    """Parse an ISO 8601 date-time (``Z`` or an offset); naive values are taken as UTC."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
