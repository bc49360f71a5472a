"""Contract tests of the Commerce client over real HTTP against the Commerce sandbox: orders, their
documents (invoices, shipments, credit memos), comments, actions, products and stock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sales_channel.commerce import (
    CommerceClient,
    Condition,
    Filter,
    NotFoundError,
    SearchCriteria,
    Track,
    UnauthorizedError,
    ValidationError,
)
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS

from tests.commerce.conftest import FAST_RETRY, order_entity


def test_create_get_and_search_an_order_with_exact_money(client: CommerceClient) -> None:
    entity = order_entity(lines=(("MUG-CERAMIC-WHT", 3, "12.99"), ("TEA-MATCHA-50G", 1, "24.90")))
    created = client.orders.create(entity)
    assert created.entity_id > 0 and created.increment_id
    assert created.ext_order_id == entity["ext_order_id"]

    order = client.orders.get(created.entity_id)
    assert order.grand_total == Decimal("68.86") and isinstance(order.grand_total, Decimal)
    assert order.subtotal == Decimal("63.87")
    assert [(i.sku, i.qty_ordered) for i in order.items] == [("MUG-CERAMIC-WHT", 3), ("TEA-MATCHA-50G", 1)]
    assert all(i.item_id for i in order.items)
    assert order.created_at is not None and order.created_at.tzinfo is UTC
    assert (order.state, order.status, order.currency) == ("new", "pending", "EUR")

    page = client.orders.search(SearchCriteria().where("ext_order_id", entity["ext_order_id"]).page(10))
    assert page.total_count == 1 and page.items[0].entity_id == created.entity_id


def test_unknown_order_is_not_found(client: CommerceClient) -> None:
    with pytest.raises(NotFoundError) as missing:
        client.orders.get(987654)
    assert missing.value.status == 404 and "doesn't exist" in missing.value.message


def test_admin_login_gives_a_working_client_and_bad_credentials_are_unauthorized(sandbox) -> None:
    admin = CommerceClient.with_admin_login(sandbox.url, DEFAULT_CREDENTIALS["commerce_admin_username"],
                                            DEFAULT_CREDENTIALS["commerce_admin_password"], retry=FAST_RETRY)
    assert admin.orders.create(order_entity()).entity_id > 0
    with pytest.raises(UnauthorizedError) as bad_login:
        CommerceClient.with_admin_login(sandbox.url, "admin", "sandbox-wrong-password", retry=FAST_RETRY)
    assert bad_login.value.status == 401 and "sign-in was incorrect" in bad_login.value.message
    with pytest.raises(UnauthorizedError) as bad_token:
        CommerceClient(sandbox.url, "not-a-token", retry=FAST_RETRY).orders.get(1)
    # Magento's "%resources" placeholder is filled from the object parameters.
    assert bad_token.value.message == "The consumer isn't authorized to access Magento_Sales::actions_view."
    assert bad_token.value.template == "The consumer isn't authorized to access %resources."


def test_comment_keeps_the_current_status_whether_given_or_read(client: CommerceClient) -> None:
    order = client.orders.create(order_entity())
    invoiced = client.invoices.create(order.entity_id)
    assert invoiced > 0
    status = client.orders.get(order.entity_id).status
    assert status == "processing"

    client.orders.add_comment(order.entity_id, "Imported from Amazon")  # status read from the order
    client.orders.add_comment(order.entity_id, "Checked", status=status, notify_customer=False)
    after = client.orders.get(order.entity_id)
    assert (after.state, after.status) == ("processing", "processing")
    comments = client.orders.list_comments(order.entity_id)
    assert {c.comment: c.status for c in comments if c.comment in ("Imported from Amazon", "Checked")} == {
        "Imported from Amazon": "processing", "Checked": "processing"}


def test_partial_invoice_ship_with_tracks_add_track_and_refund(client: CommerceClient) -> None:
    before = datetime.now(UTC) - timedelta(seconds=2)
    order = client.orders.create(order_entity(lines=(("MUG-CERAMIC-WHT", 3, "12.99"), ("TEA-GREEN-100", 2, "8.49"))))
    mug, tea = order.items

    invoice_id = client.invoices.create(order.entity_id, {mug.item_id: 2}, comment="first part")
    invoice = client.invoices.get(invoice_id)
    assert invoice.order_id == order.entity_id
    assert [(i.order_item_id, i.qty) for i in invoice.items] == [(mug.item_id, 2)]

    shipment_id = client.shipments.create(order.entity_id, {mug.item_id: 1},
                                    [Track("1Z999AA10123456784", "ups", "UPS")])
    shipment = client.shipments.get(shipment_id)
    assert [(i.order_item_id, i.qty) for i in shipment.items] == [(mug.item_id, 1)]
    assert [t.track_number for t in shipment.tracks] == ["1Z999AA10123456784"]

    track = client.shipments.add_track(shipment_id, order.entity_id, Track("940011189922385", "usps", "USPS"))
    assert track.entity_id and track.parent_id == shipment_id
    assert {t.track_number for t in client.shipments.get(shipment_id).tracks} == {
        "1Z999AA10123456784", "940011189922385"}

    memo_id = client.creditmemos.create(order.entity_id, {mug.item_id: 1}, shipping_amount=Decimal(0))
    memo = client.creditmemos.get(memo_id)
    assert memo.order_id == order.entity_id and memo.grand_total == Decimal("12.99")

    refreshed = client.orders.get(order.entity_id).items[0]
    assert (refreshed.qty_invoiced, refreshed.qty_shipped, refreshed.qty_refunded) == (2, 1, 1)

    # Lists for orders (batched by order_id) and by creation time see the same documents.
    other = client.orders.create(order_entity())
    ids = [order.entity_id, other.entity_id]
    assert [i.entity_id for i in client.invoices.for_orders(ids)] == [invoice_id]
    assert [s.entity_id for s in client.shipments.for_orders(ids)] == [shipment_id]
    assert [m.entity_id for m in client.creditmemos.for_orders(ids)] == [memo_id]
    assert [s.entity_id for s in client.shipments.iter_created_after(before)] == [shipment_id]
    assert [m.entity_id for m in client.creditmemos.iter_created_after(before)] == [memo_id]
    assert list(client.shipments.iter_created_after(datetime.now(UTC) + timedelta(minutes=1))) == []

    # Shipping more than is left is refused, with Magento's message.
    with pytest.raises(ValidationError, match="Shipment Document Validation Error"):
        client.shipments.create(order.entity_id, {tea.item_id: 5})


def test_cancel_hold_unhold_and_email(client: CommerceClient) -> None:
    held = client.orders.create(order_entity())
    assert client.orders.hold(held.entity_id) is True
    assert client.orders.get(held.entity_id).state == "holded"
    with pytest.raises(ValidationError, match="hold action is not available"):
        client.orders.hold(held.entity_id)
    assert client.orders.unhold(held.entity_id) is True
    assert client.orders.get(held.entity_id).state == "new"
    assert client.orders.send_email(held.entity_id) is True
    assert client.orders.cancel(held.entity_id) is True
    canceled = client.orders.get(held.entity_id)
    assert (canceled.state, canceled.status) == ("canceled", "canceled")
    with pytest.raises(ValidationError, match="Shipment Document Validation Error"):
        client.shipments.create(held.entity_id)

    invoiced = client.orders.create(order_entity())
    client.invoices.create(invoiced.entity_id)
    assert client.orders.cancel(invoiced.entity_id) is False  # refused: fully invoiced
    assert client.orders.get(invoiced.entity_id).state == "processing"


def test_error_rendering_with_list_and_object_parameters(client: CommerceClient) -> None:
    # List parameters: "%1" in the refund limit.
    order = client.orders.create(order_entity(lines=(("MUG-CERAMIC-WHT", 1, "12.99"),)))
    client.invoices.create(order.entity_id)
    with pytest.raises(ValidationError) as too_much:
        client.creditmemos.create(order.entity_id, adjustment_positive=Decimal("100"))
    assert too_much.value.template == "The most money available to refund is %1."
    assert too_much.value.parameters == ["17.98"]
    assert too_much.value.message == "The most money available to refund is 17.98."

    # Object parameters: "%fieldName" of a missing required field (the schema requires grand_total).
    entity = order_entity()
    entity["items"][0] = {**entity["items"][0], "qty_ordered": "lots"}
    with pytest.raises(ValidationError) as invalid:
        client.orders.create(entity)
    assert isinstance(invalid.value.parameters, dict)
    assert "%" not in invalid.value.message and invalid.value.message != invalid.value.template


def test_products_batch_lookup_and_stock(client: CommerceClient) -> None:
    product = client.catalog.get_product("MUG-CERAMIC-WHT")
    assert product.enabled and product.price == Decimal("12.99")
    found = client.catalog.get_products(["MUG-CERAMIC-WHT", "TEA-GREEN-100", "NO-SUCH-SKU"])
    assert set(found) == {"MUG-CERAMIC-WHT", "TEA-GREEN-100"}
    assert found["TEA-GREEN-100"].price == Decimal("8.49")
    with pytest.raises(NotFoundError):
        client.catalog.get_product("NO-SUCH-SKU")

    stock = client.catalog.get_stock_item("TEA-GREEN-100")
    assert stock.qty > 0 and stock.is_in_stock
    assert client.catalog.update_stock_qty("TEA-GREEN-100", 7) == stock.item_id
    assert client.catalog.get_stock_item("TEA-GREEN-100").qty == 7
    assert client.catalog.get_salable_quantity("TEA-GREEN-100") == 7
    client.catalog.update_stock_qty("TEA-GREEN-100", 0)
    assert not client.catalog.get_stock_item("TEA-GREEN-100").is_in_stock


def test_search_accepts_every_kind_of_condition(client: CommerceClient) -> None:
    orders = [client.orders.create(order_entity()) for _ in range(4)]
    ids = [o.entity_id for o in orders]
    ext = [o.ext_order_id for o in orders]

    def matching(criteria: SearchCriteria) -> list[int]:
        return [o.entity_id for o in client.orders.iterate(criteria)]

    assert matching(SearchCriteria().where("entity_id", ids[1:3], Condition.IN)) == ids[1:3]
    assert matching(SearchCriteria().where("entity_id", ids[:3], Condition.NIN).where(
        "entity_id", ids[0], Condition.GTEQ)) == ids[3:]
    assert matching(SearchCriteria().between("entity_id", ids[1], ids[2])) == ids[1:3]
    assert matching(SearchCriteria().any_of(*(Filter("ext_order_id", e) for e in ext[:2]))) == ids[:2]
    assert matching(SearchCriteria().where("ext_order_id", ext[0][:-3] + "%", Condition.LIKE)) == [ids[0]]
    assert matching(SearchCriteria().where("relation_child_id", None, Condition.NOTNULL)) == []
    assert len(matching(SearchCriteria().where("relation_child_id", None, Condition.NULL))) == 4


def test_the_store_code_is_part_of_every_path(sandbox) -> None:
    german = CommerceClient(sandbox.url, DEFAULT_CREDENTIALS["commerce_token"], store_code="de", retry=FAST_RETRY)
    assert german.api_root == f"{sandbox.url}/rest/de"
    entity = order_entity()
    del entity["store_id"]
    assert german.orders.create(entity).store_id == 2  # the "de" store view's id
    with pytest.raises(NotFoundError, match="does not match any route"):
        CommerceClient(sandbox.url, DEFAULT_CREDENTIALS["commerce_token"], store_code="nowhere",
                       retry=FAST_RETRY).orders.get(1)


def test_currency_info_gives_the_base_currency_and_the_rates_orders_may_use(sandbox) -> None:
    usd = CommerceClient(sandbox.url, DEFAULT_CREDENTIALS["commerce_token"], retry=FAST_RETRY).directory.currency_info()
    assert usd.base_currency_code == "USD"
    assert usd.exchange_rates["JPY"] == Decimal("151.2") and "USD" not in usd.exchange_rates
    eur = CommerceClient(sandbox.url, DEFAULT_CREDENTIALS["commerce_token"], store_code="de",
                         retry=FAST_RETRY).directory.currency_info()
    assert eur.base_currency_code == "EUR" and set(eur.exchange_rates) == {"GBP", "SEK"}


def test_bad_input_is_refused_before_any_call(client: CommerceClient) -> None:
    with pytest.raises(ValueError, match="order 42 shipment: quantity for order item 7 must be > 0"):
        client.shipments.create(42, {7: 0})
    with pytest.raises(ValueError, match="track 1Z: title is required"):
        client.shipments.create(42, None, [Track("1Z", "ups", "")])
    with pytest.raises(ValueError, match="order 42: comment text is required"):
        client.orders.add_comment(42, "")
    with pytest.raises(ValueError, match="ext_order_ids: expected a list"):
        client.orders.find_by_ext_order_ids("113-1234567-1234567")
    assert client.stats.total == 0


def test_customers_are_created_once_and_found_by_email_in_batches(sandbox) -> None:
    usd = CommerceClient(sandbox.url, DEFAULT_CREDENTIALS["commerce_token"], retry=FAST_RETRY)
    created = usd.customers.create({"email": "Buyer@Marketplace.Amazon.com", "firstname": "山田", "lastname": "太郎"})
    assert created.website_id == 1 and "Buyer" not in repr(created)
    found = usd.customers.find_by_emails(["buyer@marketplace.amazon.com", "Buyer@Marketplace.Amazon.com",
                                          "nobody@example.com"], website_id=1)
    assert set(found) == {"buyer@marketplace.amazon.com"} and found["buyer@marketplace.amazon.com"].id == created.id
    assert usd.customers.find_by_emails(["Buyer@Marketplace.Amazon.com"], website_id=2) == {}
    with pytest.raises(ValidationError, match="same email address already exists"):
        usd.customers.create({"email": "buyer@marketplace.amazon.com", "firstname": "A", "lastname": "B"})
