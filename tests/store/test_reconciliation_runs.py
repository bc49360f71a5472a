"""ReconciliationRepository on SQLite and PostgreSQL: a run and its findings, a retried task's attempt
replacing its earlier one, the previous finished run."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sales_channel.store.channel_store import ChannelStore

START, END = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)


@pytest.fixture
def channel(db_url):
    store = ChannelStore.open(db_url, migrate=True)
    yield store
    store.close()


def finding(kind: str, order_id: str | None = "113-0000001-0000001", status: str = "needs_person") -> dict:
    return {"kind": kind, "amazon_order_id": order_id, "commerce_increment_id": "000000001",
            "detail": f"{kind} of {order_id}", "repair": None, "status": status}


def test_a_run_keeps_its_findings_and_outcome(channel: ChannelStore):
    run_id = channel.reconciliation.start("us", "acct", START, END, "manual__1")
    assert channel.reconciliation.get(run_id).outcome == "running"
    assert channel.reconciliation.add_findings(run_id, [finding("orphan_commerce_order", None),
                                                        finding("missing_in_commerce", status="repaired")]) == 2
    channel.reconciliation.finish(run_id, outcome="needs_attention", orders_checked=10,
                                  counts={"orphan_commerce_order": 1, "missing_in_commerce": 1}, repaired=1,
                                  unrepaired=1, results_path="/tmp/x")
    run = channel.reconciliation.get(run_id)
    assert (run.outcome, run.orders_checked, run.repaired, run.unrepaired, run.counts["orphan_commerce_order"]) == (
        "needs_attention", 10, 1, 1, 1)
    assert run.finished_at is not None
    assert [(f.kind, f.amazon_order_id, f.status) for f in channel.reconciliation.findings(run_id)] == [
        ("orphan_commerce_order", None, "needs_person"), ("missing_in_commerce", "113-0000001-0000001", "repaired")]


def test_a_retried_task_replaces_its_earlier_attempt_and_previous_skips_failed_runs(channel: ChannelStore):
    first = channel.reconciliation.start("us", "acct", START, END, "scheduled__1")
    channel.reconciliation.add_findings(first, [finding("total_mismatch")])
    channel.reconciliation.finish(first, outcome="needs_attention", orders_checked=1, counts={}, repaired=0,
                                  unrepaired=1, results_path=None)
    second = channel.reconciliation.start("us", "acct", START, END, "scheduled__2")
    channel.reconciliation.add_findings(second, [finding("item_mismatch")])
    channel.reconciliation.fail(second)
    retried = channel.reconciliation.start("us", "acct", START, END, "scheduled__2")
    assert retried == second and channel.reconciliation.findings(second) == []
    assert channel.reconciliation.get(second).outcome == "running"
    assert channel.reconciliation.previous(second).id == first
    assert channel.reconciliation.previous(first) is None
    assert [r.id for r in channel.reconciliation.runs("us")] == [second, first]


def test_a_finding_without_a_detail_is_refused_naming_it(channel: ChannelStore):
    run_id = channel.reconciliation.start("us", "acct", START, END)
    with pytest.raises(ValueError, match="finding of order 113-0000001-0000001 has no detail"):
        channel.reconciliation.add_findings(run_id, [{**finding("total_mismatch"), "detail": ""}])
