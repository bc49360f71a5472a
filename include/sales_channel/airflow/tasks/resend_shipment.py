"""Task body of the ``amazon_resend_shipment`` DAG (``pipeline.operations.resend_shipment``)."""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import get_current_context

from sales_channel.airflow.tasks.common import (
    active_stores,
    open_account,
    operator,
    outbox_work,
    refusals_fail_at_once,
)
from sales_channel.pipeline.operations.reimport import store_named
from sales_channel.pipeline.operations.requests import ResendRequest
from sales_channel.pipeline.operations.resend_shipment import ShipmentResend

log = logging.getLogger(__name__)


def resend_shipment() -> dict[str, Any]:
    actor = operator()
    with refusals_fail_at_once():
        request = ResendRequest.from_form(get_current_context()["params"])
        store = store_named(request.store, active_stores())
        with open_account(store.amazon_conn_id, commerce_pool=2) as ctx:
            resend = ShipmentResend(store, ctx.amazon, ctx.commerce[store.key], ctx.channel, outbox_work(ctx.channel),
                                    actor, log)
            report = resend.resend(request.shipment_id)
    report.log(log)
    return report.to_json()
