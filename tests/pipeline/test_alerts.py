"""Health checks on a real channel database (SQLite, and PostgreSQL when configured): each check raises
one alert naming the store and the figure, stays open without being delivered again, and clears when
the check passes (a later recurrence is a new alert)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sales_channel.domain.settings import parse_settings
from sales_channel.pipeline.alerts import ChannelHealth, Thresholds
from sales_channel.pipeline.importing.account import STREAM as IMPORT
from sales_channel.pipeline.status_sync.from_amazon import STREAM as FROM_AMAZON
from sales_channel.pipeline.status_sync.kinds import AMAZON_CANCEL_KIND, CONFIRM_KIND
from sales_channel.pipeline.status_sync.to_amazon import STREAM as TO_AMAZON
from sales_channel.store import ChannelStore, create_engine_for, migrate
from sales_channel.store.models import Alert
from sqlalchemy import select

ACCOUNT = "seller-1"
T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Inbox:
    """A ``deliver`` that records what it was handed (or fails, like a receiver that is down)."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[list[str], list[str]]] = []
        self.failing = False

    def __call__(self, raised, cleared) -> None:
        if self.failing:
            raise ConnectionError("receiver down")
        self.deliveries.append(([f"{a.check_key} [{a.scope}]" for a in raised],
                                [f"{a.check_key} [{a.scope}]" for a in cleared]))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def channel(db_url, clock):
    migrate(db_url)
    store = ChannelStore(create_engine_for(db_url), clock)
    yield store
    store.close()


def stores():
    since = "2026-10-01T00:00:00Z"
    common = {"amazon_conn_id": ACCOUNT, "commerce_conn_id": "commerce", "connected_since": since}
    return list(parse_settings({
        "us": {**common, "marketplace_ids": ["ATVPDKIKX0DER"], "store_code": "default", "store_id": 1},
        "eu": {**common, "marketplace_ids": ["A1PA6795UKMFR9"], "store_code": "de", "store_id": 2},
    }).values())


def health(channel, clock, **thresholds) -> ChannelHealth:
    return ChannelHealth(channel, stores(), Thresholds(**thresholds), clock=clock)


def fresh_watermarks(channel, clock, *, skip: tuple[tuple[str, str], ...] = ()) -> None:
    for store in ("us", "eu"):
        for stream in (IMPORT, TO_AMAZON, FROM_AMAZON):
            if (store, stream) not in skip:
                channel.watermarks.advance(store, stream, clock.now)


def alert_rows(channel) -> list[Alert]:
    with channel.engine.connect() as connection:
        return list(connection.execute(select(Alert).order_by(Alert.id)))


def test_stale_watermark_raises_once_stays_open_and_clears(channel, clock):
    inbox = Inbox()
    fresh_watermarks(channel, clock)
    clock.now = T0 + timedelta(minutes=50)
    fresh_watermarks(channel, clock, skip=(("us", IMPORT),))
    clock.now = T0 + timedelta(minutes=70)

    first = health(channel, clock).run(inbox)
    assert inbox.deliveries == [(["watermark_stale:import [us]"], [])]
    [alert] = first.raised
    assert "store us" in alert.message and "70 minutes" in alert.message and "import" in alert.message
    assert "amazon_order_import" in alert.action and ACCOUNT in alert.action

    clock.now = T0 + timedelta(minutes=80)
    fresh_watermarks(channel, clock, skip=(("us", IMPORT),))
    second = health(channel, clock).run(inbox)
    assert len(inbox.deliveries) == 1, "an open alert is not delivered again"
    assert [a.id for a in second.still_open] == [alert.id] and second.raised == []
    [row] = alert_rows(channel)
    assert row.notified_at == T0 + timedelta(minutes=70) and row.last_raised_at == T0 + timedelta(minutes=80)
    assert "80 minutes" in row.message and row.cleared_at is None

    channel.watermarks.advance("us", IMPORT, clock.now)
    cleared = health(channel, clock).run(inbox)
    assert inbox.deliveries[-1] == ([], ["watermark_stale:import [us]"])
    assert [a.id for a in cleared.cleared] == [alert.id]
    assert alert_rows(channel)[0].cleared_at == clock.now and channel.alerts.open() == []

    clock.now += timedelta(minutes=61)  # every watermark is stale now: each is a new alert
    fresh_watermarks(channel, clock, skip=(("us", IMPORT), ("eu", IMPORT), ("eu", TO_AMAZON), ("eu", FROM_AMAZON),
                                           ("us", FROM_AMAZON)))
    again = health(channel, clock).run(inbox)
    assert sorted(inbox.deliveries[-1][0]) == ["watermark_stale:import [eu]", "watermark_stale:import [us]",
                                               "watermark_stale:sync_from_amazon [eu]",
                                               "watermark_stale:sync_from_amazon [us]",
                                               "watermark_stale:sync_to_amazon [eu]"]
    assert alert.id not in {a.id for a in again.raised}


def test_a_watermark_never_set_is_reported_unchecked_not_alerted(channel, clock):
    inbox = Inbox()
    outcome = health(channel, clock).run(inbox)
    assert inbox.deliveries == [] and channel.alerts.open() == []
    assert "us/import (no watermark yet)" in outcome.unchecked and len(outcome.unchecked) == 6


def test_quarantine_size_and_age(channel, clock):
    inbox = Inbox()
    fresh_watermarks(channel, clock)
    for n in range(3):
        channel.quarantine.record(ACCOUNT, f"111-000000{n}-0000000", "unknown_sku", f"SKU X{n} unknown")
        clock.now += timedelta(minutes=1)
    health(channel, clock, quarantine_max=2).run(inbox)
    assert inbox.deliveries == [([f"quarantine_size [{ACCOUNT}]"], [])]
    [size] = channel.alerts.open()
    assert "3 orders unresolved" in size.message and "stores eu, us" in size.message
    assert "amazon_resolve_quarantine" in size.action and "111-0000000-0000000" in size.action

    clock.now = T0 + timedelta(hours=25)
    fresh_watermarks(channel, clock)
    health(channel, clock, quarantine_max=2).run(inbox)
    assert inbox.deliveries[-1] == ([f"quarantine_age [{ACCOUNT}]"], []), "size stays open, age is new"
    age = next(a for a in channel.alerts.open() if a.check_key == "quarantine_age")
    assert "order 111-0000000-0000000 has been in quarantine for 25.0 hours" in age.message

    channel.quarantine.resolve(ACCOUNT, "111-0000000-0000000", "test", "mapped")
    health(channel, clock, quarantine_max=2).run(inbox)
    assert inbox.deliveries[-1] == ([], [f"quarantine_size [{ACCOUNT}]"]), "2 left: size passes; the next oldest is 24h59m old"
    assert [a.check_key for a in channel.alerts.open()] == ["quarantine_age"]
    clock.now = T0 + timedelta(hours=25, minutes=30)
    channel.quarantine.resolve(ACCOUNT, "111-0000001-0000000", "test", "mapped")
    channel.quarantine.resolve(ACCOUNT, "111-0000002-0000000", "test", "mapped")
    fresh_watermarks(channel, clock)
    health(channel, clock, quarantine_max=2).run(inbox)
    assert inbox.deliveries[-1] == ([], [f"quarantine_age [{ACCOUNT}]"]) and channel.alerts.open() == []


def fail_row(channel, kind: str, source: str, target: str) -> None:
    channel.outbox.enqueue(kind, source, target, {"ref": source})
    [item] = [i for i in channel.outbox.claim("worker", 10, timedelta(minutes=5), kinds=[kind])
              if i.source_id == source]
    channel.outbox.mark_failed(item.id, "Amazon: InvalidInput", "worker")


def test_failed_outbox_rows_per_store_and_per_account(channel, clock):
    inbox = Inbox()
    fresh_watermarks(channel, clock)
    fail_row(channel, CONFIRM_KIND, "us/shipment/41", ACCOUNT)  # the store's, by its source
    clock.now += timedelta(minutes=1)
    fail_row(channel, "commerce_order_comment", "us/111-0000009-0000000/cancel", "us")  # the store's, by its target
    fail_row(channel, AMAZON_CANCEL_KIND, f"{ACCOUNT}/111-0000008-0000000", ACCOUNT)  # only the account's
    health(channel, clock).run(inbox)
    assert sorted(inbox.deliveries[0][0]) == [f"outbox_failed [{ACCOUNT}]", "outbox_failed [us]"]
    by_scope = {a.scope: a for a in channel.alerts.open()}
    us = by_scope["us"]
    assert us.message.startswith("store us: 2 outbox row(s) failed (amazon_shipment_confirm 1, commerce_order_comment 1)")
    assert "oldest amazon_shipment_confirm us/shipment/41" in us.message and "amazon_resend_shipment" in us.action
    assert by_scope[ACCOUNT].message.startswith(f"seller account {ACCOUNT} (stores eu, us): 1 outbox row(s) failed "
                                                "(amazon_order_cancel 1)")

    assert channel.outbox.requeue(CONFIRM_KIND, "us/shipment/41")
    health(channel, clock).run(inbox)
    assert len(inbox.deliveries) == 1, "one row left: still open, not delivered again"
    assert "1 outbox row(s) failed (commerce_order_comment 1)" in channel.alerts.open("us")[0].message
    channel.outbox.requeue("commerce_order_comment", "us/111-0000009-0000000/cancel")
    channel.outbox.requeue(AMAZON_CANCEL_KIND, f"{ACCOUNT}/111-0000008-0000000")
    health(channel, clock).run(inbox)
    assert sorted(inbox.deliveries[-1][1]) == [f"outbox_failed [{ACCOUNT}]", "outbox_failed [us]"]
    assert channel.alerts.open() == []


def test_reconciliation_that_could_not_repair(channel, clock):
    inbox = Inbox()
    fresh_watermarks(channel, clock)
    run = channel.reconciliation.start("eu", ACCOUNT, T0 - timedelta(days=1), T0, dag_run_id="r1")
    channel.reconciliation.finish(run, outcome="needs_attention", orders_checked=40,
                                  counts={"missing_in_commerce": 2, "total_mismatch": 1}, repaired=1,
                                  unrepaired=2, results_path="/reports/eu/2026-11-28")
    running = channel.reconciliation.start("us", ACCOUNT, T0 - timedelta(days=1), T0, dag_run_id="r1")
    assert running  # a run still going says nothing yet
    health(channel, clock).run(inbox)
    assert inbox.deliveries == [(["reconciliation_unrepaired [eu]"], [])]
    [alert] = channel.alerts.open()
    assert alert.message.startswith("store eu: the reconciliation of 2026-11-28T12:00:00Z – 2026-11-29T12:00:00Z "
                                    f"(run {run}) left 2 order(s) it could not repair")
    assert "missing_in_commerce 2, total_mismatch 1" in alert.message and "/reports/eu/2026-11-28" in alert.action

    later = channel.reconciliation.start("eu", ACCOUNT, T0, T0 + timedelta(days=1), dag_run_id="r2")
    channel.reconciliation.finish(later, outcome="ok", orders_checked=41, counts={}, repaired=0, unrepaired=0,
                                  results_path=None)
    health(channel, clock).run(inbox)
    assert inbox.deliveries[-1] == ([], ["reconciliation_unrepaired [eu]"]) and channel.alerts.open() == []


def test_a_failed_delivery_marks_nothing_and_is_repeated(channel, clock):
    inbox = Inbox()
    fresh_watermarks(channel, clock)
    fail_row(channel, CONFIRM_KIND, "eu/shipment/7", ACCOUNT)
    inbox.failing = True
    with pytest.raises(ConnectionError):
        health(channel, clock).run(inbox)
    [row] = alert_rows(channel)
    assert row.notified_at is None and row.cleared_at is None
    inbox.failing = False
    health(channel, clock).run(inbox)
    assert inbox.deliveries == [(["outbox_failed [eu]"], [])]
    [row] = alert_rows(channel)
    assert row.notified_at is not None


def test_the_alerts_of_a_store_no_longer_active_are_retired_not_left_open(channel, clock):
    inbox = Inbox()
    fresh_watermarks(channel, clock)
    fail_row(channel, CONFIRM_KIND, "eu/shipment/7", ACCOUNT)
    fail_row(channel, CONFIRM_KIND, "us/shipment/8", ACCOUNT)
    health(channel, clock).run(inbox)
    assert sorted(inbox.deliveries[-1][0]) == ["outbox_failed [eu]", "outbox_failed [us]"]

    # The eu store is switched off: its alert is never evaluated again, so it is closed (not announced as
    # fine again: nobody checked);
    # its failed row is not forgotten: no active store owns it now, so its seller account's check reports it.
    only_us = [store for store in stores() if store.key == "us"]
    clock.now += timedelta(minutes=15)
    outcome = ChannelHealth(channel, only_us, Thresholds(), clock=clock).run(inbox)
    assert [f"{a.check_key} [{a.scope}]" for a in outcome.retired] == ["outbox_failed [eu]"]
    assert inbox.deliveries[-1] == ([f"outbox_failed [{ACCOUNT}]"], [])
    assert sorted((a.check_key, a.scope) for a in channel.alerts.open()) == [("outbox_failed", ACCOUNT),
                                                                             ("outbox_failed", "us")]
    assert "closed unchecked" in outcome.line() and outcome.as_dict()["retired"] == ["outbox_failed [eu]"]
