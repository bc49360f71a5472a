"""
### Amazon order activity report

What happened with the Amazon orders of every store (or of the stores you pick), per day, store,
marketplace, fulfillment channel and Amazon status: orders **received**, **imported** into Commerce,
**shipped**, **refunded** and **cancelled**; **revenue per currency**; how long orders took from the
Amazon purchase **to the Commerce order** and **to the shipment confirmation on Amazon** (median and
95th percentile); what is **in quarantine** by reason and age; **Amazon calls and throttles** per
operation; the **reconciliation**'s outcome; the **open alerts**. No buyer data is read or written.

**When it runs**: daily over the previous UTC day, right after `amazon_order_reconciliation` finishes
(the asset `amazon_reconciliation`) — and at 02:30 UTC in any case, so a failed reconciliation does not
stop the report (it then shows that reconciliation's outcome, or none). **On demand**: trigger it with
the form — *stores* (empty = every active store) and a *start* and *end date* (both or neither; at
most 93 days).

**Where it is**: an HTML page with charts (`index.html`) and a CSV per table in
`[sales_channel] results_folder` (default `$AIRFLOW_HOME/sales_channel_results`) under
`report/<first day>[_<last day>][__<stores>]/`; `report/latest/` is the newest all-store report. The
`build_report` task's log names the folder and the headline numbers.

**If `plan_report` fails** with *refused: …*: the form names a store that is not active, or dates that do
not go together — fix the form and trigger again (nothing was written). **If `build_report` fails**: the
channel database was unreachable (the log says why) or the results folder is not writable; it is retried,
and clearing it is always safe (a report is replaced whole, never half-written).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, task
from sales_channel.airflow.alerting import dag_alerting
from sales_channel.airflow.assets import AMAZON_RECONCILIATION
from sales_channel.domain.settings import STORE_KEY_PATTERN

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


@dag(
    dag_id="amazon_order_report",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("30 2 * * *", timezone="UTC", interval=timedelta(days=1)),
        assets=[AMAZON_RECONCILIATION]),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    **dag_alerting("amazon_order_report",
                   default_args={"owner": "sales-channel", "retries": 2, "retry_exponential_backoff": 2.0,
                                 "max_retry_delay": timedelta(minutes=10), "execution_timeout": timedelta(minutes=30)}),
    tags=["amazon", "commerce", "orders", "report"],
    params={
        "stores": Param([], type="array", items={"type": "string", "pattern": STORE_KEY_PATTERN},
                        title="Stores", description="Store keys of the Variable sales_channel_stores (e.g. us). "
                                                    "Empty: every active store."),
        "start_date": Param(None, type=["null", "string"], format="date", pattern=DATE_PATTERN,
                            title="Start date", description="First day of the report (UTC, YYYY-MM-DD). Empty "
                                                            "with the end date: the day before the run."),
        "end_date": Param(None, type=["null", "string"], format="date", pattern=DATE_PATTERN,
                          title="End date", description="Last day of the report, included (UTC, YYYY-MM-DD); at "
                                                        "most 93 days after the start."),
    },
    doc_md=__doc__,
)
def amazon_order_report():
    @task
    def plan_report() -> dict:
        """The days and stores to report; refuses, without retries, a form that does not go together."""
        from sales_channel.airflow.tasks.report import plan_report

        return plan_report()

    @task
    def build_report(plan: dict) -> dict:
        """Reads the channel database and writes the charts, the HTML page and the CSVs."""
        from sales_channel.airflow.tasks.report import build_report

        return build_report(plan)

    build_report(plan_report())


amazon_order_report()
