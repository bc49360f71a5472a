"""End to end: the amazon_resend_shipment DAG run with dag.test() against both sandboxes.

The seed is imported and the status sync sends (or fails to send) a shipment; then a person re-sends
it. Judged from Amazon's ledger of packages, the outbox row and the run's log."""

from __future__ import annotations

import pytest
from sales_channel.commerce.models import Track

from tests.dags.conftest import World, run_dag
from tests.dags.test_amazon_order_status_sync import _imported, _ledger, _outbox, fast_feeds  # noqa: F401 (fixture)
from tests.dags.test_amazon_reimport_orders import logged, refused_before_a_run, states

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("fast_feeds")]

DAG_ID = "amazon_resend_shipment"


def _row(world: World, shipment_id: int):
    [row] = _outbox(world, "amazon_shipment_confirm", f"us/shipment/{shipment_id}")
    return row


def test_a_shipment_amazon_refused_is_sent_again_once_fixed_as_one_package(world: World, capfd, caplog):
    world.set_stores(world.stores(shipments_without_tracking="confirm"))
    order_id, order = _imported(world)[0]
    commerce = world.commerce()
    # Confirmed without a tracking number (as the store allows), and Amazon refuses it.
    world.amazon_control("PUT", "faults", json={"fail_next": 1, "error_statuses": [400],
                                                "operations": ["confirmShipment"]})
    shipment_id = commerce.shipments.create(order.entity_id)
    run_dag("amazon_order_status_sync")
    world.amazon_control("DELETE", "faults")
    refused = _row(world, shipment_id)
    assert refused.status == "failed" and "Amazon refused the shipment confirmation" in refused.last_error
    assert _ledger(world, "shipment", order_id) == []

    # The merchant adds the tracking number in Commerce, then re-sends: the package is rebuilt with it.
    commerce.shipments.add_track(shipment_id, order.entity_id,
                                 Track(track_number="1Z999AA10123456784", carrier_code="ups", title="UPS"))
    logged(capfd, caplog)
    run = run_dag(DAG_ID, store="us", shipment_id=shipment_id)
    assert run.state == "success", states(run)
    assert "confirmed to Amazon: package" in logged(capfd, caplog)
    [package] = _ledger(world, "shipment", order_id)
    assert (package["packageReferenceId"], package["carrierCode"], package["trackingNumber"]) == (
        str(shipment_id), "UPS", "1Z999AA10123456784")
    assert _row(world, shipment_id).status == "confirmed"

    run_dag("amazon_order_status_sync")  # the sync has nothing left to send
    assert len(_ledger(world, "shipment", order_id)) == 1


def test_a_shipment_on_amazon_already_is_refused_and_stays_one_package(world: World, capfd, caplog):
    order_id, order = _imported(world)[0]
    shipment_id = world.commerce().shipments.create(
        order.entity_id, None, [Track(track_number="9400111899223", carrier_code="usps", title="USPS")])
    run_dag("amazon_order_status_sync")
    assert _row(world, shipment_id).status == "confirmed"
    logged(capfd, caplog)

    run = run_dag(DAG_ID, store="us", shipment_id=shipment_id)
    assert run.state == "failed" and states(run)["resend_shipment"] == ("failed", 1), "a refusal is not retried"
    assert f"refused: shipment {shipment_id} of order {order_id} is on Amazon already" in logged(capfd, caplog)
    assert len(_ledger(world, "shipment", order_id)) == 1


@pytest.mark.parametrize("case", ["untracked_in_a_hold_store", "unknown_shipment", "unknown_store"])
def test_a_shipment_that_cannot_be_sent_is_refused_and_nothing_is_sent(world: World, capfd, caplog, case):
    order_id, order = _imported(world)[0]
    shipment_id = world.commerce().shipments.create(order.entity_id)  # no track: the store holds it
    run_dag("amazon_order_status_sync")
    conf, message = {
        "untracked_in_a_hold_store": ({"store": "us", "shipment_id": shipment_id},
                                      f"shipment {shipment_id} of order {order_id} has no tracking number"),
        "unknown_shipment": ({"store": "us", "shipment_id": 99999}, "field shipment_id: Commerce has no shipment 99999"),
        "unknown_store": ({"store": "jp", "shipment_id": shipment_id}, "field store: 'jp' is not an active store"),
    }[case]
    logged(capfd, caplog)
    run = run_dag(DAG_ID, **conf)
    assert run.state == "failed" and states(run)["resend_shipment"] == ("failed", 1)
    assert f"refused: {message}" in logged(capfd, caplog)
    assert _ledger(world, "shipment", order_id) == []
    assert _row(world, shipment_id).status == "held"


@pytest.mark.parametrize(("conf", "field"), [
    ({"store": "us", "shipment_id": 0}, "shipment_id"),
    ({"store": "us", "shipment_id": "12"}, "shipment_id"),
    ({"store": "us", "shipment_id": "twelve"}, "shipment_id"),
    ({"store": "us"}, "shipment_id"),
    ({"store": "US Store", "shipment_id": 12}, "store"),
])
def test_the_form_refuses_a_malformed_field_before_a_run_is_created(world: World, conf, field):
    refused_before_a_run(DAG_ID, conf, field)
