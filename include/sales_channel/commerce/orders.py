"""Orders (``/V1/orders``): create, read, search, incremental reads by ``updated_at``, comments and the
order actions (cancel, hold, unhold, email).

    by_ext_id = client.orders.find_by_ext_order_ids(["113-1234567-1234567", ...])
    order = client.orders.create({...})          # AmbiguousWriteError -> look up by ext_order_id first
    client.orders.add_comment(order.entity_id, "Imported from Amazon", status=order.status)
    for order in client.orders.iter_updated(since, until=until): ...
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from sales_channel.commerce.models import Order, SearchResult, StatusHistory
from sales_channel.commerce.resource import Resource
from sales_channel.commerce.search import SearchCriteria

_ORDERS = "/V1/orders"


class Orders(Resource):
    """The store's orders and their status history."""

    def create(self, entity: Mapping[str, Any]) -> Order:
        """Save a new order (``POST /V1/orders``). Never retried once sent: on ``AmbiguousWriteError``
        look it up by ``ext_order_id`` before creating again."""
        ext_order_id = entity.get("ext_order_id")
        where = f"order {ext_order_id}" if ext_order_id else "order"
        if "entity_id" in entity:
            raise ValueError(f"{where}: entity_id given; that would update an existing order, not create one")
        for name in ("base_grand_total", "grand_total", "customer_email"):
            if entity.get(name) in (None, ""):
                raise ValueError(f"{where}: {name} is required")
        items = entity.get("items")
        if not items:
            raise ValueError(f"{where}: items must hold at least one item")
        for index, item in enumerate(items):
            if not item.get("sku"):
                raise ValueError(f"{where}: items[{index}].sku is required")
        body = self._transport.call("POST", _ORDERS, body={"entity": dict(entity)}, idempotent=False,
                                    lookup={"ext_order_id": ext_order_id} if ext_order_id else None)
        return Order.from_api(body)

    def get(self, order_id: int) -> Order:
        return Order.from_api(self._transport.call("GET", "/V1/orders/{id}", path={"id": int(order_id)},
                                                   idempotent=True))

    def get_many(self, entity_ids: Iterable[int]) -> dict[int, Order]:
        """entity_id -> order for the ids that exist (unknown ones are absent), one call per chunk."""
        return self._by_entity_ids(_ORDERS, entity_ids, Order, "entity_ids")

    def search(self, criteria: SearchCriteria) -> SearchResult[Order]:
        """One page, exactly as asked (for paging through everything use ``iterate``)."""
        return self._search_page(_ORDERS, criteria, Order)

    def iterate(self, criteria: SearchCriteria | None = None, page_size: int | None = None) -> Iterator[Order]:
        """Every order matching ``criteria``, ascending by entity_id (the criteria's sort is replaced)."""
        return self._iterate(_ORDERS, criteria or SearchCriteria(), Order, page_size=page_size)

    def iter_updated(self, since: datetime, *, until: datetime | None = None,
                     criteria: SearchCriteria | None = None, page_size: int | None = None) -> Iterator[Order]:
        """Orders with ``since <= updated_at < until`` (aware datetimes; ``until`` open when None) that
        also match ``criteria``, ascending by entity_id.

        An order saved again while the pages are read can be missed by this pass (its id may be behind
        the cursor), but its new ``updated_at`` is then >= the pass's start: fix ``until`` before reading
        and start the next window there."""
        return self._iterate(_ORDERS, self._updated(since, until, criteria), Order, page_size=page_size)

    def find_by_ext_order_ids(self, ext_order_ids: Iterable[str]) -> dict[str, list[Order]]:
        """Every requested ext_order_id -> its orders (usually one; none if absent; more is a duplicate)."""
        wanted = self._strings(ext_order_ids, "ext_order_ids")
        found: dict[str, list[Order]] = {ext_id: [] for ext_id in wanted}
        for order in self._lookup(_ORDERS, "ext_order_id", wanted, Order):
            if order.ext_order_id in found:
                found[order.ext_order_id].append(order)
        return found

    def add_comment(self, order_id: int, comment: str, *, status: str | None = None,
                    notify_customer: bool = False, visible_on_front: bool = False) -> None:
        """Add a comment, always re-sending the order's current status (an empty status blanks the
        order's status on real installs). Without ``status`` the current one is read first."""
        if not comment:
            raise ValueError(f"order {order_id}: comment text is required")
        status = status or self._current_status(order_id)
        if not status:
            raise ValueError(f"order {order_id}: has no status to keep; refusing to blank it with a comment")
        history = {"comment": comment, "is_customer_notified": int(notify_customer),
                   "is_visible_on_front": int(visible_on_front), "parent_id": int(order_id), "status": status}
        self._transport.call("POST", "/V1/orders/{id}/comments", path={"id": int(order_id)},
                             body={"statusHistory": history}, idempotent=False, lookup={"order_id": order_id})

    def _current_status(self, order_id: int) -> str:
        # ``fields`` trims the answer to the status: no buyer data crosses the wire for it.
        body = self._transport.call("GET", "/V1/orders/{id}", path={"id": int(order_id)},
                                    params={"fields": "status"}, idempotent=True)
        return str((body or {}).get("status") or "")

    def list_comments(self, order_id: int) -> list[StatusHistory]:
        body = self._transport.call("GET", "/V1/orders/{id}/comments", path={"id": int(order_id)},
                                    idempotent=True)
        return [StatusHistory.from_api(item) for item in body.get("items") or ()]

    def _action(self, order_id: int, action: str) -> bool:
        return bool(self._transport.call("POST", f"/V1/orders/{{id}}/{action}", path={"id": int(order_id)},
                                         idempotent=False, lookup={"order_id": order_id}))

    def cancel(self, order_id: int) -> bool:
        """Cancel; False when Commerce refuses (fully invoiced, complete, on hold, closed, canceled).
        On an ambiguous failure re-read the order's state rather than cancelling again."""
        return self._action(order_id, "cancel")

    def hold(self, order_id: int) -> bool:
        return self._action(order_id, "hold")

    def unhold(self, order_id: int) -> bool:
        return self._action(order_id, "unhold")

    def send_email(self, order_id: int) -> bool:
        """Send the order confirmation email (not retried: a retry could email the buyer twice)."""
        return self._action(order_id, "emails")
