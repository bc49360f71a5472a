"""
### Re-import Amazon orders (manual)

Reads orders from Amazon again and runs them through the import now — **one order**, or **a store's
orders created in a time window**. Trigger it with the form; nothing runs on a schedule.

**One order**: give its *Amazon order id* (and its *store* if the channel database has never seen the
order and several seller accounts are configured). The order is read with getOrder (every dataset the
import uses) and imported on the import's own path.
**A window**: leave the order id empty and give the *store*, a *start* and an *end* (orders *created*
in that window, at most 31 days; an end later than two minutes ago is moved back to then). Its
marketplaces are searched with searchOrders and every order goes through the import's routing and
creation. The scheduled import's watermarks and window checkpoint are **not moved**: a re-import never
changes what `amazon_order_import` reads next.

**Exactly once still holds**: an order already linked is not created again (the summary says *already
linked*); a quarantined order is retried **at once, whatever its backoff**; an order someone skipped
with `amazon_resolve_quarantine` stays skipped; an order another run is creating is left to it.

**Tasks**: `check_request` checks what the form cannot (an order *or* a window, the end after the start,
at most 31 days) and fails at once, without retries, changing nothing — fix the form and trigger again.
`reimport` does the work and ends its log with a summary: created, already linked, skipped by rule and
why, quarantined with each reason. Every order it touched has a `reimported` event on its timeline.

**If `reimport` fails**: with *refused: …* the request cannot be done as asked (an unknown store, an
order Amazon does not serve to that account): nothing changed, trigger again with a fixed form.
Otherwise some orders failed transiently (Commerce or Amazon down) or a long window ran out of time:
the task is retried and continues — a window from the page after the last one done; clearing the task
later is always safe. Each field of the form is validated when the run is created (a malformed order
id, store or date is refused before any run exists).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task
from sales_channel.airflow.alerting import dag_alerting
from sales_channel.airflow.params import amazon_order_id_param, store_param, window_params


@dag(
    dag_id="amazon_reimport_orders",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    **dag_alerting("amazon_reimport_orders",
                   default_args={"owner": "sales-channel", "retries": 2, "retry_exponential_backoff": 2.0,
                                 "max_retry_delay": timedelta(minutes=10), "execution_timeout": timedelta(hours=1)}),
    tags=["amazon", "commerce", "orders", "manual"],
    params={
        "amazon_order_id": amazon_order_id_param(
            required=False, section="One order",
            description="Re-import this one order (3-7-7 digits, e.g. 113-1234567-1234567). Leave empty to "
                        "re-import a store's window instead."),
        "store": store_param(
            section="One order, or a store's window",
            description="The store's key in the Variable sales_channel_stores (e.g. us). Required for a "
                        "window; for one order only when the order is new to the channel database and "
                        "several seller accounts are configured."),
        **window_params(what="order creation times", section="A store's window (leave the order id empty)"),
    },
    doc_md=__doc__,
)
def amazon_reimport_orders():
    @task
    def check_request() -> str:
        """Refuses, without retries, a form whose fields do not go together (naming the field)."""
        from sales_channel.airflow.tasks.reimport_orders import check_request

        return check_request()

    @task
    def reimport() -> dict:
        """Reads the order or window from Amazon again and imports it; ends with a per-order summary."""
        from sales_channel.airflow.tasks.reimport_orders import reimport

        return reimport()

    check_request() >> reimport()


amazon_reimport_orders()
