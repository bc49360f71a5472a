"""Quarantine: orders that could not be imported, why, and when to try them again.

One bad order never blocks the rest: it is recorded here with a reason a person can act on, and
retried on a bounded exponential backoff until it imports or someone resolves it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, or_, select, update

from sales_channel.store._sql import Clock, Sessions, chunked, lock_row, utc_now
from sales_channel.store.models import AmazonOrder, QuarantinedOrder


@dataclass(frozen=True)
class Backoff:
    """Retry delay after the n-th failed attempt: ``first`` · 2^(n-1), at most ``longest``."""

    first: timedelta = timedelta(minutes=5)
    longest: timedelta = timedelta(hours=6)

    def delay(self, attempts: int) -> timedelta:
        # Cap the exponent before multiplying, so a long-quarantined order cannot overflow timedelta.
        return min(self.longest, self.first * 2 ** min(max(attempts - 1, 0), 30))


DEFAULT_BACKOFF = Backoff()

# Entries of orders whose id is not Amazon's are keyed by this prefix and a digest: Amazon cannot be
# asked for them again, so they are never due for a retry; they stay open until a person resolves them.
UNREADABLE = "invalid-"
# A person decided an order is never to be imported: its entry is resolved with this resolution prefix
# and the person's reason, and stays resolved (the import leaves such orders alone: ``skipped_among``).
SKIPPED = "skipped by a person: "


class QuarantineRepository:
    def __init__(self, sessions: Sessions, clock: Clock = utc_now, backoff: Backoff = DEFAULT_BACKOFF) -> None:
        self._sessions, self._clock, self.backoff = sessions, clock, backoff

    def record(self, seller_account: str, amazon_order_id: str, reason_code: str, message: str) -> QuarantinedOrder:
        """Quarantine an order (again): counts the attempt and schedules the next one.

        A resolved entry that fails again is reopened with a fresh count. ``message`` is shown to
        people: name the problem (e.g. the missing SKU), never buyer data.
        """
        now = self._clock()
        with self._sessions.write() as session:
            entry = lock_row(session, QuarantinedOrder,
                             {"seller_account": seller_account, "amazon_order_id": amazon_order_id},
                             {"reason_code": reason_code, "message": message, "first_seen_at": now,
                              "last_seen_at": now, "attempts": 0, "next_attempt_at": now})
            if entry.resolved_at is not None and (entry.resolution or "").startswith(SKIPPED):
                return entry  # a person's decision: an import that was under way meanwhile cannot reopen it
            if entry.resolved_at is not None:
                entry.attempts, entry.first_seen_at = 0, now
                entry.resolved_at = entry.resolved_by = entry.resolution = None
            entry.attempts += 1
            entry.reason_code, entry.message, entry.last_seen_at = reason_code, message, now
            entry.next_attempt_at = now + self.backoff.delay(entry.attempts)
            return entry

    def resolve(self, seller_account: str, amazon_order_id: str, resolved_by: str, resolution: str) -> bool:
        """Close an open entry (the order imported, or a person dealt with it). False when none was open."""
        with self._sessions.write() as session:
            return bool(session.execute(update(QuarantinedOrder).where(
                QuarantinedOrder.seller_account == seller_account,
                QuarantinedOrder.amazon_order_id == amazon_order_id,
                QuarantinedOrder.resolved_at.is_(None),
            ).values(resolved_at=self._clock(), resolved_by=resolved_by, resolution=resolution)).rowcount)

    def skip(self, seller_account: str, amazon_order_id: str, resolved_by: str, reason: str) -> bool:
        """A person's decision never to import this order: the open entry is resolved with ``reason``
        (shown to people: no buyer data). False when none was open."""
        if not reason.strip():
            raise ValueError(f"quarantine {seller_account}/{amazon_order_id}: field reason is empty")
        return self.resolve(seller_account, amazon_order_id, resolved_by, f"{SKIPPED}{reason.strip()}")

    def skipped_among(self, seller_account: str, amazon_order_ids: Iterable[str]) -> set[str]:
        """Which of these orders a person decided never to import (one query per 1000 ids)."""
        found: set[str] = set()
        with self._sessions.read() as session:
            for batch in chunked(dict.fromkeys(amazon_order_ids)):
                found.update(session.scalars(select(QuarantinedOrder.amazon_order_id).where(
                    QuarantinedOrder.seller_account == seller_account, QuarantinedOrder.resolved_at.is_not(None),
                    QuarantinedOrder.resolution.startswith(SKIPPED, autoescape=True),
                    QuarantinedOrder.amazon_order_id.in_(batch))))
        return found

    def due(self, seller_account: str | None = None, limit: int = 100, now: datetime | None = None,
            marketplace_ids: Iterable[str] | None = None) -> list[QuarantinedOrder]:
        """Open entries whose next attempt is due, the longest-waiting first (never ``UNREADABLE`` ones).

        ``marketplace_ids`` keeps only the orders of those marketplaces (by their snapshot; orders too
        malformed for a snapshot are kept too), filtered before the limit: a paused store sharing the
        seller account can never crowd out another store's retries.
        """
        statement = select(QuarantinedOrder).where(
            QuarantinedOrder.resolved_at.is_(None), QuarantinedOrder.next_attempt_at <= (now or self._clock()),
            QuarantinedOrder.amazon_order_id.not_like(f"{UNREADABLE}%"),
        ).order_by(QuarantinedOrder.next_attempt_at, QuarantinedOrder.id).limit(limit)
        if marketplace_ids is not None:
            statement = statement.outerjoin(AmazonOrder, and_(
                AmazonOrder.seller_account == QuarantinedOrder.seller_account,
                AmazonOrder.amazon_order_id == QuarantinedOrder.amazon_order_id,
            )).where(or_(AmazonOrder.marketplace_id.is_(None), AmazonOrder.marketplace_id.in_(list(marketplace_ids))))
        return self._list(statement, seller_account)

    def open(self, seller_account: str | None = None) -> list[QuarantinedOrder]:
        """Every open entry (for the UI and the report), oldest first."""
        statement = select(QuarantinedOrder).where(QuarantinedOrder.resolved_at.is_(None)).order_by(
            QuarantinedOrder.first_seen_at, QuarantinedOrder.id)
        return self._list(statement, seller_account)

    def open_among(self, seller_account: str, amazon_order_ids: Iterable[str]) -> set[str]:
        """Which of these orders are quarantined now (one query per 1000 ids)."""
        found: set[str] = set()
        with self._sessions.read() as session:
            for batch in chunked(dict.fromkeys(amazon_order_ids)):
                found.update(session.scalars(select(QuarantinedOrder.amazon_order_id).where(
                    QuarantinedOrder.seller_account == seller_account, QuarantinedOrder.resolved_at.is_(None),
                    QuarantinedOrder.amazon_order_id.in_(batch))))
        return found

    def get(self, seller_account: str, amazon_order_id: str) -> QuarantinedOrder | None:
        with self._sessions.read() as session:
            return session.scalar(select(QuarantinedOrder).where(
                QuarantinedOrder.seller_account == seller_account,
                QuarantinedOrder.amazon_order_id == amazon_order_id))

    def for_order(self, amazon_order_id: str) -> list[QuarantinedOrder]:
        """The entries of an order under any seller account (an operator names the order, not its account)."""
        with self._sessions.read() as session:
            return list(session.scalars(select(QuarantinedOrder).where(
                QuarantinedOrder.amazon_order_id == amazon_order_id).order_by(QuarantinedOrder.id)))

    def _list(self, statement: Select[tuple[QuarantinedOrder]], seller_account: str | None) -> list[QuarantinedOrder]:
        if seller_account is not None:
            statement = statement.where(QuarantinedOrder.seller_account == seller_account)
        with self._sessions.read() as session:
            return list(session.scalars(statement))
