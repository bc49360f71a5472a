"""Task bodies of the ``amazon_reimport_orders`` DAG."""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import get_current_context

from sales_channel.airflow.hooks import ChannelDatabaseHook
from sales_channel.airflow.tasks.common import (
    active_stores,
    open_account_import,
    operator,
    refusals_fail_at_once,
    run_deadline,
)
from sales_channel.pipeline.operations.reimport import account_for, reimport_order, reimport_window
from sales_channel.pipeline.operations.requests import ReimportRequest

log = logging.getLogger(__name__)


def check_request() -> str:
    """The form's cross-field rules (an order or a window, end after start, at most 31 days)."""
    with refusals_fail_at_once():
        request = ReimportRequest.from_form(get_current_context()["params"])
    log.info("re-import of %s, asked by %s", request.describe(), operator().who)
    return request.describe()


def reimport() -> dict[str, Any]:
    context = get_current_context()
    actor = operator()
    with refusals_fail_at_once():
        request = ReimportRequest.from_form(context["params"])
        stores = active_stores()
        channel = ChannelDatabaseHook().get_conn()
        try:
            account = account_for(request.store, request.amazon_order_id, stores, channel)
        finally:
            channel.close()
        with open_account_import(account) as run:
            if request.one_order:
                report = reimport_order(run, request.amazon_order_id, actor)
            else:
                # The run's trigger time, not the clock: a retry re-reads the very same window (and continues
                # its checkpoint) even when the end had to be moved back.
                report = reimport_window(run, request.store, request.start, request.end, actor,
                                         deadline=run_deadline(), now=context["dag_run"].run_after)
    report.log(log)
    report.raise_if_unfinished()
    return report.to_json()
