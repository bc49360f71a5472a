"""Concurrent clients: the sandbox's state stays consistent (the duplicate-order race of real imports)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from .support import CommerceApi, order_entity


def test_concurrent_creates_of_one_increment_id_store_exactly_one_order(api: CommerceApi) -> None:
    def create(_: int) -> int:
        return CommerceApi(api.url).post("orders", {"entity": order_entity(increment_id="AMZ-RACE")}).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(create, range(8)))
    assert statuses == [200] + [400] * 7
    assert len(api.ledger(event="order_created")) == 1


def test_concurrent_creates_get_unique_ids_and_increment_ids(api: CommerceApi) -> None:
    def create(_: int) -> tuple[int, str]:
        order = CommerceApi(api.url).create_order()
        return order["entity_id"], order["increment_id"]

    with ThreadPoolExecutor(8) as pool:
        created = list(pool.map(create, range(24)))
    assert len({entity_id for entity_id, _ in created}) == 24
    assert sorted(increment for _, increment in created) == [f"{n:09d}" for n in range(1, 25)]


def test_concurrent_partial_shipments_never_ship_more_than_ordered(api: CommerceApi) -> None:
    order = api.create_order()
    mug = order["items"][0]["item_id"]  # qty 2

    def ship(_: int) -> int:
        return CommerceApi(api.url).post(f"order/{order['entity_id']}/ship",
                                         {"items": [{"order_item_id": mug, "qty": 1}]}).status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = sorted(pool.map(ship, range(6)))
    assert statuses == [200, 200, 400, 400, 400, 400]
    assert api.order(order["entity_id"])["items"][0]["qty_shipped"] == 2
