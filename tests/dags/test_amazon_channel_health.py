"""End to end: the amazon_channel_health DAG run with dag.test() on a real channel database, delivering
to a real local webhook receiver. What it alerts on is planted through the repositories."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sales_channel.pipeline.importing.account import STREAM as IMPORT
from sales_channel.pipeline.status_sync.from_amazon import STREAM as FROM_AMAZON
from sales_channel.pipeline.status_sync.kinds import CONFIRM_KIND
from sales_channel.pipeline.status_sync.to_amazon import STREAM as TO_AMAZON
from sales_channel.store import ChannelStore, create_engine_for, migrate

from tests.dags.conftest import ACCOUNT, EU_MARKETS, US_MARKETS, run_dag
from tests.fixtures.alert_receivers import WebhookReceiver, serve_webhook

DAG_ID = "amazon_channel_health"
EXPECTED = ["outbox_failed [us]", f"quarantine_age [{ACCOUNT}]", f"quarantine_size [{ACCOUNT}]",
            "reconciliation_unrepaired [eu]", "watermark_stale:import [us]"]


@pytest.fixture
def receiver() -> WebhookReceiver:
    with serve_webhook() as hook:
        yield hook


@pytest.fixture
def channel_url(airflow_db, tmp_path, monkeypatch, receiver) -> str:
    url = f"sqlite:///{tmp_path / 'channel.db'}"
    migrate(url)
    monkeypatch.setenv("AIRFLOW_CONN_SALES_CHANNEL_DB", json.dumps({"conn_type": "sqlite",
                                                                    "host": str(tmp_path / "channel.db")}))
    monkeypatch.setenv("AIRFLOW_CONN_SALES_CHANNEL_ALERTS", receiver.conn())
    common = {"amazon_conn_id": ACCOUNT, "commerce_conn_id": "adobe_commerce_default",
              "connected_since": "2026-10-01T00:00:00Z"}
    monkeypatch.setenv("AIRFLOW_VAR_SALES_CHANNEL_STORES", json.dumps({
        "us": {**common, "marketplace_ids": US_MARKETS, "store_code": "default", "store_id": 1},
        "eu": {**common, "marketplace_ids": EU_MARKETS, "store_code": "de", "store_id": 2}}))
    return url


def store_at(url: str, moment: datetime) -> ChannelStore:
    return ChannelStore(create_engine_for(url), lambda: moment)


def plant_problems(url: str) -> None:
    now = datetime.now(UTC)
    then = store_at(url, now - timedelta(hours=30))
    then.watermarks.advance("us", IMPORT, now - timedelta(hours=30))  # stale: 30 hours
    for n in range(26):  # one more than alert_quarantine_max, the oldest 30 hours old
        then.quarantine.record(ACCOUNT, f"114-{n:07d}-0000000", "unknown_sku", f"SKU FP-{n} is not in the catalog")
    then.close()
    fresh = store_at(url, now)
    for store, stream in (("us", TO_AMAZON), ("us", FROM_AMAZON), ("eu", IMPORT), ("eu", TO_AMAZON), ("eu", FROM_AMAZON)):
        fresh.watermarks.advance(store, stream, now)
    fresh.outbox.enqueue(CONFIRM_KIND, "us/shipment/77", ACCOUNT, {"shipment_id": 77})
    [item] = fresh.outbox.claim("test", 1, timedelta(minutes=5), kinds=[CONFIRM_KIND])
    fresh.outbox.mark_failed(item.id, "Amazon: InvalidInput: carrier unknown", "test")
    run = fresh.reconciliation.start("eu", ACCOUNT, now - timedelta(days=1), now, dag_run_id="rec-1")
    fresh.reconciliation.finish(run, outcome="needs_attention", orders_checked=50, counts={"total_mismatch": 3},
                                repaired=1, unrepaired=2, results_path=None)
    fresh.close()


def check_task(run) -> tuple[str, int]:
    [ti] = run.get_task_instances()
    return ti.state, ti.try_number


def test_alerts_are_sent_once_each_naming_the_store_and_cleared_when_fixed(channel_url, receiver):
    plant_problems(channel_url)
    first = run_dag(DAG_ID)
    assert first.state == "success" and check_task(first) == ("success", 1), "alerts are output, not failure"
    [message] = receiver.received
    assert message["kind"] == "alerts" and sorted(f"{a['check']} [{a['scope']}]" for a in message["alerts"]) == EXPECTED
    by_check = {a["check"]: a for a in message["alerts"]}
    assert by_check["watermark_stale:import"]["message"].startswith("store us: the import watermark has not advanced")
    assert by_check["watermark_stale:import"]["severity"] == "critical"
    assert "amazon_order_import" in by_check["watermark_stale:import"]["action"]
    assert by_check["quarantine_size"]["message"].startswith(f"seller account {ACCOUNT} (stores eu, us): 26 orders")
    assert "amazon_resolve_quarantine DAG for order 114-0000000-0000000" in by_check["quarantine_age"]["action"]
    assert "store us: 1 outbox row(s) failed (amazon_shipment_confirm 1)" in by_check["outbox_failed"]["message"]
    assert "left 2 order(s) it could not repair; findings: total_mismatch 3" in by_check["reconciliation_unrepaired"]["message"]
    assert message["run_id"] == first.run_id and message["cleared"] == []
    assert "[CRITICAL] store us: the import watermark" in message["text"]

    second = run_dag(DAG_ID)
    assert second.state == "success" and len(receiver.received) == 1, "open alerts are not sent again"

    fixed = store_at(channel_url, datetime.now(UTC))
    fixed.watermarks.advance("us", IMPORT, datetime.now(UTC))
    fixed.close()
    third = run_dag(DAG_ID)
    assert third.state == "success" and len(receiver.received) == 2
    cleared = receiver.received[1]
    assert cleared["alerts"] == [] and [(c["check"], c["scope"]) for c in cleared["cleared"]] == [
        ("watermark_stale:import", "us")]
    assert "store us: watermark_stale:import is fine again" in cleared["text"]
    channel = store_at(channel_url, datetime.now(UTC))
    assert sorted(f"{a.check_key} [{a.scope}]" for a in channel.alerts.open()) == EXPECTED[:4]
    channel.close()


def test_a_delivery_that_fails_fails_the_task_after_its_retries_and_the_next_run_sends(channel_url, receiver):
    plant_problems(channel_url)
    receiver.status = 503
    failed = run_dag(DAG_ID)
    assert failed.state == "failed" and check_task(failed) == ("failed", 4)
    assert len(receiver.paths) == 4 + 1, "each attempt tried once, and the failure notifier once"
    receiver.status = 204
    sent = run_dag(DAG_ID)
    assert sent.state == "success"
    [message] = receiver.received
    assert sorted(f"{a['check']} [{a['scope']}]" for a in message["alerts"]) == EXPECTED
