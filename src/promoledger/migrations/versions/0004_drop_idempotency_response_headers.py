"""Drop idempotency_keys.response_headers: nothing ever wrote it.

A replay answers with the stored status and body; the headers a replay carries
(``Idempotent-Replayed``, ``X-Request-ID``) belong to the replaying request, not the stored one.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("response_headers")


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("response_headers", sa.Text(), nullable=True))
