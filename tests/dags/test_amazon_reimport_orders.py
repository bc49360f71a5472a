"""End to end: the amazon_reimport_orders DAG run with dag.test() against both sandboxes.

The scheduled import runs first (as in production); then a person re-imports one order or a store's
window. Judged from the sandboxes (Commerce's ledger of created orders, Amazon's data) and the channel
database (links, quarantine, watermarks, the orders' timelines)."""

from __future__ import annotations

import copy
import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from airflow.sdk.exceptions import ParamValidationError
from sales_channel.store.models import QuarantinedOrder
from sqlalchemy import update

from tests.dags.conftest import ACCOUNT, DAGS, World, run_dag
from tests.fixtures.hostile_orders import base_order, item

pytestmark = pytest.mark.slow

DAG_ID = "amazon_reimport_orders"


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def created(world: World) -> dict[str, int]:
    """Commerce orders created, by ext_order_id (Commerce's own ledger)."""
    counts: dict[str, int] = {}
    for event in world.commerce_control("GET", "ledger", params={"event": "order_created"})["events"]:
        counts[event["ext_order_id"]] = counts.get(event["ext_order_id"], 0) + 1
    return counts


def post(world: World, order_id: str, *, created_at: datetime | None = None, items: list | None = None) -> None:
    order = base_order(order_id, items)
    updated = datetime.now(UTC) - timedelta(minutes=3)
    if created_at is not None:
        order["createdTime"], updated = stamp(created_at), created_at + timedelta(minutes=5)
    order["lastUpdatedTime"] = stamp(updated)
    world.amazon_control("POST", "orders/raw", json=order)


def logged(capfd, caplog) -> str:
    """What the runs logged since the last call: the task log lines on stdout and the records of the
    package's loggers (dag.test() hands some to stdout only after the run: both are read)."""
    for handler in logging.getLogger().handlers:
        handler.flush()
    out = capfd.readouterr()
    records = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records
                        if not r.name.startswith("sales_channel.sandbox"))
    caplog.clear()
    return f"{out.out}\n{out.err}\n{records}"


def states(run) -> dict[str, tuple[str, int]]:
    return {ti.task_id: (ti.state, ti.try_number) for ti in run.get_task_instances()}


def refused_before_a_run(dag_id: str, conf: dict, field: str) -> None:
    """``conf`` is refused, naming ``field``, by the DAG's params and by ``dag.test()``, and no run exists."""
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(DAGS / f"{dag_id}.py")).get_dag(dag_id)
    params = copy.deepcopy(dag.params)
    with pytest.raises(ParamValidationError, match=f"param {field}"):
        params.update(conf)
        params.validate()
    runs = runs_of(dag_id)
    with pytest.raises(ParamValidationError, match=f"param {field}"):
        dag.test(run_conf=conf)
    assert runs_of(dag_id) == runs, "no run was created"


def runs_of(dag_id: str) -> int:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        return session.query(DagRun).filter(DagRun.dag_id == dag_id).count()


def test_reimporting_a_linked_order_creates_nothing_twice(world: World, capfd, caplog):
    assert run_dag("amazon_order_import").state == "success"
    before = created(world)
    order_id = next(iter(before))
    logged(capfd, caplog)
    run = run_dag(DAG_ID, amazon_order_id=order_id)
    assert run.state == "success", states(run)
    log = logged(capfd, caplog)
    assert f"re-import of order {order_id}" in log and "outcome: 1 already linked (nothing created)" in log
    assert created(world) == before, "nothing created again"
    event = world.channel().events.for_order(ACCOUNT, order_id)[-1]
    assert event.event_type == "reimported" and "already linked" in event.message
    assert event.details == {"operation": f"{DAG_ID}/{run.run_id}", "by": "dag_test", "outcome": "already_linked"}


def test_reimporting_a_quarantined_order_whose_cause_was_fixed_creates_it_at_once(world: World):
    post(world, "990-0000031-0000001", items=[item("60000000000031", "GIFTCARD-PHYS-50", 1, "50.00")])
    assert run_dag("amazon_order_import").state == "success"
    channel = world.channel()
    assert channel.quarantine.get(ACCOUNT, "990-0000031-0000001").reason_code == "unknown_sku"
    with channel.engine.begin() as connection:  # its next retry is hours away
        connection.execute(update(QuarantinedOrder).where(QuarantinedOrder.amazon_order_id == "990-0000031-0000001")
                           .values(next_attempt_at=datetime.now(UTC) + timedelta(hours=6)))
    world.commerce_control("PUT", "products/GIFTCARD-PHYS-50", json={"name": "Gift card", "price": 50, "status": 1,
                                                                      "qty": 100, "is_in_stock": True})
    run = run_dag(DAG_ID, amazon_order_id="990-0000031-0000001", store="us")
    assert run.state == "success", states(run)
    assert created(world)["990-0000031-0000001"] == 1
    assert channel.quarantine.get(ACCOUNT, "990-0000031-0000001").resolved_at is not None
    assert [e.event_type for e in channel.events.for_order(ACCOUNT, "990-0000031-0000001")][-3:] == [
        "created", "quarantine_resolved", "reimported"]


def test_a_window_reimport_creates_the_missing_orders_and_leaves_the_watermark(world: World):
    assert run_dag("amazon_order_import").state == "success"
    # Orders Amazon indexed late: created and updated four days ago, after the import read that time.
    when = datetime.now(UTC) - timedelta(days=4)
    missing = [f"990-0000032-000000{n}" for n in range(1, 4)]
    for n, order_id in enumerate(missing):
        post(world, order_id, created_at=when + timedelta(minutes=n))
    assert run_dag("amazon_order_import").state == "success"
    assert not set(missing) & set(created(world)), "the scheduled import cannot see them"
    channel = world.channel()
    marks = {store: channel.watermarks.get(store, "import") for store in ("us", "eu")}
    before = created(world)

    run = run_dag(DAG_ID, store="us", start=stamp(when - timedelta(days=1)), end=stamp(when + timedelta(hours=1)))
    assert run.state == "success", states(run)
    after = created(world)
    assert {i: after.get(i) for i in missing} == dict.fromkeys(missing, 1)
    assert set(after) - set(before) == set(missing) and max(after.values()) == 1, "nothing else, nothing twice"
    assert {store: channel.watermarks.get(store, "import") for store in ("us", "eu")} == marks
    assert channel.checkpoints.get(ACCOUNT, "import") is None
    assert all(channel.events.for_order(ACCOUNT, i)[-1].event_type == "reimported" for i in missing)


@pytest.mark.parametrize(("conf", "field"), [
    ({"amazon_order_id": "113-12345-1234567"}, "amazon_order_id"),
    ({"amazon_order_id": "113-1234567-1234567 "}, "amazon_order_id"),
    ({"store": "US Store"}, "store"),
    ({"store": "us", "start": "last monday", "end": "2026-03-01T00:00:00Z"}, "start"),
    ({"store": "us", "start": "2026-03-01T00:00:00Z", "end": "2026-03-02"}, "end"),
])
def test_the_form_refuses_a_malformed_field_before_a_run_is_created(world: World, conf, field):
    refused_before_a_run(DAG_ID, conf, field)


@pytest.mark.parametrize(("conf", "message"), [
    ({"store": "us", "start": "2026-03-02T00:00:00Z", "end": "2026-03-01T00:00:00Z"}, "field end: .* is not after"),
    ({"store": "us", "start": "2026-01-01T00:00:00Z", "end": "2026-03-01T00:00:00Z"}, "at most 31"),
    ({"start": "2026-03-01T00:00:00Z", "end": "2026-03-02T00:00:00Z"}, "field store: required for a window"),
    ({}, "field store: required for a window"),
])
def test_fields_that_do_not_go_together_fail_the_first_task_at_once_changing_nothing(world: World, conf, message,
                                                                                  capfd, caplog):
    run = run_dag(DAG_ID, **conf)
    assert run.state == "failed"
    assert states(run) == {"check_request": ("failed", 1), "reimport": ("upstream_failed", 0)}, "never retried"
    assert re.search(f"AirflowFailException: refused: [^\\n]*{message}", logged(capfd, caplog))
    assert created(world) == {}


@pytest.mark.parametrize("dag_id", [DAG_ID, "amazon_resolve_quarantine"])
def test_every_field_of_the_form_has_a_title_a_description_and_a_type(airflow_db, dag_id):
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(DAGS / f"{dag_id}.py")).get_dag(dag_id)
    assert not dag.timetable.can_be_scheduled, "manual only"
    for name, param in dag.params.items():
        assert param.schema.get("title") and param.description, f"{dag_id}.{name}: title and description"
        assert param.schema.get("type"), f"{dag_id}.{name}: a JSON Schema type"
