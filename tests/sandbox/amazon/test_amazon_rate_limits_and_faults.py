"""Usage plans (token buckets per operation, scaled by F, 429 QuotaExceeded) and injected faults."""

from __future__ import annotations

import time

import pytest
import requests
from sales_channel.ratelimit.buckets import USAGE_PLANS

SEARCH = "/orders/2026-01-01/orders"
PARAMS = {"createdAfter": "2020-01-01T00:00:00Z", "maxResultsPerPage": 1}
QUOTA_EXCEEDED = {"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}]}


def _drain(amazon, path, params=None, limit=200):
    """Call until the first 429; return (successes, the 429 response)."""
    for successes in range(limit):
        response = amazon.get(path, params=params)
        if response.status_code == 429:
            return successes, response
        assert response.status_code == 200, response.text
    raise AssertionError(f"no 429 within {limit} calls")


def test_a_burst_beyond_the_bucket_is_throttled(amazon_factory, contract):
    amazon = amazon_factory(orders=5, time_scale=1.0)
    plan = USAGE_PLANS["searchOrders"]
    successes, throttled = _drain(amazon, SEARCH, PARAMS)
    assert successes == plan.burst
    assert throttled.json() == QUOTA_EXCEEDED
    contract.check("orders", "searchOrders", throttled)
    assert "x-amzn-RateLimit-Limit" not in throttled.headers
    assert throttled.headers["x-amzn-RequestId"]
    # Another operation has its own bucket, and its rate header is its own plan's.
    order_id = amazon.control("POST", "/orders", json={"items": [{"sellerSku": "TEA-GREEN-100"}]})["order"]["orderId"]
    other = amazon.get(f"{SEARCH}/{order_id}")
    assert other.status_code == 200 and other.headers["x-amzn-RateLimit-Limit"] == "0.5"
    assert amazon.get(SEARCH, params=PARAMS).status_code == 429


def test_the_bucket_refills_at_the_plan_rate_times_f(amazon_factory):
    scale = 20.0
    amazon = amazon_factory(orders=5, time_scale=scale)
    order_id = amazon.control("POST", "/orders", json={"items": [{"sellerSku": "TEA-GREEN-100"}]})["order"]["orderId"]
    path = f"{SEARCH}/{order_id}"
    plan = USAGE_PLANS["getOrder"]  # 0.5 req/s, burst 30: 10 req/s at F = 20
    assert amazon.get(path).headers["x-amzn-RateLimit-Limit"] == "10"
    successes, _ = _drain(amazon, path)
    assert successes >= plan.burst - 1
    pause = 1.0
    time.sleep(pause)
    started = time.monotonic()
    refilled, _ = _drain(amazon, path)
    expected = plan.rate * scale * (pause + time.monotonic() - started)
    assert 0.5 * expected <= refilled <= 1.5 * expected + 1, (refilled, expected)


def test_injected_errors_answer_in_sp_api_shape(amazon, contract):
    amazon.control("PUT", "/faults", json={"fail_next": 1, "error_statuses": [500]})
    failed = amazon.get(SEARCH, params=PARAMS)
    assert failed.status_code == 500
    assert contract.check("orders", "searchOrders", failed)["errors"][0]["code"] == "InternalFailure"
    assert failed.headers["x-amzn-RequestId"] and "x-amzn-RateLimit-Limit" not in failed.headers
    amazon.control("PUT", "/faults", json={"fail_next": 1, "error_statuses": [503], "operations": ["getOrder"]})
    assert amazon.get(SEARCH, params=PARAMS).status_code == 200  # another operation is untouched
    unavailable = amazon.get(f"{SEARCH}/111-0000000-0000000")
    assert unavailable.status_code == 503
    assert contract.check("orders", "getOrder", unavailable)["errors"][0]["code"] == "ServiceUnavailable"
    assert amazon.get(f"{SEARCH}/111-0000000-0000000").status_code == 404
    calls = amazon.control("GET", "/calls")
    assert calls["by_status"]["getOrder"] == {"503": 1, "404": 1}
    assert calls["calls"]["searchOrders"] == 2


def test_a_dropped_confirmation_happened_once_and_can_be_resent(amazon):
    order = amazon.control("POST", "/orders", json={"items": [{"sellerSku": "SCALE-DIGITAL-02", "quantity": 2}]})["order"]
    item_id = order["orderItems"][0]["orderItemId"]
    body = {"marketplaceId": "ATVPDKIKX0DER", "packageDetail": {
        "packageReferenceId": "1", "carrierCode": "USPS", "trackingNumber": "9400100000000000000000",
        "shipDate": "2026-11-29T10:00:00Z", "orderItems": [{"orderItemId": item_id, "quantity": 2}]}}
    path = f"/orders/v0/orders/{order['orderId']}/shipmentConfirmation"
    amazon.control("PUT", "/faults", json={"drop_next": 1, "operations": ["confirmShipment"]})
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        amazon.post(path, json=body)
    after_drop = amazon.full_order(order["orderId"])
    assert len(after_drop["packages"]) == 1 and after_drop["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
    assert amazon.post(path, json=body).status_code == 204  # the client's re-send is harmless
    assert len(amazon.full_order(order["orderId"])["packages"]) == 1
    assert len(amazon.control("GET", "/ledger", params={"orderId": order["orderId"]})["entries"]) == 1
    assert amazon.control("GET", "/calls")["calls"]["confirmShipment"] == 2


def test_faults_never_touch_the_control_api(amazon):
    amazon.control("PUT", "/faults", json={"error_rate": 1.0})
    assert amazon.control("GET", "/summary")["orders"] == 60
    assert amazon.get(SEARCH, params=PARAMS).status_code in (500, 503)
    amazon.control("DELETE", "/faults")
    assert amazon.get(SEARCH, params=PARAMS).status_code == 200
