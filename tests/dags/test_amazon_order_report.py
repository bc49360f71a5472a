"""End to end: amazon_order_report run with dag.test() after a real import (both sandboxes).

The numbers are checked against the sandboxes' own records (Amazon's orders, the Commerce ledger,
Amazon's count of calls received), never against the report's code; reconciliation runs and alerts,
which other DAGs write, are planted in the channel database.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from matplotlib.image import imread
from sales_channel.airflow.hooks import AmazonSellingPartnerHook
from sales_channel.amazon.auth import LwaCredentials
from sales_channel.domain.settings import parse_settings
from sales_channel.pipeline.standalone import open_account_import
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS as CREDS
from sales_channel.store.models import Alert, ApiCallCount
from sqlalchemy import insert, select

from tests.dags.conftest import ACCOUNT, EU_MARKETS, US_MARKETS, World, run_dag

pytestmark = pytest.mark.slow

MARKET_STORE = {**{m: "us" for m in US_MARKETS}, **{m: "eu" for m in EU_MARKETS}}


def import_orders(world: World) -> None:
    """One import of the world's stores, as its task does it but below the DAG (``dag.test()`` of the
    import DAG is the import's own test)."""
    stores = list(parse_settings(world.stores()).values())
    with open_account_import(stores, amazon_url=world.amazon_url, commerce_url=world.commerce_url,
                             db_url=world.db_url, commerce_token=CREDS["commerce_token"],
                             credentials=LwaCredentials(CREDS["lwa_client_id"], CREDS["lwa_client_secret"],
                                                        CREDS["refresh_token"]), workers=4) as run:
        assert run.run(run.plan_window()).window_complete


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def buyer_values(orders: list[dict]) -> set[str]:
    """Every buyer name, email, company and delivery-address line the sandbox holds."""
    values = set()
    for order in orders:
        buyer = order.get("buyer") or {}
        values.update(v for k in ("buyerName", "buyerEmail", "buyerCompanyName") if (v := buyer.get(k)))
        address = (order.get("recipient") or {}).get("deliveryAddress") or {}
        values.update(v for k in ("name", "addressLine1", "addressLine2", "phone", "companyName") if (v := address.get(k)))
    return {v for v in values if isinstance(v, str) and len(v) >= 4}


def leaks(folder: Path, needles: set[str]) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            body = path.read_bytes().decode("utf-8", errors="replace")
            found += [f"{path.name}: {needle!r}" for needle in needles if needle in body or json.dumps(needle)[1:-1] in body]
    return found


def test_report_after_an_import_shows_what_happened_and_no_buyer_data(world: World, tmp_path, monkeypatch):
    results = tmp_path / "results"
    monkeypatch.setenv("AIRFLOW__SALES_CHANNEL__RESULTS_FOLDER", str(results))
    import_orders(world)
    # Every call Amazon received from the import (before the test's own reads of Amazon's orders).
    served = requests.get(f"{world.amazon_url}/_sandbox/calls", timeout=30).json()["calls"]
    now = datetime.now(UTC)
    first, last = (now - timedelta(days=5)).date(), now.date()
    channel = world.channel()
    try:
        run_id = channel.reconciliation.start("us", "amazon_sp_api_default", now - timedelta(days=1), now)
        channel.reconciliation.finish(run_id, outcome="needs_attention", orders_checked=17,
                                      counts={"missing_in_commerce": 2}, repaired=1, unrepaired=1, results_path=None)
        with channel.engine.begin() as connection:
            alert = {"scope": "us", "severity": "critical", "action": "look", "first_raised_at": now - timedelta(hours=2),
                     "last_raised_at": now - timedelta(hours=1)}
            connection.execute(insert(Alert), [
                {**alert, "check_key": "watermark_stale", "message": "store us: the import has not advanced",
                 "cleared_at": None},
                {**alert, "check_key": "quarantine_growing", "message": "store us: old news",
                 "cleared_at": now - timedelta(minutes=30)}])
    finally:
        channel.close()

    run = run_dag("amazon_order_report", start_date=str(first), end_date=str(last))
    assert run.state == "success"
    folder = results / "report" / f"{first}_{last}"
    page = (folder / "index.html").read_text()
    images = re.findall(r'<img src="([^"]+)"', page)
    assert len(images) == 4
    for name in images:
        pixels = imread(folder / name)
        assert pixels.shape[0] > 100 and pixels.shape[1] > 300, name
    assert (results / "report" / "latest" / "index.html").read_text() == page

    # Amazon's own view: every order created in the period, by store, channel and status.
    orders = world.all_amazon_orders()
    expected = Counter((MARKET_STORE[o["salesChannel"]["marketplaceId"]], o["fulfillment"]["fulfilledBy"],
                        o["fulfillment"]["fulfillmentStatus"]) for o in orders
                       if first <= datetime.fromisoformat(o["createdTime"].replace("Z", "+00:00")).date() <= last)
    activity = _csv(folder / "activity.csv")
    received = Counter()
    for row in activity:
        received[(row["store"], row["fulfillment_channel"], row["status"])] += int(row["received"])
    assert +received == expected
    created = requests.get(f"{world.commerce_url}/_sandbox/ledger", params={"event": "order_created"},
                           timeout=30).json()["events"]
    assert sum(int(r["imported"]) for r in activity) == len(created) > 0
    latency = [r for r in _csv(folder / "latency_summary.csv") if r["metric"] == "to_commerce_order"]
    assert sum(int(r["orders"]) for r in latency) == len(created)

    # LWA token exchanges are not SP-API operations.
    recorded = {r["operation"]: int(r["calls"]) for r in _csv(folder / "api_calls.csv")}
    assert recorded == {op: n for op, n in served.items() if op != "lwaToken"}

    reconciliation = _csv(folder / "reconciliation.csv")
    assert [(r["store"], r["outcome"], r["findings"]) for r in reconciliation] == [
        ("us", "needs_attention", "missing_in_commerce: 2")]
    assert [a["check_key"] for a in _csv(folder / "alerts.csv")] == ["watermark_stale"]
    assert "store us: the import has not advanced" in page and "old news" not in page

    needles = buyer_values(orders)
    assert len(needles) > 20
    assert leaks(results, needles) == []


def test_scheduled_report_is_the_day_before_and_a_store_subset_leaves_latest_alone(world: World, tmp_path,
                                                                                 monkeypatch):
    results = tmp_path / "results"
    monkeypatch.setenv("AIRFLOW__SALES_CHANNEL__RESULTS_FOLDER", str(results))
    import_orders(world)
    assert run_dag("amazon_order_report").state == "success"
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
    meta = json.loads((results / "report" / "latest" / "report.json").read_text())
    assert (meta["first_day"], meta["last_day"], meta["stores"]) == (str(yesterday), str(yesterday), ["us", "eu"])

    assert run_dag("amazon_order_report", stores=["eu"], start_date=str(yesterday),
                   end_date=str(yesterday)).state == "success"
    subset = _csv(results / "report" / f"{yesterday}__eu" / "activity.csv")
    assert {r["store"] for r in subset} <= {"eu"}
    assert json.loads((results / "report" / "latest" / "report.json").read_text())["stores"] == ["us", "eu"]


@pytest.mark.parametrize(("conf", "message"), [
    ({"stores": ["nowhere"]}, "refused: stores: 'nowhere' not among the active stores"),
    ({"start_date": "2026-03-01"}, "refused: start_date, end_date: give both dates"),
    ({"start_date": "2026-03-02", "end_date": "2026-03-01"}, "refused: period: the end date 2026-03-01 is before"),
])
def test_a_form_that_cannot_be_reported_fails_at_once_and_writes_nothing(world: World, tmp_path, monkeypatch,
                                                                        capfd, conf, message):
    monkeypatch.setenv("AIRFLOW__SALES_CHANNEL__RESULTS_FOLDER", str(tmp_path / "results"))
    run = run_dag("amazon_order_report", **conf)
    assert run.state == "failed"
    tis = {ti.task_id: ti for ti in run.get_task_instances()}
    assert tis["plan_report"].state == "failed" and tis["plan_report"].try_number == 1
    assert message in "".join(capfd.readouterr())
    assert not (tmp_path / "results").exists()


def test_every_task_client_of_the_hook_adds_its_calls_once_when_it_closes(world: World):
    with AmazonSellingPartnerHook(ACCOUNT).get_conn() as client:
        assert client.test_connection()[0]
        list(client.search_orders(created_after=datetime.now(UTC) - timedelta(days=1), marketplace_ids=US_MARKETS))
        list(client.search_orders(created_after=datetime.now(UTC) - timedelta(days=1), marketplace_ids=EU_MARKETS))
    with AmazonSellingPartnerHook(ACCOUNT).get_conn() as client:
        list(client.search_orders(created_after=datetime.now(UTC) - timedelta(days=1), marketplace_ids=US_MARKETS))
    served = requests.get(f"{world.amazon_url}/_sandbox/calls", timeout=30).json()["calls"]["searchOrders"]
    channel = world.channel()
    try:
        with channel.engine.connect() as connection:
            rows = connection.execute(select(ApiCallCount.seller_account, ApiCallCount.operation,
                                             ApiCallCount.calls)).all()
    finally:
        channel.close()
    assert served >= 3
    assert sorted(rows) == [(ACCOUNT, "searchOrders", served)]
