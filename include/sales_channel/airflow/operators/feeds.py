"""``FollowFeedsOperator``: follows a seller account's feeds to their results without holding a worker.

Amazon processes a feed in minutes. Instead of a task that sleeps in a worker slot, each check is
quick (getFeed per waiting feed, the processing report of the finished ones, results into the
outbox) and between checks the task *defers* to the triggerer on a ``TimeDeltaTrigger``: no worker
slot is held while Amazon works. After ``max_wait`` it ends successfully with the feeds still
waiting named in its result; the next run's check picks them up (every check looks at every feed
with rows still sent).
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
from airflow.sdk import BaseOperator, Context

STARTED = "follow_started"  # XCom key: when this task instance began following


class FollowFeedsOperator(BaseOperator):
    template_fields = ("account",)

    def __init__(self, *, account: str, poll_interval: timedelta = timedelta(minutes=1),
                 max_wait: timedelta = timedelta(minutes=30), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.account, self.poll_interval, self.max_wait = account, poll_interval, max_wait

    def execute(self, context: Context) -> dict[str, Any]:
        # Kept in XCom, not in the deferral's kwargs: ``dag.test()`` replaces those with the trigger event.
        context["ti"].xcom_push(key=STARTED, value=time.time())
        return self.resume(context)

    def resume(self, context: Context, event: Any = None) -> dict[str, Any]:
        from sales_channel.airflow.tasks.status_sync import follow_feeds

        result = follow_feeds(self.account)
        waited = timedelta(seconds=time.time() - context["ti"].xcom_pull(task_ids=self.task_id, key=STARTED,
                                                                           map_indexes=context["ti"].map_index))
        if result["pending_feeds"] and waited + self.poll_interval <= self.max_wait:
            self.log.info("account %s: %d feed(s) still processing; checking again in %s", self.account,
                          len(result["pending_feeds"]), self.poll_interval)
            self.defer(trigger=TimeDeltaTrigger(self.poll_interval), method_name="resume")
        if result["pending_feeds"]:
            self.log.warning("account %s: feeds %s still processing after %s; the next run follows them",
                             self.account, ", ".join(result["pending_feeds"]), waited)
        return result
