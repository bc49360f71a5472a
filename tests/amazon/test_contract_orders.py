"""Contract tests of the SP-API client against the Amazon sandbox over real HTTP: Login with Amazon,
searchOrders/getOrder, confirmShipment, usage-plan pacing, typed errors and recovery from injected
faults."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests
from sales_channel.amazon import (
    FulfillmentStatus,
    IncludedData,
    InvalidInputError,
    LwaCredentials,
    LwaError,
    NotFoundError,
    PackageDetail,
    SearchWindowError,
    ServerError,
)
from sales_channel.ratelimit import USAGE_PLANS

from .conftest import CREDENTIALS, MARKETPLACE_US, TIME_SCALE

ALL_DATA = set(IncludedData)


def _window_start() -> datetime:
    return datetime.now(UTC) - timedelta(days=5)


def _package(reference: str, items: list[tuple[str, int]], **overrides: object) -> PackageDetail:
    return PackageDetail.model_validate({
        "packageReferenceId": reference, "carrierCode": "UPS", "shippingMethod": "Ground",
        "trackingNumber": f"1Z999AA1012345678{reference}", "shipDate": datetime.now(UTC) - timedelta(minutes=5),
        "orderItems": [{"orderItemId": item_id, "quantity": quantity} for item_id, quantity in items],
        **overrides})


def test_search_orders_pages_through_hundreds_of_complete_orders(sandbox_factory, make_client):
    server = sandbox_factory("amazon", orders=260, time_scale=TIME_SCALE)
    client = make_client(base_url=server.url)
    before_call = datetime.now(UTC)
    search = client.search_orders(created_after=_window_start(), max_results_per_page=10, included_data=ALL_DATA)
    orders = [order.typed() for order in search]
    assert len(orders) == 260 == len({order.order_id for order in orders})
    assert search.pages_fetched == 26 and search.duplicates == 0
    # Amazon fixed the window's end at two minutes before the first request: that is the watermark.
    assert search.window_end is not None
    assert before_call - timedelta(minutes=2, seconds=1) <= search.window_end <= datetime.now(UTC) - timedelta(minutes=2)
    for order in orders:
        assert order.order_items and order.created_time.tzinfo is UTC and order.created_time <= search.window_end
        assert isinstance(order.proceeds.grand_total.amount, Decimal)
        assert sum((item.quantity_ordered for item in order.order_items), 0) >= 1
    # 26 pages are more than searchOrders' burst of 20: paced at F (a busy machine may be slower than the
    # plan, then nothing waits), never throttled.
    stats = client.stats.operations["searchOrders"]
    assert (stats.calls, stats.throttled) == (26, 0)
    # The same window in pages of 100 is the same set of orders.
    same_window = client.search_orders(created_after=search.window.created_after,
                                       created_before=search.window_end, max_results_per_page=100)
    assert {o.order_id for o in same_window} == {o.order_id for o in orders}
    assert same_window.pages_fetched == 3


def test_search_by_last_update_filters_and_returns_the_window_end(make_client, control):
    client = make_client()
    end = datetime.now(UTC) - timedelta(minutes=2, seconds=30)
    search = client.search_orders(last_updated_after=_window_start(), last_updated_before=end,
                                  fulfillment_statuses=[FulfillmentStatus.UNSHIPPED], fulfilled_by=["MERCHANT"],
                                  marketplace_ids=[MARKETPLACE_US], included_data=["FULFILLMENT"])
    orders = [order.typed() for order in search]
    assert orders, "the seed has unshipped merchant-fulfilled US orders"
    for order in orders:
        assert order.fulfillment.fulfillment_status is FulfillmentStatus.UNSHIPPED
        assert order.fulfillment.fulfilled_by == "MERCHANT"
        assert order.sales_channel.marketplace_id == MARKETPLACE_US
        assert order.last_updated_time <= end
        assert order.buyer is None  # BUYER was not asked for
    assert search.window_end == end.replace(microsecond=0)


def test_get_order_with_included_data(make_client, control):
    created = control.add_order(marketplaceId="A1PA6795UKMFR9", prime=True)
    client = make_client()
    order = client.get_order(created["orderId"], included_data={IncludedData.BUYER, IncludedData.PROCEEDS,
                                                                 IncludedData.RECIPIENT}).typed()
    assert order.order_id == created["orderId"] and order.sales_channel.marketplace_id == "A1PA6795UKMFR9"
    assert order.buyer is not None and order.recipient is not None
    assert order.proceeds.grand_total.currency_code == "EUR"
    assert order.proceeds.grand_total.amount == Decimal(created["proceeds"]["grandTotal"]["amount"])
    assert [item.order_item_id for item in order.order_items] == [i["orderItemId"] for i in created["orderItems"]]
    bare = client.get_order(created["orderId"]).typed()
    assert bare.buyer is None and bare.proceeds is None


def test_errors_are_typed_and_keep_amazons_code_and_request_id(make_client):
    client = make_client()
    with pytest.raises(NotFoundError) as raised:
        client.get_order("999-9999999-9999999")
    error = raised.value
    assert (error.status, error.code, error.operation) == (404, "NotFound", "getOrder")
    assert error.message and error.request_id and error.request_id in str(error)


def test_window_errors_never_reach_amazon(make_client, control):
    client = make_client()
    with pytest.raises(SearchWindowError, match="lastUpdatedBefore"):
        client.search_orders(last_updated_after=_window_start(), last_updated_before=datetime.now(UTC))
    assert control.calls("searchOrders") == {}


def test_confirm_shipment_partial_then_complete(make_client, control):
    order = control.add_order()
    mug, tea = (item["orderItemId"] for item in order["orderItems"])
    client = make_client()
    client.confirm_shipment(order["orderId"], MARKETPLACE_US, _package("1", [(mug, 1)]))
    assert client.get_order(order["orderId"], ["FULFILLMENT"]).typed().fulfillment.fulfillment_status \
        is FulfillmentStatus.PARTIALLY_SHIPPED
    client.confirm_shipment(order["orderId"], MARKETPLACE_US, {
        "packageReferenceId": "2", "carrierCode": "Other", "carrierName": "Österreichische Post",
        "trackingNumber": "RR123456789AT", "shipDate": datetime.now(UTC) - timedelta(minutes=1),
        "orderItems": [{"orderItemId": mug, "quantity": 1}, {"orderItemId": tea, "quantity": 1}]})
    shipped = client.get_order(order["orderId"], ["FULFILLMENT", "PACKAGES"]).typed()
    assert shipped.fulfillment.fulfillment_status is FulfillmentStatus.SHIPPED
    assert [(p.package_reference_id, p.carrier) for p in shipped.packages] == [("1", "UPS"),
                                                                               ("2", "Österreichische Post")]
    # Amazon's state rules come back as typed errors: nothing is left to ship.
    with pytest.raises(InvalidInputError) as raised:
        client.confirm_shipment(order["orderId"], MARKETPLACE_US, _package("3", [(tea, 1)]))
    assert raised.value.code == "InvalidInput" and raised.value.status == 400


def test_dropped_confirmation_is_not_resent_blindly_and_reads_back_as_one_package(make_client, control):
    order = control.add_order()
    mug, tea = (item["orderItemId"] for item in order["orderItems"])
    client = make_client()
    # Amazon applies the confirmation, then the connection drops before the 204 arrives.
    control.faults(drop_next=1, operations=["confirmShipment"])
    with pytest.raises(requests.RequestException):
        client.confirm_shipment(order["orderId"], MARKETPLACE_US, _package("1", [(mug, 2), (tea, 1)]))
    stats = client.stats.operations["confirmShipment"]
    assert (stats.calls, stats.transport_errors) == (1, 1)
    # The caller's read-back (getOrder with PACKAGES) finds the package: nothing to re-send.
    assert len(control.ledger("shipment", order["orderId"])) == 1
    packages = client.get_order(order["orderId"], ["PACKAGES"]).typed().packages
    assert [p.package_reference_id for p in packages] == ["1"]


def test_throttled_call_is_retried_after_a_token_interval(make_client, control):
    order = control.add_order()
    client = make_client()
    control.faults(fail_next=1, error_statuses=[429], operations=["getOrder"])
    started = time.monotonic()
    assert client.get_order(order["orderId"]).order_id == order["orderId"]
    stats = client.stats.operations["getOrder"]
    assert (stats.calls, stats.throttled) == (2, 1)
    assert control.calls("getOrder") == {"429": 1, "200": 1}
    # The retry waited at least one token interval of the plan at F (generous: no upper bound).
    assert time.monotonic() - started >= 1 / (USAGE_PLANS["getOrder"].rate * TIME_SCALE)


def test_server_errors_of_reads_are_retried_with_backoff(make_client, control):
    client = make_client()
    control.faults(fail_next=2, error_statuses=[500, 503], operations=["searchOrders"])
    orders = list(client.search_orders(created_after=_window_start(), max_results_per_page=100))
    assert len(orders) == 30
    stats = client.stats.operations["searchOrders"]
    assert (stats.calls, stats.server_errors) == (3, 2)


def test_retries_are_bounded(make_client, control):
    client = make_client(max_attempts=3)
    control.faults(error_rate=1.0, error_statuses=[503], operations=["getOrder"])
    with pytest.raises(ServerError) as raised:
        client.get_order("113-1234567-1234567")
    assert raised.value.status == 503 and raised.value.code == "ServiceUnavailable"
    assert client.stats.operations["getOrder"].calls == 3


def test_reported_rate_limit_corrects_a_wrong_plan(make_client, control):
    # A client that believes searchOrders is 20x faster than it is learns the real rate from the first
    # response's x-amzn-RateLimit-Limit and paces by it: past the burst without a 429.
    client = make_client(rate_scale=TIME_SCALE * 20)
    pages = list(zip(range(26), client.search_orders(created_after=_window_start(), max_results_per_page=1).pages(),
                     strict=False))
    assert len(pages) == 26
    assert client.limiter.rate("searchOrders") == pytest.approx(USAGE_PLANS["searchOrders"].rate * TIME_SCALE)
    assert client.stats.operations["searchOrders"].throttled <= 1


def test_expired_token_is_refreshed_once_and_the_call_retried(make_client, control):
    order = control.add_order()
    client = make_client()
    client.get_order(order["orderId"])
    control.expire_tokens()
    assert client.get_order(order["orderId"]).order_id == order["orderId"]
    assert client.stats.token_refreshes == 2
    assert control.calls("getOrder") == {"200": 2, "403": 1}
    assert control.calls("lwaToken") == {"200": 2}


def test_token_is_cached_and_renewed_before_it_expires(make_client, control):
    control.settings(token_ttl_seconds=2)
    order = control.add_order()
    client = make_client()
    for _ in range(3):
        client.get_order(order["orderId"])
    assert control.calls("lwaToken") == {"200": 1}  # cached
    time.sleep(1.2)  # past the renewal point (half of a 2 s lifetime), before expiry
    client.get_order(order["orderId"])
    assert control.calls("lwaToken") == {"200": 2}
    assert "403" not in control.calls("getOrder")  # renewed before Amazon refused it


def test_concurrent_calls_share_one_token_exchange(make_client, control):
    order = control.add_order()
    client = make_client()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: client.get_order(order["orderId"]).order_id, range(16)))
    assert results == [order["orderId"]] * 16
    assert control.calls("lwaToken") == {"200": 1}
    assert client.stats.operations["getOrder"].calls == 16


def test_connection_test_exchanges_the_refresh_token_only(make_client, control):
    assert make_client().test_connection() == (True, "Login with Amazon accepted the credentials")
    ok, message = make_client(LwaCredentials(CREDENTIALS.client_id, CREDENTIALS.client_secret,
                                             "sandbox-revoked-token")).test_connection()
    assert not ok and "invalid_grant" in message
    assert control.calls("lwaToken") == {"200": 1, "400": 1}
    assert control.calls("getOrder") == {} and control.calls("searchOrders") == {}


def test_login_with_amazon_errors_are_typed(make_client):
    client = make_client(LwaCredentials(CREDENTIALS.client_id, CREDENTIALS.client_secret, "sandbox-revoked-token"))
    with pytest.raises(LwaError) as raised:
        client.get_order("113-1234567-1234567")
    assert (raised.value.status, raised.value.error) == (400, "invalid_grant")
    assert "sandbox-revoked-token" not in str(raised.value)
    client = make_client(LwaCredentials(CREDENTIALS.client_id, "sandbox-wrong-secret", CREDENTIALS.refresh_token))
    with pytest.raises(LwaError) as raised:
        client.get_order("113-1234567-1234567")
    assert (raised.value.status, raised.value.error) == (401, "invalid_client")


def test_an_order_updated_while_paging_is_yielded_once(make_client, control):
    client = make_client()
    window_start = _window_start()
    in_order = [o.order_id for o in client.search_orders(created_after=window_start, max_results_per_page=100)]
    first_page, last = in_order[:5], in_order[-1]
    # Slow pages down so the orders can change between two pages of the same search.
    control.faults(latency_ms=300, operations=["searchOrders"])
    served_before = sum(control.calls("searchOrders").values())
    changed: dict[str, datetime] = {}

    def update_orders_after_the_first_page() -> None:
        while sum(control.calls("searchOrders").values()) <= served_before:
            time.sleep(0.01)
        for order_id in (first_page[0], last):
            changed[order_id] = datetime.fromisoformat(
                control.change_order(order_id, touch=True)["lastUpdatedTime"].replace("Z", "+00:00"))

    updater = threading.Thread(target=update_orders_after_the_first_page)
    updater.start()
    search = client.search_orders(created_after=window_start, max_results_per_page=5)
    orders = list(search)
    updater.join(timeout=10)
    assert set(changed) == {first_page[0], last}
    ids = [order.order_id for order in orders]
    assert sorted(ids) == sorted(in_order)  # each order exactly once, none lost
    by_id = {order.order_id: order for order in orders}
    # Served after its update: that version or a later one (the lifecycle runs at F as well).
    assert by_id[last].last_updated_time >= changed[last]
    assert search.pages_fetched == 6


def test_client_stats_count_calls_throttles_and_waits(make_client, control):
    client = make_client()
    control.faults(fail_next=1, error_statuses=[429], operations=["searchOrders"])
    list(client.search_orders(created_after=_window_start(), max_results_per_page=100))
    figures = client.stats.as_dict()
    assert figures["operations"]["searchOrders"]["calls"] == 2
    assert figures["operations"]["searchOrders"]["throttled"] == 1
    assert figures["token_refreshes"] == 1
    assert client.stats.total("throttled") == 1



def test_a_page_carries_every_order_raw_whatever_its_shape(make_client, control):
    """One odd order never costs the page its others: each comes back exactly as Amazon sent it."""
    from pydantic import ValidationError

    from tests.fixtures.hostile_orders import BUYER_EMAIL, HOSTILE_ORDERS

    hostile = {case.name: case.raw for case in HOSTILE_ORDERS if case.name in (
        "valid_base_order", "order_id_missing", "order_items_not_an_array", "amount_not_a_number",
        "created_time_not_a_date", "fulfilled_by_unknown", "fulfillment_status_unknown", "order_is_a_string")}
    served = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    for raw in hostile.values():
        response = control.http.post(f"{control.url}/orders/raw", json=raw, timeout=30,
                                     params={"served_updated_time": served, "marketplace_id": MARKETPLACE_US})
        assert response.status_code == 201, response.text
    client = make_client()
    search = client.search_orders(last_updated_after=datetime.now(UTC) - timedelta(hours=4),
                                  last_updated_before=datetime.now(UTC) - timedelta(hours=2),
                                  marketplace_ids=[MARKETPLACE_US], included_data=ALL_DATA)
    orders = list(search)
    assert sorted(map(repr, (o.raw for o in orders))) == sorted(map(repr, hostile.values()))
    valid = next(o for o in orders if o.raw == hostile["valid_base_order"])
    assert valid.typed().order_items[0].product.seller_sku == "MUG-CERAMIC-WHT"
    odd = next(o for o in orders if o.raw == hostile["fulfilled_by_unknown"])
    assert odd.typed().fulfillment.fulfilled_by == "PARTNER"  # a free string in Amazon's model
    broken = next(o for o in orders if o.raw == hostile["amount_not_a_number"])
    with pytest.raises(ValidationError) as refused:
        broken.typed()
    assert "twenty-five" not in str(refused.value) and BUYER_EMAIL not in str(refused.value)
    assert client.get_order(valid.order_id).raw["orderId"] == valid.order_id


def test_the_search_keeps_the_latest_copy_and_every_order_without_an_id():
    from sales_channel.amazon import OrderPage, OrderSearch
    from sales_channel.amazon.models import RawOrder
    from sales_channel.amazon.windows import SearchWindow

    copies = [RawOrder({"orderId": "113-0000000-0000001", "lastUpdatedTime": t}) for t in (
        "2026-11-20T10:00:00Z", "not a time", "2026-11-20T11:00:00+00:00", "2026-11-20T10:30:00Z")]
    anonymous = [RawOrder("garbage"), RawOrder({"orderId": 5}), RawOrder(None)]
    pages = [OrderPage(orders=copies[:2] + anonymous[:1], next_token="next", last_updated_before=None,
                       created_before=None),
             OrderPage(orders=copies[2:] + anonymous[1:], next_token=None, last_updated_before=None,
                       created_before=None)]
    search = OrderSearch(lambda window, token: pages[token == "next"], SearchWindow(
        created_after=datetime(2026, 11, 1, tzinfo=UTC), created_before=datetime(2026, 11, 21, tzinfo=UTC)))
    orders = list(search)
    assert orders == [copies[2], *anonymous] and search.duplicates == 3
