"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 20:56:08.811968
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("actor_kind", sa.String(length=10), nullable=False),
        sa.Column("actor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("entity_type", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "promotion_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("old_status", sa.String(length=10), nullable=True),
        sa.Column("new_status", sa.String(length=10), nullable=True),
        sa.Column("request_id", sa.String(length=200), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(
        "ix_audit_events_org_customer_id",
        "audit_events",
        ["org_id", "customer_id", "id"],
        unique=False,
    )
    op.create_index("ix_audit_events_org_id_id", "audit_events", ["org_id", "id"], unique=False)
    op.create_index(
        "ix_audit_events_org_promotion_id",
        "audit_events",
        ["org_id", "promotion_id", "id"],
        unique=False,
    )
    op.create_table(
        "auth_failures",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", "window_start", name=op.f("pk_auth_failures")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column(
            "credential_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("response_headers", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('RUNNING', 'DONE')", name=op.f("ck_idempotency_keys_state")),
        sa.PrimaryKeyConstraint("credential_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index(
        op.f("ix_idempotency_keys_expires_at"), "idempotency_keys", ["expires_at"], unique=False
    )
    op.create_table(
        "orgs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orgs")),
    )
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_signing_keys")),
    )
    op.create_table(
        "credentials",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("secret_hash", sa.String(length=300), nullable=False),
        sa.Column("customer_access", sa.String(length=5), nullable=False),
        sa.Column("config_access", sa.String(length=5), nullable=False),
        sa.Column("token_ttl_seconds", sa.Integer(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "config_access IN ('NONE', 'READ', 'WRITE')", name=op.f("ck_credentials_config_access")
        ),
        sa.CheckConstraint(
            "customer_access IN ('NONE', 'READ', 'WRITE')",
            name=op.f("ck_credentials_customer_access"),
        ),
        sa.CheckConstraint("kind IN ('TILL', 'CLIENT')", name=op.f("ck_credentials_kind")),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_credentials_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credentials")),
        sa.UniqueConstraint("kind", "name", name=op.f("uq_credentials_kind_name")),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("mobile", sa.String(length=64), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_customers_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("org_id", "email", name=op.f("uq_customers_org_id_email")),
        sa.UniqueConstraint("org_id", "external_id", name=op.f("uq_customers_org_id_external_id")),
        sa.UniqueConstraint("org_id", "mobile", name=op.f("uq_customers_org_id_mobile")),
    )
    op.create_index("ix_customers_org_id_id", "customers", ["org_id", "id"], unique=False)
    op.create_table(
        "programs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_programs_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programs")),
    )
    op.create_index(op.f("ix_programs_org_id"), "programs", ["org_id"], unique=False)
    op.create_table(
        "customer_sources",
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_sources_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("customer_id", "source", name=op.f("pk_customer_sources")),
    )
    op.create_table(
        "program_members",
        sa.Column(
            "program_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_program_members_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_program_members_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("program_id", "customer_id", name=op.f("pk_program_members")),
    )
    op.create_table(
        "promotions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "program_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("identifier", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("start_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("enrolments_per_customer", sa.Integer(), nullable=False),
        sa.Column("earns_per_customer", sa.Integer(), nullable=False),
        sa.Column("enrolment_expiry", sa.String(length=10), nullable=True),
        sa.Column("enrolment_expiry_days", sa.Integer(), nullable=True),
        sa.Column("earn_expiry", sa.String(length=10), nullable=True),
        sa.Column("earn_expiry_days", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "type IN ('ENROL_AND_ISSUE', 'DIRECT_ISSUE', 'GENERIC')",
            name=op.f("ck_promotions_type"),
        ),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_promotions_org_id_orgs")),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_promotions_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotions")),
        sa.UniqueConstraint("org_id", "identifier", name=op.f("uq_promotions_org_id_identifier")),
    )
    op.create_index(op.f("ix_promotions_program_id"), "promotions", ["program_id"], unique=False)
    op.create_table(
        "enrolments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "promotion_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=100), nullable=True),
        sa.Column("ended_request_id", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "status IN ('ACTIVE', 'REVOKED', 'REPLACED', 'EXPIRED')",
            name=op.f("ck_enrolments_status"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_enrolments_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_enrolments_org_id_orgs")),
        sa.ForeignKeyConstraint(
            ["promotion_id"], ["promotions.id"], name=op.f("fk_enrolments_promotion_id_promotions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolments")),
    )
    op.create_index("ix_enrolments_customer_id", "enrolments", ["customer_id"], unique=False)
    op.create_index(
        "ix_enrolments_promotion_customer_status",
        "enrolments",
        ["promotion_id", "customer_id", "status"],
        unique=False,
    )
    op.create_table(
        "earns",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "promotion_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "enrolment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=100), nullable=True),
        sa.Column("ended_request_id", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "status IN ('ACTIVE', 'REVOKED', 'EXPIRED')", name=op.f("ck_earns_status")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_earns_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"], ["enrolments.id"], name=op.f("fk_earns_enrolment_id_enrolments")
        ),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_earns_org_id_orgs")),
        sa.ForeignKeyConstraint(
            ["promotion_id"], ["promotions.id"], name=op.f("fk_earns_promotion_id_promotions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_earns")),
    )
    op.create_index("ix_earns_customer_id", "earns", ["customer_id"], unique=False)
    op.create_index(
        "ix_earns_promotion_customer_status",
        "earns",
        ["promotion_id", "customer_id", "status"],
        unique=False,
    )


def downgrade() -> None:

    op.drop_index("ix_earns_promotion_customer_status", table_name="earns")
    op.drop_index("ix_earns_customer_id", table_name="earns")
    op.drop_table("earns")
    op.drop_index("ix_enrolments_promotion_customer_status", table_name="enrolments")
    op.drop_index("ix_enrolments_customer_id", table_name="enrolments")
    op.drop_table("enrolments")
    op.drop_index(op.f("ix_promotions_program_id"), table_name="promotions")
    op.drop_table("promotions")
    op.drop_table("program_members")
    op.drop_table("customer_sources")
    op.drop_index(op.f("ix_programs_org_id"), table_name="programs")
    op.drop_table("programs")
    op.drop_index("ix_customers_org_id_id", table_name="customers")
    op.drop_table("customers")
    op.drop_table("credentials")
    op.drop_table("signing_keys")
    op.drop_table("orgs")
    op.drop_index(op.f("ix_idempotency_keys_expires_at"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_table("auth_failures")
    op.drop_index("ix_audit_events_org_promotion_id", table_name="audit_events")
    op.drop_index("ix_audit_events_org_id_id", table_name="audit_events")
    op.drop_index("ix_audit_events_org_customer_id", table_name="audit_events")
    op.drop_table("audit_events")
