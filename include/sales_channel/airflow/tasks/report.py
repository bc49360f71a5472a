"""The tasks of ``amazon_order_report``: which days and stores, then the report's files."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

from airflow.sdk import get_current_context
from airflow.sdk.exceptions import AirflowFailException

from sales_channel.airflow.hooks import ChannelDatabaseHook
from sales_channel.airflow.tasks.common import active_stores, results_folder
from sales_channel.pipeline.reporting.activity import Period, load_activity, stores_named
from sales_channel.pipeline.reporting.render import write_report

log = logging.getLogger(__name__)


def plan_report() -> dict[str, Any]:
    """The period (the form's dates, or the UTC day before the run) and the stores (the form's, or every
    active store). A form that cannot be reported fails at once, without retries, naming the field."""
    context = get_current_context()
    params = context["params"]
    start, end = params.get("start_date"), params.get("end_date")
    try:
        if bool(start) != bool(end):
            raise ValueError("start_date, end_date: give both dates, or neither for the day before the run")
        period = (Period(date.fromisoformat(start), date.fromisoformat(end)) if start
                  else Period.day_before(context["dag_run"].run_after))
        active = active_stores()
        keys = list(params.get("stores") or [])
        selected = stores_named(active, keys)
    except ValueError as refused:
        raise AirflowFailException(f"refused: {refused}") from refused
    plan = {"first_day": str(period.first), "last_day": str(period.last), "stores": [s.key for s in selected],
            "all_stores": {s.key for s in selected} == {s.key for s in active}}
    log.info("report of %s to %s, stores %s", plan["first_day"], plan["last_day"], ", ".join(plan["stores"]))
    return plan


def build_report(plan: dict[str, Any]) -> dict[str, Any]:
    """Reads the channel database and writes the charts, the page and the CSVs (replacing the same
    period's earlier report whole: a retry or a re-run is safe)."""
    stores = stores_named(active_stores(), plan["stores"])
    period = Period(date.fromisoformat(plan["first_day"]), date.fromisoformat(plan["last_day"]))
    now = datetime.now(UTC)
    channel = ChannelDatabaseHook().get_conn()
    try:
        activity = load_activity(channel, stores, period, now=now, all_stores=plan["all_stores"])
    finally:
        channel.close()
    files = write_report(activity, results_folder(), generated_at=now)
    totals = activity.totals()
    log.info("report written to %s%s: %s", files.folder, f" (and {files.latest})" if files.latest else "",
             ", ".join(f"{k} {v}" for k, v in totals.items()))
    return {"folder": str(files.folder), "html": str(files.html), "latest": files.latest and str(files.latest),
            **totals}
