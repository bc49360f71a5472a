"""Shipments (``/V1/order/{id}/ship``, ``/V1/shipments``, ``/V1/shipment/track``): create, read, list
per order, incremental reads, tracking numbers.

Magento saves a track added later (``add_track``) on its own row: the shipment's ``updated_at`` stays
as it was, so ``iter_updated`` does not see a track added to an existing shipment.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sales_channel.commerce.models import Shipment, Track
from sales_channel.commerce.resource import Quantities, Resource
from sales_channel.commerce.search import Condition, SearchCriteria

_SHIPMENTS = "/V1/shipments"


class Shipments(Resource):
    """The store's shipments and their tracking numbers."""

    def create(self, order_id: int, items: Quantities | None = None, tracks: Sequence[Track] = (), *,
               notify: bool = False, comment: str | None = None) -> int:
        """Ship ``items`` (order_item_id -> qty; None ships everything left) with tracking numbers;
        returns the shipment id. On ``AmbiguousWriteError`` list the order's shipments first."""
        body: dict[str, Any] = {"items": self._item_quantities(items, f"order {order_id} shipment"),
                                "notify": notify, "tracks": [track.creation_body() for track in tracks]}
        return int(self._transport.call("POST", "/V1/order/{orderId}/ship", path={"orderId": int(order_id)},
                                        body=self._with_comment(body, comment), idempotent=False,
                                        lookup={"order_id": order_id}))

    def get(self, shipment_id: int) -> Shipment:
        return Shipment.from_api(self._transport.call("GET", "/V1/shipment/{id}", path={"id": int(shipment_id)},
                                                      idempotent=True))

    def get_many(self, shipment_ids: Iterable[int]) -> dict[int, Shipment]:
        """entity_id -> shipment for the ids that exist (unknown ones are absent), one call per chunk."""
        return self._by_entity_ids(_SHIPMENTS, shipment_ids, Shipment, "shipment_ids")

    def for_orders(self, order_ids: Iterable[int]) -> list[Shipment]:
        """All shipments of these orders, in one call per chunk of order ids."""
        return list(self._lookup(_SHIPMENTS, "order_id", self._strings(order_ids, "order_ids"), Shipment))

    def iter_created_after(self, since: datetime, *, page_size: int | None = None) -> Iterator[Shipment]:
        """Shipments with ``created_at > since`` (aware datetime), ascending by entity_id."""
        return self._iterate(_SHIPMENTS, SearchCriteria().where("created_at", since, Condition.GT),
                             Shipment, page_size=page_size)

    def iter_updated(self, since: datetime, *, until: datetime | None = None,
                     criteria: SearchCriteria | None = None, page_size: int | None = None) -> Iterator[Shipment]:
        """Shipments with ``since <= updated_at < until`` (``until`` open when None) that also match
        ``criteria``, ascending by entity_id (see ``Orders.iter_updated`` for choosing the window)."""
        return self._iterate(_SHIPMENTS, self._updated(since, until, criteria), Shipment, page_size=page_size)

    def add_track(self, shipment_id: int, order_id: int, track: Track) -> Track:
        """Add a tracking number to an existing shipment (``POST /V1/shipment/track``)."""
        entity = {**track.creation_body(), "parent_id": int(shipment_id), "order_id": int(order_id),
                  # required by the schema, informational only
                  "weight": 0, "qty": 0, "description": ""}
        body = self._transport.call("POST", "/V1/shipment/track", body={"entity": entity}, idempotent=False,
                                    lookup={"shipment_id": shipment_id})
        return Track.from_api(body)
