"""How the Commerce client behaves when the store misbehaves, over real HTTP against the sandbox:
paging quirks, rows moving between pages, batch lookups, injected 5xx/timeouts/dropped connections,
concurrent use from a thread pool, and secrets kept out of logs, reprs and errors."""

from __future__ import annotations

import logging
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
from sales_channel.commerce import (
    AmbiguousWriteError,
    Chunking,
    CommerceClient,
    CommerceError,
    RetryPolicy,
    SearchCriteria,
    ServerError,
    TransportError,
    UnauthorizedError,
)
from sales_channel.sandbox.catalog import PRODUCTS, CatalogIssue
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS

from tests.commerce.conftest import FAST_RETRY, Control, order_entity

TOKEN = DEFAULT_CREDENTIALS["commerce_token"]


def _create_orders(client: CommerceClient, count: int) -> list[int]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        return sorted(pool.map(lambda _: client.orders.create(order_entity()).entity_id, range(count)))


def test_250_orders_in_pages_of_20_survive_the_repeated_last_page(client: CommerceClient,
                                                                  control: Control) -> None:
    ids = _create_orders(client, 250)
    # The quirk is real: a page number past the end answers the last page again.
    last_page = client.orders.search(SearchCriteria().sort_by("entity_id").page(20, 13))
    past_end = client.orders.search(SearchCriteria().sort_by("entity_id").page(20, 14))
    assert [o.entity_id for o in past_end.items] == [o.entity_id for o in last_page.items] == ids[240:]

    control.reset_calls()
    client.stats.reset()
    seen = [order.entity_id for order in client.orders.iterate(page_size=20)]
    assert seen == ids  # every order once, in entity_id order
    assert control.calls()["getOrderList"] == 13 == client.stats.calls("GET /V1/orders")


def test_rows_inserted_or_leaving_the_filter_mid_iteration_cause_no_skip(client: CommerceClient,
                                                                         control: Control) -> None:
    ids = _create_orders(client, 60)
    pending = client.orders.iterate(SearchCriteria().where("status", "pending"), page_size=20)
    first_page = [next(pending).entity_id for _ in range(20)]
    assert first_page == ids[:20]
    # Meanwhile: ten of the first page leave the filter (invoiced -> processing), which shifts every
    # later row back by ten for a page-number pager, and another connector inserts two orders.
    for order_id in first_page[:10]:
        client.invoices.create(order_id)
    inserted = [control.insert_order(order_entity()) for _ in range(2)]
    rest = [order.entity_id for order in pending]
    assert rest == ids[20:] + [order["entity_id"] for order in inserted]


def test_batch_lookup_by_ext_order_id_takes_one_call_per_chunk(sandbox, control: Control) -> None:
    client = CommerceClient(sandbox.url, TOKEN, retry=FAST_RETRY, chunking=Chunking(max_items=50))
    created = {}
    for _ in range(110):
        entity = order_entity()
        created[entity["ext_order_id"]] = client.orders.create(entity).entity_id
    duplicate_ext_id = next(iter(created))
    control.insert_order(order_entity(duplicate_ext_id))
    wanted = [*created, "113-0000000-missing"]  # 111 ids -> chunks of 50, 50, 11

    control.reset_calls()
    found = client.orders.find_by_ext_order_ids(wanted)
    assert control.calls() == {"getOrderList": 3}
    assert found["113-0000000-missing"] == []
    assert len(found[duplicate_ext_id]) == 2  # a duplicate is visible, not hidden
    assert all([o.entity_id for o in found[ext_id]] == [entity_id]
               for ext_id, entity_id in created.items() if ext_id != duplicate_ext_id)


def test_a_get_recovers_from_5xx_and_a_dropped_connection(client: CommerceClient, control: Control) -> None:
    order_id = client.orders.create(order_entity()).entity_id
    control.reset_calls()
    control.faults(fail_next=2, error_statuses=[500, 503], operations=["getOrder"])
    assert client.orders.get(order_id).entity_id == order_id
    control.faults(drop_next=1, operations=["getOrder"])
    assert client.orders.get(order_id).entity_id == order_id
    assert control.calls() == {"getOrder": 5}
    assert client.stats.snapshot()["retries"] == {"GET /V1/orders/{id}": 3}

    control.faults(fail_next=10, operations=["getOrder"])
    with pytest.raises(ServerError) as exhausted:
        client.orders.get(order_id)
    assert exhausted.value.status in (500, 503) and control.calls()["getOrder"] == 5 + FAST_RETRY.max_attempts


@pytest.mark.parametrize("fault", [{"fail_next": 1, "error_statuses": [500]}, {"drop_next": 1}],
                         ids=["5xx", "dropped"])
def test_an_order_create_is_never_retried_and_ends_ambiguous(client: CommerceClient, control: Control,
                                                             fault: dict) -> None:
    entity = order_entity()
    control.faults(**fault, operations=["saveOrder"])
    with pytest.raises(AmbiguousWriteError) as ambiguous:
        client.orders.create(entity)
    assert ambiguous.value.lookup == {"ext_order_id": entity["ext_order_id"]}
    assert control.calls() == {"saveOrder": 1}
    created = [e for e in control.get("ledger", event="order_created")["events"]
               if e["ext_order_id"] == entity["ext_order_id"]]
    # An injected 5xx fails before the order is saved; a drop loses the answer of a saved order.
    assert len(created) == (1 if "drop_next" in fault else 0)
    # What the caller does next: look up, and create only if it is not there.
    assert len(client.orders.find_by_ext_order_ids([entity["ext_order_id"]])[entity["ext_order_id"]]) == len(created)


def test_ship_invoice_and_refund_are_never_retried(client: CommerceClient, control: Control) -> None:
    order_id = client.orders.create(order_entity()).entity_id
    control.reset_calls()
    control.faults(drop_next=3, operations=["invoiceOrder", "shipOrder", "refundOrder"])
    for write in (client.invoices.create, client.shipments.create, client.creditmemos.create):
        with pytest.raises(AmbiguousWriteError) as ambiguous:
            write(order_id)
        assert ambiguous.value.lookup == {"order_id": order_id}
    assert control.calls() == {"invoiceOrder": 1, "shipOrder": 1, "refundOrder": 1}
    # Each happened exactly once: the lookups the caller makes before trying again.
    assert len(client.invoices.for_orders([order_id])) == 1
    assert len(client.shipments.for_orders([order_id])) == 1
    assert len(client.creditmemos.for_orders([order_id])) == 1


def test_timeouts_apply_to_every_call(sandbox, control: Control) -> None:
    client = CommerceClient(sandbox.url, TOKEN, timeout=(2.0, 0.15), retry=FAST_RETRY)
    order_id = client.orders.create(order_entity()).entity_id
    control.faults(latency_ms=400)
    control.reset_calls()
    with pytest.raises(TransportError, match="read timeout"):
        client.orders.get(order_id)  # a read: retried, then given up
    with pytest.raises(AmbiguousWriteError, match="read timeout"):
        client.orders.create(order_entity())  # a write: never retried
    assert control.settled_calls(FAST_RETRY.max_attempts + 1) == {"getOrder": FAST_RETRY.max_attempts,
                                                                  "saveOrder": 1}


def test_a_write_that_never_left_is_not_ambiguous() -> None:
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = CommerceClient(f"http://127.0.0.1:{port}", TOKEN, retry=FAST_RETRY)
    with pytest.raises(TransportError) as refused:
        client.orders.create(order_entity())
    assert not isinstance(refused.value, AmbiguousWriteError)
    assert client.stats.calls("POST /V1/orders") == FAST_RETRY.max_attempts  # retried: nothing was sent


def test_eight_threads_create_orders_through_one_client(sandbox, control: Control,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    control.faults(latency_ms=20)  # so the calls really overlap
    client = CommerceClient(sandbox.url, TOKEN, retry=FAST_RETRY, pool_maxsize=16)
    with caplog.at_level(logging.WARNING), ThreadPoolExecutor(max_workers=8) as pool:
        orders = list(pool.map(lambda _: client.orders.create(order_entity()), range(48)))
    assert len({o.entity_id for o in orders}) == len({o.increment_id for o in orders}) == 48
    assert len(control.get("ledger", event="order_created")["events"]) == 48
    assert client.stats.calls("POST /V1/orders") == 48
    assert "Connection pool is full" not in caplog.text


def test_no_secret_in_logs_reprs_or_errors(sandbox, control: Control, caplog: pytest.LogCaptureFixture) -> None:
    password = DEFAULT_CREDENTIALS["commerce_admin_password"]
    caplog.set_level(logging.DEBUG)
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    texts: list[str] = []

    admin = CommerceClient.with_admin_login(sandbox.url, "admin", password, retry=FAST_RETRY)
    admin_token = admin._transport.session.auth._token  # only to prove it never shows up anywhere
    integration = CommerceClient(sandbox.url, TOKEN, retry=FAST_RETRY)
    texts += [repr(admin), repr(integration), repr(admin._transport.session.auth)]
    order_id = admin.orders.create(order_entity()).entity_id
    control.faults(fail_next=1, operations=["getOrder"])
    integration.orders.get(order_id)  # a retry is logged
    control.faults(fail_next=1, operations=["saveOrder"])
    failures: list[CommerceError] = []
    for failing in (lambda: admin.orders.create(order_entity()),
                    lambda: integration.orders.get(10**6),
                    lambda: CommerceClient(sandbox.url, TOKEN + "-revoked", retry=FAST_RETRY).orders.get(order_id),
                    lambda: CommerceClient.with_admin_login(sandbox.url, "admin", password + "x")):
        with pytest.raises(CommerceError) as caught:
            failing()
        failures.append(caught.value)
    assert isinstance(failures[-1], UnauthorizedError)
    texts += [str(e) for e in failures] + [repr(e) for e in failures]
    texts += [str(e.__cause__) for e in failures if e.__cause__]

    everything = "\n".join([caplog.text, *texts])
    assert "GET /V1/orders/{id} -> 200" in caplog.text  # the client's own log line is there
    assert "urllib3" in {record.name.split(".")[0] for record in caplog.records}
    for secret in (TOKEN, password, admin_token):
        assert secret not in everything
    assert "buyer@marketplace.example" not in everything and "Müller" not in everything


def test_retry_policy_is_bounded() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


def test_batch_lookup_by_sku_takes_one_call_per_chunk(sandbox, control: Control) -> None:
    client = CommerceClient(sandbox.url, TOKEN, retry=FAST_RETRY, chunking=Chunking(max_items=5))
    skus = [product.sku for product in PRODUCTS]
    control.reset_calls()
    found = client.catalog.get_products([*skus, "NO-SUCH-SKU"])
    expected = {p.sku for p in PRODUCTS if p.issue is not CatalogIssue.MISSING_IN_COMMERCE}
    assert set(found) == expected
    assert control.calls() == {"getProductList": -(-(len(skus) + 1) // 5)}
