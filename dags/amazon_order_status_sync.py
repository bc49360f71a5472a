"""
### Amazon order status sync

Closes the loop between Commerce and Amazon, both ways, every 5 minutes and whenever the import has
read new orders (asset `amazon_orders`).

**Commerce → Amazon** (`sync_store`, one mapped task per active store, named by the store): reads the
store's shipments, credit memos and cancelled orders updated since the last run, in batches, and
queues one outbox row per effect:
- each **shipment** of a merchant-fulfilled order becomes one Amazon package (confirmShipment:
  carrier, tracking number, the shipped quantities — partial shipments are several packages). A
  shipment without tracking is confirmed or *held* per `shipments_without_tracking`; a held one is
  confirmed as soon as a track is added in Commerce;
- each **credit memo** becomes one Amazon refund (per item: price, shipping, tax, gift wrap), unless it
  is more than Amazon still holds: then a comment on the order says why and nothing is sent;
- a **cancelled order** Amazon still has unshipped is cancelled on Amazon with the store's default
  reason; an order *edited* in the admin is not cancelled (the link follows the `-1` copy); an order
  Amazon has shipped is not cancelled and a comment says so (returns go through Seller Central).

Then the task sends the store's shipment confirmations and brings **Amazon → Commerce**: a buyer's
cancellation request (accepted automatically with `accept_buyer_cancellations`, else a comment asks
the merchant), an order Amazon cancelled (cancelled in Commerce, stock given back once, or a comment
saying why Commerce cannot), an order Amazon reports shipped and Commerce fully shipped (invoiced per
`auto_invoice`, ending complete). Every action adds a comment that keeps the order's status and an
order event. Read-only stores send nothing either way; the log counts what would have been sent.

**Feeds** (`send_feeds`, per seller account): all queued cancellations go in one acknowledgement feed
and all refunds in one payment-adjustment feed per run; `follow_feeds` then follows them to their
processing report without holding a worker (it defers between looks, `[sales_channel]
feed_poll_seconds`) and records each message's result on its outbox row.

**When a task fails**: `sync_store` — Commerce or Amazon was unreachable; what was queued stays
queued and the retry resumes it (nothing is sent twice: after a lost answer the package is looked up
on Amazon before any re-send). Rows Amazon *refused* do not fail the task: they end `failed` with
Amazon's message in the outbox and a comment on the Commerce order; fix the cause and re-send with
`amazon_resend_shipment`. `send_feeds`/`follow_feeds` — retried; a feed Amazon could not process is
sent again in the next feed, and Amazon's adjustment ids make a repeat harmless.

**Settings**: Variable `sales_channel_stores`; schedule `[sales_channel] status_sync_schedule`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import AssetOrTimeSchedule, TriggerRule, conf, dag, task
from airflow.timetables.trigger import CronTriggerTimetable
from sales_channel.airflow.alerting import dag_alerting
from sales_channel.airflow.assets import AMAZON_ORDERS
from sales_channel.airflow.operators.feeds import FollowFeedsOperator


@dag(
    dag_id="amazon_order_status_sync",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable(conf.get("sales_channel", "status_sync_schedule", fallback="*/5 * * * *"),
                                       timezone="UTC"),
        assets=AMAZON_ORDERS),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    **dag_alerting("amazon_order_status_sync",
                   default_args={"owner": "sales-channel", "retries": 3, "retry_exponential_backoff": 2.0,
                                 "max_retry_delay": timedelta(minutes=10), "execution_timeout": timedelta(hours=1)}),
    tags=["amazon", "commerce", "orders", "status-sync"],
    doc_md=__doc__,
)
def amazon_order_status_sync():
    @task
    def list_stores() -> list[str]:
        """The active stores with valid settings."""
        from sales_channel.airflow.tasks.status_sync import store_keys

        return store_keys()

    @task(map_index_template="{{ store }}")
    def sync_store(store: str) -> dict:
        """Commerce → Amazon rows, shipment confirmations, then Amazon → Commerce, for one store."""
        from sales_channel.airflow.tasks.status_sync import sync_store

        return sync_store(store)

    @task
    def load_accounts() -> list[str]:
        """The seller accounts of the active stores (feeds are per account)."""
        from sales_channel.airflow.tasks.status_sync import accounts

        return accounts()

    @task(map_index_template="{{ account }}", trigger_rule=TriggerRule.ALL_DONE)
    def send_feeds(account: str) -> dict:
        """One cancellation feed and one refund feed with everything queued for the account."""
        from sales_channel.airflow.tasks.status_sync import send_feeds

        return send_feeds(account)

    accounts = load_accounts()
    synced = sync_store.expand(store=list_stores())
    sent = send_feeds.expand(account=accounts)
    followed = FollowFeedsOperator.partial(
        task_id="follow_feeds", map_index_template="{{ task.account }}", trigger_rule=TriggerRule.ALL_DONE,
        poll_interval=timedelta(seconds=conf.getfloat("sales_channel", "feed_poll_seconds", fallback=60.0)),
        max_wait=timedelta(minutes=conf.getfloat("sales_channel", "feed_follow_minutes", fallback=30.0)),
    ).expand(account=accounts)
    synced >> sent >> followed


amazon_order_status_sync()
