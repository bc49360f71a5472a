"""Faults after the write: the effect is saved, then the client gets a 5xx, a timeout or a cut
connection — or the save even lands seconds after the failed answer (late commit)."""

from __future__ import annotations

import time

import pytest
import requests

from .support import CommerceApi, assert_schema, order_entity

BY_EXT_ID = "searchCriteria[filter_groups][0][filters][0][field]"
EXT_ID_VALUE = "searchCriteria[filter_groups][0][filters][0][value]"


def _by_ext_id(api: CommerceApi, ext_order_id: str) -> list[dict]:
    found = api.get("orders", params={BY_EXT_ID: "ext_order_id", EXT_ID_VALUE: ext_order_id})
    assert found.status_code == 200, found.text
    return found.json()["items"]


def _faults(api: CommerceApi, **settings: object) -> None:
    response = api.control("PUT", "faults", json=settings)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(("status", "html"), [(502, True), (503, False), (504, True)])
def test_a_write_is_saved_then_answered_with_a_gateway_error(api: CommerceApi, status: int, html: bool) -> None:
    api.control("DELETE", "calls")
    _faults(api, after_write_next=1, after_write_status=status)
    failed = api.post("orders", {"entity": order_entity(ext_order_id="113-AFTER-1")})
    assert failed.status_code == status
    if html:  # nginx's page, not JSON
        assert failed.headers["content-type"] == "text/html" and "nginx" in failed.text
    else:
        assert_schema(failed.json(), "error-response")
    assert len(_by_ext_id(api, "113-AFTER-1")) == 1  # the order exists although the client saw a failure
    assert api.post("orders", {"entity": order_entity(ext_order_id="113-AFTER-2")}).status_code == 200
    assert api.control("GET", "calls").json()["by_status"]["saveOrder"] == {str(status): 1, "200": 1}


def test_reads_are_never_faulted_after_write_and_operations_restrict_it(api: CommerceApi) -> None:
    order = api.create_order()
    _faults(api, after_write_next=1, operations=["invoiceOrder"])
    assert api.get(f"orders/{order['entity_id']}").status_code == 200
    assert api.post(f"orders/{order['entity_id']}/comments",
                    {"statusHistory": {"comment": "x", "status": "pending"}}).status_code == 200
    assert api.post(f"order/{order['entity_id']}/invoice", {"capture": True}).status_code == 504
    assert api.get(f"orders/{order['entity_id']}").json()["state"] == "processing"  # invoiced all the same
    assert api.control("GET", "faults").json()["after_write_next"] == 0


@pytest.mark.parametrize(("path", "body", "event"), [
    ("order/{id}/ship", {}, "order_shipped"),
    ("orders/{id}/cancel", None, "order_canceled"),
    ("orders/{id}/comments", {"statusHistory": {"comment": "c", "status": "pending"}}, "order_commented"),
])
def test_every_order_write_can_fail_after_its_effect(api: CommerceApi, path: str, body: object, event: str) -> None:
    order = api.create_order()
    _faults(api, after_write_next=1, after_write_status=502)
    assert api.post(path.format(id=order["entity_id"]), body).status_code == 502
    assert [e["event"] for e in api.ledger(entity_id=order["entity_id"])][-1] == event


def test_stock_and_customer_writes_fail_after_their_effect(api: CommerceApi) -> None:
    _faults(api, after_write_next=2, after_write_status=503)
    changed = api.put("products/MUG-CERAMIC-WHT/stockItems/1", {"stockItem": {"qty": 7, "is_in_stock": True}})
    assert changed.status_code == 503
    assert api.get("stockItems/MUG-CERAMIC-WHT").json()["qty"] == 7
    customer = {"customer": {"email": "after@example.com", "firstname": "A", "lastname": "W", "website_id": 1}}
    assert api.post("customers", customer).status_code == 503
    found = api.get("customers/search", params={BY_EXT_ID: "email", EXT_ID_VALUE: "after@example.com"}).json()
    assert found["total_count"] == 1


def test_a_slow_answer_outlasts_the_client_timeout_but_the_write_is_saved(api: CommerceApi) -> None:
    _faults(api, after_write_next=1, after_write_delay_ms=1500)
    with pytest.raises(requests.Timeout):
        api.session.post(api.v1("orders"), json={"entity": order_entity(ext_order_id="113-SLOW")}, timeout=0.5)
    assert len(_by_ext_id(api, "113-SLOW")) == 1  # saved before the answer was held back


def test_late_commit_a_blind_resend_makes_a_duplicate(api: CommerceApi) -> None:
    _faults(api, after_write_next=1, late_commit_s=1.0)
    started = time.monotonic()
    assert api.post("orders", {"entity": order_entity(ext_order_id="113-LATE")}).status_code == 504
    assert _by_ext_id(api, "113-LATE") == []  # not visible yet: Magento is still saving
    assert api.post("orders", {"entity": order_entity(ext_order_id="113-LATE")}).status_code == 200
    while len(_by_ext_id(api, "113-LATE")) < 2:
        assert time.monotonic() - started < 5, "the late commit never landed"
        time.sleep(0.1)
    assert time.monotonic() - started >= 1.0
    assert [e["ext_order_id"] for e in api.ledger(event="order_created")] == ["113-LATE", "113-LATE"]


def test_drops_cover_writes_other_than_orders(api: CommerceApi) -> None:
    _faults(api, drop_next=1, operations=["updateStockItemBySku"])
    with pytest.raises(requests.RequestException):
        api.put("products/TEA-GREEN-100/stockItems/1", {"stockItem": {"qty": 3, "is_in_stock": True}})
    assert api.get("stockItems/TEA-GREEN-100").json()["qty"] == 3
