"""
### Re-send a shipment confirmation to Amazon (manual)

Sends one Commerce shipment's confirmation to Amazon again, **after the cause of Amazon's refusal was
fixed** (the outbox row of the shipment is *failed* with Amazon's message, and the Commerce order has
a comment saying what Amazon refused). Trigger it with the form: the *store* (its key in the Variable
`sales_channel_stores`, e.g. `us`) and the Commerce *shipment id* — the shipment's entity id, the
number in the admin URL (`…/sales/shipment/view/shipment_id/<id>/`) and at the end of the outbox
row's source (`us/shipment/<id>`); not the increment id (`000000012`). Nothing runs on a schedule.

**What it does** (`resend_shipment`): reads the shipment and its order from Commerce again and the
Amazon order from Amazon, rebuilds the package the way the status sync does (so a corrected tracking
number or carrier is what is sent), requeues the row with it (or queues it, if the sync never did; or
releases it, if it was held for tracking) and sends it at once. A package Amazon already has is never
sent twice: a row tried before reads Amazon's packages first and is confirmed without a second call.
The log ends with a summary; the order's timeline has an event.

**When it refuses** (the task fails at once, without retries; nothing was sent — the log says
*refused: …*): Commerce has no such shipment; its order is not an Amazon order of that store; the order
is fulfilled by Amazon; the shipment is **on Amazon already** (confirmed: one Commerce shipment is one
Amazon package, no second one is sent); it has no tracking number and the store holds such shipments
(`shipments_without_tracking: hold` — add the track in Commerce first); the store is read-only; the
package cannot be built (e.g. an item that is not on the Amazon order). If **Amazon refuses it again**,
the task fails with Amazon's message and the row stays failed: fix the cause and trigger again.

**When it fails otherwise** (Amazon unreachable, throttled): it is retried; a retry reads Amazon's
packages before sending, so clearing the task later is always safe.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task
from sales_channel.airflow.alerting import dag_alerting
from sales_channel.airflow.params import id_param, store_param


@dag(
    dag_id="amazon_resend_shipment",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    **dag_alerting("amazon_resend_shipment",
                   default_args={"owner": "sales-channel", "retries": 3, "retry_exponential_backoff": 2.0,
                                 "max_retry_delay": timedelta(minutes=10), "execution_timeout": timedelta(minutes=15)}),
    tags=["amazon", "commerce", "orders", "shipments", "manual"],
    params={
        "store": store_param(required=True, description="The store's key in the Variable sales_channel_stores "
                                                        "(e.g. us): the store of the shipment's order."),
        "shipment_id": id_param(title="Commerce shipment id",
                                description="The shipment's entity id (a whole number from 1): the number in the "
                                            "admin URL …/shipment_id/<id>/ and at the end of the outbox source "
                                            "<store>/shipment/<id>; not the increment id 000000012."),
    },
    doc_md=__doc__,
)
def amazon_resend_shipment():
    @task
    def resend_shipment() -> dict:
        """Rebuilds the package from Commerce and sends it to Amazon now (never a second package)."""
        from sales_channel.airflow.tasks.resend_shipment import resend_shipment

        return resend_shipment()

    resend_shipment()


amazon_resend_shipment()
