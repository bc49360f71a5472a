"""Order snapshots: the latest state of each Amazon order as read, without buyer PII."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from sales_channel.domain.amazon_order import MAX_NESTING, ORDER_ID_PATTERN, nesting_beyond
from sales_channel.domain.errors import shown
from sales_channel.store._sql import Clock, Sessions, chunked, insert_for, utc_now
from sales_channel.store.models import AmazonOrder, OrderLink
from sales_channel.store.sanitize import strip_buyer_pii
from sales_channel.store.types import checked_money


@dataclass(frozen=True)
class OrderSnapshot:
    """What is stored of one Amazon order. ``raw`` must already be free of buyer data: build it
    with ``OrderSnapshot.from_amazon``, which strips it."""

    seller_account: str
    amazon_order_id: str
    created_time: datetime
    last_updated_time: datetime
    raw: dict[str, Any]
    marketplace_id: str | None = None
    fulfillment_channel: str | None = None
    status: str | None = None
    order_total: Decimal | None = None
    currency: str | None = None
    content_hash: str = field(init=False)

    def __post_init__(self) -> None:
        if strip_buyer_pii(self.raw) != self.raw:
            raise ValueError(f"order {self.amazon_order_id}: raw snapshot holds buyer data; "
                             "use OrderSnapshot.from_amazon to strip it")
        canonical = json.dumps(self.raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        object.__setattr__(self, "content_hash", hashlib.sha256(canonical.encode()).hexdigest())

    @classmethod
    def from_amazon(cls, seller_account: str, order: Any) -> OrderSnapshot:
        """A snapshot of an Orders API v2026-01-01 ``Order``, buyer and recipient data removed.

        ``order`` may be any JSON value: ValueError (naming the order and the field, never a buyer
        value) when it has no Amazon order id, no readable times, an amount that is not money, or
        nests deeper than ``MAX_NESTING`` (it could not be stored as JSON). The searchable columns
        take what fits them and are left empty otherwise: the import quarantines such orders anyway."""
        if not isinstance(order, Mapping):
            raise ValueError(f"Amazon order: not a JSON object ({shown(order)})")
        order_id = order.get("orderId")
        if not isinstance(order_id, str) or not order_id:
            raise ValueError("Amazon order: field orderId is missing")
        if not ORDER_ID_PATTERN.fullmatch(order_id):
            raise ValueError(f"Amazon order {shown(order_id)}: field orderId is not an Amazon order id")
        if (deep := nesting_beyond(order)) is not None:
            raise ValueError(f"Amazon order {order_id}: field {deep} nests deeper than {MAX_NESTING} levels")
        grand_total = _field(order, "proceeds", "grandTotal")
        return cls(
            seller_account=seller_account,
            amazon_order_id=order_id,
            created_time=_timestamp(order, "createdTime"),
            last_updated_time=_timestamp(order, "lastUpdatedTime"),
            raw=strip_buyer_pii(dict(order)),
            marketplace_id=_column_text(AmazonOrder.marketplace_id, _field(order, "salesChannel", "marketplaceId")),
            fulfillment_channel=_column_text(AmazonOrder.fulfillment_channel,
                                             _field(order, "fulfillment", "fulfilledBy")),
            status=_column_text(AmazonOrder.status, _field(order, "fulfillment", "fulfillmentStatus")),
            order_total=_amount(order_id, _field(grand_total, "amount")),
            currency=_column_text(AmazonOrder.currency, _field(grand_total, "currencyCode")),
        )


class SnapshotRepository:
    def __init__(self, sessions: Sessions, clock: Clock = utc_now) -> None:
        self._sessions, self._clock = sessions, clock

    def upsert(self, snapshot: OrderSnapshot) -> bool:
        """Store ``snapshot``; True when its content is new or changed (False when identical, or older
        than the stored one: a stale read from an overlapping run never replaces a newer snapshot)."""
        return self.upsert_many([snapshot])[0]

    def upsert_many(self, snapshots: Sequence[OrderSnapshot]) -> list[bool]:
        """``upsert`` for a batch, in one transaction; the flags are in the order of ``snapshots``."""
        now = self._clock()
        with self._sessions.write() as session:
            return [self._upsert(session, snapshot, now) for snapshot in snapshots]

    def get(self, seller_account: str, amazon_order_id: str) -> AmazonOrder | None:
        with self._sessions.read() as session:
            return session.get(AmazonOrder, (seller_account, amazon_order_id))

    def get_many(self, seller_account: str, amazon_order_ids: Iterable[str]) -> dict[str, AmazonOrder]:
        """The stored snapshots among ``amazon_order_ids``, by order id."""
        found: dict[str, AmazonOrder] = {}
        with self._sessions.read() as session:
            for batch in chunked(dict.fromkeys(amazon_order_ids)):
                rows = session.scalars(select(AmazonOrder).where(
                    AmazonOrder.seller_account == seller_account, AmazonOrder.amazon_order_id.in_(batch)))
                found.update((row.amazon_order_id, row) for row in rows)
        return found

    def count_created(self, seller_account: str, marketplace_ids: Sequence[str], since: datetime,
                      until: datetime) -> int:
        """How many orders of these marketplaces created in ``[since, until)`` the channel database knows."""
        with self._sessions.read() as session:
            return session.scalar(select(func.count()).select_from(AmazonOrder).where(
                AmazonOrder.seller_account == seller_account, AmazonOrder.marketplace_id.in_(list(marketplace_ids)),
                AmazonOrder.created_time >= since, AmazonOrder.created_time < until)) or 0

    def linked_changed(self, seller_account: str, marketplace_ids: Sequence[str], store_code: str, *,
                       since: datetime, until: datetime, after: tuple[datetime, str] | None = None,
                       limit: int = 100) -> list[tuple[AmazonOrder, OrderLink]]:
        """The snapshots of linked orders (of these marketplaces, linked in ``store_code``) whose content
        changed in ``[since, until)``, with their links, in (``last_changed_at``, order id) order:
        a page of ``limit`` starting after the key ``after`` (the last one of the previous page)."""
        statement = select(AmazonOrder, OrderLink).join(OrderLink, and_(
            OrderLink.seller_account == AmazonOrder.seller_account,
            OrderLink.amazon_order_id == AmazonOrder.amazon_order_id)).where(
            AmazonOrder.seller_account == seller_account, AmazonOrder.marketplace_id.in_(list(marketplace_ids)),
            OrderLink.store_code == store_code, AmazonOrder.last_changed_at >= since,
            AmazonOrder.last_changed_at < until)
        if after is not None:
            changed, order_id = after
            statement = statement.where(or_(AmazonOrder.last_changed_at > changed, and_(
                AmazonOrder.last_changed_at == changed, AmazonOrder.amazon_order_id > order_id)))
        statement = statement.order_by(AmazonOrder.last_changed_at, AmazonOrder.amazon_order_id).limit(limit)
        with self._sessions.read() as session:
            return [(snapshot, link) for snapshot, link in session.execute(statement).tuples()]

    @staticmethod
    def _upsert(session: Session, snapshot: OrderSnapshot, now: datetime) -> bool:
        key = (AmazonOrder.seller_account == snapshot.seller_account,
               AmazonOrder.amazon_order_id == snapshot.amazon_order_id)
        unchanged = session.execute(update(AmazonOrder).where(
            *key, AmazonOrder.content_hash == snapshot.content_hash).values(last_seen_at=now))
        if unchanged.rowcount:
            return False
        values = {
            "seller_account": snapshot.seller_account, "amazon_order_id": snapshot.amazon_order_id,
            "marketplace_id": snapshot.marketplace_id, "fulfillment_channel": snapshot.fulfillment_channel,
            "status": snapshot.status, "created_time": snapshot.created_time,
            "last_updated_time": snapshot.last_updated_time, "order_total": snapshot.order_total,
            "currency": snapshot.currency, "raw": snapshot.raw, "content_hash": snapshot.content_hash,
            "first_seen_at": now, "last_seen_at": now, "last_changed_at": now,
        }
        statement = insert_for(session)(AmazonOrder).values(**values)
        replaced = {name: statement.excluded[name] for name in values
                    if name not in ("seller_account", "amazon_order_id", "first_seen_at")}
        statement = statement.on_conflict_do_update(
            index_elements=["seller_account", "amazon_order_id"], set_=replaced,
            where=AmazonOrder.last_updated_time <= statement.excluded.last_updated_time,
        ).returning(AmazonOrder.amazon_order_id)
        return session.execute(statement).first() is not None


def _field(node: Any, *keys: str) -> Any:
    """``node[k1][k2]...`` where each step is an object, else None."""
    for key in keys:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node


def _column_text(column: Any, value: Any) -> str | None:
    """``value`` when it is a string that fits ``column``, else None (never a database error)."""
    return value if isinstance(value, str) and len(value) <= column.type.length else None


def _timestamp(order: Mapping[str, Any], name: str) -> datetime:
    value = order.get(name)
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ValueError(f"Amazon order {order.get('orderId')}: field {name} must be an ISO 8601 time "
                         f"with a time zone, got {shown(value)}")
    return parsed


def _amount(order_id: str, value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(value) if isinstance(value, str | int) and not isinstance(value, bool) else None
    except (InvalidOperation, ValueError):  # ValueError: an int too long to convert
        amount = None
    what = f"Amazon order {order_id}: field proceeds.grandTotal.amount"
    if amount is None:
        raise ValueError(f"{what} is not a decimal: {shown(value)}")
    return checked_money(amount, what)
