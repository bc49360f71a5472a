"""Task bodies of the ``amazon_channel_health`` DAG."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import conf, get_current_context

from sales_channel.airflow.alerting import alerts_conn_id
from sales_channel.airflow.hooks import ChannelDatabaseHook
from sales_channel.airflow.notifiers import alerts_message, deliver
from sales_channel.airflow.tasks.common import active_stores
from sales_channel.pipeline.alerts import ChannelHealth, Thresholds
from sales_channel.store.models import Alert

log = logging.getLogger(__name__)


def thresholds() -> Thresholds:
    """The checks' limits from ``[sales_channel]``: alert_watermark_stale_minutes (60), alert_quarantine_max
    (25), alert_quarantine_age_hours (24), alert_outbox_failed (0: alert on any failed row)."""
    return Thresholds(
        watermark_stale=timedelta(minutes=conf.getfloat("sales_channel", "alert_watermark_stale_minutes", fallback=60)),
        quarantine_max=conf.getint("sales_channel", "alert_quarantine_max", fallback=25),
        quarantine_age=timedelta(hours=conf.getfloat("sales_channel", "alert_quarantine_age_hours", fallback=24)),
        outbox_failed=conf.getint("sales_channel", "alert_outbox_failed", fallback=0))


def check_health() -> dict[str, Any]:
    """Run the checks for the active stores and deliver what is new (and what cleared). Alerts are this
    task's output, not its failure: it fails (and is retried) only when they could not be delivered."""
    run = get_current_context()["dag_run"]
    stores = active_stores()
    conn_id = alerts_conn_id()

    def send(raised: Sequence[Alert], cleared: Sequence[Alert]) -> None:
        where = deliver(alerts_message(raised, cleared, run.dag_id, run.run_id), conn_id)
        log.info("delivered %d new alert(s) and %d clearance(s) (%s)", len(raised), len(cleared), where)

    channel = ChannelDatabaseHook().get_conn()
    try:
        outcome = ChannelHealth(channel, stores, thresholds(), logger=log).run(send)
    finally:
        channel.close()
    log.info("checked %d store(s) (%s): %s", len(stores), ", ".join(sorted(s.key for s in stores)) or "none",
             outcome.line())
    return outcome.as_dict()
