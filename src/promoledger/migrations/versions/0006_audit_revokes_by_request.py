"""An undo finds what one revoke request revoked through an index, not by scanning the org's trail.

A reinstatement reads the REVOKE_ENROL / REVOKE_EARN audit events of one request id. Without an
index on request_id that walked every revoke event of the org through (org_id, action, id) —
at 2 million revoke events about 0.1 s on PostgreSQL and 0.2 s on SQLite, the latter under the
write lock, and growing with the trail; with this index, under a millisecond. Partial (revoke
events only), so no other audit insert pays for it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_REVOKES = sa.text("action IN ('REVOKE_ENROL', 'REVOKE_EARN')")


def upgrade() -> None:
    op.create_index(
        "ix_audit_events_org_request_revokes",
        "audit_events",
        ["org_id", "request_id"],
        sqlite_where=_REVOKES,
        postgresql_where=_REVOKES,
    )


def downgrade() -> None:
    op.drop_index("ix_audit_events_org_request_revokes", table_name="audit_events")
