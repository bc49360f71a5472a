"""The per-order timeline shown in the UI (what happened to an order, when, and why)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from sales_channel.store._sql import Clock, Sessions, utc_now
from sales_channel.store.models import OrderEvent
from sales_channel.store.sanitize import ensure_no_pii


class EventRepository:
    def __init__(self, sessions: Sessions, clock: Clock = utc_now) -> None:
        self._sessions, self._clock = sessions, clock

    def append(self, seller_account: str, amazon_order_id: str, event_type: str, message: str,
               details: dict[str, Any] | None = None, occurred_at: datetime | None = None) -> OrderEvent:
        """Add an event; ``details`` is JSON and is refused when a key names buyer data."""
        if details is not None:
            ensure_no_pii(details, f"details of event {event_type!r} of order {amazon_order_id}")
        event = OrderEvent(seller_account=seller_account, amazon_order_id=amazon_order_id,
                           occurred_at=occurred_at or self._clock(), event_type=event_type, message=message,
                           details=details)
        with self._sessions.write() as session:
            session.add(event)
        return event

    def append_many(self, seller_account: str, events: Iterable[tuple[str, str, str, dict[str, Any] | None]]) -> int:
        """Add ``(amazon_order_id, event_type, message, details)`` events in one transaction (an
        operation's note on each of many orders); the count added. Details are checked as in ``append``."""
        now = self._clock()
        rows = []
        for amazon_order_id, event_type, message, details in events:
            if details is not None:
                ensure_no_pii(details, f"details of event {event_type!r} of order {amazon_order_id}")
            rows.append(OrderEvent(seller_account=seller_account, amazon_order_id=amazon_order_id, occurred_at=now,
                                   event_type=event_type, message=message, details=details))
        with self._sessions.write() as session:
            session.add_all(rows)
        return len(rows)

    def for_order(self, seller_account: str, amazon_order_id: str) -> list[OrderEvent]:
        """An order's timeline, oldest first."""
        with self._sessions.read() as session:
            return list(session.scalars(select(OrderEvent).where(
                OrderEvent.seller_account == seller_account, OrderEvent.amazon_order_id == amazon_order_id,
            ).order_by(OrderEvent.occurred_at, OrderEvent.id)))

    def recent(self, limit: int = 100, seller_account: str | None = None) -> list[OrderEvent]:
        """The newest events (of one seller account, or all), newest first."""
        statement = select(OrderEvent).order_by(OrderEvent.occurred_at.desc(), OrderEvent.id.desc()).limit(limit)
        if seller_account is not None:
            statement = statement.where(OrderEvent.seller_account == seller_account)
        with self._sessions.read() as session:
            return list(session.scalars(statement))
