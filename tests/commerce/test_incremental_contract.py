"""Contract tests of the client's batch and incremental reads over real HTTP against the Commerce
sandbox: ``get_many`` by entity_id, ``iter_updated`` windows (paged, bounded by ``until``), which writes
move an entity's ``updated_at``, and the amounts of document lines."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sales_channel.commerce import Chunking, CommerceClient, SearchCriteria, Track
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS

from tests.commerce.conftest import FAST_RETRY, order_entity


def _past(moment: datetime) -> datetime:
    """Wait until the (shared) clock is in a later second than ``moment``; return that second's start.

    Magento keeps whole seconds: a write after this is stamped >= the returned time, every write
    before it <= ``moment``."""
    later = moment.replace(microsecond=0) + timedelta(seconds=1)
    while datetime.now(UTC) < later:
        time.sleep(0.05)
    return later


def _latest(*stamps: datetime | None) -> datetime:
    assert all(stamps)
    return max(stamps)  # type: ignore[type-var]


def test_get_many_takes_one_call_per_chunk_and_leaves_unknown_ids_out(sandbox) -> None:
    with CommerceClient(sandbox.url, DEFAULT_CREDENTIALS["commerce_token"], retry=FAST_RETRY,
                        chunking=Chunking(max_items=2)) as client:
        orders = [client.orders.create(order_entity()) for _ in range(3)]
        shipment_ids = [client.shipments.create(order.entity_id) for order in orders[:2]]
        wanted = [order.entity_id for order in orders]
        client.stats.reset()

        found = client.orders.get_many([*wanted, 10**6])
        assert sorted(found) == sorted(wanted)
        assert {found[o.entity_id].ext_order_id for o in orders} == {o.ext_order_id for o in orders}
        assert client.stats.calls("GET /V1/orders") == 2  # 4 ids in chunks of 2

        shipments = client.shipments.get_many([*shipment_ids, 10**6])
        assert sorted(shipments) == sorted(shipment_ids)
        assert {s.order_id for s in shipments.values()} == set(wanted[:2])
        assert client.orders.get_many([]) == {} and client.shipments.get_many([]) == {}
        with pytest.raises(ValueError, match="entity_ids: expected a list"):
            client.orders.get_many("12")


def test_iter_updated_pages_by_entity_id_within_since_and_until(client: CommerceClient) -> None:
    early = [client.orders.create(order_entity()) for _ in range(5)]
    since = min(o.updated_at for o in early)
    until = _past(_latest(*(o.updated_at for o in early)))
    late = [client.orders.create(order_entity()) for _ in range(2)]
    assert min(o.updated_at for o in late) >= until
    early_ids, late_ids = [o.entity_id for o in early], [o.entity_id for o in late]

    client.stats.reset()
    window = [o.entity_id for o in client.orders.iter_updated(since, until=until, page_size=2)]
    assert window == early_ids  # ascending, each once, nothing at or after until
    assert client.stats.calls("GET /V1/orders") == 3  # pages of 2, 2, 1

    assert [o.entity_id for o in client.orders.iter_updated(since, page_size=2)] == early_ids + late_ids
    assert [o.entity_id for o in client.orders.iter_updated(until)] == late_ids  # the next window
    one = SearchCriteria().where("ext_order_id", early[3].ext_order_id)
    assert [o.entity_id for o in client.orders.iter_updated(since, until=until, criteria=one)] == [early_ids[3]]
    # A bound in another zone means the same instant.
    assert [o.entity_id for o in client.orders.iter_updated(
        since.astimezone(timezone(timedelta(hours=9))), until=until)] == early_ids

    with pytest.raises(ValueError, match="until .* must be after since"):
        list(client.orders.iter_updated(until, until=since))
    with pytest.raises(ValueError, match="'updated_at'.*no time zone"):
        list(client.orders.iter_updated(datetime(2026, 1, 1)))


def test_writes_that_save_the_order_move_updated_at_and_a_late_track_does_not(client: CommerceClient) -> None:
    def create() -> int:
        return client.orders.create(order_entity()).entity_id

    to_invoice, to_ship, to_refund, to_cancel, to_comment, to_track, untouched = (create() for _ in range(7))
    client.invoices.create(to_refund)
    client.invoices.create(to_track)
    tracked_shipment = client.shipments.create(to_track)
    memo_before = client.creditmemos.create(to_refund, {client.orders.get(to_refund).items[0].item_id: 1})
    before = client.orders.get_many([to_invoice, to_ship, to_refund, to_cancel, to_comment, to_track, untouched])
    shipment_before = client.shipments.get(tracked_shipment)
    since = _past(_latest(*(o.updated_at for o in before.values()), shipment_before.updated_at,
                          client.creditmemos.get(memo_before).updated_at))

    client.invoices.create(to_invoice)
    shipment = client.shipments.create(to_ship)
    memo = client.creditmemos.create(to_refund)
    assert client.orders.cancel(to_cancel) is True
    client.orders.add_comment(to_comment, "Checked by the status sync")
    client.shipments.add_track(tracked_shipment, to_track, Track("1Z999AA10123456784", "ups", "UPS"))

    assert {o.entity_id for o in client.orders.iter_updated(since)} == {
        to_invoice, to_ship, to_refund, to_cancel, to_comment}
    assert [s.entity_id for s in client.shipments.iter_updated(since)] == [shipment]
    assert [m.entity_id for m in client.creditmemos.iter_updated(since)] == [memo]
    # Before the window: the earlier documents, and nothing after it.
    assert [s.entity_id for s in client.shipments.iter_updated(since - timedelta(hours=1), until=since)] == [
        tracked_shipment]
    assert [m.entity_id for m in client.creditmemos.iter_updated(since - timedelta(hours=1), until=since)] == [
        memo_before]

    # Magento saves a late track on its own row: the shipment and the order keep their updated_at.
    tracked = client.shipments.get(tracked_shipment)
    assert tracked.updated_at == shipment_before.updated_at
    assert client.orders.get(to_track).updated_at == before[to_track].updated_at
    assert [t.track_number for t in tracked.tracks] == ["1Z999AA10123456784"]
    assert datetime.strptime(tracked.raw["tracks"][0]["updated_at"], "%Y-%m-%d %H:%M:%S").replace(
        tzinfo=UTC) >= since
    after = client.orders.get_many(list(before))
    assert all(after[i].updated_at > before[i].updated_at
               for i in (to_invoice, to_ship, to_refund, to_cancel, to_comment))
    assert after[untouched].updated_at == before[untouched].updated_at


def test_document_lines_and_credit_memos_carry_their_amounts(client: CommerceClient) -> None:
    order = client.orders.create(order_entity(lines=(("MUG-CERAMIC-WHT", 3, "12.99"), ("TEA-GREEN-100", 2, "8.49"))))
    mug, tea = order.items
    invoice = client.invoices.get(client.invoices.create(order.entity_id))
    line = next(i for i in invoice.items if i.order_item_id == mug.item_id)
    assert (line.qty, line.price, line.row_total, line.tax_amount, line.discount_amount) == (
        3, Decimal("12.99"), Decimal("38.97"), 0, 0)
    assert invoice.updated_at is not None and invoice.updated_at.tzinfo is UTC

    memo = client.creditmemos.get(client.creditmemos.create(order.entity_id, {tea.item_id: 1},
                                                            shipping_amount=Decimal(0)))
    assert [(i.sku, i.qty, i.price, i.row_total) for i in memo.items] == [
        ("TEA-GREEN-100", 1, Decimal("8.49"), Decimal("8.49"))]
    assert (memo.grand_total, memo.subtotal, memo.shipping_amount, memo.discount_amount, memo.currency) == (
        Decimal("8.49"), Decimal("8.49"), 0, 0, "EUR")
    assert memo.updated_at == memo.created_at and memo.updated_at is not None

    shipment = client.shipments.get(client.shipments.create(order.entity_id, {mug.item_id: 1}))
    assert [(i.qty, i.price, i.row_total) for i in shipment.items] == [(1, Decimal("12.99"), 0)]
    assert shipment.updated_at == shipment.created_at and shipment.updated_at is not None


def test_iter_updated_reads_one_store_of_the_installation(client: CommerceClient) -> None:
    """The status sync reads each store's documents only: K stores must not read the installation K times."""
    ours, theirs = client.orders.create(order_entity()), client.orders.create({**order_entity(), "store_id": 2})
    since = min(ours.updated_at, theirs.updated_at)
    shipped = {store: client.shipments.create(order.entity_id) for store, order in ((1, ours), (2, theirs))}
    for order in (ours, theirs):
        client.invoices.create(order.entity_id)
    memos = {store: client.creditmemos.create(order.entity_id) for store, order in ((1, ours), (2, theirs))}
    in_store = SearchCriteria().where("store_id", 2)

    assert [s.entity_id for s in client.shipments.iter_updated(since, criteria=in_store)] == [shipped[2]]
    assert [m.entity_id for m in client.creditmemos.iter_updated(since, criteria=in_store)] == [memos[2]]
    assert [o.entity_id for o in client.orders.iter_updated(since, criteria=in_store)] == [theirs.entity_id]
    assert {s.entity_id for s in client.shipments.iter_updated(since)} >= set(shipped.values())
