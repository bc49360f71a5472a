"""The report's figures from a channel database filled by a real import (both sandboxes over HTTP),
plus planted rows for what the import does not write: shipment confirmations and refunds the status
sync would have had accepted, quarantine entries of known ages, reconciliation runs and alerts.

Expectations come from the sandboxes (Amazon's orders, the Commerce ledger, Amazon's count of calls)
and from the planted rows' own times, not from the report's code.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests
from sales_channel.amazon.auth import LwaCredentials
from sales_channel.pipeline.reporting.activity import Period, load_activity, stores_named
from sales_channel.pipeline.standalone import open_account_import
from sales_channel.pipeline.status_sync.kinds import CONFIRM_KIND, REFUND_KIND
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS as CREDS
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.models import Alert, ApiCallCount, OutboxItem, OutboxStatus, QuarantinedOrder
from sqlalchemy import insert, select, update

from tests.pipeline.conftest import ACCOUNT, EU, US, Harness

MARKET_STORE = {**{m: "us" for m in US}, **{m: "eu" for m in EU}}


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _import(harness: Harness) -> dict[str, int]:
    """One import, its clients closed (as a task's are); Amazon's count of calls received meanwhile."""
    before = requests.get(f"{harness.amazon_url}/_sandbox/calls", timeout=10).json()["calls"]
    with open_account_import(harness.settings(), amazon_url=harness.amazon_url, commerce_url=harness.commerce_url,
                             db_url=harness.db_url, commerce_token=CREDS["commerce_token"], workers=4,
                             credentials=LwaCredentials(CREDS["lwa_client_id"], CREDS["lwa_client_secret"],
                                                        CREDS["refresh_token"])) as run:
        assert run.run(run.plan_window()).window_complete
    after = requests.get(f"{harness.amazon_url}/_sandbox/calls", timeout=10).json()["calls"]
    return {op: n - before.get(op, 0) for op, n in after.items() if op != "lwaToken" and n > before.get(op, 0)}


def _confirm(channel: ChannelStore, kind: str, source: str, order_id: str, at: datetime) -> None:
    """An outbox row Amazon accepted at ``at`` (as the status sync leaves it)."""
    item, _ = channel.outbox.enqueue(kind, source, ACCOUNT, {"amazon_order_id": order_id})
    with channel.transaction() as session:
        session.execute(update(OutboxItem).where(OutboxItem.id == item.id).values(
            status=OutboxStatus.CONFIRMED, sent_at=at, confirmed_at=at))


@pytest.fixture
def world(harness: Harness):
    calls = _import(harness)
    orders = harness.amazon_orders()
    channel = harness.channel()
    now = datetime.now(UTC)
    return harness, channel, orders, calls, now


def test_orders_revenue_and_import_latency_match_the_sandboxes(world):
    harness, channel, orders, calls, now = world
    period = Period((now - timedelta(days=5)).date(), now.date())
    report = load_activity(channel, harness.settings(), period, now=now)

    in_period = [o for o in orders if period.start <= _time(o["createdTime"]) < period.end]
    expected = Counter((_time(o["createdTime"]).date(), MARKET_STORE[o["salesChannel"]["marketplaceId"]],
                        o["salesChannel"]["marketplaceId"], o["fulfillment"]["fulfilledBy"],
                        o["fulfillment"]["fulfillmentStatus"]) for o in in_period)
    got = Counter({(r.day, r.store, r.marketplace_id, r.fulfillment_channel, r.status): r.received
                   for r in report.activity.itertuples() if r.received})
    assert got == expected

    revenue: Counter[str] = Counter()
    for order in in_period:
        total = order["proceeds"]["grandTotal"]
        revenue[total["currencyCode"]] += Decimal(str(total["amount"]))
    got_revenue: Counter[str] = Counter()
    for row in report.revenue.itertuples():
        got_revenue[row.currency] += row.revenue
    assert got_revenue == revenue and len(revenue) >= 3, "several currencies, each to the cent"

    created = harness.created()
    assert report.activity["imported"].sum() == len(created) > 0
    by_id = {o["orderId"]: o for o in orders}
    import_latency = report.latency[report.latency["metric"] == "to_commerce_order"]
    assert len(import_latency) == len(created)
    # Each order's wait is at least how old it was when the import started, and never negative.
    assert (import_latency["minutes"] > 0).all()
    oldest = max((now - _time(by_id[i]["createdTime"])).total_seconds() / 60 for i in created)
    assert import_latency["minutes"].max() <= oldest + 5
    summary = report.latency_summary[report.latency_summary["metric"] == "to_commerce_order"]
    assert summary["orders"].sum() == len(created)
    assert (summary["median_minutes"] <= summary["p95_minutes"]).all()

    # Amazon-fulfilled orders are imported only once Amazon shipped them: each is counted shipped on the
    # day of its first package, or (Amazon gives no package for most) of its last update on Amazon.
    ship_days = [min(_time(p["shipTime"]) for p in o["packages"]) if o.get("packages") else _time(o["lastUpdatedTime"])
                 for o in orders
                 if o["fulfillment"]["fulfilledBy"] == "AMAZON" and o["fulfillment"]["fulfillmentStatus"] == "SHIPPED"]
    afn_shipped = Counter(day.date() for day in ship_days if period.start <= day < period.end)
    got_afn = Counter()
    for row in report.activity[report.activity["fulfillment_channel"] == "AMAZON"].itertuples():
        got_afn[row.day] += row.shipped
    assert +got_afn == afn_shipped and afn_shipped

    cancelled = sum(1 for o in orders if o["fulfillment"]["fulfillmentStatus"] == "CANCELLED"
                    and period.start <= _time(o["lastUpdatedTime"]) < period.end)
    assert report.activity["cancelled"].sum() == cancelled

    assert dict(zip(report.api_calls["operation"], report.api_calls["calls"], strict=True)) == calls
    assert report.totals()["amazon_calls"] == sum(calls.values())


def test_confirmations_refunds_quarantine_reconciliation_and_alerts(world):
    harness, channel, orders, _, now = world
    period = Period(now.date() - timedelta(days=1), now.date())
    linked = channel.links.get_many(ACCOUNT, [o["orderId"] for o in orders])
    merchant = [o for o in orders if o["orderId"] in linked and o["fulfillment"]["fulfilledBy"] == "MERCHANT"]
    first, second, third = merchant[:3]
    # First: two packages in the period (counted once, latency to the first). Second: its first package
    # was before the period (not counted again). Third: refunded twice in the period (counted once).
    first_confirmed_at = now - timedelta(hours=3)
    _confirm(channel, CONFIRM_KIND, "us/shipment/1", first["orderId"], first_confirmed_at)
    _confirm(channel, CONFIRM_KIND, "us/shipment/2", first["orderId"], now - timedelta(hours=1))
    _confirm(channel, CONFIRM_KIND, "us/shipment/3", second["orderId"], period.start - timedelta(hours=2))
    _confirm(channel, CONFIRM_KIND, "us/shipment/4", second["orderId"], now - timedelta(hours=2))
    _confirm(channel, REFUND_KIND, "us/r/1", third["orderId"], now - timedelta(hours=4))
    _confirm(channel, REFUND_KIND, "us/r/2", third["orderId"], now - timedelta(hours=2))

    quarantined = channel.quarantine.open()
    assert quarantined, "the seed quarantines orders with unknown SKUs"
    ages = [timedelta(minutes=10), timedelta(hours=5), timedelta(days=3), timedelta(days=9)]
    with channel.transaction() as session:
        for entry, age in zip(quarantined, ages * len(quarantined), strict=False):
            session.execute(update(QuarantinedOrder).where(QuarantinedOrder.id == entry.id).values(
                first_seen_at=now - age))
    resolved = quarantined[0]
    channel.quarantine.resolve(resolved.seller_account, resolved.amazon_order_id, "test", "fixed")
    run_id = channel.reconciliation.start("us", ACCOUNT, period.start, period.start + timedelta(days=1))
    channel.reconciliation.finish(run_id, outcome="repaired", orders_checked=30,
                                  counts={"missing_in_commerce": 1, "total_mismatch": 0}, repaired=1, unrepaired=0,
                                  results_path="/r")
    old = channel.reconciliation.start("us", ACCOUNT, period.start - timedelta(days=5), period.start - timedelta(days=4))
    channel.reconciliation.finish(old, outcome="ok", orders_checked=1, counts={}, repaired=0, unrepaired=0,
                                  results_path=None)
    alert = {"severity": "warning", "action": "look", "first_raised_at": now - timedelta(hours=2),
             "last_raised_at": now - timedelta(hours=1), "cleared_at": None}
    with channel.transaction() as session:
        session.execute(insert(Alert), [{**alert, "check_key": "quarantine_growing", "scope": "us", "message": "us"},
                                        {**alert, "check_key": "watermark_stale", "scope": "eu", "message": "eu"},
                                        {**alert, "check_key": "feeds_stuck", "scope": ACCOUNT, "message": "acct"}])

    now = datetime.now(UTC)  # after the resolution above
    report = load_activity(channel, harness.settings(), period, now=now)
    mfn = report.activity[report.activity["fulfillment_channel"] == "MERCHANT"]
    assert mfn["shipped"].sum() >= 1 and report.activity["refunded"].sum() == 1
    shipped = report.latency[report.latency["metric"] == "to_shipment_confirmed"]
    assert len(shipped) == 1
    expected_minutes = (first_confirmed_at - _time(first["createdTime"])).total_seconds() / 60
    assert shipped["minutes"].iloc[0] == pytest.approx(expected_minutes, abs=0.01)

    still_open = len(quarantined) - 1
    assert report.quarantine["open"].sum() == still_open == report.quarantine_open["orders"].sum()
    assert report.quarantine["resolved"].sum() == 1
    buckets = Counter(["under 1 hour", "1–24 hours", "1–7 days", "over 7 days"][n % 4]
                      for n in range(1, len(quarantined)))
    by_age: Counter[str] = Counter()
    for row in report.quarantine_open.itertuples():
        by_age[row.age] += row.orders
    assert by_age == buckets
    assert [(r.store, r.outcome, r.findings) for r in report.reconciliation.itertuples()] == [
        ("us", "repaired", "missing_in_commerce: 1")]
    assert sorted(report.alerts["check_key"]) == ["feeds_stuck", "quarantine_growing", "watermark_stale"]

    eu = load_activity(channel, stores_named(harness.settings(), ["eu"]), period, now=now, all_stores=False)
    assert set(eu.activity["store"]) <= {"eu"} and set(eu.quarantine["store"]) <= {"eu", "(unknown marketplace)"}
    assert sorted(eu.alerts["check_key"]) == ["feeds_stuck", "watermark_stale"], "its store's and account's"
    assert eu.reconciliation.empty


def test_a_past_period_reads_the_same_later(world):
    harness, channel, _, _, now = world
    period = Period(now.date() - timedelta(days=2), now.date() - timedelta(days=1))
    first = load_activity(channel, harness.settings(), period, now=now)
    later = load_activity(channel, harness.settings(), period, now=now + timedelta(days=3))
    assert first.as_of == later.as_of == period.end
    for name in ("activity", "revenue", "quarantine", "alerts"):
        assert getattr(first, name).equals(getattr(later, name)), name
    with pytest.raises(ValueError, match="stores: 'mars' not among the active stores"):
        stores_named(harness.settings(), ["mars"])
    with pytest.raises(ValueError, match="period: the end date"):
        Period(now.date(), now.date() - timedelta(days=1))


def test_call_counts_add_up_across_concurrent_tasks(harness: Harness):
    channel = harness.channel()
    hour = datetime(2026, 3, 1, 10, 59, 59, tzinfo=UTC)

    def task(n: int) -> None:
        store = ChannelStore.open(harness.db_url)
        try:
            for _ in range(5):
                store.api_calls.add(ACCOUNT, hour, {"searchOrders": (2, 1, 0), "getOrder": (n, 0, 1)})
        finally:
            store.close()

    threads = [threading.Thread(target=task, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with channel.engine.connect() as connection:
        rows = connection.execute(select(ApiCallCount.operation, ApiCallCount.period_start, ApiCallCount.calls,
                                         ApiCallCount.throttled, ApiCallCount.errors)
                                  .order_by(ApiCallCount.operation)).all()
    start = hour.replace(minute=0, second=0)
    assert rows == [("getOrder", start, 5 * (0 + 1 + 2 + 3), 0, 20), ("searchOrders", start, 40, 20, 0)]
