"""The channel database's tables (SQLAlchemy 2 declarative). No column holds buyer PII.

The schema is created and changed only by the Alembic migrations in ``migrations/``; these models
are what the repositories query and what ``alembic revision --autogenerate`` compares against.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sales_channel.store.types import JSONDocument, Money, UTCDateTime

# Stable constraint names, so migrations can refer to them on both backends.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ACCOUNT = 64  # seller account / store key length
ORDER_ID = 32  # Amazon order ids are 19 characters (3-7-7 digits)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class OutboxStatus(StrEnum):
    PENDING = "pending"  # waiting to be claimed (first time or after a retryable failure)
    CLAIMED = "claimed"  # a worker holds a lease and is making the call
    SENT = "sent"  # accepted by the other side, result pending (e.g. a feed being processed)
    CONFIRMED = "confirmed"  # done
    FAILED = "failed"  # gave up; needs a person (or a manual re-send)
    HELD = "held"  # waiting for something on our side first (e.g. a shipment's tracking number)


class AmazonOrder(Base):
    """The latest snapshot of an Amazon order, as last read, without buyer PII."""

    __tablename__ = "amazon_orders"
    # The status sync reads an account's snapshots by when their content last changed.
    __table_args__ = (Index("ix_amazon_orders_changed", "seller_account", "last_changed_at"),)

    seller_account: Mapped[str] = mapped_column(String(ACCOUNT), primary_key=True)
    amazon_order_id: Mapped[str] = mapped_column(String(ORDER_ID), primary_key=True)
    marketplace_id: Mapped[str | None] = mapped_column(String(32))
    fulfillment_channel: Mapped[str | None] = mapped_column(String(16))  # Amazon's fulfilledBy
    status: Mapped[str | None] = mapped_column(String(32), index=True)  # Amazon's fulfillmentStatus
    created_time: Mapped[datetime] = mapped_column(UTCDateTime())
    last_updated_time: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    order_total: Mapped[Decimal | None] = mapped_column(Money())
    currency: Mapped[str | None] = mapped_column(String(3))
    raw: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    content_hash: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_changed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OrderLink(Base):
    """The one Commerce order made for an Amazon order."""

    __tablename__ = "order_links"
    __table_args__ = (UniqueConstraint("seller_account", "amazon_order_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seller_account: Mapped[str] = mapped_column(String(ACCOUNT))
    amazon_order_id: Mapped[str] = mapped_column(String(ORDER_ID))
    commerce_entity_id: Mapped[int] = mapped_column(BigInteger, index=True)
    commerce_increment_id: Mapped[str] = mapped_column(String(64))
    store_code: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboxItem(Base):
    """A state-changing call to Amazon or Commerce, recorded before it is made (at most one per source)."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("kind", "source_id"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64))  # e.g. confirm_shipment, cancel_order, refund
    source_id: Mapped[str] = mapped_column(String(200))  # what caused it, e.g. a Commerce shipment id
    target: Mapped[str] = mapped_column(String(128))  # e.g. the seller account or Commerce store
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    feed_id: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class QuarantinedOrder(Base):
    """An order that could not be imported, with a reason a person can act on and its retry schedule."""

    __tablename__ = "quarantine"
    __table_args__ = (
        UniqueConstraint("seller_account", "amazon_order_id"),
        Index("ix_quarantine_due", "resolved_at", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seller_account: Mapped[str] = mapped_column(String(ACCOUNT))
    amazon_order_id: Mapped[str] = mapped_column(String(ORDER_ID))
    reason_code: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolution: Mapped[str | None] = mapped_column(Text)


class Watermark(Base):
    """How far a stream (e.g. the order import of one seller account) has been read."""

    __tablename__ = "watermarks"

    scope: Mapped[str] = mapped_column(String(ACCOUNT), primary_key=True)  # store or seller account
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WindowCheckpoint(Base):
    """An import window being read: where it is, so a retry or the next run continues from the page
    after the last one fully imported instead of from page 1 (searchOrders tokens live 24 hours)."""

    __tablename__ = "window_checkpoints"

    scope: Mapped[str] = mapped_column(String(ACCOUNT), primary_key=True)  # the seller account
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_after: Mapped[datetime] = mapped_column(UTCDateTime())
    window_before: Mapped[datetime] = mapped_column(UTCDateTime())
    marketplace_ids: Mapped[str] = mapped_column(Text)  # comma-separated: a token is valid for these only
    next_token: Mapped[str | None] = mapped_column(Text)  # None: start at the first page
    pages_done: Mapped[int] = mapped_column(Integer, default=0)
    window_end: Mapped[datetime | None] = mapped_column(UTCDateTime())  # Amazon's lastUpdatedBefore
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OrderEvent(Base):
    """One entry of an order's timeline (shown in the UI)."""

    __tablename__ = "order_events"
    __table_args__ = (Index("ix_order_events_order", "seller_account", "amazon_order_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seller_account: Mapped[str] = mapped_column(String(ACCOUNT))
    amazon_order_id: Mapped[str] = mapped_column(String(ORDER_ID))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    event_type: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)


class RateBucket(Base):
    """A usage-plan token bucket shared by every process (see ``sales_channel.ratelimit``).

    ``updated_at`` is in epoch seconds, like the clock the rate limiter passes in.
    """

    __tablename__ = "rate_buckets"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    level: Mapped[float] = mapped_column(Float(precision=53))
    updated_at: Mapped[float] = mapped_column(Float(precision=53))


class SkuMapping(Base):
    """An Amazon seller SKU that has a different SKU in Commerce."""

    __tablename__ = "sku_map"

    seller_account: Mapped[str] = mapped_column(String(ACCOUNT), primary_key=True)
    amazon_seller_sku: Mapped[str] = mapped_column(String(200), primary_key=True)
    commerce_sku: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReconciliationRun(Base):
    """One reconciliation of a store over a window: what was compared and how it ended."""

    __tablename__ = "reconciliation_runs"
    __table_args__ = (Index("ix_reconciliation_runs_store", "store", "window_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    store: Mapped[str] = mapped_column(String(ACCOUNT))
    seller_account: Mapped[str] = mapped_column(String(ACCOUNT))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(32))  # running, ok, repaired, needs_attention, failed
    orders_checked: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONDocument)  # finding kind → number of orders
    repaired: Mapped[int] = mapped_column(Integer, default=0)
    unrepaired: Mapped[int] = mapped_column(Integer, default=0)
    results_path: Mapped[str | None] = mapped_column(Text)  # the CSV/HTML folder of this run
    dag_run_id: Mapped[str | None] = mapped_column(String(250))


class ReconciliationFinding(Base):
    """One discrepancy a reconciliation found (orders that agree are counted, not listed)."""

    __tablename__ = "reconciliation_findings"
    __table_args__ = (Index("ix_reconciliation_findings_order", "seller_account", "amazon_order_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("reconciliation_runs.id", ondelete="CASCADE"), index=True)
    store: Mapped[str] = mapped_column(String(ACCOUNT))
    seller_account: Mapped[str] = mapped_column(String(ACCOUNT))
    amazon_order_id: Mapped[str | None] = mapped_column(String(ORDER_ID))
    commerce_increment_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))  # e.g. missing_in_commerce, total_mismatch
    detail: Mapped[str] = mapped_column(Text)
    repair: Mapped[str | None] = mapped_column(String(32))  # the safe repair planned, None: needs a person
    status: Mapped[str] = mapped_column(String(16))  # repaired, needs_person, repair_failed


class ApiCallCount(Base):
    """Amazon SP-API calls per seller account, operation and hour: how much of the usage plans is spent."""

    __tablename__ = "api_calls"

    seller_account: Mapped[str] = mapped_column(String(ACCOUNT), primary_key=True)
    operation: Mapped[str] = mapped_column(String(64), primary_key=True)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)  # the hour, UTC
    calls: Mapped[int] = mapped_column(Integer, default=0)
    throttled: Mapped[int] = mapped_column(Integer, default=0)  # answered 429
    errors: Mapped[int] = mapped_column(Integer, default=0)  # other failures (5xx, lost answers)


class Alert(Base):
    """A condition that needs a person, per check and scope (a store, an account, or a DAG): raised once,
    notified once, cleared when the check passes again (a later recurrence is a new row)."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_open", "check_key", "scope", "cleared_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    check_key: Mapped[str] = mapped_column(String(64))  # e.g. watermark_stale, quarantine_growing
    scope: Mapped[str] = mapped_column(String(ACCOUNT))
    severity: Mapped[str] = mapped_column(String(16))  # warning, critical
    message: Mapped[str] = mapped_column(Text)  # what is wrong, naming the store
    action: Mapped[str] = mapped_column(Text)  # what to do
    first_raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


__all__ = ["Alert", "AmazonOrder", "ApiCallCount", "Base", "OrderEvent", "OrderLink", "OutboxItem", "OutboxStatus", "QuarantinedOrder",
           "RateBucket", "ReconciliationFinding", "ReconciliationRun", "SkuMapping", "Watermark", "WindowCheckpoint"]
