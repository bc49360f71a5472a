"""Task bodies of the ``amazon_cancel_unshipped_order`` DAG: queue, send, and finish one order's cancel
(``pipeline.operations.cancel``); the DAG follows the feed between ``send`` and ``finish``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from airflow.sdk import get_current_context
from airflow.sdk.exceptions import AirflowSkipException

from sales_channel.airflow.hooks import ChannelDatabaseHook
from sales_channel.airflow.tasks.common import (
    active_stores,
    open_account,
    operator,
    outbox_work,
    refusals_fail_at_once,
)
from sales_channel.pipeline.operations.cancel import OrderCancel, locate
from sales_channel.pipeline.operations.requests import CancelRequest

log = logging.getLogger(__name__)


@contextmanager
def _order_cancel() -> Iterator[OrderCancel]:
    """The run's cancel, with the clients of the order's seller account (closed when the block ends)."""
    request = CancelRequest.from_form(get_current_context()["params"])
    stores = active_stores()
    channel = ChannelDatabaseHook().get_conn()
    try:
        store, link = locate(channel, stores, request.amazon_order_id)
    finally:
        channel.close()
    with open_account(store.amazon_conn_id, commerce_pool=2) as ctx:
        yield OrderCancel(request, store, link, ctx.stores, ctx.amazon, ctx.commerce, ctx.channel,
                          outbox_work(ctx.channel), operator(), log)


def queue_cancel() -> dict[str, Any]:
    with refusals_fail_at_once(), _order_cancel() as cancel:
        report, to_send = cancel.queue()
    report.log(log)
    if not to_send:
        raise AirflowSkipException(report.lines[-1])
    return {"account": cancel.account, **report.to_json()}


def send_cancel() -> dict[str, Any]:
    with refusals_fail_at_once(), _order_cancel() as cancel:
        report = cancel.send()
    report.log(log)
    return report.to_json()


def finish_cancel() -> dict[str, Any]:
    with refusals_fail_at_once(), _order_cancel() as cancel:
        report = cancel.finish()
    report.log(log)
    return report.to_json()
