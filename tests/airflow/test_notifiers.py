"""The failure notifier and the deadline alert, delivered to a real local webhook receiver and a real
local SMTP server (aiosmtpd).

A project DAG fails for real: ``amazon_order_import`` with one store whose settings are invalid, so
its ``check_store [us]`` task fails for good (without retries) and nothing else runs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from sales_channel.airflow.alerting import DEADLINE_MINUTES, HINTS, dag_alerting, deadline_alert
from sales_channel.airflow.notifiers import AlertDeliveryError, Message, SalesChannelNotifier, deliver

from tests.dags.conftest import DAGS, run_dag
from tests.fixtures.alert_receivers import SMTP_PASSWORD, WEBHOOK_TOKEN

DAG_ID = "amazon_order_import"


def logged(capfd, caplog) -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    out = capfd.readouterr()
    return "\n".join([out.out, out.err, *(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)])


@pytest.fixture
def failing_store(airflow_db, monkeypatch):
    """The settings Variable: store us is invalid (no marketplace_ids), store eu is inactive."""
    common = {"amazon_conn_id": "amazon_sp_api_default", "commerce_conn_id": "adobe_commerce_default",
              "connected_since": "2026-10-01T00:00:00Z"}
    monkeypatch.setenv("AIRFLOW_VAR_SALES_CHANNEL_STORES", json.dumps({
        "us": {**common, "store_code": "default"},
        "eu": {**common, "marketplace_ids": ["A1PA6795UKMFR9"], "store_code": "de", "active": False}}))


def failed_tasks(run) -> list[str]:
    return sorted(f"{ti.task_id}[{ti.map_index}]" for ti in run.get_task_instances() if ti.state == "failed")


def test_a_failed_task_sends_one_webhook_message_naming_the_task_and_the_store(
        failing_store, webhook, monkeypatch, capfd, caplog):
    monkeypatch.setenv("AIRFLOW_CONN_SALES_CHANNEL_ALERTS", webhook.conn())
    caplog.set_level(logging.INFO)
    run = run_dag(DAG_ID)
    assert run.state == "failed" and failed_tasks(run) == ["check_store[1]"]
    [message] = webhook.received
    assert message["kind"] == "task_failed" and message["source"] == "amazon-sales-channel"
    assert (message["dag_id"], message["run_id"], message["task_id"], message["store"]) == (
        DAG_ID, run.run_id, "check_store", "us")
    assert "marketplace_ids" in message["error"] and message["error"].startswith("AirflowFailException")
    assert message["log_url"].endswith(f"/dags/{DAG_ID}/runs/{quote(run.run_id)}/tasks/check_store/mapped/1?try_number=1")
    assert message["what_to_do"] == HINTS[DAG_ID]
    assert "check_store [us] failed" in message["subject"] and "Store: us" in message["text"]
    assert webhook.paths == [f"/hooks/{WEBHOOK_TOKEN}"]
    text = logged(capfd, caplog)
    assert "alert sent (webhook http://127.0.0.1:" in text
    assert WEBHOOK_TOKEN not in text


def test_a_failed_task_sends_an_email_through_the_local_smtp_server(failing_store, smtp_server, monkeypatch,
                                                                     capfd, caplog):
    monkeypatch.setenv("AIRFLOW_CONN_SALES_CHANNEL_ALERTS", smtp_server.conn())
    caplog.set_level(logging.INFO)
    run = run_dag(DAG_ID)
    assert failed_tasks(run) == ["check_store[1]"]
    [email] = smtp_server.messages
    assert smtp_server.logins == ["alerts"]
    assert email["To"] == "ops@example.invalid, oncall@example.invalid" and email["From"] == "airflow@example.invalid"
    assert email["Subject"] == f"[sales channel] {DAG_ID}: check_store [us] failed"
    body = email.get_payload(decode=True).decode()
    assert f"DAG {DAG_ID}, run {run.run_id}: task check_store [us] failed" in body and "Store: us" in body
    assert "What to do: check_store failed: the store's settings are invalid" in body
    text = logged(capfd, caplog)
    assert "alert sent (email via 127.0.0.1:" in text and SMTP_PASSWORD not in text


def test_a_missing_connection_is_said_clearly_and_the_task_fails_as_it_would(failing_store, monkeypatch,
                                                                              capfd, caplog):
    monkeypatch.delenv("AIRFLOW_CONN_SALES_CHANNEL_ALERTS", raising=False)
    run = run_dag(DAG_ID)
    assert run.state == "failed" and failed_tasks(run) == ["check_store[1]"]
    text = logged(capfd, caplog)
    assert "ALERT NOT DELIVERED for this failure: alert connection 'sales_channel_alerts' is not defined" in text
    with pytest.raises(AlertDeliveryError, match="'sales_channel_alerts' is not defined: define it .*"
                                                 "AIRFLOW_CONN_SALES_CHANNEL_ALERTS.* http/https .* smtp"):
        deliver(Message("test", "s", "t"))


def test_a_failing_receiver_does_not_change_the_task_outcome_and_is_logged_without_the_secret(
        failing_store, webhook, monkeypatch, capfd, caplog):
    webhook.status = 500
    monkeypatch.setenv("AIRFLOW_CONN_SALES_CHANNEL_ALERTS", webhook.conn())
    run = run_dag(DAG_ID)
    assert run.state == "failed" and failed_tasks(run) == ["check_store[1]"]
    assert webhook.paths == [f"/hooks/{WEBHOOK_TOKEN}"] and webhook.received == []
    text = logged(capfd, caplog)
    assert "ALERT NOT DELIVERED for this failure: webhook http://127.0.0.1:" in text and "answered HTTP 500" in text
    assert WEBHOOK_TOKEN not in text


def test_a_receiver_that_is_down_is_reported_without_the_url(monkeypatch, webhook):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/hooks/{WEBHOOK_TOKEN}"
    monkeypatch.setenv("AIRFLOW_CONN_DOWN_HOOK", json.dumps({"conn_type": "http", "host": url[:url.index("/hooks")],
                                                             "extra": {"endpoint": f"/hooks/{WEBHOOK_TOKEN}",
                                                                       "timeout": 2}}))
    with pytest.raises(AlertDeliveryError) as refused:
        deliver(Message("test", "s", "t"), "down_hook")
    assert "not delivered: ConnectionError" in str(refused.value) and WEBHOOK_TOKEN not in str(refused.value)


def test_a_connection_of_another_type_or_without_recipients_is_named(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_ODD", json.dumps({"conn_type": "postgres", "host": "db"}))
    with pytest.raises(AlertDeliveryError, match="'odd': conn_type 'postgres' is not one this project delivers to"):
        deliver(Message("test", "s", "t"), "odd")
    monkeypatch.setenv("AIRFLOW_CONN_NOBODY", json.dumps({"conn_type": "smtp", "host": "mail", "extra": {"from": "a@b"}}))
    with pytest.raises(AlertDeliveryError, match="'nobody': field extra to is empty"):
        deliver(Message("test", "s", "t"), "nobody")


# -- deadlines ------------------------------------------------------------------------------------------

def test_every_dag_has_its_deadline_and_failure_notifier(airflow_db, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import DeadlineReference

    monkeypatch.setenv("AIRFLOW__SALES_CHANNEL__DEADLINE_ALERTS", "True")  # off in unit-test mode (dag.test())
    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    for dag in bag.dags.values():
        [alert] = dag.deadline
        assert alert.reference == DeadlineReference.DAGRUN_QUEUED_AT, dag.dag_id
        assert alert.interval == timedelta(minutes=DEADLINE_MINUTES.get(dag.dag_id, 30)), dag.dag_id
        assert alert.callback.path == "sales_channel.airflow.notifiers.SalesChannelNotifier"
        assert alert.callback.kwargs["conn_id"] == "sales_channel_alerts"
        for task in dag.tasks:
            assert any(isinstance(c, SalesChannelNotifier) for c in task.on_failure_callback or []), \
                f"{dag.dag_id}.{task.task_id} has no failure notifier"


def test_a_deadline_is_configurable_per_dag(monkeypatch):
    monkeypatch.setenv("AIRFLOW__SALES_CHANNEL__DEADLINE_ALERTS", "True")
    monkeypatch.setenv("AIRFLOW__SALES_CHANNEL__DEADLINE_MINUTES_AMAZON_ORDER_IMPORT", "12.5")
    assert deadline_alert("amazon_order_import").interval == timedelta(minutes=12.5)
    assert dag_alerting("amazon_some_manual_dag", {"retries": 2})["deadline"].interval == timedelta(minutes=30)
    monkeypatch.delenv("AIRFLOW__SALES_CHANNEL__DEADLINE_ALERTS")
    assert dag_alerting("amazon_order_import", {})["deadline"] is None, "unit-test mode: dag.test() cannot take one"


def test_a_missed_deadline_is_delivered_by_the_triggerers_callback(monkeypatch, webhook):
    """The scheduler hands the triggerer the callback's path and kwargs plus a small context (the DAG
    run, the deadline); Airflow's own CallbackTrigger imports and awaits it, as in the triggerer."""
    from airflow.triggers.callback import CallbackTrigger

    monkeypatch.setenv("AIRFLOW_CONN_SALES_CHANNEL_ALERTS", webhook.conn())
    callback = deadline_alert("amazon_order_status_sync").callback
    queued = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    context = {"dag_run": {"dag_id": "amazon_order_status_sync", "dag_run_id": "scheduled__2026-12-03T08:00:00+00:00",
                           "state": "running", "queued_at": queued.isoformat()},
               "deadline": {"id": "d-1", "deadline_time": queued + timedelta(minutes=30)}}
    trigger = CallbackTrigger(callback.path, {**callback.kwargs, "context": context})

    async def events():
        return [event.payload async for event in trigger.run()]

    statuses = [payload["state"] for payload in asyncio.run(events())]
    assert statuses == ["running", "success"]
    [message] = webhook.received
    assert message["kind"] == "deadline_missed" and message["dag_id"] == "amazon_order_status_sync"
    assert message["run_id"] == "scheduled__2026-12-03T08:00:00+00:00" and message["deadline_minutes"] == 30
    assert "has not finished by its deadline 2026-12-03 08:30:00+00:00 (30 minutes after it was queued)" in message["text"]
    assert message["run_url"].endswith("/dags/amazon_order_status_sync/runs/scheduled__2026-12-03T08%3A00%3A00%2B00%3A00")


def test_a_failure_message_carries_no_query_value_and_no_masked_secret():
    """An exception may quote a Commerce search URL (a buyer's email in its query) or a secret Airflow masks
    in the task log: neither leaves in the alert."""
    from types import SimpleNamespace

    from airflow.sdk.log import mask_secret
    from sales_channel.airflow.notifiers import task_failure_message

    mask_secret("sandbox-commerce-token-not-for-alerts")
    error = RuntimeError("GET http://commerce.local/rest/V1/orders?searchCriteria[filter_groups][0][filters][0]"
                         "[value]=jane.doe@example.com failed with token sandbox-commerce-token-not-for-alerts")
    ti = SimpleNamespace(dag_id="amazon_order_import", run_id="manual__1", task_id="import_orders", map_index=0,
                         rendered_map_index="us", try_number=4, log_url="http://airflow.local/log")
    message = task_failure_message({"ti": ti, "exception": error}, hint=None)
    sent = json.dumps(message.payload())
    assert "jane.doe@example.com" not in sent and "sandbox-commerce-token-not-for-alerts" not in sent
    assert "RuntimeError" in message.text and "Store: us" in message.text and "[value]=***" in message.text


@pytest.mark.parametrize("conn_type", ["https", "smtp"])
def test_a_connection_with_a_bad_timeout_is_refused_naming_the_field(conn_type):
    from airflow.sdk import Connection
    from sales_channel.airflow.notifiers import transport_for

    conn = Connection(conn_id="sales_channel_alerts", conn_type=conn_type, host="alerts.example.com",
                      extra=json.dumps({"timeout": "soon", "to": "ops@example.com", "from": "airflow@example.com"}))
    with pytest.raises(AlertDeliveryError, match="'sales_channel_alerts': extra field timeout is 'soon'"):
        transport_for(conn)
