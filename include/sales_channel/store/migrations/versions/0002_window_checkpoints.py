"""Channel database: resumable import windows.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sales_channel.store.types import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "window_checkpoints",
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("stream", sa.String(64), nullable=False),
        sa.Column("window_after", UTCDateTime(), nullable=False),
        sa.Column("window_before", UTCDateTime(), nullable=False),
        sa.Column("marketplace_ids", sa.Text(), nullable=False),
        sa.Column("next_token", sa.Text(), nullable=True),
        sa.Column("pages_done", sa.Integer(), nullable=False),
        sa.Column("window_end", UTCDateTime(), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "stream", name=op.f("pk_window_checkpoints")),
    )


def downgrade() -> None:
    op.drop_table("window_checkpoints")
