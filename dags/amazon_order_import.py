"""
### Amazon order import

Turns the Amazon orders of every active store into Commerce orders, exactly once, every 5 minutes.

**What it does, per store** (one mapped task group each): plans the window (from the store's
watermark minus an overlap, to two minutes ago), reads Amazon's orders updated in it (items inline,
a handful of calls per hundred orders), and creates the Commerce orders the creation rules allow —
merchant-fulfilled once *Unshipped*, Amazon-fulfilled once *Shipped* (created complete), never
*Pending* or *Cancelled*, never orders created before the store's `connected_since`.

**When an order cannot be imported** (unknown SKU, disabled or out-of-stock product, bad address,
currency not allowed, malformed Amazon data) it is *quarantined* with a reason and retried on later
runs with a growing delay; the other orders go on. Find them in the *Amazon Orders* view or the
report. Fix the cause (add the SKU or a SKU mapping, restock, enable the product) and a later run imports
them on its own.

**If a task fails**: the orders it did import stay imported; the retry re-reads the *same* window
and creates nothing twice. A store whose settings are invalid fails `load_stores` with the store and
field named: fix the Variable `sales_channel_stores` and clear the task.

**Settings**: Variable `sales_channel_stores` (JSON, one entry per store); connections per store
(`amazon_conn_id`, `commerce_conn_id`) and `sales_channel_db`. Schedule: `[sales_channel]
import_schedule` (cron, default every 5 minutes); parallel Commerce writes: `[sales_channel]
import_workers` (default 8).

Emits the asset `amazon_orders` when a store's import finishes.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, conf, dag, task, task_group

AMAZON_ORDERS = Asset("amazon_orders")


@dag(
    dag_id="amazon_order_import",
    schedule=conf.get("sales_channel", "import_schedule", fallback="*/5 * * * *"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "sales-channel", "retries": 3, "retry_exponential_backoff": 2.0,
                  "max_retry_delay": timedelta(minutes=10), "execution_timeout": timedelta(hours=1)},
    tags=["amazon", "commerce", "orders", "import"],
    doc_md=__doc__,
)
def amazon_order_import():
    @task
    def load_stores() -> list[str]:
        """The active stores, after validating every store's settings."""
        from sales_channel.airflow.tasks.order_import import stores_to_import

        return stores_to_import()

    @task_group
    def import_store(store: str):
        @task
        def plan_window(store: str) -> dict[str, str]:
            """The window this run reads, fixed here so that retries of the import reuse it."""
            from sales_channel.airflow.tasks.order_import import plan_window

            return plan_window(store)

        @task(outlets=[AMAZON_ORDERS])
        def import_orders(store: str, window: dict[str, str]) -> dict:
            """Read the window from Amazon and create the Commerce orders; quarantine what is blocked."""
            from sales_channel.airflow.tasks.order_import import import_orders

            return import_orders(store, window)

        import_orders(store, plan_window(store))

    import_store.expand(store=load_stores())


amazon_order_import()
