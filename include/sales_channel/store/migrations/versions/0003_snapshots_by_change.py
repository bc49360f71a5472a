"""Channel database: snapshots found by when their content last changed (the status sync's reads).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_amazon_orders_changed", "amazon_orders", ["seller_account", "last_changed_at"])


def downgrade() -> None:
    op.drop_index("ix_amazon_orders_changed", table_name="amazon_orders")
