"""
### Amazon channel health

Every 15 minutes, checks what needs a person in each active store and sends **new** alerts (and,
briefly, the ones that cleared) through the connection `sales_channel_alerts` (a webhook: conn type
`http`/`https`; or email: conn type `smtp`). An alert is sent once while it stays open; it clears
when its check passes, and a later recurrence is a new alert. Open alerts are in the channel
database's `alerts` table (and the report).

**Checks**, each naming the store, the figure and what to do:
- `watermark_stale:<stream>` — the import (`import`) or the status sync (`sync_to_amazon`,
  `sync_from_amazon`) has not moved a store's watermark for `[sales_channel]
  alert_watermark_stale_minutes` (60): orders or effects stopped flowing (look at that DAG's failed
  task for the store);
- `quarantine_size` / `quarantine_age` — more than `alert_quarantine_max` (25) orders unresolved in a
  seller account's quarantine, or one older than `alert_quarantine_age_hours` (24): resolve them with
  `amazon_resolve_quarantine` or fix the cause;
- `outbox_failed` — calls given up (more than `alert_outbox_failed`, 0): the outbox rows say why;
- `reconciliation_unrepaired` — the latest reconciliation found orders it could not repair.

**If `check_health` fails**, the alerts could not be delivered (the log says what the receiver
answered, or that the connection is missing): fix the connection; the retry — or the next run —
sends the same alerts, since an alert is marked sent only once delivered. Alerts existing is not a
failure. Schedule: `[sales_channel] health_schedule`.

Every DAG of the project also alerts through the same connection when a task fails for good, and
when a run is not finished by its deadline (`[sales_channel] deadline_minutes_<dag_id>`).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import conf, dag, task
from sales_channel.airflow.alerting import dag_alerting


@dag(
    dag_id="amazon_channel_health",
    schedule=conf.get("sales_channel", "health_schedule", fallback="*/15 * * * *"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["amazon", "commerce", "alerts", "health"],
    doc_md=__doc__,
    **dag_alerting("amazon_channel_health", default_args={"owner": "sales-channel", "retries": 3,
                                                           "retry_exponential_backoff": 2.0}),
)
def amazon_channel_health():
    @task
    def check_health() -> dict:
        """Run the health checks for the active stores and deliver the new alerts and clearances."""
        from sales_channel.airflow.tasks.health import check_health

        return check_health()

    check_health()


amazon_channel_health()
