"""Order links: the one Commerce order made for each Amazon order."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import InstrumentedAttribute

from sales_channel.store._sql import Clock, Sessions, chunked, insert_for, utc_now
from sales_channel.store.models import OrderLink

K = TypeVar("K", str, int)


@dataclass(frozen=True)
class LinkResult:
    """``link`` is the stored link; ``created`` is False when one already existed (made by another run:
    then ``link`` may name a different Commerce order than the one just offered)."""

    link: OrderLink
    created: bool


class LinkRepository:
    def __init__(self, sessions: Sessions, clock: Clock = utc_now) -> None:
        self._sessions, self._clock = sessions, clock

    def create(self, seller_account: str, amazon_order_id: str, *, commerce_entity_id: int,
               commerce_increment_id: str, store_code: str) -> LinkResult:
        """Link an Amazon order to its Commerce order, unless it is linked already.

        Never raises on the unique conflict and never makes two rows: concurrent creators for one
        order all get the same (first) link back.
        """
        values = {"seller_account": seller_account, "amazon_order_id": amazon_order_id,
                  "commerce_entity_id": commerce_entity_id, "commerce_increment_id": commerce_increment_id,
                  "store_code": store_code, "created_at": self._clock()}
        with self._sessions.write() as session:
            inserted = session.execute(insert_for(session)(OrderLink).values(**values).on_conflict_do_nothing(
                index_elements=["seller_account", "amazon_order_id"]).returning(OrderLink.id)).scalar()
            link = session.scalars(select(OrderLink).where(
                OrderLink.seller_account == seller_account, OrderLink.amazon_order_id == amazon_order_id)).one()
            return LinkResult(link, created=inserted is not None)

    def move(self, seller_account: str, amazon_order_id: str, *, from_entity_id: int, to_entity_id: int,
             to_increment_id: str) -> bool:
        """Point the link at the order that replaced its Commerce order (an admin edit cancels the order
        and creates a ``-1`` copy). False when the link no longer names ``from_entity_id``: moved already,
        or by another run."""
        with self._sessions.write() as session:
            return bool(session.execute(update(OrderLink).where(
                OrderLink.seller_account == seller_account, OrderLink.amazon_order_id == amazon_order_id,
                OrderLink.commerce_entity_id == from_entity_id,
            ).values(commerce_entity_id=to_entity_id, commerce_increment_id=to_increment_id)).rowcount)

    def get(self, seller_account: str, amazon_order_id: str) -> OrderLink | None:
        return self.get_many(seller_account, [amazon_order_id]).get(amazon_order_id)

    def get_many(self, seller_account: str, amazon_order_ids: Iterable[str]) -> dict[str, OrderLink]:
        """The links of a batch of orders, by Amazon order id (one query per 1000 ids)."""
        return self._batch(OrderLink.seller_account == seller_account, OrderLink.amazon_order_id, amazon_order_ids)

    def get_by_commerce_ids(self, store_code: str, entity_ids: Iterable[int]) -> dict[int, OrderLink]:
        """The links of a batch of Commerce orders of one store, by Commerce entity_id."""
        return self._batch(OrderLink.store_code == store_code, OrderLink.commerce_entity_id, entity_ids)

    def _batch(self, scope: ColumnElement[bool], key: InstrumentedAttribute[K], values: Iterable[K]) -> dict[K, OrderLink]:
        found: dict[K, OrderLink] = {}
        with self._sessions.read() as session:
            for batch in chunked(dict.fromkeys(values)):
                found.update((getattr(link, key.key), link)
                             for link in session.scalars(select(OrderLink).where(scope, key.in_(batch))))
        return found
