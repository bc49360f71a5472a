"""Channel database: initial schema.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sales_channel.store.types import JSONDocument, Money, UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "amazon_orders",
        sa.Column("seller_account", sa.String(64), nullable=False),
        sa.Column("amazon_order_id", sa.String(32), nullable=False),
        sa.Column("marketplace_id", sa.String(32), nullable=True),
        sa.Column("fulfillment_channel", sa.String(16), nullable=True),
        sa.Column("status", sa.String(32), nullable=True),
        sa.Column("created_time", UTCDateTime(), nullable=False),
        sa.Column("last_updated_time", UTCDateTime(), nullable=False),
        sa.Column("order_total", Money(), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("raw", JSONDocument, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("last_changed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seller_account", "amazon_order_id", name=op.f("pk_amazon_orders")),
    )
    op.create_index(op.f("ix_amazon_orders_last_updated_time"), "amazon_orders", ["last_updated_time"])
    op.create_index(op.f("ix_amazon_orders_status"), "amazon_orders", ["status"])

    op.create_table(
        "order_links",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("seller_account", sa.String(64), nullable=False),
        sa.Column("amazon_order_id", sa.String(32), nullable=False),
        sa.Column("commerce_entity_id", sa.BigInteger(), nullable=False),
        sa.Column("commerce_increment_id", sa.String(64), nullable=False),
        sa.Column("store_code", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_links")),
        sa.UniqueConstraint("seller_account", "amazon_order_id",
                            name=op.f("uq_order_links_seller_account_amazon_order_id")),
    )
    op.create_index(op.f("ix_order_links_commerce_entity_id"), "order_links", ["commerce_entity_id"])

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("source_id", sa.String(200), nullable=False),
        sa.Column("target", sa.String(128), nullable=False),
        sa.Column("payload", JSONDocument, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(200), nullable=True),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("feed_id", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("confirmed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("kind", "source_id", name=op.f("uq_outbox_kind_source_id")),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"])
    op.create_index(op.f("ix_outbox_feed_id"), "outbox", ["feed_id"])

    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("seller_account", sa.String(64), nullable=False),
        sa.Column("amazon_order_id", sa.String(32), nullable=False),
        sa.Column("reason_code", sa.String(64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(200), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
        sa.UniqueConstraint("seller_account", "amazon_order_id",
                            name=op.f("uq_quarantine_seller_account_amazon_order_id")),
    )
    op.create_index("ix_quarantine_due", "quarantine", ["resolved_at", "next_attempt_at"])

    op.create_table(
        "watermarks",
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("stream", sa.String(64), nullable=False),
        sa.Column("value", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "stream", name=op.f("pk_watermarks")),
    )

    op.create_table(
        "order_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("seller_account", sa.String(64), nullable=False),
        sa.Column("amazon_order_id", sa.String(32), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("details", JSONDocument, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_events")),
    )
    op.create_index("ix_order_events_order", "order_events", ["seller_account", "amazon_order_id", "occurred_at"])

    op.create_table(
        "rate_buckets",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("level", sa.Float(precision=53), nullable=False),
        sa.Column("updated_at", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_buckets")),
    )

    op.create_table(
        "sku_map",
        sa.Column("seller_account", sa.String(64), nullable=False),
        sa.Column("amazon_seller_sku", sa.String(200), nullable=False),
        sa.Column("commerce_sku", sa.String(200), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seller_account", "amazon_seller_sku", name=op.f("pk_sku_map")),
    )


def downgrade() -> None:
    for table in ("sku_map", "rate_buckets", "order_events", "watermarks", "quarantine", "outbox",
                  "order_links", "amazon_orders"):
        op.drop_table(table)  # dropping a table drops its indexes on both backends
