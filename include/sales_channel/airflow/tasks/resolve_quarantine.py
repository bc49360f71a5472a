"""Task bodies of the ``amazon_resolve_quarantine`` DAG. The corrected address of a run's form is read
from the params here and handed to the operation only: it never goes to XCom or to a log line."""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import get_current_context

from sales_channel.airflow.hooks import ChannelDatabaseHook
from sales_channel.airflow.tasks.common import (
    load_stores,
    open_account_import,
    operator,
    refusals_fail_at_once,
)
from sales_channel.pipeline.operations.requests import ResolveRequest
from sales_channel.pipeline.operations.resolve_quarantine import quarantined_account, resolve

log = logging.getLogger(__name__)


def check_request() -> str:
    """The form's cross-field rules (the fields the chosen action needs, and no others)."""
    with refusals_fail_at_once():
        request = ResolveRequest.from_form(get_current_context()["params"])
    what = f"order {request.amazon_order_id}: {request.action.value}"
    log.info("%s, asked by %s", what, operator().who)
    return what


def resolve_order() -> dict[str, Any]:
    actor = operator()
    with refusals_fail_at_once():
        request = ResolveRequest.from_form(get_current_context()["params"])
        accounts = load_stores().accounts()
        channel = ChannelDatabaseHook().get_conn()
        try:
            account = quarantined_account(channel, request.amazon_order_id, accounts)
        finally:
            channel.close()
        with open_account_import(account) as run:
            report = resolve(run, request, actor)
    report.log(log)
    report.raise_if_unfinished()
    return report.to_json()
