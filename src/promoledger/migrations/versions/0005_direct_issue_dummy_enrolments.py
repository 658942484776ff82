"""Direct-issue dummy enrolments: every DIRECT_ISSUE earn is issued under an enrolment.

Capillary answers a direct issue with a dummy issual id; promoledger now creates, with a
customer's first earn in a DIRECT_ISSUE promotion, one ACTIVE enrolment that never expires and
that all their earns in it are linked to. This migration gives the earns made before it the
same: one dummy enrolment per (promotion, customer) with unlinked earns, dated at the first of
them, and links those earns to it. Two set-based statements; no schema change.

Downgrade leaves the data: the earlier code reads linked direct earns unchanged.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "INSERT INTO enrolments (org_id, promotion_id, customer_id, status, created_at) "
        "SELECT earns.org_id, earns.promotion_id, earns.customer_id, 'ACTIVE', "
        "MIN(earns.created_at) FROM earns "
        "WHERE earns.enrolment_id IS NULL AND earns.promotion_id IN "
        "(SELECT id FROM promotions WHERE type = 'DIRECT_ISSUE') "
        "AND NOT EXISTS (SELECT 1 FROM enrolments n "
        "WHERE n.promotion_id = earns.promotion_id AND n.customer_id = earns.customer_id "
        "AND n.status = 'ACTIVE') "
        "GROUP BY earns.org_id, earns.promotion_id, earns.customer_id"
    )
    op.execute(
        "UPDATE earns SET enrolment_id = (SELECT MAX(n.id) FROM enrolments n "
        "WHERE n.promotion_id = earns.promotion_id AND n.customer_id = earns.customer_id "
        "AND n.status = 'ACTIVE') WHERE earns.enrolment_id IS NULL AND earns.promotion_id IN "
        "(SELECT id FROM promotions WHERE type = 'DIRECT_ISSUE')"
    )


def downgrade() -> None:
    """Nothing to undo in the schema; the dummy enrolments stay (nothing is ever deleted)."""
