"""End to end: the amazon_order_reconciliation DAG run with dag.test() against both sandboxes.

The seed is imported first (as in production); a first reconciliation gives the seed's own findings (the
seed holds merchant orders Amazon has partly shipped, which Commerce has not). Then each kind of
discrepancy is planted through the sandboxes' faithful APIs and control APIs (and our channel database
for our own side), and the next run must find exactly those, repair the safe ones — the missing order
then in Commerce exactly once — and a run after that finds nothing new.
"""

from __future__ import annotations

import csv
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sales_channel.commerce.models import Track
from sales_channel.domain.mapping import PAYMENT_METHOD
from sales_channel.domain.settings import parse_stores
from sales_channel.pipeline.outbox_work import OutboxWork
from sales_channel.pipeline.status_sync.commerce_effects import CommerceEffects
from sales_channel.pipeline.status_sync.kinds import COMMENT_KIND
from sales_channel.store.models import OrderLink, QuarantinedOrder
from sqlalchemy import delete, update

from tests.dags.conftest import ACCOUNT, World, run_dag
from tests.sandbox.commerce.support import order_entity

pytestmark = pytest.mark.slow
DAG_ID = "amazon_order_reconciliation"


@pytest.fixture
def reports_made(world: World, tmp_path, monkeypatch):
    """Amazon takes 90 s of lifecycle time to make a report: move the sandbox's clock by exactly that while
    a report waits (and nothing else of the seed's lifecycle is near), and look at it every half second."""
    monkeypatch.setenv("AIRFLOW__SALES_CHANNEL__REPORT_POLL_SECONDS", "0.5")
    monkeypatch.setenv("AIRFLOW__SALES_CHANNEL__RESULTS_FOLDER", str(tmp_path / "results"))
    stop = threading.Event()

    def advance() -> None:
        while not stop.wait(0.3):
            pending = world.amazon_control("GET", "lifecycle")["pending"]
            due = [e["dueInSeconds"] for e in pending if e["kind"].startswith("report_")]
            if due:
                world.amazon_control("POST", "lifecycle/advance", json={"seconds": max(due) + 1})

    thread = threading.Thread(target=advance, daemon=True)
    thread.start()
    yield tmp_path / "results"
    stop.set()
    thread.join()


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def reconcile(**conf: Any):
    now = datetime.now(UTC)
    return run_dag(DAG_ID, store="us", window_start=stamp(now - timedelta(days=5)), window_end=stamp(now), **conf)


def states(run) -> dict[str, str]:
    return {ti.task_id + (f"[{ti.map_index}]" if ti.map_index >= 0 else ""): ti.state for ti in run.get_task_instances()}


def findings(world: World) -> tuple[Any, list[Any]]:
    """The latest reconciliation run of store us and its findings."""
    channel = world.channel()
    try:
        run = channel.reconciliation.runs("us", limit=1)[0]
        return run, channel.reconciliation.findings(run.id)
    finally:
        channel.close()


def keyed(found: list[Any]) -> set[tuple[str, str | None]]:
    return {(f.kind, f.amazon_order_id or f.commerce_increment_id) for f in found}


def created(world: World, order_id: str) -> int:
    return len(world.commerce_control("GET", "ledger", params={"event": "order_created",
                                                               "ext_order_id": order_id})["events"])


def us_merchant_unshipped(world: World) -> list[tuple[dict[str, Any], OrderLink]]:
    """The imported, merchant-fulfilled, unshipped single-currency orders of store us, with their links."""
    channel = world.channel()
    try:
        found = []
        for order in world.all_amazon_orders():
            link = channel.links.get(ACCOUNT, order["orderId"])
            if (link is not None and link.store_code == "default" and order["fulfillment"]["fulfilledBy"] == "MERCHANT"
                    and order["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED"
                    and not any(i.get("cancellation", {}).get("cancellationRequest") for i in order["orderItems"])):
                found.append((order, link))
        return found
    finally:
        channel.close()


def test_each_planted_discrepancy_is_found_the_safe_ones_repaired_and_a_second_run_finds_nothing_new(
        world: World, reports_made: Path):
    run_dag("amazon_order_import")
    first = reconcile()
    baseline_run, baseline = findings(world)
    # The seed's own: merchant orders Amazon partly shipped (Seller Central), with nothing shipped in Commerce.
    channel = world.channel()
    try:
        partly = {o["orderId"] for o in world.all_amazon_orders()
                  if o["fulfillment"]["fulfillmentStatus"] == "PARTIALLY_SHIPPED"
                  and o["fulfillment"]["fulfilledBy"] == "MERCHANT"
                  and getattr(channel.links.get(ACCOUNT, o["orderId"]), "store_code", None) == "default"}
    finally:
        channel.close()
    assert keyed(baseline) == {("shipped_on_amazon_only", order_id) for order_id in partly}
    assert baseline_run.outcome == ("needs_attention" if partly else "ok")
    assert states(first)["verdict[0]"] == ("failed" if partly else "success")

    (unlinked, unlinked_link), (duplicated, duplicated_link), (cancelled, _), (shipped, shipped_link), \
        (commented, commented_link), (quarantined, _) = us_merchant_unshipped(world)[:6]
    commerce = world.commerce()
    channel = world.channel()
    try:
        # unlinked: our link lost (an ambiguous create that landed, say)
        with channel.transaction() as session:
            session.execute(delete(OrderLink).where(OrderLink.amazon_order_id == unlinked["orderId"]))
        # orphan: paid with Amazon, carrying an order id this seller account does not have
        orphan = commerce.orders.create(order_entity(
            ext_order_id="111-0000000-0000001",
            payment={"method": PAYMENT_METHOD, "account_status": "active", "cc_last4": "",
                     "additional_information": ["111-0000000-0000001"]}))
        # duplicate: a second Commerce order for one Amazon order
        second = commerce.orders.create(order_entity(
            ext_order_id=duplicated["orderId"],
            payment={"method": PAYMENT_METHOD, "account_status": "active", "cc_last4": "",
                     "additional_information": [duplicated["orderId"]]}))
        # missing: an order the import never read (updated before its watermark)
        an_hour_ago = stamp(datetime.now(UTC) - timedelta(hours=1))
        missing = world.amazon_control("POST", "orders", json={
            "items": [{"sellerSku": unlinked["orderItems"][0]["product"]["sellerSku"], "quantity": 1}],
            "marketplaceId": "ATVPDKIKX0DER", "createdTime": an_hour_ago, "lastUpdatedTime": an_hour_ago,
        })["order"]["orderId"]
        # cancelled on Amazon only: the buyer cancels, the status sync has not run
        world.amazon_control("PATCH", f"orders/{cancelled['orderId']}", json={"status": "CANCELLED",
                                                                                "cancelledBy": "BUYER"})
        # shipped in Commerce only: its confirmation failed transiently (Amazon answered 503)
        shipped_order = commerce.orders.get(shipped_link.commerce_entity_id)
        commerce.shipments.create(shipped_order.entity_id, None,
                                  [Track(track_number="1Z999AA10123456784", carrier_code="ups", title="UPS")])
        world.amazon_control("PUT", "faults", json={"error_rate": 1.0, "error_statuses": [503],
                                                    "operations": ["confirmShipment"]})
        run_dag("amazon_order_status_sync")
        world.amazon_control("DELETE", "faults")
        # failed outbox row: a Commerce comment given up after a transient failure
        work = OutboxWork(channel.outbox, "test-worker")
        store = parse_stores(json.dumps(world.stores())).valid["us"]
        CommerceEffects(channel, commerce, store, work).comment(commented["orderId"], commented_link.commerce_entity_id,
                                                                "reconciliation-test", "A note for the merchant.")
        source = f"us/{commented['orderId']}/reconciliation-test"
        [item] = work.claim(COMMENT_KIND, [source]).values()
        channel.outbox.mark_failed(item.id, "ServerError: POST /V1/orders/{id}/comments 503", work.worker_id)
        # stuck in quarantine: an order quarantined two days ago
        channel.quarantine.record(ACCOUNT, quarantined["orderId"], "unknown_sku", "SKU X is not in the catalog")
        with channel.transaction() as session:
            session.execute(update(QuarantinedOrder).where(
                QuarantinedOrder.amazon_order_id == quarantined["orderId"]).values(
                first_seen_at=datetime.now(UTC) - timedelta(days=2)))
    finally:
        channel.close()
    orphan_increment = orphan.increment_id

    second_run = reconcile()
    run, found = findings(world)
    planted = {
        ("unlinked_commerce_order", unlinked["orderId"]), ("orphan_commerce_order", "111-0000000-0000001"),
        ("duplicate_commerce_orders", duplicated["orderId"]), ("missing_in_commerce", missing),
        ("cancelled_on_amazon_only", cancelled["orderId"]), ("shipped_in_commerce_only", shipped["orderId"]),
        ("outbox_failed", commented["orderId"]), ("stuck_in_quarantine", quarantined["orderId"]),
    }
    assert keyed(found) - keyed(baseline) == planted, [f.detail for f in found]
    status = {(f.kind, f.amazon_order_id or f.commerce_increment_id): f.status for f in found}
    assert {k for k, v in status.items() if v == "repaired"} == {
        ("unlinked_commerce_order", unlinked["orderId"]), ("missing_in_commerce", missing),
        ("shipped_in_commerce_only", shipped["orderId"]), ("outbox_failed", commented["orderId"])}
    assert run.outcome == "needs_attention" and run.unrepaired == len(found) - 4
    assert states(second_run)["reconcile[0]"] == "success" and states(second_run)["verdict[0]"] == "failed"
    orphan_finding = next(f for f in found if f.kind == "orphan_commerce_order")
    assert orphan_finding.commerce_increment_id == orphan_increment and orphan_finding.repair is None
    dup = next(f for f in found if f.kind == "duplicate_commerce_orders")
    assert second.increment_id in dup.detail and dup.status == "needs_person"

    # The safe repairs are done: the missing order is in Commerce exactly once and linked, the lost link is
    # back, the requeued rows are sent by the status sync.
    assert created(world, missing) == 1
    channel = world.channel()
    try:
        assert channel.links.get(ACCOUNT, missing) is not None
        assert channel.links.get(ACCOUNT, unlinked["orderId"]).commerce_entity_id == unlinked_link.commerce_entity_id
        assert channel.outbox.get(COMMENT_KIND, source).status == "pending"
        assert any(e.event_type == "reconciliation_repair" for e in channel.events.for_order(ACCOUNT, missing))
    finally:
        channel.close()
    run_dag("amazon_order_status_sync")
    assert [p["trackingNumber"] for p in world.amazon_control(
        "GET", "ledger", params={"kind": "shipment", "orderId": shipped["orderId"]})["entries"]] == ["1Z999AA10123456784"]
    assert "A note for the merchant." in [c.comment for c in commerce.orders.list_comments(commented_link.commerce_entity_id)]

    # The results: CSV and HTML under the results folder, no buyer data.
    folder = Path(run.results_path)
    assert folder.is_relative_to(reports_made / "reconciliation" / "us")
    with (folder / "findings.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["kind"], r["amazon_order_id"] or r["commerce_increment_id"]) for r in rows} == keyed(found)
    page = (folder / "summary.html").read_text()
    assert "orphan_commerce_order" in page and "Lovelace" not in page and "@" not in page

    third = reconcile()
    last_run, last = findings(world)
    assert not any(f.kind in ("missing_in_commerce", "unlinked_commerce_order", "outbox_failed",
                              "shipped_in_commerce_only") for f in last)
    assert keyed(last) <= keyed(found), keyed(last) - keyed(found)
    assert created(world, missing) == 1 and states(third)["verdict[0]"] == "failed"
    assert last_run.repaired == 0


def test_a_form_with_one_end_of_the_window_is_refused_before_anything_is_read(world: World):
    run = run_dag(DAG_ID, store="us", window_start="2026-03-01T00:00:00Z")
    assert states(run)["check_request"] == "failed"
    channel = world.channel()
    try:
        assert channel.reconciliation.runs() == []
    finally:
        channel.close()


def test_a_read_only_store_plans_its_repairs_and_makes_none(world: World, reports_made: Path):
    run_dag("amazon_order_import")
    (order, link), *_ = us_merchant_unshipped(world)
    channel = world.channel()
    try:
        with channel.transaction() as session:
            session.execute(delete(OrderLink).where(OrderLink.amazon_order_id == order["orderId"]))
    finally:
        channel.close()
    world.set_stores(world.stores(read_only=True))
    reconcile()
    run, found = findings(world)
    [relink] = [f for f in found if f.kind == "unlinked_commerce_order"]
    assert (relink.repair, relink.status) == ("relink", "planned")
    channel = world.channel()
    try:
        assert channel.links.get(ACCOUNT, order["orderId"]) is None
    finally:
        channel.close()
    assert "Read-only store" in (Path(run.results_path) / "summary.html").read_text()


def test_the_schedule_reconciles_the_previous_day():
    from airflow.dag_processing.dagbag import DagBag

    from tests.dags.conftest import DAGS

    dag = DagBag(dag_folder=str(DAGS / f"{DAG_ID}.py")).get_dag(DAG_ID)
    info = dag.timetable.next_dagrun_info(last_automated_data_interval=None,
                                          restriction=_restriction(datetime(2026, 3, 2, tzinfo=UTC)))
    assert info.data_interval.start == datetime(2026, 3, 1, 2, tzinfo=UTC)
    assert info.data_interval.end == datetime(2026, 3, 2, 2, tzinfo=UTC)


def _restriction(earliest: datetime):
    from airflow.timetables.base import TimeRestriction

    return TimeRestriction(earliest=earliest, latest=None, catchup=True)


def test_the_report_is_waited_for_on_the_triggerer(world: World, tmp_path, monkeypatch, capfd, caplog):
    # Amazon finishes the report only 3 s after it was asked for: the task's first look finds it in the queue.
    monkeypatch.setenv("AIRFLOW__SALES_CHANNEL__REPORT_POLL_SECONDS", "0.5")
    monkeypatch.setenv("AIRFLOW__SALES_CHANNEL__RESULTS_FOLDER", str(tmp_path / "results"))
    caplog.set_level("INFO")
    stop = threading.Event()

    def finish_reports_later() -> None:
        seen: dict[str, float] = {}
        while not stop.wait(0.3):
            for event in world.amazon_control("GET", "lifecycle")["pending"]:
                if event["kind"].startswith("report_"):
                    first = seen.setdefault(event["ref"], time.monotonic())
                    if time.monotonic() - first > 3:
                        world.amazon_control("POST", "lifecycle/advance", json={"seconds": event["dueInSeconds"] + 1})

    thread = threading.Thread(target=finish_reports_later, daemon=True)
    thread.start()
    try:
        run = reconcile()
    finally:
        stop.set()
        thread.join()
    assert states(run)["request_report[0]"] == "success"
    # Airflow's task log reaches stdout, or the logging module once another test has configured it.
    printed = capfd.readouterr().out + "\n".join(record.getMessage() for record in caplog.records)
    # While Amazon makes the report the task is deferred (the only task of this DAG that can): no worker
    # slot is held between looks.
    assert "Pausing task as DEFERRED" in printed or "checking again in" in printed


def test_a_report_amazon_has_not_made_within_the_wait_fails_and_is_requested_again(world: World, monkeypatch):
    # Nobody moves the sandbox's lifecycle clock: Amazon never finishes the report.
    monkeypatch.setenv("AIRFLOW__SALES_CHANNEL__REPORT_POLL_SECONDS", "0.3")
    monkeypatch.setenv("AIRFLOW__SALES_CHANNEL__REPORT_WAIT_MINUTES", "0.02")
    run = reconcile()
    tasks = states(run)
    assert tasks["request_report[0]"] == "failed" and tasks["reconcile"] == "upstream_failed", tasks
    waiting = {e["ref"] for e in world.amazon_control("GET", "lifecycle")["pending"] if e["kind"].startswith("report_")}
    assert len(waiting) == 3, "each of the three tries asks for a report of its own, and none was made"
