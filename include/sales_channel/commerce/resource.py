"""The base of every Commerce resource (orders, invoices, ...): one shared transport, and the search
helpers they all page and look up with.

Reads page by ``entity_id > last seen`` (never by page number) and look many entities up in one call
per chunk of values; ``_updated`` bounds a search by ``updated_at`` for the incremental reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from sales_channel.commerce.models import SearchResult, to_decimal
from sales_channel.commerce.search import Chunking, Condition, SearchCriteria
from sales_channel.commerce.transport import Transport

Quantities = Mapping[int, Decimal | int]
"""order_item_id -> quantity, for partial invoices, shipments and refunds."""


class _FromApi(Protocol):
    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Any: ...


M = TypeVar("M", bound=_FromApi)


class Resource:
    """One REST resource of a store view, sharing the client's transport, page size and chunking."""

    def __init__(self, transport: Transport, page_size: int, chunking: Chunking) -> None:
        self._transport = transport
        self.page_size = page_size
        self.chunking = chunking

    def _search_page(self, template: str, criteria: SearchCriteria, model: type[M]) -> SearchResult[M]:
        body = self._transport.call("GET", template, params=criteria.to_params(), idempotent=True)
        return SearchResult([model.from_api(item) for item in body.get("items") or ()],
                            int(body.get("total_count") or 0))

    def _iterate(self, template: str, criteria: SearchCriteria, model: type[M], *,
                 page_size: int | None = None) -> Iterator[M]:
        """Every match, paged by ``entity_id > last seen`` sorted ascending, always page 1.

        Immune to Magento's page-number quirks: a page past the end never gets requested (it would
        repeat the last page), and rows inserted or removed meanwhile cannot shift others between pages.
        Stops on a short page or when a page holds all that ``total_count`` says is left; a page with no
        row beyond the last one seen (a server ignoring the filter) also stops, instead of looping.
        """
        size = page_size or criteria.page_size or self.page_size
        base = criteria.without_sort().sort_by("entity_id", "ASC")
        last_id: int | None = None
        while True:
            page_criteria = base if last_id is None else base.where("entity_id", last_id, Condition.GT)
            body = self._transport.call("GET", template, params=page_criteria.page(size, 1).to_params(),
                                        idempotent=True)
            rows = body.get("items") or []
            fresh = sorted((row for row in rows if last_id is None or int(row["entity_id"]) > last_id),
                           key=lambda row: int(row["entity_id"]))
            for row in fresh:
                yield model.from_api(row)
            if not fresh:
                return
            last_id = int(fresh[-1]["entity_id"])
            if len(rows) < size or len(rows) >= int(body.get("total_count") or 0):
                return

    def _lookup(self, template: str, field_name: str, values: Sequence[str], model: type[M]) -> Iterator[M]:
        """``field in (values)``, one call per chunk of values (more only if a chunk overflows a page)."""
        for chunk in self.chunking.split(field_name, values):
            yield from self._iterate(template, SearchCriteria().where(field_name, chunk, Condition.IN), model)

    def _by_entity_ids(self, template: str, entity_ids: Iterable[int], model: type[M], what: str) -> dict[int, M]:
        """entity_id -> entity for the ids that exist (unknown ones are absent), one call per chunk."""
        found = self._lookup(template, "entity_id", self._strings(entity_ids, what), model)
        return {entity.entity_id: entity for entity in found}

    @staticmethod
    def _updated(since: datetime, until: datetime | None, criteria: SearchCriteria | None = None) -> SearchCriteria:
        """``since <= updated_at < until``. Magento compares whole seconds (the bounds are truncated),
        so consecutive windows ``[a, b)``, ``[b, c)`` neither miss nor repeat an entity."""
        if until is not None and until <= since:
            raise ValueError(f"updated_at window: until ({until.isoformat()}) must be after since "
                             f"({since.isoformat()})")
        bounded = (criteria or SearchCriteria()).where("updated_at", since, Condition.GTEQ)
        return bounded if until is None else bounded.where("updated_at", until, Condition.LT)

    @staticmethod
    def _strings(values: Iterable[Any], what: str) -> list[str]:
        if isinstance(values, str):
            raise ValueError(f"{what}: expected a list of values, got the string {values!r}")
        return [str(v) for v in values]

    @staticmethod
    def _item_quantities(items: Quantities | None, what: str) -> list[dict[str, Any]]:
        if not items:
            return []
        body = []
        for order_item_id, qty in items.items():
            qty = to_decimal(qty)
            if qty <= 0:
                raise ValueError(f"{what}: quantity for order item {order_item_id} must be > 0, got {qty}")
            body.append({"order_item_id": int(order_item_id), "qty": qty})
        return body

    @staticmethod
    def _with_comment(body: dict[str, Any], comment: str | None) -> dict[str, Any]:
        """A document's body with ``comment`` appended (not visible on the storefront)."""
        if comment:
            body |= {"appendComment": True, "comment": {"comment": comment, "is_visible_on_front": 0}}
        return body
