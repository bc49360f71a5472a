"""``FollowFeedsOperator``: follows a seller account's feeds to their results without holding a worker.

Each check is quick (getFeed per waiting feed, the processing report of the finished ones, results into
the outbox); between checks the task defers (``PollingOperator``). After ``max_wait`` it ends
successfully with the feeds still waiting named in its result; the next run's check picks them up
(every check looks at every feed with rows still sent).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Context

from sales_channel.airflow.operators.polling import PollingOperator


class FollowFeedsOperator(PollingOperator):
    template_fields = ("account",)

    def __init__(self, *, account: str, poll_interval: timedelta = timedelta(minutes=1),
                 max_wait: timedelta = timedelta(minutes=30), **kwargs: Any) -> None:
        super().__init__(poll_interval=poll_interval, max_wait=max_wait, **kwargs)
        self.account = account

    def check(self, context: Context) -> tuple[bool, dict[str, Any]]:
        from sales_channel.airflow.tasks.status_sync import follow_feeds

        result = follow_feeds(self.account)
        if result["pending_feeds"]:
            self.log.info("account %s: %d feed(s) still processing", self.account, len(result["pending_feeds"]))
        return not result["pending_feeds"], result

    def unfinished(self, context: Context, result: dict[str, Any], waited: timedelta) -> dict[str, Any]:
        self.log.warning("account %s: feeds %s still processing after %s; the next run follows them",
                         self.account, ", ".join(result["pending_feeds"]), waited)
        return result
