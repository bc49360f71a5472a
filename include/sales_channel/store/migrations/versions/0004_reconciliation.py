"""Channel database: reconciliation runs and their findings.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sales_channel.store.types import JSONDocument, UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reconciliation_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("store", sa.String(64), nullable=False),
        sa.Column("seller_account", sa.String(64), nullable=False),
        sa.Column("window_start", UTCDateTime(), nullable=False),
        sa.Column("window_end", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("orders_checked", sa.Integer(), nullable=False),
        sa.Column("counts", JSONDocument, nullable=False),
        sa.Column("repaired", sa.Integer(), nullable=False),
        sa.Column("unrepaired", sa.Integer(), nullable=False),
        sa.Column("results_path", sa.Text(), nullable=True),
        sa.Column("dag_run_id", sa.String(250), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_runs")),
    )
    op.create_index("ix_reconciliation_runs_store", "reconciliation_runs", ["store", "window_start"])
    op.create_table(
        "reconciliation_findings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("store", sa.String(64), nullable=False),
        sa.Column("seller_account", sa.String(64), nullable=False),
        sa.Column("amazon_order_id", sa.String(32), nullable=True),
        sa.Column("commerce_increment_id", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("repair", sa.String(32), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["reconciliation_runs.id"], ondelete="CASCADE",
                                name=op.f("fk_reconciliation_findings_run_id_reconciliation_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_findings")),
    )
    op.create_index(op.f("ix_reconciliation_findings_run_id"), "reconciliation_findings", ["run_id"])
    op.create_index("ix_reconciliation_findings_order", "reconciliation_findings",
                    ["seller_account", "amazon_order_id"])


def downgrade() -> None:
    op.drop_table("reconciliation_findings")
    op.drop_table("reconciliation_runs")
