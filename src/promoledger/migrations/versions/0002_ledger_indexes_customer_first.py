"""Ledger indexes lead with the customer: O(batch) lookups whatever the planner's statistics.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("enrolments", "earns"):
        op.create_index(
            f"ix_{table}_customer_promotion_status",
            table,
            ["customer_id", "promotion_id", "status"],
        )
        op.drop_index(f"ix_{table}_promotion_customer_status", table_name=table)
        op.drop_index(f"ix_{table}_customer_id", table_name=table)


def downgrade() -> None:
    for table in ("enrolments", "earns"):
        op.create_index(f"ix_{table}_customer_id", table, ["customer_id"])
        op.create_index(
            f"ix_{table}_promotion_customer_status",
            table,
            ["promotion_id", "customer_id", "status"],
        )
        op.drop_index(f"ix_{table}_customer_promotion_status", table_name=table)
