"""Alerting for every DAG of this project: a notifier when a task fails for good, and a deadline per run.

    @dag(dag_id="amazon_order_import", ..., **dag_alerting("amazon_order_import", default_args={...}))

gives the DAG's tasks ``on_failure_callback=[SalesChannelNotifier]`` (it runs once a task has failed
its last attempt, in the task's own process, so the message names the task and the store it worked
for; a DAG-level callback would name one task only, and not fire at all when a later ``all_done``
task lets the run succeed) and ``deadline=DeadlineAlert(DAGRUN_QUEUED_AT + N minutes)``, whose callback
the triggerer awaits when a run is still not finished then. N: ``[sales_channel]
deadline_minutes_<dag_id>``, else ``DEADLINE_MINUTES``. Nothing here reads a connection or a Variable
(it runs at parse time).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference, conf

from sales_channel.airflow.notifiers import DEFAULT_CONN_ID, SalesChannelNotifier

MANUAL_DEADLINE_MINUTES = 30
DEADLINE_MINUTES = {
    "amazon_order_import": 30,
    "amazon_order_status_sync": 30,
    "amazon_order_reconciliation": 120,
    "amazon_order_report": 60,
    "amazon_channel_health": 15,
}

# What to do when a task of the DAG fails (the DAG's own doc says more; this is the first step).
HINTS = {
    "amazon_order_import": "check_store failed: the store's settings are invalid (the log names the field) — fix the "
                           "Variable sales_channel_stores and clear the task. import_orders failed: some orders failed "
                           "transiently (Commerce or Amazon unreachable); fix the cause and clear the task — nothing "
                           "is created twice.",
    "amazon_order_status_sync": "Commerce or Amazon was unreachable: what was queued stays queued and clearing the task "
                                "resumes it (nothing is sent twice). Rows Amazon refused are in the outbox table "
                                "(status failed) with Amazon's message.",
    "amazon_reimport_orders": "A refused request names the field to change: trigger the DAG again with it corrected. "
                              "Otherwise clear the task: re-importing is always safe.",
    "amazon_resolve_quarantine": "A refused request names the order or the field (not in quarantine, SKU not in the "
                                 "catalog): trigger again with it corrected; the order's quarantine entry is unchanged.",
    "amazon_cancel_unshipped_order": "A refused cancel names why (shipped, read-only store, Commerce cannot cancel): "
                                     "nothing changed. Otherwise clear the failed task: a cancel is sent once; the "
                                     "status sync finishes one whose last task gave up.",
    "amazon_resend_shipment": "A refused re-send names why (unknown shipment, on Amazon already, no tracking); Amazon "
                              "refusing it again fails the run with Amazon's message: fix the shipment in Commerce "
                              "and trigger again.",
    "amazon_order_reconciliation": "The run stopped on an error (the log says which): clear it, it is retried as a "
                                   "whole. Orders it could not repair are raised by amazon_channel_health.",
    "amazon_order_report": "Clear the failed task once the cause in its log is fixed: the report is rebuilt from the "
                           "channel database.",
    "amazon_channel_health": "The alerts could not be delivered: check the connection sales_channel_alerts (the log "
                             "says what the receiver answered); the next attempt sends the same alerts.",
}


def deadline_minutes(dag_id: str) -> float:
    """How long a run of ``dag_id`` may take from being queued before its deadline alert fires."""
    return conf.getfloat("sales_channel", f"deadline_minutes_{dag_id}",
                         fallback=float(DEADLINE_MINUTES.get(dag_id, MANUAL_DEADLINE_MINUTES)))


def failure_notifier(dag_id: str) -> SalesChannelNotifier:
    return SalesChannelNotifier(conn_id=alerts_conn_id(), hint=HINTS.get(dag_id))


def alerts_conn_id() -> str:
    """The connection alerts go through ([sales_channel] alerts_conn_id)."""
    return conf.get("sales_channel", "alerts_conn_id", fallback=DEFAULT_CONN_ID)


def deadline_alert(dag_id: str) -> DeadlineAlert:
    minutes = deadline_minutes(dag_id)
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT, interval=timedelta(minutes=minutes),
        callback=AsyncCallback(SalesChannelNotifier, kwargs={
            "conn_id": alerts_conn_id(), "hint": HINTS.get(dag_id), "deadline_minutes": minutes}),
        name=f"{dag_id} within {minutes:g} minutes")


def deadlines_enabled() -> bool:
    """[sales_channel] deadline_alerts: on, except in Airflow's unit-test mode, where ``dag.test()`` of
    Airflow 3.3.2 fails every run that succeeds when its DAG has a deadline (it looks the deadline up by
    its definition instead of its id: "'dict' object has no attribute 'hex'"); a scheduler is not affected."""
    return conf.getboolean("sales_channel", "deadline_alerts",
                           fallback=not conf.getboolean("core", "unit_test_mode", fallback=False))


def dag_alerting(dag_id: str, default_args: dict[str, Any]) -> dict[str, Any]:
    """The ``@dag`` kwargs that give ``dag_id`` its failure notifier and its deadline."""
    return {"default_args": {**default_args, "on_failure_callback": [failure_notifier(dag_id)]},
            "deadline": deadline_alert(dag_id) if deadlines_enabled() else None}
