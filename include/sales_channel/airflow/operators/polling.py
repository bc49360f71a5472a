"""``PollingOperator``: waits for Amazon to finish something (a feed, a report) without holding a worker.

Amazon processes feeds and reports in minutes. Instead of a task that sleeps in a worker slot, each
check is one quick look, and between checks the task *defers* to the triggerer on a
``TimeDeltaTrigger``: no worker slot is held while Amazon works. Subclasses say what a check is, and
what to do when ``max_wait`` has passed with the work unfinished.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
from airflow.sdk import BaseOperator, Context

STARTED = "polling_started"  # XCom key: when this task instance began waiting


class PollingOperator(BaseOperator):
    def __init__(self, *, poll_interval: timedelta, max_wait: timedelta, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.poll_interval, self.max_wait = poll_interval, max_wait

    def start(self, context: Context) -> None:
        """Once per try, before the first check (e.g. ask Amazon for the report)."""

    def check(self, context: Context) -> tuple[bool, Any]:
        """One quick look: (finished, the task's result so far)."""
        raise NotImplementedError

    def unfinished(self, context: Context, result: Any, waited: timedelta) -> Any:
        """``max_wait`` passed with the work unfinished: the task's result, or raise to fail the try."""
        raise NotImplementedError

    def execute(self, context: Context) -> Any:
        # Kept in XCom, not in the deferral's kwargs: ``dag.test()`` replaces those with the trigger event.
        context["ti"].xcom_push(key=STARTED, value=time.time())
        self.start(context)
        return self.resume(context)

    def resume(self, context: Context, event: Any = None) -> Any:
        finished, result = self.check(context)
        if finished:
            return result
        waited = timedelta(seconds=time.time() - self.pulled(context, STARTED))
        if waited + self.poll_interval <= self.max_wait:
            self.log.info("not finished yet; checking again in %s", self.poll_interval)
            self.defer(trigger=TimeDeltaTrigger(self.poll_interval), method_name="resume")
        return self.unfinished(context, result, waited)

    def pulled(self, context: Context, key: str) -> Any:
        """What this try of this (mapped) task instance pushed under ``key`` before it deferred."""
        ti = context["ti"]
        return ti.xcom_pull(task_ids=self.task_id, key=key, map_indexes=ti.map_index)
