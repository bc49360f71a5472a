"""Order links: idempotent creation (also under concurrency) and batch look-ups in one query."""

from __future__ import annotations

import threading

from sales_channel.store import OrderLink
from sqlalchemy import event, func, select

from tests.store.workers import create_link, spawn_map

ORDER = "113-0000001-0000001"


def test_second_create_returns_the_existing_link_and_says_so(store):
    first = store.links.create("ACCOUNT-1", ORDER, commerce_entity_id=41, commerce_increment_id="000000041",
                               store_code="default")
    second = store.links.create("ACCOUNT-1", ORDER, commerce_entity_id=42, commerce_increment_id="000000042",
                                store_code="default")

    assert first.created is True and second.created is False
    assert (second.link.id, second.link.commerce_entity_id, second.link.commerce_increment_id) == (
        first.link.id, 41, "000000041")
    other_account = store.links.create("ACCOUNT-2", ORDER, commerce_entity_id=43, commerce_increment_id="43",
                                       store_code="de")
    assert other_account.created is True


def test_links_of_a_batch_come_from_one_query(store):
    for n in range(0, 300, 2):
        store.links.create("ACCOUNT-1", f"113-0000000-{n:07d}", commerce_entity_id=n, commerce_increment_id=str(n),
                           store_code="default")
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731 - (conn, cursor, statement, ...)
    event.listen(store.engine, "before_cursor_execute", listener)
    try:
        links = store.links.get_many("ACCOUNT-1", [f"113-0000000-{n:07d}" for n in range(300)])
    finally:
        event.remove(store.engine, "before_cursor_execute", listener)

    assert sorted(link.commerce_entity_id for link in links.values()) == list(range(0, 300, 2))
    assert links["113-0000000-0000010"].commerce_increment_id == "10"
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
    assert store.links.get_by_commerce_ids("default", [10, 11]).keys() == {10}
    assert store.links.get("ACCOUNT-1", "113-0000000-0000011") is None


def _link_rows(store) -> int:
    with store.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(OrderLink).where(OrderLink.amazon_order_id == ORDER))


def test_concurrent_creators_threads_make_one_link(live_store):
    results: list = [None] * 6
    barrier = threading.Barrier(6)

    def creator(index: int) -> None:
        barrier.wait()
        results[index] = live_store.links.create("ACCOUNT-1", ORDER, commerce_entity_id=100 + index,
                                                 commerce_increment_id=str(100 + index), store_code="default")

    threads = [threading.Thread(target=creator, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert _link_rows(live_store) == 1
    assert sum(result.created for result in results) == 1
    assert len({result.link.commerce_entity_id for result in results}) == 1


def test_concurrent_creators_processes_make_one_link(live_store, migrated_url):
    results = spawn_map(create_link, [(migrated_url, ORDER, 200 + n) for n in range(3)])

    assert _link_rows(live_store) == 1
    assert sum(created for _, created in results) == 1
    (entity_id,) = {entity for entity, _ in results}
    assert live_store.links.get("ACCOUNT-1", ORDER).commerce_entity_id == entity_id
