"""The reconciliation's Amazon side against the Amazon sandbox: one order report of the window, the store's
rows of it, and Amazon SKUs translated to Commerce SKUs through the SKU map."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sales_channel.amazon.auth import LwaCredentials
from sales_channel.amazon.client import SpApiClient
from sales_channel.pipeline.reconciliation.loaders import (
    Window,
    create_order_report,
    order_report_outcome,
    read_amazon_items,
)
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS as CREDS

from tests.pipeline.conftest import ACCOUNT, Harness

pytestmark = pytest.mark.slow


def test_the_report_rows_of_a_store_carry_commerce_skus_where_the_sku_map_says_so(harness: Harness):
    when = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    mapped = harness.amazon("POST", "orders", json={
        "items": [{"sellerSku": "FP-1000-AMZ", "quantity": 1}, {"sellerSku": "MUG-CERAMIC-WHT", "quantity": 2}],
        "marketplaceId": "ATVPDKIKX0DER", "createdTime": when, "lastUpdatedTime": when})["order"]["orderId"]
    channel = harness.channel()
    channel.skus.put(ACCOUNT, "FP-1000-AMZ", "FRENCH-PRESS-1L")
    [store] = [s for s in harness.settings() if s.key == "us"]
    window = Window(datetime.now(UTC) - timedelta(minutes=30), datetime.now(UTC) - timedelta(minutes=1))
    credentials = LwaCredentials(CREDS["lwa_client_id"], CREDS["lwa_client_secret"], CREDS["refresh_token"])
    with SpApiClient(credentials, seller_id=ACCOUNT, base_url=harness.amazon_url) as amazon:
        report = _ready(harness, amazon, store.marketplace_ids, window)
        items = read_amazon_items(amazon, report, store, channel, window)

    rows = items[items["amazon_order_id"] == mapped]
    assert sorted(rows["sku"].tolist()) == ["FRENCH-PRESS-1L", "MUG-CERAMIC-WHT"]
    assert "FP-1000-AMZ" not in set(items["sku"].tolist())


def _ready(harness: Harness, amazon: SpApiClient, marketplace_ids, window: Window):
    """Request the report while the sandbox's lifecycle clock is moved on, as Amazon's would in minutes."""
    done = threading.Event()

    def advance() -> None:
        while not done.is_set():
            harness.amazon("POST", "lifecycle/advance", json={"seconds": 60})
            time.sleep(0.2)

    mover = threading.Thread(target=advance, daemon=True)
    mover.start()
    try:
        report_id = create_order_report(amazon, ACCOUNT, marketplace_ids, window)
        deadline = time.monotonic() + 60
        while (report := order_report_outcome(amazon, ACCOUNT, report_id)) is None:
            assert time.monotonic() < deadline, f"report {report_id} not made within 60 s"
            time.sleep(0.2)
        return report
    finally:
        done.set()
        mover.join()
