"""The audit API's ?action= and ?since= filters use an index instead of scanning the org's trail.

At a million audit rows a rare action or a recent ``since`` walked every row of the org
through (org_id, id) (0.68 s); (org_id, action, id) answers newest-first pages of one action
directly, and (org_id, occurred_at) bounds a ``since`` filter to the rows it returns.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_events_org_action_id", "audit_events", ["org_id", "action", "id"])
    op.create_index("ix_audit_events_org_occurred_at", "audit_events", ["org_id", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_org_occurred_at", table_name="audit_events")
    op.drop_index("ix_audit_events_org_action_id", table_name="audit_events")
