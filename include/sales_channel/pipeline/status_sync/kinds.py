"""The outbox kinds of the status sync, shared by both of its directions (and the DAG's feeds).

Each state-changing call the sync makes is an outbox row of one of these kinds, unique on its source:

* ``amazon_order_cancel`` — cancel an Amazon order (sent in an order-acknowledgement feed); source
  ``<seller account>/<Amazon order id>`` (``amazon_cancel_source``), so an order is cancelled on
  Amazon at most once whatever asked for it (the merchant in Commerce, or a buyer's request);
* ``amazon_shipment_confirm`` — one confirmShipment package per Commerce shipment; source
  ``<store key>/shipment/<shipment id>`` (``status_sync.to_amazon``, sent by ``status_sync.shipments``);
* ``amazon_refund`` — one refund per Commerce credit memo (a payment-adjustment feed); source
  ``<store key>/<Amazon order id>/creditmemo/<credit memo id>``;
* ``commerce_order_comment``, ``commerce_order_cancel``, ``commerce_order_invoice`` — effects on a
  Commerce order (``status_sync.commerce_effects``); source ``<store key>/<Amazon order id>/<topic>``.
"""

from __future__ import annotations

AMAZON_CANCEL_KIND = "amazon_order_cancel"
CONFIRM_KIND = "amazon_shipment_confirm"
REFUND_KIND = "amazon_refund"
COMMENT_KIND = "commerce_order_comment"
CANCEL_KIND = "commerce_order_cancel"
INVOICE_KIND = "commerce_order_invoice"


def amazon_cancel_source(seller_account: str, amazon_order_id: str) -> str:
    """The source of an Amazon order's cancel row: one per order."""
    return f"{seller_account}/{amazon_order_id}"
