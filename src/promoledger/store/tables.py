"""The schema, as SQLAlchemy Core tables. Alembic migrations create it; a test checks they agree.

Nothing here is ever deleted by the application: enrolments and earns change status,
audit events are append-only.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from promoledger.store.types import BigId, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

orgs = Table(
    "orgs",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

# Tills (Basic auth) and OAuth clients. `name` is the till code or the client key; it is
# globally unique because a Basic header names only the till, and the org follows from it.
credentials = Table(
    "credentials",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("org_id", ForeignKey("orgs.id"), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("name", String(200), nullable=False),
    Column("secret_hash", String(300), nullable=False),
    Column("customer_access", String(5), nullable=False),
    Column("config_access", String(5), nullable=False),
    Column("token_ttl_seconds", Integer, nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("kind", "name"),
    CheckConstraint("kind IN ('TILL', 'CLIENT')", name="kind"),
    CheckConstraint("customer_access IN ('NONE', 'READ', 'WRITE')", name="customer_access"),
    CheckConstraint("config_access IN ('NONE', 'READ', 'WRITE')", name="config_access"),
)

# HMAC keys that sign access tokens; shared by every server process through the database.
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("secret", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

# Failed authentication attempts per credential name, bucketed by window, shared by processes.
auth_failures = Table(
    "auth_failures",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("window_start", UtcDateTime(), primary_key=True),
    Column("failures", Integer, nullable=False),
)

programs = Table(
    "programs",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("org_id", ForeignKey("orgs.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

promotions = Table(
    "promotions",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("org_id", ForeignKey("orgs.id"), nullable=False),
    Column("program_id", ForeignKey("programs.id"), nullable=False, index=True),
    Column("identifier", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("type", String(20), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("start_date", UtcDateTime(), nullable=True),
    Column("end_date", UtcDateTime(), nullable=True),
    Column("enrolments_per_customer", Integer, nullable=False),
    Column("earns_per_customer", Integer, nullable=False),
    Column("enrolment_expiry", String(10), nullable=True),
    Column("enrolment_expiry_days", Integer, nullable=True),
    Column("earn_expiry", String(10), nullable=True),
    Column("earn_expiry_days", Integer, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("org_id", "identifier"),
    CheckConstraint("type IN ('ENROL_AND_ISSUE', 'DIRECT_ISSUE', 'GENERIC')", name="type"),
)

customers = Table(
    "customers",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("org_id", ForeignKey("orgs.id"), nullable=False),
    Column("mobile", String(64), nullable=True),
    Column("email", String(320), nullable=True),
    Column("external_id", String(200), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    # Set by a GDPR erase: the identifiers are NULL from then on, the ledger stays.
    Column("erased_at", UtcDateTime(), nullable=True),
    # Unique per org; NULLs do not collide on either database.
    UniqueConstraint("org_id", "mobile"),
    UniqueConstraint("org_id", "email"),
    UniqueConstraint("org_id", "external_id"),
)

customer_sources = Table(
    "customer_sources",
    metadata,
    Column("customer_id", ForeignKey("customers.id"), primary_key=True),
    Column("source", String(20), primary_key=True),
)

program_members = Table(
    "program_members",
    metadata,
    Column("program_id", ForeignKey("programs.id"), primary_key=True),
    Column("customer_id", ForeignKey("customers.id"), primary_key=True),
    Column("joined_at", UtcDateTime(), nullable=False),
)

_LEDGER_STATUS = "status IN ('ACTIVE', 'REVOKED', 'REPLACED', 'EXPIRED')"

# Enrolments ("issuals" on the wire).
enrolments = Table(
    "enrolments",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("org_id", ForeignKey("orgs.id"), nullable=False),
    Column("promotion_id", ForeignKey("promotions.id"), nullable=False),
    Column("customer_id", ForeignKey("customers.id"), nullable=False),
    Column("status", String(10), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=True),
    Column("ended_at", UtcDateTime(), nullable=True),
    Column("ended_by", String(100), nullable=True),
    Column("ended_request_id", String(200), nullable=True),
    CheckConstraint(_LEDGER_STATUS, name="status"),
    # "These customers' records in this promotion" is the hot lookup of every bulk call. The
    # customer leads, so the only way to use the index is one probe per customer of the batch:
    # O(batch) even when the planner's statistics are stale (with the promotion leading,
    # PostgreSQL walked the whole promotion). It also serves "a customer's whole ledger".
    Index("ix_enrolments_customer_promotion_status", "customer_id", "promotion_id", "status"),
)

# Earns ("earnedId" on the wire).
earns = Table(
    "earns",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("org_id", ForeignKey("orgs.id"), nullable=False),
    Column("promotion_id", ForeignKey("promotions.id"), nullable=False),
    Column("customer_id", ForeignKey("customers.id"), nullable=False),
    Column("enrolment_id", ForeignKey("enrolments.id"), nullable=True),
    Column("status", String(10), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=True),
    Column("ended_at", UtcDateTime(), nullable=True),
    Column("ended_by", String(100), nullable=True),
    Column("ended_request_id", String(200), nullable=True),
    CheckConstraint("status IN ('ACTIVE', 'REVOKED', 'EXPIRED')", name="status"),
    Index("ix_earns_customer_promotion_status", "customer_id", "promotion_id", "status"),
)

_REVOKE_ACTIONS = "action IN ('REVOKE_ENROL', 'REVOKE_EARN')"

# Append-only: the application inserts and reads, never updates or deletes.
audit_events = Table(
    "audit_events",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("org_id", BigId, nullable=True),
    Column("actor_kind", String(10), nullable=False),
    Column("actor_id", BigId, nullable=True),
    Column("action", String(40), nullable=False),
    Column("entity_type", String(20), nullable=False),
    Column("entity_id", BigId, nullable=True),
    Column("customer_id", BigId, nullable=True),
    Column("promotion_id", BigId, nullable=True),
    Column("old_status", String(10), nullable=True),
    Column("new_status", String(10), nullable=True),
    Column("request_id", String(200), nullable=True),
    Column("idempotency_key", String(255), nullable=True),
    Column("detail", Text, nullable=True),
    Index("ix_audit_events_org_id_id", "org_id", "id"),
    Index("ix_audit_events_org_customer_id", "org_id", "customer_id", "id"),
    Index("ix_audit_events_org_promotion_id", "org_id", "promotion_id", "id"),
    # The audit API's ?action= and ?since= filters (migration 0003).
    Index("ix_audit_events_org_action_id", "org_id", "action", "id"),
    Index("ix_audit_events_org_occurred_at", "org_id", "occurred_at"),
    # What one revoke request revoked, for its undo (migration 0006); revoke events only.
    Index(
        "ix_audit_events_org_request_revokes",
        "org_id",
        "request_id",
        sqlite_where=text(_REVOKE_ACTIONS),
        postgresql_where=text(_REVOKE_ACTIONS),
    ),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("credential_id", BigId, primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("state", String(10), nullable=False),
    Column("response_status", Integer, nullable=True),
    Column("response_body", LargeBinary, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False, index=True),
    CheckConstraint("state IN ('RUNNING', 'DONE')", name="state"),
)

# Console sign-in sessions: only the SHA-256 of the cookie's token is stored.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("credential_id", ForeignKey("credentials.id"), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_seen_at", UtcDateTime(), nullable=False, index=True),
)

# Bulk jobs (migration 0008): one row per job, its progress updated with every chunk.
jobs = Table(
    "jobs",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("org_id", ForeignKey("orgs.id"), nullable=False),
    Column("action", String(20), nullable=False),
    Column("program_id", BigInteger, nullable=False),
    Column("promotion_id", BigInteger, nullable=False),
    Column("by_promotion_id", Boolean, nullable=False),
    Column("promo_identifier", String(200), nullable=True),
    Column("identifier_name", String(20), nullable=False),
    Column("dry_run", Boolean, nullable=False),
    Column("status", String(10), nullable=False),
    Column("total", Integer, nullable=False),
    Column("chunks", Integer, nullable=False),
    Column("next_chunk", Integer, nullable=False),
    Column("processed", Integer, nullable=False),
    Column("succeeded", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("cancel_requested", Boolean, nullable=False),
    Column("actor_kind", String(10), nullable=False),
    Column("actor_id", BigId, nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("started_at", UtcDateTime(), nullable=True),
    Column("finished_at", UtcDateTime(), nullable=True),
    Column("error", Text, nullable=True),
    CheckConstraint(
        "status IN ('UPLOADING', 'QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED')",
        name="status",
    ),
    Index("ix_jobs_org_id_id", "org_id", "id"),
    Index("ix_jobs_status_id", "status", "id"),
)

# A job's rows, chunk by chunk: the input as uploaded, the outcomes once the chunk is applied.
job_chunks = Table(
    "job_chunks",
    metadata,
    Column("job_id", ForeignKey("jobs.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("first_line", Integer, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("input", LargeBinary, nullable=False),
    Column("output", LargeBinary, nullable=True),
)

# The outbox (migration 0009): one row per customer, event type and request, committed with the
# change it reports. Append-only; ids increase in commit order (see store/outbox.py).
events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("org_id", BigId, nullable=False),
    Column("type", String(40), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("request_id", String(200), nullable=True),
    Column("customer_id", BigId, nullable=True),
    Column("promotion_id", BigId, nullable=True),
    Column("program_id", BigId, nullable=True),
    Column("promo_identifier", String(200), nullable=True),
    Column("data", Text, nullable=False),
    Index("ix_events_org_id_id", "org_id", "id"),
)

# Webhook endpoints: the signing secret is derived from `secret_salt` and a master key kept
# outside the database; `cursor` is the last event handed to a delivery; a dispatcher works on
# an endpoint only while it holds its lease. Deleted endpoints stay (their deliveries refer to
# them) with `deleted` set.
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("org_id", ForeignKey("orgs.id"), nullable=False, index=True),
    Column("url", String(2000), nullable=False),
    Column("event_types", Text, nullable=False),
    Column("description", String(500), nullable=True),
    Column("enabled", Boolean, nullable=False),
    Column("secret_salt", LargeBinary, nullable=False),
    # After a rotation the previous secret also signs, until `previous_until`.
    Column("previous_salt", LargeBinary, nullable=True),
    Column("previous_until", UtcDateTime(), nullable=True),
    Column("cursor", BigId, nullable=False),
    Column("failing_since", UtcDateTime(), nullable=True),
    Column("disabled_reason", String(200), nullable=True),
    Column("lease_owner", String(100), nullable=True),
    Column("lease_until", UtcDateTime(), nullable=True),
    Column("deleted", Boolean, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# One POST of 1-100 events to one endpoint, retried under the same id (`webhook-id`).
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("endpoint_id", ForeignKey("webhook_endpoints.id"), nullable=False),
    Column("status", String(10), nullable=False),
    Column("event_ids", Text, nullable=False),
    Column("first_event_id", BigId, nullable=False),
    Column("last_event_id", BigId, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("last_attempt_at", UtcDateTime(), nullable=True),
    Column("delivered_at", UtcDateTime(), nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", String(500), nullable=True),
    CheckConstraint("status IN ('PENDING', 'DELIVERED', 'FAILED')", name="status"),
    Index("ix_webhook_deliveries_endpoint_id_status_id", "endpoint_id", "status", "id"),
)
