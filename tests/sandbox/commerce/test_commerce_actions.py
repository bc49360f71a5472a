"""Order actions with Magento's state rules: invoice, ship, refund, cancel, hold/unhold, comments, emails,
tracks, and the document lists. Every refused transition answers Magento's message and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .support import CommerceApi, assert_magento_error, assert_schema, order_entity

NO_ENTITY = "The entity that was requested doesn't exist. Verify the entity and try again."


def items_of(order: dict[str, Any]) -> tuple[int, int]:
    """(mug item id, tea item id): the mug line has qty 2, the tea line qty 1."""
    return order["items"][0]["item_id"], order["items"][1]["item_id"]


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def test_invoice_everything_moves_new_to_processing(api: CommerceApi) -> None:
    order = api.create_order()
    invoice_id = ok(api.post(f"order/{order['entity_id']}/invoice", {"capture": False, "notify": False}))
    invoice = ok(api.get(f"invoices/{invoice_id}"))
    assert_schema(invoice, "sales-data-invoice-interface")
    assert (invoice["order_id"], invoice["total_qty"], invoice["grand_total"]) == (order["entity_id"], 3, 43.97)
    after = api.order(order["entity_id"])
    assert (after["state"], after["status"]) == ("processing", "processing")
    assert (after["total_invoiced"], after["total_paid"], after["total_due"]) == (43.97, 43.97, 0)
    assert [i["qty_invoiced"] for i in after["items"]] == [2, 1]
    assert api.ledger(event="order_invoiced")[0]["invoice_id"] == invoice_id


def test_partial_invoices_add_up_to_the_order_total(api: CommerceApi) -> None:
    order = api.create_order()
    mug, tea = items_of(order)
    first = ok(api.post(f"order/{order['entity_id']}/invoice", {"items": [{"order_item_id": mug, "qty": 1}]}))
    first_invoice = ok(api.get(f"invoices/{first}"))
    assert first_invoice["total_qty"] == 1
    assert first_invoice["grand_total"] == pytest.approx(12.99 + 4.99)  # the first invoice takes the shipping
    second = ok(api.post(f"order/{order['entity_id']}/invoice", {"items": []}))
    second_invoice = ok(api.get(f"invoices/{second}"))
    assert second_invoice["total_qty"] == 2
    assert first_invoice["grand_total"] + second_invoice["grand_total"] == pytest.approx(43.97)
    assert api.order(order["entity_id"])["total_invoiced"] == pytest.approx(43.97)


def test_partial_shipments_with_tracks_then_complete(api: CommerceApi) -> None:
    order = api.create_order()
    mug, tea = items_of(order)
    oid = order["entity_id"]
    first = ok(api.post(f"order/{oid}/ship", {"items": [{"order_item_id": mug, "qty": 1}], "notify": True,
                                              "tracks": [{"track_number": "1Z999", "title": "UPS",
                                                          "carrier_code": "ups"}]}))
    shipment = ok(api.get(f"shipment/{first}"))
    assert_schema(shipment, "sales-data-shipment-interface")
    assert [(i["order_item_id"], i["qty"], i["sku"]) for i in shipment["items"]] == [(mug, 1, "MUG-CERAMIC-WHT")]
    assert [(t["track_number"], t["carrier_code"], t["title"]) for t in shipment["tracks"]] == [("1Z999", "ups", "UPS")]
    assert api.order(oid)["state"] == "processing"  # a shipment registers the order as in process
    ok(api.post(f"order/{oid}/ship", {}))
    assert api.order(oid)["state"] == "processing"  # shipped but not invoiced
    ok(api.post(f"order/{oid}/invoice", {}))
    after = api.order(oid)
    assert (after["state"], after["status"]) == ("complete", "complete")
    assert [i["qty_shipped"] for i in after["items"]] == [2, 1]


def test_refunds_partial_then_full_close_the_order(api: CommerceApi) -> None:
    order = api.create_order()
    mug, _ = items_of(order)
    oid = order["entity_id"]
    ok(api.post(f"order/{oid}/invoice", {}))
    first = ok(api.post(f"order/{oid}/refund", {"items": [{"order_item_id": mug, "qty": 1}],
                                                "arguments": {"shipping_amount": 0, "adjustment_positive": 1,
                                                              "adjustment_negative": 0.5}}))
    memo = ok(api.get(f"creditmemo/{first}"))
    assert_schema(memo, "sales-data-creditmemo-interface")
    assert memo["grand_total"] == pytest.approx(12.99 + 1 - 0.5)
    assert api.order(oid)["state"] == "processing"
    ok(api.post(f"order/{oid}/refund", {}))
    after = api.order(oid)
    assert (after["state"], after["status"]) == ("closed", "closed")
    assert after["total_refunded"] == pytest.approx(43.97)
    assert [i["qty_refunded"] for i in after["items"]] == [2, 1]


def _taxed_order(api: CommerceApi) -> dict[str, Any]:
    """Three mugs (tax 3.22 on 38.97) and shipping 4.99 taxed 0.41: grand total 47.59, invoiced."""
    order = api.create_order(order_entity(
        subtotal=38.97, base_subtotal=38.97, tax_amount=3.63, base_tax_amount=3.63, shipping_tax_amount=0.41,
        base_shipping_tax_amount=0.41, grand_total=47.59, base_grand_total=47.59,
        items=[{"sku": "MUG-CERAMIC-WHT", "name": "Mug", "qty_ordered": 3, "price": 12.99, "base_price": 12.99,
                "row_total": 38.97, "tax_amount": 3.22, "ext_order_item_id": "11111111111111"}]))
    oid = order["entity_id"]
    invoice = ok(api.get(f"invoices/{ok(api.post(f'order/{oid}/invoice', {}))}"))
    assert (invoice["tax_amount"], invoice["shipping_tax_amount"], invoice["grand_total"]) == (3.63, 0.41, 47.59)
    return order


def _refund(api: CommerceApi, order: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    oid = order["entity_id"]
    return ok(api.get(f"creditmemo/{ok(api.post(f'order/{oid}/refund', body))}"))


def test_documents_take_cent_shares_of_an_item_and_its_last_units_take_what_is_left(api: CommerceApi) -> None:
    """Like Magento's total collectors: one unit of three carries a third of the row's tax rounded to the
    cent, and the item's last units take exactly what is left; the shipping tax goes with the shipping."""
    order = _taxed_order(api)
    item = order["items"][0]["item_id"]
    one = _refund(api, order, {"items": [{"order_item_id": item, "qty": 1}], "arguments": {"shipping_amount": 0}})
    assert [(line["row_total"], line["tax_amount"]) for line in one["items"]] == [(12.99, 1.07)]
    assert (one["tax_amount"], one["shipping_tax_amount"], one["grand_total"]) == (1.07, 0, 14.06)
    rest = _refund(api, order, {})
    assert [(line["row_total"], line["tax_amount"]) for line in rest["items"]] == [(25.98, 2.15)]
    assert (rest["shipping_amount"], rest["shipping_tax_amount"]) == (4.99, 0.41)
    assert rest["tax_amount"] == pytest.approx(2.15 + 0.41)
    assert rest["grand_total"] == pytest.approx(25.98 + 2.15 + 4.99 + 0.41)
    assert one["grand_total"] + rest["grand_total"] == pytest.approx(47.59)


def test_a_credit_memo_refunding_part_of_the_shipping_refunds_that_share_of_its_tax(api: CommerceApi) -> None:
    order = _taxed_order(api)
    memo = _refund(api, order, {"items": [{"order_item_id": order["items"][0]["item_id"], "qty": 1}],
                                "arguments": {"shipping_amount": 2.5}})
    assert memo["shipping_tax_amount"] == 0.21  # 0.41 × 2.50 / 4.99, to the cent
    assert memo["grand_total"] == pytest.approx(12.99 + 1.07 + 2.5 + 0.21)


def test_cancel_new_order(api: CommerceApi) -> None:
    order = api.create_order()
    assert ok(api.post(f"orders/{order['entity_id']}/cancel")) is True
    after = api.order(order["entity_id"])
    assert (after["state"], after["status"]) == ("canceled", "canceled")
    assert [i["qty_canceled"] for i in after["items"]] == [2, 1]
    assert api.ledger(event="order_canceled")[0]["entity_id"] == order["entity_id"]


def test_cancel_of_a_partly_invoiced_order_keeps_it_processing(api: CommerceApi) -> None:
    order = api.create_order()
    mug, _ = items_of(order)
    ok(api.post(f"order/{order['entity_id']}/invoice", {"items": [{"order_item_id": mug, "qty": 1}]}))
    assert ok(api.post(f"orders/{order['entity_id']}/cancel")) is True
    after = api.order(order["entity_id"])
    assert after["state"] == "processing"
    assert [i["qty_canceled"] for i in after["items"]] == [1, 1]


def test_hold_and_unhold_restore_state_and_status(api: CommerceApi) -> None:
    order = api.create_order()
    oid = order["entity_id"]
    ok(api.post(f"order/{oid}/invoice", {}))
    assert ok(api.post(f"orders/{oid}/hold")) is True
    held = api.order(oid)
    assert (held["state"], held["status"]) == ("holded", "holded")
    assert (held["hold_before_state"], held["hold_before_status"]) == ("processing", "processing")
    assert ok(api.post(f"orders/{oid}/unhold")) is True
    after = api.order(oid)
    assert (after["state"], after["status"]) == ("processing", "processing") and "hold_before_state" not in after
    assert [e["event"] for e in api.ledger()][-2:] == ["order_held", "order_unheld"]


def test_comment_with_status_and_the_empty_status_pitfall(api: CommerceApi) -> None:
    order = api.create_order()
    oid = order["entity_id"]
    assert ok(api.post(f"orders/{oid}/comments", {"statusHistory": {
        "comment": "Imported from Amazon", "is_customer_notified": 0, "is_visible_on_front": 0,
        "parent_id": oid, "status": "pending"}})) is True
    assert api.order(oid)["status"] == "pending"
    assert ok(api.post(f"orders/{oid}/comments", {"statusHistory": {"comment": "no status sent"}})) is True
    blanked = api.order(oid)
    assert "status" not in blanked and blanked["state"] == "new"  # Magento blanks the status
    comments = ok(api.get(f"orders/{oid}/comments"))
    assert_schema(comments, "sales-data-order-status-history-search-result-interface")
    assert [c["comment"] for c in comments["items"]] == ["no status sent", "Imported from Amazon"]
    assert comments["total_count"] == 2
    assert [e.get("comment_status") for e in api.ledger(event="order_commented")] == ["pending", None]
    assert_magento_error(api.post(f"orders/{oid}/comments", {}), 400,
                         '"%fieldName" is required. Enter and try again.', {"fieldName": "statusHistory"})


def test_emails(api: CommerceApi) -> None:
    order = api.create_order()
    assert ok(api.post(f"orders/{order['entity_id']}/emails")) is True
    assert api.order(order["entity_id"])["email_sent"] == 1
    assert_magento_error(api.post("orders/999/emails"), 404, NO_ENTITY)


def test_add_track_to_an_existing_shipment(api: CommerceApi) -> None:
    order = api.create_order()
    shipment_id = ok(api.post(f"order/{order['entity_id']}/ship", {}))
    track = ok(api.post("shipment/track", {"entity": {
        "order_id": order["entity_id"], "parent_id": shipment_id, "track_number": "TBA123",
        "title": "Amazon Logistics", "carrier_code": "custom", "weight": None, "qty": None, "description": None}}))
    assert_schema(track, "sales-data-shipment-track-interface")
    assert track["parent_id"] == shipment_id
    assert [t["track_number"] for t in ok(api.get(f"shipment/{shipment_id}"))["tracks"]] == ["TBA123"]
    refused = api.post("shipment/track", {"entity": {"order_id": order["entity_id"], "parent_id": 999,
                                                     "track_number": "X", "carrier_code": "custom"}})
    assert_magento_error(refused, 400, "Could not save the shipment tracking.")


@pytest.mark.parametrize(("plural", "single", "action", "schema"), [
    ("invoices", "invoices", "invoice", "invoice"),
    ("shipments", "shipment", "ship", "shipment"),
    ("creditmemos", "creditmemo", "refund", "creditmemo"),
])
def test_document_lists_and_singles(api: CommerceApi, plural: str, single: str, action: str, schema: str) -> None:
    first, second = api.create_order(), api.create_order()
    for order in (first, second):
        if action == "refund":
            ok(api.post(f"order/{order['entity_id']}/invoice", {}))
        ok(api.post(f"order/{order['entity_id']}/{action}", {}))
    body = ok(api.get(plural, params={"searchCriteria[filter_groups][0][filters][0][field]": "order_id",
                                      "searchCriteria[filter_groups][0][filters][0][value]": second["entity_id"]}))
    assert_schema(body, f"sales-data-{schema}-search-result-interface")
    assert [d["order_id"] for d in body["items"]] == [second["entity_id"]] and body["total_count"] == 1
    everything = ok(api.get(plural, params={"searchCriteria[sortOrders][0][field]": "entity_id",
                                            "searchCriteria[sortOrders][0][direction]": "DESC"}))
    assert [d["order_id"] for d in everything["items"]] == [second["entity_id"], first["entity_id"]]
    assert_magento_error(api.get(f"{single}/999"), 404, NO_ENTITY)


# Refused transitions ------------------------------------------------------------------------------
def _new(api: CommerceApi) -> dict[str, Any]:
    return api.create_order()


def _invoiced(api: CommerceApi) -> dict[str, Any]:
    order = api.create_order()
    ok(api.post(f"order/{order['entity_id']}/invoice", {}))
    return order


def _canceled(api: CommerceApi) -> dict[str, Any]:
    order = api.create_order()
    assert ok(api.post(f"orders/{order['entity_id']}/cancel")) is True
    return order


def _held(api: CommerceApi) -> dict[str, Any]:
    order = _invoiced(api)
    ok(api.post(f"orders/{order['entity_id']}/hold"))
    return order


def _held_new(api: CommerceApi) -> dict[str, Any]:
    order = api.create_order()
    ok(api.post(f"orders/{order['entity_id']}/hold"))
    return order


def _complete(api: CommerceApi) -> dict[str, Any]:
    order = _invoiced(api)
    ok(api.post(f"order/{order['entity_id']}/ship", {}))
    return order


def _closed(api: CommerceApi) -> dict[str, Any]:
    order = _invoiced(api)
    ok(api.post(f"order/{order['entity_id']}/refund", {}))
    return order


def _partly_shipped(api: CommerceApi) -> dict[str, Any]:
    order = api.create_order()
    mug, _ = items_of(order)
    ok(api.post(f"order/{order['entity_id']}/ship", {"items": [{"order_item_id": mug, "qty": 2}]}))
    return order


def _mug(qty: float) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda order: {"items": [{"order_item_id": items_of(order)[0], "qty": qty}]}


INVOICE = "Invoice Document Validation Error(s):\n"
SHIPMENT = "Shipment Document Validation Error(s):\n"
CREDITMEMO = "Creditmemo Document Validation Error(s):\n"
MUG = '"MUG-CERAMIC-WHT"'

ALLOWED_BUT_FALSE = object()  # cancel answers 200 ``false`` (OrderManagementInterface::cancel)

REFUSALS = [
    ("invoice-canceled", _canceled, "order/{id}/invoice", None,
     INVOICE + "An invoice cannot be created when an order has a status of canceled\n"
               "You can't create an invoice without products."),
    ("invoice-held", _held_new, "order/{id}/invoice", None,
     INVOICE + "An invoice cannot be created when an order has a status of holded"),
    ("invoice-complete", _complete, "order/{id}/invoice", None,
     INVOICE + "An invoice cannot be created when an order has a status of complete\n"
               "You can't create an invoice without products."),
    ("invoice-nothing-left", _invoiced, "order/{id}/invoice", None,
     INVOICE + "The order does not allow an invoice to be created.\nYou can't create an invoice without products."),
    ("invoice-too-many", _new, "order/{id}/invoice", _mug(3),
     INVOICE + f"The quantity to invoice must not be greater than the uninvoiced quantity for product SKU {MUG}."),
    ("invoice-zero", _new, "order/{id}/invoice", _mug(0), INVOICE + "You can't create an invoice without products."),
    ("ship-canceled", _canceled, "order/{id}/ship", None,
     SHIPMENT + "A shipment cannot be created when an order has a status of canceled\n"
                "You can't create a shipment without products."),
    ("ship-held", _held, "order/{id}/ship", None,
     SHIPMENT + "A shipment cannot be created when an order has a status of holded"),
    ("ship-fully-shipped", _complete, "order/{id}/ship", None,
     SHIPMENT + "The order does not allow a shipment to be created.\nYou can't create a shipment without products."),
    ("ship-beyond-unshipped", _partly_shipped, "order/{id}/ship", _mug(1),
     SHIPMENT + f"The quantity to ship must not be greater than the unshipped quantity for product SKU {MUG}."),
    ("ship-unknown-item", _new, "order/{id}/ship", lambda order: {"items": [{"order_item_id": 999, "qty": 1}]},
     SHIPMENT + 'The shipment contains product SKU "999" that is not part of the original order.\n'
                "You can't create a shipment without products."),
    ("refund-not-invoiced", _new, "order/{id}/refund", None,
     CREDITMEMO + "The order does not allow a creditmemo to be created.\n"
                  "The credit memo's total must be positive."),
    ("refund-beyond-invoiced", _invoiced, "order/{id}/refund", _mug(3),
     CREDITMEMO + "The quantity to creditmemo must not be greater than the unrefunded quantity for product "
                  f"SKU {MUG}."),
    ("refund-held", _held, "order/{id}/refund", None,
     CREDITMEMO + "A creditmemo can not be created when an order has a status of holded"),
    ("refund-closed", _closed, "order/{id}/refund", None,
     CREDITMEMO + "A creditmemo can not be created when an order has a status of closed\n"
                  "The credit memo's total must be positive."),
    ("refund-canceled", _canceled, "order/{id}/refund", None,
     CREDITMEMO + "A creditmemo can not be created when an order has a status of canceled\n"
                  "The credit memo's total must be positive."),
    ("refund-shipping-beyond-invoiced", _invoiced, "order/{id}/refund",
     lambda order: {"arguments": {"shipping_amount": 10}},
     CREDITMEMO + "Maximum shipping amount allowed to refund is: 4.99"),
    ("refund-nothing-at-all", _invoiced, "order/{id}/refund",
     lambda order: {"items": [{"order_item_id": items_of(order)[0], "qty": 0}], "arguments": {"shipping_amount": 0}},
     CREDITMEMO + "The credit memo's total must be positive."),
    ("refund-more-money-than-paid", _invoiced, "order/{id}/refund",
     lambda order: {"arguments": {"adjustment_positive": 100}}, "The most money available to refund is %1."),
    ("hold-canceled", _canceled, "orders/{id}/hold", None, "A hold action is not available."),
    ("hold-held", _held, "orders/{id}/hold", None, "A hold action is not available."),
    ("hold-complete", _complete, "orders/{id}/hold", None, "A hold action is not available."),
    ("hold-closed", _closed, "orders/{id}/hold", None, "A hold action is not available."),
    ("unhold-not-held", _invoiced, "orders/{id}/unhold", None, "You cannot remove the hold."),
    ("cancel-fully-invoiced", _invoiced, "orders/{id}/cancel", None, ALLOWED_BUT_FALSE),
    ("cancel-held", _held_new, "orders/{id}/cancel", None, ALLOWED_BUT_FALSE),
    ("cancel-complete", _complete, "orders/{id}/cancel", None, ALLOWED_BUT_FALSE),
    ("cancel-closed", _closed, "orders/{id}/cancel", None, ALLOWED_BUT_FALSE),
    ("cancel-canceled", _canceled, "orders/{id}/cancel", None, ALLOWED_BUT_FALSE),
]


def _snapshot(api: CommerceApi, order_id: int) -> dict[str, Any]:
    everything = {"searchCriteria": ""}
    return {"order": api.order(order_id), "ledger": api.ledger(),
            **{kind: ok(api.get(kind, params=everything)) for kind in ("invoices", "shipments", "creditmemos")}}


@pytest.mark.parametrize(("setup", "path", "body", "message"), [r[1:] for r in REFUSALS],
                         ids=[r[0] for r in REFUSALS])
def test_refused_transition_answers_magento_message_and_changes_nothing(
        api: CommerceApi, setup: Callable[[CommerceApi], dict[str, Any]], path: str,
        body: Callable[[dict[str, Any]], dict[str, Any]] | None, message: object) -> None:
    order = setup(api)
    before = _snapshot(api, order["entity_id"])
    response = api.post(path.format(id=order["entity_id"]), body(before["order"]) if body else {})
    if message is ALLOWED_BUT_FALSE:
        assert response.status_code == 200 and response.json() is False
    else:
        assert_magento_error(response, 400, str(message))
    assert _snapshot(api, order["entity_id"]) == before


@pytest.mark.parametrize("path", ["order/999/invoice", "order/999/ship", "order/999/refund", "orders/999/cancel",
                                  "orders/999/hold", "orders/999/unhold", "orders/999/emails"])
def test_actions_on_an_unknown_order_answer_404(api: CommerceApi, path: str) -> None:
    assert_magento_error(api.post(path, {}), 404, NO_ENTITY)
    assert api.ledger() == []


def test_comments_of_an_unknown_order_answer_404(api: CommerceApi) -> None:
    assert_magento_error(api.get("orders/999/comments"), 404, NO_ENTITY)
    assert_magento_error(api.post("orders/999/comments", {"statusHistory": {"comment": "x"}}), 404, NO_ENTITY)


def test_shipping_only_credit_memo(api: CommerceApi) -> None:
    order = _invoiced(api)
    mug, _ = items_of(order)
    memo_id = ok(api.post(f"order/{order['entity_id']}/refund",  # no items listed would mean every item
                          {"items": [{"order_item_id": mug, "qty": 0}], "arguments": {"shipping_amount": 4.99}}))
    memo = ok(api.get(f"creditmemo/{memo_id}"))
    assert (memo["grand_total"], memo["shipping_amount"], memo["items"]) == (4.99, 4.99, [])
    assert api.order(order["entity_id"])["state"] == "processing"
