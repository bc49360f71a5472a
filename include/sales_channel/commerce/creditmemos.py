"""Credit memos (``/V1/order/{id}/refund``, ``/V1/creditmemos``): offline refunds, read, list per order,
incremental reads."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from sales_channel.commerce.models import CreditMemo, to_decimal
from sales_channel.commerce.resource import Quantities, Resource
from sales_channel.commerce.search import Condition, SearchCriteria

_CREDIT_MEMOS = "/V1/creditmemos"


class CreditMemos(Resource):
    """The store's credit memos."""

    def create(self, order_id: int, items: Quantities | None = None, *,
               shipping_amount: Decimal | None = None, adjustment_positive: Decimal | None = None,
               adjustment_negative: Decimal | None = None, notify: bool = False,
               comment: str | None = None) -> int:
        """Offline refund of invoiced ``items`` (order_item_id -> qty); returns the credit memo id.
        On ``AmbiguousWriteError`` list the order's credit memos first."""
        body: dict[str, Any] = {"items": self._item_quantities(items, f"order {order_id} refund"), "notify": notify}
        arguments = {name: to_decimal(value) for name, value in (
            ("shipping_amount", shipping_amount), ("adjustment_positive", adjustment_positive),
            ("adjustment_negative", adjustment_negative)) if value is not None}
        if arguments:
            body["arguments"] = arguments
        return int(self._transport.call("POST", "/V1/order/{orderId}/refund", path={"orderId": int(order_id)},
                                        body=self._with_comment(body, comment), idempotent=False,
                                        lookup={"order_id": order_id}))

    def get(self, credit_memo_id: int) -> CreditMemo:
        return CreditMemo.from_api(self._transport.call("GET", "/V1/creditmemo/{id}",
                                                        path={"id": int(credit_memo_id)}, idempotent=True))

    def for_orders(self, order_ids: Iterable[int]) -> list[CreditMemo]:
        """All credit memos of these orders, in one call per chunk of order ids."""
        return list(self._lookup(_CREDIT_MEMOS, "order_id", self._strings(order_ids, "order_ids"), CreditMemo))

    def iter_created_after(self, since: datetime, *, page_size: int | None = None) -> Iterator[CreditMemo]:
        """Credit memos with ``created_at > since`` (aware datetime), ascending by entity_id."""
        return self._iterate(_CREDIT_MEMOS, SearchCriteria().where("created_at", since, Condition.GT),
                             CreditMemo, page_size=page_size)

    def iter_updated(self, since: datetime, *, until: datetime | None = None,
                     criteria: SearchCriteria | None = None, page_size: int | None = None) -> Iterator[CreditMemo]:
        """Credit memos with ``since <= updated_at < until`` (``until`` open when None) that also match
        ``criteria``, ascending by entity_id (see ``Orders.iter_updated`` for choosing the window)."""
        return self._iterate(_CREDIT_MEMOS, self._updated(since, until, criteria), CreditMemo, page_size=page_size)
