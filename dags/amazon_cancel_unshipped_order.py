"""
### Cancel an unshipped Amazon order (manual)

Cancels one merchant-fulfilled Amazon order that has **not shipped**, on Amazon and in Commerce, with
one of Amazon's cancel reasons. Trigger it with the form: the *Amazon order id* (3-7-7 digits), the
*reason* (sent to Amazon) and an optional *note* (kept on the order's timeline and in the Commerce
order's comment — **never sent to Amazon**). Nothing runs on a schedule.

**Tasks**
- `queue_cancel` reads the order **from Amazon now** (not the channel database's copy) and checks it:
  the order must be linked to a Commerce order of an active, writable store, be merchant-fulfilled and
  have nothing shipped, and its Commerce order must be cancellable too (an order is never cancelled on
  one side only). Then it queues Amazon's cancel (the status sync's own outbox row: one per order).
  If Amazon has cancelled the order already, it says so, changes nothing, and the other tasks are
  skipped.
- `send_cancel` submits the seller account's queued cancellations (and refunds) in one feed each, as
  the status sync does (other queued rows of the account go in the same feed, which is fine).
- `follow_feed` follows the feed to Amazon's processing report without holding a worker (it defers
  between looks, `[sales_channel] feed_poll_seconds`).
- `finish_cancel`, once Amazon confirmed the cancel: cancels the Commerce order with a comment giving
  the reason and the note, gives back the stock the import took, writes the order's events, and ends
  its log with a summary.

**When it refuses** (the task fails at once, without retries, and nothing has changed on either side —
the log says *refused: …*):
- *order … has shipped and cannot be cancelled* — Amazon has shipped some of it (a package, a unit, or
  the status SHIPPED/PARTIALLY_SHIPPED). Returns and refunds of shipped orders are handled in Seller
  Central (refund it with a credit memo in Commerce: the status sync sends the refund);
- the order is not linked (never imported), belongs to a read-only store, is fulfilled by Amazon, is
  not unshipped, a cancellation is on its way already (the status sync follows it), or Commerce cannot
  cancel its order (invoiced, shipped in Commerce, on hold) — the message says which; fix the cause or
  cancel in Seller Central.

**When it fails otherwise**: Amazon or Commerce was unreachable, or Amazon has not processed the feed
yet — the task is retried, and clearing any task later is safe: each step recognises what this run
did already (one cancel per order, one Commerce cancel, one comment). If `finish_cancel` runs out of
retries while Amazon is still processing, nothing is lost: the status sync follows the feed, and once
the import sees the order cancelled it cancels the Commerce order itself — clear `finish_cancel` to
add the comment with the reason and the note. `finish_cancel` failing with *Amazon refused the
cancellation* means Amazon's report refused it: nothing changed in Commerce.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import conf, dag, task
from sales_channel.airflow.alerting import dag_alerting
from sales_channel.airflow.operators.feeds import FollowFeedsOperator
from sales_channel.airflow.params import amazon_order_id_param, choice_param, text_param
from sales_channel.pipeline.operations.requests import CANCEL_REASON_LABELS, MAX_NOTE_CHARS


@dag(
    dag_id="amazon_cancel_unshipped_order",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    **dag_alerting("amazon_cancel_unshipped_order",
                   default_args={"owner": "sales-channel", "retries": 3, "retry_exponential_backoff": 2.0,
                                 "max_retry_delay": timedelta(minutes=10), "execution_timeout": timedelta(minutes=30)}),
    tags=["amazon", "commerce", "orders", "cancel", "manual"],
    params={
        "amazon_order_id": amazon_order_id_param(description="The unshipped Amazon order to cancel (3-7-7 digits, "
                                                             "e.g. 113-1234567-1234567)."),
        "reason": choice_param({reason.value: label for reason, label in CANCEL_REASON_LABELS.items()},
                               title="Reason", description="Amazon's reason for the cancellation (sent to Amazon, "
                                                           "and shown to the buyer by Amazon)."),
        "note": text_param(title="Note", max_length=MAX_NOTE_CHARS, multiline=True,
                           description="Optional, for the merchant's team: kept on the order's timeline and in the "
                                       "Commerce order's comment, never sent to Amazon. No buyer data."),
    },
    doc_md=__doc__,
)
def amazon_cancel_unshipped_order():
    @task
    def queue_cancel() -> dict:
        """Reads the order from Amazon now, refuses a shipped one, queues Amazon's cancel."""
        from sales_channel.airflow.tasks.cancel_unshipped_order import queue_cancel

        return queue_cancel()

    @task
    def send_cancel() -> dict:
        """Submits the account's queued cancellations in one feed."""
        from sales_channel.airflow.tasks.cancel_unshipped_order import send_cancel

        return send_cancel()

    @task
    def finish_cancel() -> dict:
        """Once Amazon confirmed it: cancels the Commerce order with a comment; logs a summary."""
        from sales_channel.airflow.tasks.cancel_unshipped_order import finish_cancel

        return finish_cancel()

    followed = FollowFeedsOperator(
        task_id="follow_feed", account="{{ ti.xcom_pull(task_ids='queue_cancel')['account'] }}",
        poll_interval=timedelta(seconds=conf.getfloat("sales_channel", "feed_poll_seconds", fallback=60.0)),
        max_wait=timedelta(minutes=conf.getfloat("sales_channel", "feed_follow_minutes", fallback=30.0)),
    )
    queue_cancel() >> send_cancel() >> followed >> finish_cancel()


amazon_cancel_unshipped_order()
