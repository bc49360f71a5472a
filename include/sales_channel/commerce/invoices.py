"""Invoices (``/V1/order/{id}/invoice``, ``/V1/invoices``): create, read, list per order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sales_channel.commerce.models import Invoice
from sales_channel.commerce.resource import Quantities, Resource


class Invoices(Resource):
    """The store's invoices."""

    def create(self, order_id: int, items: Quantities | None = None, *, capture: bool = False,
               notify: bool = False, comment: str | None = None) -> int:
        """Invoice ``items`` (order_item_id -> qty; None invoices everything left); returns the invoice id.
        On ``AmbiguousWriteError`` list the order's invoices first."""
        body: dict[str, Any] = {"capture": capture, "notify": notify,
                                "items": self._item_quantities(items, f"order {order_id} invoice")}
        return int(self._transport.call("POST", "/V1/order/{orderId}/invoice", path={"orderId": int(order_id)},
                                        body=self._with_comment(body, comment), idempotent=False,
                                        lookup={"order_id": order_id}))

    def get(self, invoice_id: int) -> Invoice:
        return Invoice.from_api(self._transport.call("GET", "/V1/invoices/{id}", path={"id": int(invoice_id)},
                                                     idempotent=True))

    def for_orders(self, order_ids: Iterable[int]) -> list[Invoice]:
        """All invoices of these orders, in one call per chunk of order ids."""
        return list(self._lookup("/V1/invoices", "order_id", self._strings(order_ids, "order_ids"), Invoice))
