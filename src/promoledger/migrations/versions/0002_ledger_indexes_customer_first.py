"""Lookups of a batch's customers stay O(batch) whatever the planner's statistics.

Ledger indexes lead with the customer, and customers lose (org_id, id): with stale
statistics PostgreSQL walked every customer of the org through it instead of probing the
primary key for the batch's ids.

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
    op.drop_index("ix_customers_org_id_id", table_name="customers")
    for table in ("enrolments", "earns"):
        op.create_index(
            f"ix_{table}_customer_promotion_status",
            table,
            ["customer_id", "promotion_id", "status"],
        )
        op.drop_index(f"ix_{table}_promotion_customer_status", table_name=table)
        op.drop_index(f"ix_{table}_customer_id", table_name=table)


def downgrade() -> None:
    op.create_index("ix_customers_org_id_id", "customers", ["org_id", "id"])
    for table in ("enrolments", "earns"):
        op.create_index(f"ix_{table}_customer_id", table, ["customer_id"])
        op.create_index(
            f"ix_{table}_promotion_customer_status",
            table,
            ["promotion_id", "customer_id", "status"],
        )
        op.drop_index(f"ix_{table}_customer_promotion_status", table_name=table)
