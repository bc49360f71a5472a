"""
### Amazon order import

Turns the Amazon orders of every active store into Commerce orders, exactly once, every 5 minutes.

**What it does, per seller account** (one mapped task group each, named by the account's connection):
the stores of one seller account share one Amazon search (Amazon's usage plan is per account), and
each order goes to the store of its marketplace. `plan_window` fixes the window (from the earliest
store watermark minus an overlap, to two minutes ago); `import_orders` reads Amazon's orders updated
in it (items inline, about one call per hundred orders) and creates the Commerce orders the creation
rules allow — merchant-fulfilled once *Unshipped*, Amazon-fulfilled once *Shipped* (created
complete), never *Pending* or *Cancelled*, never orders created before the store's `connected_since`.

**Large windows** (a busy seller, a long outage) are read page by page with a checkpoint: each run
stops before its time budget (`[sales_channel] import_time_budget_minutes`, 40) and the next run
continues from the page after the last one imported. The summary says `window continues next run`.

**When an order cannot be imported** (unknown SKU, disabled or out-of-stock product, bad address,
currency not allowed, a value Commerce would cut, malformed Amazon data) it is *quarantined* with a
reason naming the field and retried on later runs with a growing delay; the other orders go on. Fix
the cause (add the SKU or a SKU mapping, restock, enable the product) and a later run imports it.

**If `import_orders` fails**: some orders failed transiently (Commerce down, say); the rest are
imported, and those are resumed from the outbox — after an ambiguous create, only once it has had
time to land and a lookup finds nothing. Clearing the task is always safe: nothing is created twice.
**If `check_store` fails** for a store, its settings are invalid (the log names the field): fix the
Variable `sales_channel_stores` and clear the task; the other stores import meanwhile.

**Settings**: Variable `sales_channel_stores` (JSON, one entry per store); connections per store
(`amazon_conn_id`, `commerce_conn_id`) and `sales_channel_db`. Schedule: `[sales_channel]
import_schedule` (cron, default every 5 minutes); parallel Commerce writes: `[sales_channel]
import_workers` (default 8).

Emits the asset `amazon_orders` when an account's import finishes.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import conf, dag, task, task_group
from sales_channel.airflow.alerting import dag_alerting
from sales_channel.airflow.assets import AMAZON_ORDERS


@dag(
    dag_id="amazon_order_import",
    schedule=conf.get("sales_channel", "import_schedule", fallback="*/5 * * * *"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    **dag_alerting("amazon_order_import",
                   default_args={"owner": "sales-channel", "retries": 3, "retry_exponential_backoff": 2.0,
                                 "max_retry_delay": timedelta(minutes=10), "execution_timeout": timedelta(hours=1)}),
    tags=["amazon", "commerce", "orders", "import"],
    doc_md=__doc__,
)
def amazon_order_import():
    @task
    def list_stores() -> list[str]:
        """Every store of the settings Variable, valid or not (each is checked by its own task)."""
        from sales_channel.airflow.tasks.order_import import store_keys

        return store_keys()

    @task(map_index_template="{{ store }}")
    def check_store(store: str) -> str:
        """Fails, naming the field, when this store's settings are invalid; the others import."""
        from sales_channel.airflow.tasks.order_import import check_store

        return check_store(store)

    @task
    def load_accounts() -> list[str]:
        """The seller accounts that feed at least one active store with valid settings."""
        from sales_channel.airflow.tasks.order_import import accounts_to_import

        return accounts_to_import()

    @task_group
    def import_account(account: str):
        @task(map_index_template="{{ account }}")
        def plan_window(account: str) -> dict:
            """The window this run reads, fixed so that retries and later runs finish it."""
            from sales_channel.airflow.tasks.order_import import plan_window

            return plan_window(account)

        @task(outlets=[AMAZON_ORDERS], map_index_template="{{ account }}")
        def import_orders(account: str, window: dict) -> dict:
            """Read the window from Amazon (from its checkpoint) and create the Commerce orders."""
            from sales_channel.airflow.tasks.order_import import import_orders

            return import_orders(account, window)

        import_orders(account, plan_window(account))

    check_store.expand(store=list_stores())
    import_account.expand(account=load_accounts())


amazon_order_import()
