"""
### Amazon order reconciliation

The daily proof that Amazon and Commerce agree about every order, with the safe repairs made. It runs at
02:00 UTC over **the orders bought in the 24 hours before** (the run's data interval: Amazon's reports
lag up to half an hour), and on demand with the
form: a *store* (empty: every active store) and a *window start* and *end* (empty: the run's interval;
at most 31 days).

**Tasks**
- `check_request` — the window to reconcile; refuses a form whose fields do not go together (one end of
  the window only, an end before the start), without retries, before anything is read.
- `list_stores`, `load_accounts` — the stores to reconcile and their seller accounts.
- `request_report` (per seller account) — one Amazon order report of the window for all the account's
  stores (createReport, then getReport until Amazon has made it: a handful of calls whatever the volume).
  Between looks it waits on the triggerer (deferred), holding no worker slot.
- `reconcile` (per store) — reads the store's rows of the report, its Commerce orders carrying the Amazon
  payment method (with items, quantities shipped, refunded, cancelled) and our links, quarantine and
  outbox; classifies every order; **repairs what is safe** through the same machinery as the flows
  (exactly once still holds): re-imports missing orders, relinks an unlinked Commerce order, re-queues
  unsent or transiently failed outbox rows (the status sync sends them on its next run). A read-only
  store gets its repairs planned, none made. Writes the result to the channel database
  (`reconciliation_runs`, `reconciliation_findings`) and as `findings.csv` and `summary.html` under
  `[sales_channel] results_folder` (default `$AIRFLOW_HOME/sales_channel_results`)
  `/reconciliation/<store>/<window>/`, then emits the asset `amazon_reconciliation`.
- `verdict` (per store) — lists in its log each finding that needs a person and **fails, without
  retries, when there is one**: orphan or duplicate Commerce orders, totals or items that differ,
  shipments or cancellations on one side only, orders stuck in quarantine, outbox rows Amazon refused,
  repairs that failed.

**When a task fails**
- `verdict`: nothing is broken in the pipeline; people must act. Open the store's `summary.html` (the
  log says where): it lists each finding and what to do per kind (cancel a duplicate in Commerce,
  resolve a quarantined order with `amazon_resolve_quarantine`, re-send a shipment with
  `amazon_resend_shipment`, re-import with `amazon_reimport_orders`, …). The next run shows whether it is
  fixed; findings seen in the previous run are marked as not new.
- `request_report`: Amazon could not make the report (FATAL: the log names the report id) or had not made
  it in time; the retry requests a new one. A report Amazon cancels for lack of data is fine when the
  channel database knows no order of the window, else the store's `reconcile` fails and is retried.
- `reconcile`: Amazon, Commerce or the channel database was unreachable, or a value was malformed (the
  error names the order and the field). The retry starts the store's reconciliation again (its earlier
  attempt's findings are replaced); repairs already made are not made twice.

**Settings** (`[sales_channel]`): `results_folder`, `reconciliation_margin_hours` (24: Commerce orders
created that long before or after the window are checked too), `reconciliation_quarantine_hours` (24)
and `reconciliation_outbox_hours` (2: older entries are findings), `report_poll_seconds` (30),
`report_wait_minutes` (60).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import conf, dag, task
from airflow.timetables.trigger import CronTriggerTimetable
from sales_channel.airflow.alerting import dag_alerting
from sales_channel.airflow.assets import AMAZON_RECONCILIATION
from sales_channel.airflow.operators.reports import OrderReportOperator
from sales_channel.airflow.params import date_time_param, store_param


@dag(
    dag_id="amazon_order_reconciliation",
    schedule=CronTriggerTimetable("0 2 * * *", timezone="UTC", interval=timedelta(days=1)),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    **dag_alerting("amazon_order_reconciliation",
                   default_args={"owner": "sales-channel", "retries": 2, "retry_exponential_backoff": 2.0,
                                 "max_retry_delay": timedelta(minutes=15), "execution_timeout": timedelta(hours=2)}),
    tags=["amazon", "commerce", "orders", "reconciliation"],
    params={
        "store": store_param(description="Reconcile this store only (its key in the Variable sales_channel_stores, "
                                         "e.g. us). Empty: every active store."),
        "window_start": date_time_param(title="Window start",
                                        description="First moment of the window of order purchase dates (UTC unless "
                                                    "an offset is given). Empty, with the end: the run's data "
                                                    "interval. At most 31 days.", section="Time window"),
        "window_end": date_time_param(title="Window end",
                                      description="End of the window (exclusive), after its start.",
                                      section="Time window"),
    },
    doc_md=__doc__,
)
def amazon_order_reconciliation():
    @task
    def check_request() -> dict:
        """The window to reconcile; refuses, without retries, a form whose fields do not go together."""
        from sales_channel.airflow.tasks.reconciliation import check_request

        return check_request()

    @task
    def list_stores() -> list[str]:
        """The store of the form, else every active store with valid settings."""
        from sales_channel.airflow.tasks.reconciliation import store_keys

        return store_keys()

    @task
    def load_accounts(stores: list[str]) -> list[str]:
        """The seller accounts of those stores (one order report each)."""
        from sales_channel.airflow.tasks.reconciliation import accounts

        return accounts(stores)

    @task(map_index_template="{{ store }}", outlets=[AMAZON_RECONCILIATION])
    def reconcile(store: str, window: dict, reports: list[dict]) -> dict:
        """Reads the three sides, classifies, repairs what is safe, writes the results (XCom: counts)."""
        from sales_channel.airflow.tasks.reconciliation import reconcile

        return reconcile(store, window, reports)

    @task(map_index_template="{{ store }}")
    def verdict(outcome: dict) -> dict:
        """Fails, without retries, when findings need a person (listed in the log)."""
        from sales_channel.airflow.tasks.reconciliation import verdict

        return verdict(outcome)

    window = check_request()
    stores = list_stores()
    window >> stores
    # One order report per account, waited for on the triggerer (no worker slot held while Amazon makes it).
    reports = OrderReportOperator.partial(
        task_id="request_report", map_index_template="{{ task.account }}", window=window, stores=stores,
        poll_interval=timedelta(seconds=conf.getfloat("sales_channel", "report_poll_seconds", fallback=30.0)),
        max_wait=timedelta(minutes=conf.getfloat("sales_channel", "report_wait_minutes", fallback=60.0)),
    ).expand(account=load_accounts(stores)).output
    verdict.expand(outcome=reconcile.partial(window=window, reports=reports).expand(store=stores))


amazon_order_reconciliation()
