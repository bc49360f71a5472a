"""End to end: the amazon_resolve_quarantine DAG run with dag.test() against both sandboxes.

Orders are quarantined by the scheduled import (the seed's unknown SKUs, an order posted without a
city), then a person resolves them. Judged from the sandboxes (Commerce's ledger and orders) and the
channel database; a corrected address is looked for in every channel table and every log line."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from sales_channel.sandbox.oracle import catalog_blocker, creatable
from sales_channel.store.models import Base
from sqlalchemy import create_engine, select

from tests.dags.conftest import ACCOUNT, World, run_dag
from tests.dags.test_amazon_reimport_orders import created, logged, refused_before_a_run, states
from tests.fixtures.hostile_orders import base_order, item

pytestmark = pytest.mark.slow

DAG_ID = "amazon_resolve_quarantine"
# A corrected address nothing else in the sandboxes holds, and how it reads in a log or a table.
CORRECTED = {"street": ["77 Quarantine Resolution Way", "Unit 4B"], "city": "Correctionville", "region": "ON",
             "postcode": "K7Q 2X9", "country_code": "CA", "phone": "+1 555 010 7788"}
NEEDLES = ("Quarantine Resolution Way", "Unit 4B", "Correctionville", "K7Q 2X9", "555 010 7788")


def post(world: World, order: dict) -> None:
    order["lastUpdatedTime"] = (datetime.now(UTC) - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    world.amazon_control("POST", "orders/raw", json=order)


def mapped_sku_order(order_id: str) -> dict:
    """An order of the Amazon SKU the Commerce catalog knows as FRENCH-PRESS-1L."""
    return base_order(order_id, [item("60000000000041", "FP-1000-AMZ", 1, "31.90")])


def commerce_order(world: World, order_id: str):
    client = world.commerce("all")
    (found,) = client.orders.find_by_ext_order_ids([order_id])[order_id]
    return client.orders.get(found.entity_id)


def channel_rows(world: World) -> str:
    engine = create_engine(world.db_url)
    try:
        with engine.connect() as connection:
            return "\n".join(str(tuple(row)) for table in Base.metadata.sorted_tables
                             for row in connection.execute(select(table)))
    finally:
        engine.dispose()


def test_mapping_a_sku_imports_the_order_and_later_orders_of_that_sku(world: World, capfd, caplog):
    post(world, mapped_sku_order("990-0000041-0000001"))
    assert run_dag("amazon_order_import").state == "success"
    channel = world.channel()
    assert channel.quarantine.get(ACCOUNT, "990-0000041-0000001").reason_code == "unknown_sku"
    logged(capfd, caplog)
    run = run_dag(DAG_ID, amazon_order_id="990-0000041-0000001", action="map_sku", amazon_sku="FP-1000-AMZ",
                  commerce_sku="FRENCH-PRESS-1L")
    assert run.state == "success", states(run)
    log = logged(capfd, caplog)
    assert "retry of order 990-0000041-0000001: created in Commerce" in log
    assert created(world)["990-0000041-0000001"] == 1
    assert [i["sku"] for i in commerce_order(world, "990-0000041-0000001").raw["items"]] == ["FRENCH-PRESS-1L"]
    assert channel.skus.all(ACCOUNT) == {"FP-1000-AMZ": "FRENCH-PRESS-1L"}
    assert channel.quarantine.get(ACCOUNT, "990-0000041-0000001").resolved_at is not None
    mapped = next(e for e in channel.events.for_order(ACCOUNT, "990-0000041-0000001") if e.event_type == "sku_mapped")
    assert mapped.details["operation"] == f"{DAG_ID}/{run.run_id}" and mapped.details["by"] == "dag_test"

    # A later order of that SKU: imported by the scheduled import, with the mapping.
    post(world, mapped_sku_order("990-0000041-0000002"))
    assert run_dag("amazon_order_import").state == "success"
    assert created(world)["990-0000041-0000002"] == 1
    # The seed's own orders of that SKU, retried from quarantine, are imported too.
    sku_map = {"FP-1000-AMZ": "FRENCH-PRESS-1L"}
    seeded = [o["orderId"] for o in world.all_amazon_orders()
              if any(i["product"]["sellerSku"] == "FP-1000-AMZ" for i in o.get("orderItems") or [])
              and creatable(o) and catalog_blocker(o, sku_map) is None]
    assert seeded and all(created(world).get(i) == 1 for i in seeded)


def test_a_commerce_sku_not_in_the_catalog_is_refused_by_name_and_nothing_changes(world: World, capfd, caplog):
    post(world, mapped_sku_order("990-0000042-0000001"))
    assert run_dag("amazon_order_import").state == "success"
    logged(capfd, caplog)
    run = run_dag(DAG_ID, amazon_order_id="990-0000042-0000001", action="map_sku", amazon_sku="FP-1000-AMZ",
                  commerce_sku="FRENCH-PRESS-2L")
    assert run.state == "failed" and states(run)["resolve"] == ("failed", 1), "a refusal is not retried"
    assert "refused: field commerce_sku: SKU 'FRENCH-PRESS-2L' is not in the catalog" in logged(capfd, caplog)
    channel = world.channel()
    assert channel.skus.all(ACCOUNT) == {}
    assert channel.quarantine.get(ACCOUNT, "990-0000042-0000001").resolved_at is None
    assert "990-0000042-0000001" not in created(world)


def test_a_corrected_address_reaches_commerce_once_and_no_channel_table_or_log(world: World, capfd, caplog):
    caplog.set_level(logging.DEBUG)
    order = base_order("990-0000043-0000001")
    del order["recipient"]["deliveryAddress"]["city"]
    post(world, order)
    assert run_dag("amazon_order_import").state == "success"
    channel = world.channel()
    assert channel.quarantine.get(ACCOUNT, "990-0000043-0000001").reason_code == "invalid_address"
    run = run_dag(DAG_ID, amazon_order_id="990-0000043-0000001", action="correct_address", **CORRECTED)
    assert run.state == "success", states(run)
    assert created(world)["990-0000043-0000001"] == 1
    made = commerce_order(world, "990-0000043-0000001").raw
    for address in (made["extension_attributes"]["shipping_assignments"][0]["shipping"]["address"],
                    made["billing_address"]):
        assert (address["street"], address["city"], address["region"], address["postcode"], address["country_id"],
                address["telephone"]) == (CORRECTED["street"], "Correctionville", "ON", "K7Q 2X9", "CA",
                                          "+1 555 010 7788")

    log = logged(capfd, caplog)  # everything the test's runs logged
    assert "corrected fields: addressLines, city, stateOrRegion, postalCode, countryCode, phone" in log
    stored = channel_rows(world)
    for needle in NEEDLES:
        assert needle not in stored, f"{needle!r} is in the channel database: {stored[max(0, stored.find(needle) - 300):stored.find(needle) + 100]}"
        assert needle not in log, f"{needle!r} was logged"
    kinds = [e.event_type for e in channel.events.for_order(ACCOUNT, "990-0000043-0000001")]
    assert kinds[-4:] == ["address_corrected", "created", "quarantine_resolved", "retried"]


def test_a_skipped_order_is_resolved_with_its_reason_and_never_created(world: World):
    post(world, base_order("990-0000044-0000001", [item("60000000000044", "GIFTCARD-PHYS-50", 1, "50.00")]))
    assert run_dag("amazon_order_import").state == "success"
    run = run_dag(DAG_ID, amazon_order_id="990-0000044-0000001", action="skip",
                  reason="a test order the seller placed himself")
    assert run.state == "success", states(run)
    channel = world.channel()
    entry = channel.quarantine.get(ACCOUNT, "990-0000044-0000001")
    assert entry.resolved_at is not None and entry.resolution.endswith("a test order the seller placed himself")
    assert entry.resolved_by.startswith("dag_test (amazon_resolve_quarantine/")

    # The cause goes away and Amazon sends the order again: the import still never creates it.
    world.commerce_control("PUT", "products/GIFTCARD-PHYS-50", json={"name": "Gift card", "price": 50, "status": 1,
                                                                      "qty": 100, "is_in_stock": True})
    post(world, base_order("990-0000044-0000001", [item("60000000000044", "GIFTCARD-PHYS-50", 1, "50.00")]))
    assert run_dag("amazon_order_import").state == "success"
    assert "990-0000044-0000001" not in created(world)
    assert run_dag("amazon_reimport_orders", amazon_order_id="990-0000044-0000001").state == "success"
    assert "990-0000044-0000001" not in created(world)
    assert channel.quarantine.get(ACCOUNT, "990-0000044-0000001").resolved_at == entry.resolved_at

    # Resolving it again is refused: it is resolved already.
    again = run_dag(DAG_ID, amazon_order_id="990-0000044-0000001", action="skip", reason="again")
    assert again.state == "failed" and states(again)["resolve"] == ("failed", 1)


def test_an_order_not_in_quarantine_is_refused(world: World, capfd, caplog):
    assert run_dag("amazon_order_import").state == "success"
    linked = next(iter(created(world)))
    logged(capfd, caplog)
    run = run_dag(DAG_ID, amazon_order_id=linked, action="skip", reason="duplicate")
    assert run.state == "failed" and states(run) == {"check_request": ("success", 1), "resolve": ("failed", 1)}
    assert f"refused: order {linked} is not in quarantine" in logged(capfd, caplog)
    assert world.channel().quarantine.get(ACCOUNT, linked) is None


@pytest.mark.parametrize(("conf", "field"), [
    ({"amazon_order_id": "1131234567-1234567", "action": "skip", "reason": "x"}, "amazon_order_id"),
    ({"action": "skip", "reason": "x"}, "amazon_order_id"),
    ({"amazon_order_id": "113-1234567-1234567"}, "action"),
    ({"amazon_order_id": "113-1234567-1234567", "action": "delete"}, "action"),
    ({"amazon_order_id": "113-1234567-1234567", "action": "correct_address", "country_code": "USA"}, "country_code"),
    ({"amazon_order_id": "113-1234567-1234567", "action": "correct_address", "street": ["a", "b", "c", "d"]},
     "street"),
    ({"amazon_order_id": "113-1234567-1234567", "action": "skip", "reason": "x" * 501}, "reason"),
])
def test_the_form_refuses_a_malformed_or_missing_field_before_a_run_is_created(world: World, conf, field):
    refused_before_a_run(DAG_ID, conf, field)


@pytest.mark.parametrize(("conf", "message"), [
    ({"action": "skip"}, "field reason: required to skip"),
    ({"action": "skip", "reason": "  "}, "field reason: required to skip"),
    ({"action": "map_sku", "amazon_sku": "FP-1000-AMZ"}, "field commerce_sku: required"),
    ({"action": "skip", "reason": "dup", "city": "Springfield"}, "field city: belongs to action correct_address"),
    ({"action": "correct_address", "street": ["1 Main St"]}, "field city: is empty"),
])
def test_fields_an_action_needs_fail_the_first_task_at_once(world: World, conf, message, capfd, caplog):
    run = run_dag(DAG_ID, amazon_order_id="113-1234567-1234567", **conf)
    assert states(run) == {"check_request": ("failed", 1), "resolve": ("upstream_failed", 0)}, "never retried"
    assert re.search(f"AirflowFailException: refused: {message}", logged(capfd, caplog))
