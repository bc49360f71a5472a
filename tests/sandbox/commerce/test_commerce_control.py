"""The control API under /_sandbox: reset, ledger, latency, faults, external orders, admin order edits."""

from __future__ import annotations

import time

import pytest
import requests
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS

from .support import CommerceApi, assert_magento_error, assert_schema, order_entity


def test_reset_returns_to_the_seed(api: CommerceApi) -> None:
    api.create_order()
    api.control("PUT", "products/MUG-CERAMIC-WHT/stock", json={"qty": 1})
    body = api.control("POST", "reset").json()
    assert body["status"] == "reset" and body["products"] == 19
    assert api.get("orders", params={"searchCriteria": ""}).json()["total_count"] == 0
    assert api.get("stockItems/MUG-CERAMIC-WHT").json()["qty"] == 500
    assert api.ledger() == []
    assert api.create_order()["increment_id"] == "000000001"


def test_ledger_records_every_state_change_in_order(api: CommerceApi) -> None:
    order = api.create_order()
    oid = order["entity_id"]
    api.post(f"orders/{oid}/comments", {"statusHistory": {"comment": "hi", "status": "pending"}})
    api.post(f"order/{oid}/invoice", {})
    api.post(f"order/{oid}/ship", {"tracks": [{"track_number": "1Z", "carrier_code": "ups", "title": "UPS"}]})
    api.post(f"order/{oid}/refund", {"items": [{"order_item_id": order["items"][1]["item_id"], "qty": 1}],
                                     "arguments": {"shipping_amount": 0}})
    api.control("PUT", "products/TEA-GREEN-100/stock", json={"qty": 9})
    events = api.ledger()
    assert [e["event"] for e in events] == ["order_created", "order_commented", "order_invoiced", "order_shipped",
                                            "order_refunded", "stock_changed"]
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert events[3]["tracks"] == [{"track_number": "1Z", "carrier_code": "ups"}]
    assert events[3]["state"] == "complete"
    later = api.control("GET", "ledger", params={"since": events[2]["seq"]}).json()
    assert [e["event"] for e in later["events"]] == ["order_shipped", "order_refunded", "stock_changed"]
    assert later["last_seq"] == events[-1]["seq"]
    assert all("customer_email" not in e and "billing_address" not in e for e in events)  # no PII
    other = api.create_order(order_entity(ext_order_id="113-OTHER"))
    api.post(f"orders/{other['entity_id']}/cancel")
    of_other = api.control("GET", "ledger", params={"entity_id": other["entity_id"]}).json()["events"]
    assert [e["event"] for e in of_other] == ["order_created", "order_canceled"]
    by_ext = api.control("GET", "ledger", params={"ext_order_id": "113-OTHER", "event": "order_canceled"}).json()
    assert [e["entity_id"] for e in by_ext["events"]] == [other["entity_id"]]
    by_sku = api.control("GET", "ledger", params={"sku": "TEA-GREEN-100"}).json()["events"]
    assert [(e["event"], e["qty"]) for e in by_sku] == [("stock_changed", 9)]


def test_latency_is_set_at_run_time(api: CommerceApi) -> None:
    assert api.control("PUT", "latency", json={"latency_ms": 300}).json() == {"latency_ms": 300}
    started = time.monotonic()
    api.get("products/MUG-CERAMIC-WHT")
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    api.control("GET", "health")
    assert time.monotonic() - started < 0.3  # the control API is never slowed
    assert api.control("GET", "latency").json() == {"latency_ms": 300}
    refused = api.control("PUT", "latency", json={"latency_ms": -1})
    assert_magento_error(refused, 400, 'Invalid value of "%value" provided for the %fieldName field.',
                         {"value": "-1", "fieldName": "latency_ms"})


def test_latency_from_config(sandbox_factory) -> None:  # noqa: ANN001 - the project's fixture
    server = sandbox_factory("commerce", latency_ms=250)
    api = CommerceApi(server.url)
    started = time.monotonic()
    assert api.get("products/MUG-CERAMIC-WHT").status_code == 200
    assert time.monotonic() - started >= 0.25


def test_injected_faults_use_magento_bodies_and_calls_are_counted(api: CommerceApi) -> None:
    api.control("DELETE", "calls")
    api.control("PUT", "faults", json={"fail_next": 1, "error_statuses": [503], "operations": ["saveOrder"]})
    failed = api.post("orders", {"entity": order_entity()})
    assert failed.status_code == 503
    assert_schema(failed.json(), "error-response")
    assert api.ledger() == []  # an injected error happens before processing
    api.create_order()
    api.control("PUT", "faults", json={"drop_next": 1, "operations": ["saveOrder"]})
    with pytest.raises(requests.RequestException):
        api.post("orders", {"entity": order_entity(increment_id="DROPPED-1")})
    # A dropped call was processed: the order exists although the client never saw the answer.
    assert [e["increment_id"] for e in api.ledger(event="order_created")] == ["000000001", "DROPPED-1"]
    calls = api.control("GET", "calls").json()
    assert calls["calls"]["saveOrder"] == 3 and calls["by_status"]["saveOrder"]["503"] == 1


def test_insert_an_order_created_by_another_connector(api: CommerceApi) -> None:
    response = api.control("POST", "orders", json={"entity": order_entity(ext_order_id="113-OTHER"),
                                                   "store_code": "de"})
    assert response.status_code == 200, response.text
    order = response.json()
    assert (order["store_id"], order["ext_order_id"]) == (2, "113-OTHER")
    found = api.get("orders", params={"searchCriteria[filter_groups][0][filters][0][field]": "ext_order_id",
                                      "searchCriteria[filter_groups][0][filters][0][value]": "113-OTHER"}).json()
    assert [o["entity_id"] for o in found["items"]] == [order["entity_id"]]
    assert api.ledger()[0]["source"] == "external"
    bad = api.control("POST", "orders", json={"entity": {"grand_total": 1}})
    assert_magento_error(bad, 400, '"%fieldName" is required. Enter and try again.', {"fieldName": "base_grand_total"})


def test_admin_edit_cancels_and_links_a_copy(api: CommerceApi) -> None:
    original = api.create_order(order_entity(increment_id="000000123"))
    response = api.control("POST", f"orders/{original['entity_id']}/edit",
                           json={"changes": {"customer_email": "changed@example.com"}})
    assert response.status_code == 200, response.text
    child = response.json()
    assert_schema(child, "sales-data-order-interface")
    assert child["increment_id"] == "000000123-1"
    assert child["relation_parent_id"] == str(original["entity_id"])
    assert child["relation_parent_real_id"] == "000000123"
    assert child["customer_email"] == "changed@example.com" and child["ext_order_id"] == original["ext_order_id"]
    assert (child["state"], child["status"]) == ("new", "pending")
    assert [i["sku"] for i in child["items"]] == [i["sku"] for i in original["items"]]
    parent = api.order(original["entity_id"])
    assert (parent["state"], parent["relation_child_id"], parent["relation_child_real_id"]) == (
        "canceled", str(child["entity_id"]), "000000123-1")
    second = api.control("POST", f"orders/{child['entity_id']}/edit", json={}).json()
    assert second["increment_id"] == "000000123-2"
    assert [e["event"] for e in api.ledger()] == ["order_created", "order_created", "order_edited",
                                                  "order_created", "order_edited"]
    refused = api.control("POST", f"orders/{original['entity_id']}/edit", json={})
    assert_magento_error(refused, 400, "This order cannot be edited.")


def test_control_api_needs_no_token(api: CommerceApi) -> None:
    assert requests.get(f"{api.url}/_sandbox/health", timeout=5).json() == {"status": "ok", "service": "commerce"}
    assert DEFAULT_CREDENTIALS["commerce_token"].startswith("sandbox-")
