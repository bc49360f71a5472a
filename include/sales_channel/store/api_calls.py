"""Amazon SP-API calls per seller account, operation and hour (what the usage plans are spent on).

Each task adds what its client did when the client is closed (``record``): the hook every Airflow task
gets its client from, and ``pipeline.standalone`` for scripts and tests, do it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime

from sales_channel.store._sql import Clock, Sessions, insert_for, utc_now
from sales_channel.store.models import ApiCallCount

log = logging.getLogger(__name__)


def hour_of(moment: datetime) -> datetime:
    """The UTC hour ``moment`` falls in."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()} given: pass a timezone-aware time")
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class ApiCallRepository:
    def __init__(self, sessions: Sessions, clock: Clock = utc_now) -> None:
        self._sessions, self._clock = sessions, clock

    def add(self, seller_account: str, hour: datetime, counts: Mapping[str, tuple[int, int, int]]) -> None:
        """Add ``{operation: (calls, throttled, errors)}`` to the account's counts of the hour of ``hour``
        (an increment: tasks running at the same time each add their own)."""
        rows = [{"seller_account": seller_account, "operation": operation, "period_start": hour_of(hour),
                 "calls": calls, "throttled": throttled, "errors": errors}
                for operation, (calls, throttled, errors) in sorted(counts.items()) if calls or throttled or errors]
        if not rows:
            return
        with self._sessions.write() as session:
            statement = insert_for(session)(ApiCallCount).values(rows)
            session.execute(statement.on_conflict_do_update(
                index_elements=["seller_account", "operation", "period_start"],
                set_={name: getattr(ApiCallCount, name) + getattr(statement.excluded, name)
                      for name in ("calls", "throttled", "errors")}))

    def record(self, seller_account: str, counts: Mapping[str, tuple[int, int, int]]) -> None:
        """``add`` at the current hour, for a client being closed. A failure is logged, not raised: the
        calls were made and their work is done (retrying the task for a count would repeat them); the
        report then counts fewer calls than were made, and the warning says so."""
        try:
            self.add(seller_account, self._clock(), counts)
        except Exception as exc:  # noqa: BLE001 - see the docstring
            log.warning("SP-API calls of account %s not recorded (the report will count fewer): %s: %s",
                        seller_account, type(exc).__name__, exc)
