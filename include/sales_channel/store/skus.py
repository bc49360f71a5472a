"""SKU map: Amazon seller SKUs whose Commerce SKU differs (remembered manual links)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select

from sales_channel.store._sql import Clock, Sessions, chunked, insert_for, utc_now
from sales_channel.store.models import SkuMapping


class SkuMapRepository:
    def __init__(self, sessions: Sessions, clock: Clock = utc_now) -> None:
        self._sessions, self._clock = sessions, clock

    def put(self, seller_account: str, amazon_seller_sku: str, commerce_sku: str) -> None:
        """Map (or re-map) an Amazon seller SKU to a Commerce SKU."""
        if not commerce_sku:
            raise ValueError(f"sku_map {seller_account}/{amazon_seller_sku}: field commerce_sku is empty")
        with self._sessions.write() as session:
            statement = insert_for(session)(SkuMapping).values(
                seller_account=seller_account, amazon_seller_sku=amazon_seller_sku, commerce_sku=commerce_sku,
                updated_at=self._clock())
            session.execute(statement.on_conflict_do_update(
                index_elements=["seller_account", "amazon_seller_sku"],
                set_={"commerce_sku": statement.excluded.commerce_sku, "updated_at": statement.excluded.updated_at}))

    def remove(self, seller_account: str, amazon_seller_sku: str) -> bool:
        with self._sessions.write() as session:
            return bool(session.execute(delete(SkuMapping).where(
                SkuMapping.seller_account == seller_account,
                SkuMapping.amazon_seller_sku == amazon_seller_sku)).rowcount)

    def get(self, seller_account: str, amazon_seller_sku: str) -> str | None:
        return self.get_many(seller_account, [amazon_seller_sku]).get(amazon_seller_sku)

    def get_many(self, seller_account: str, amazon_seller_skus: Iterable[str]) -> dict[str, str]:
        """Commerce SKUs of the mapped ones among ``amazon_seller_skus`` (unmapped SKUs are absent:
        they are the same in Commerce)."""
        found: dict[str, str] = {}
        with self._sessions.read() as session:
            for batch in chunked(dict.fromkeys(amazon_seller_skus)):
                found.update(session.execute(select(SkuMapping.amazon_seller_sku, SkuMapping.commerce_sku).where(
                    SkuMapping.seller_account == seller_account,
                    SkuMapping.amazon_seller_sku.in_(batch))).tuples().all())
        return found

    def all(self, seller_account: str) -> dict[str, str]:
        """Every mapping of the seller account: Amazon seller SKU → Commerce SKU."""
        with self._sessions.read() as session:
            return dict(session.execute(select(SkuMapping.amazon_seller_sku, SkuMapping.commerce_sku).where(
                SkuMapping.seller_account == seller_account)).tuples().all())
