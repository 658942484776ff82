"""Typed settings, read once by whoever builds the app (server, CLI, tests)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite:///./promoledger.db"
ENV_PREFIX = "PROMOLEDGER_"
# Variables promoledger reads outside Settings (the test suite's PostgreSQL address).
OTHER_VARIABLES = frozenset({"PROMOLEDGER_TEST_PG"})


class Settings(BaseSettings):
    """Every knob promoledger has. Environment variables are prefixed ``PROMOLEDGER_``."""

    model_config = SettingsConfigDict(env_prefix="PROMOLEDGER_", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL. sqlite:///path (default ./promoledger.db) or "
        "postgresql://user@host/db (the psycopg 3 driver is chosen automatically).",
    )
    batch_limit: int = Field(
        default=100, ge=1, le=1000, description="Most customers one bulk request may carry (1060)."
    )
    max_body_bytes: int = Field(
        default=2 * 1024 * 1024,
        ge=1024,
        description="Largest request body accepted; larger bodies get 413 before parsing.",
    )
    db_pool_size: int = Field(
        default=10, ge=1, description="Connections each server process keeps to PostgreSQL."
    )
    db_pool_timeout: float = Field(
        default=5.0, gt=0, description="Seconds a request waits for a pooled connection (then 503)."
    )
    db_statement_timeout_ms: int = Field(
        default=15_000,
        ge=0,
        description="PostgreSQL statement_timeout: a statement running longer is cancelled, the "
        "request rolls back and answers 503 (0 disables).",
    )
    sqlite_busy_timeout_ms: int = Field(
        default=5000, ge=0, description="How long a SQLite writer waits for the write lock."
    )
    credential_cache_seconds: float = Field(
        default=60.0,
        ge=0,
        description="How long a verified Basic secret skips the slow hash. Disabling or rotating "
        "a credential still takes effect on the very next request.",
    )
    token_issuer: str = Field(default="promoledger", description="`iss` claim of issued tokens.")
    token_key: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="Secret (32+ characters) the token signing keys are derived from; the same "
        "on every host sharing the database. Unset: a random key in PROMOLEDGER_TOKEN_KEY_FILE.",
    )
    token_key_file: str | None = Field(
        default=None,
        description="File (created mode 0600) holding the token master key when "
        "PROMOLEDGER_TOKEN_KEY is unset. Default: <database file>.token-key for SQLite, else "
        "a file per database under ~/.local/state/promoledger.",
    )
    auth_failure_limit: int = Field(
        default=10,
        ge=1,
        description="Failed attempts per credential name from one client address before that "
        "address gets 429 for that name.",
    )
    auth_failure_name_limit: int = Field(
        default=100,
        ge=1,
        description="Failed attempts per credential name from all addresses together before the "
        "name gets 429 for everyone but callers whose secret was verified recently (stops "
        "distributed guessing).",
    )
    auth_failure_window_seconds: int = Field(
        default=300, ge=1, description="Window over which failed attempts are counted."
    )
    auth_trust_seconds: float = Field(
        default=86_400.0,
        ge=0,
        description="How long a secret verified right keeps its caller clear of throttling "
        "(per process), so strangers' failures never lock its owner out.",
    )
    idempotency_ttl_hours: int = Field(
        default=24, ge=24, description="How long an Idempotency-Key's stored response is kept."
    )
    idempotency_stale_seconds: float = Field(
        default=60.0,
        gt=0,
        description="A RUNNING Idempotency-Key claim older than this was left by a process that "
        "died mid-request; a retry takes it over. Keep it above the longest request (pool wait + "
        "statement timeout); a request outliving it rolls back rather than answer twice.",
    )
    log_sql: bool = Field(default=False, description="Echo SQL statements (debugging only).")
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="Log lines as plain text or as one JSON object per line (for log shippers).",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Least severe level logged; access lines are logged at info."
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="When set, GET /metrics requires `Authorization: Bearer <token>`; unset, "
        "/metrics is open like the health checks (it carries no customer data).",
    )
    public_docs: bool = Field(
        default=True,
        description="Serve /docs and /openapi.json without credentials. They describe the "
        "software, not a deployment's data; turn off to not serve them at all.",
    )
    max_header_bytes: int = Field(
        default=32 * 1024,
        ge=4096,
        description="Largest request line plus headers accepted; more gets 431 and the "
        "connection is closed before the rest is read.",
    )
    header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Time a client has to send a complete request line and headers once it "
        "has connected (or started a request); a slower or silent connection is closed.",
    )
    body_timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Time a client has to send the whole request body after its headers; a "
        "slower one is closed.",
    )
    keep_alive_seconds: int = Field(
        default=5, ge=1, description="An idle keep-alive connection is closed after this long."
    )
    max_connections: int = Field(
        default=1000,
        ge=1,
        description="Open connections each server process accepts; more are closed at once. "
        "Also kept below the process's open-file limit.",
    )
    console_idle_minutes: int = Field(
        default=30,
        ge=1,
        le=24 * 60,
        description="A console session unused for this long is signed out.",
    )
    graceful_shutdown_seconds: int = Field(
        default=30,
        ge=1,
        description="On SIGTERM or Ctrl-C, how long requests in flight get to finish.",
    )
    job_max_bytes: int = Field(
        default=2 * 1024**3,
        ge=1024,
        description="Largest bulk-job file accepted (POST /admin/v1/jobs); larger gets 413.",
    )
    job_workers: int = Field(
        default=1, ge=0, description="Bulk-job worker threads in each server process (0: none)."
    )
    job_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A running job whose worker has not committed a chunk for this long (its "
        "process died) is taken over by another worker, from its last committed chunk.",
    )
    job_chunk_rows: int = Field(
        default=500,
        ge=1,
        le=100_000,
        description="Rows a job applies per transaction (in bulk-API batches of the batch limit).",
    )
    reinstate_inline_max: int = Field(
        default=1000,
        ge=0,
        description="An undo (POST /admin/v1/reinstatements) of more revoked enrolments and earns "
        "than this runs as a REINSTATE job (202) instead of inline (200).",
    )

    webhook_workers: int = Field(
        default=1,
        ge=0,
        description="Webhook dispatchers each `serve` process runs (0: none). Any number of "
        "processes share the work through leases in the database.",
    )
    webhook_allow_private_networks: bool = Field(
        default=False,
        description="Allow webhook URLs with http or on loopback / private / link-local "
        "addresses (for receivers on your own network). Off: such URLs are refused with 422.",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, description="A webhook POST must answer 2xx within this long."
    )
    webhook_retry_delays: str = Field(
        default="5,30,120,600,3600",
        pattern=r"^\d+(\.\d+)?(,\d+(\.\d+)?)*$",
        description="Seconds before each retry of a failed webhook delivery (comma-separated); "
        "the last one repeats.",
    )
    webhook_give_up_seconds: float = Field(
        default=86_400.0,
        gt=0,
        description="A delivery still failing this long after its first attempt is FAILED; an "
        "endpoint failing this long is disabled.",
    )
    webhook_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How long a dispatcher owns an endpoint between renewals; a dispatcher "
        "that died frees its endpoints after this long. Keep it well above "
        "PROMOLEDGER_WEBHOOK_TIMEOUT_SECONDS: the lease is renewed before each POST.",
    )
    webhook_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often an idle dispatcher looks for new events."
    )

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError:
            raise ValueError("not a database URL (sqlite:///path or postgresql://...)") from None
        if backend not in ("sqlite", "postgresql", "postgres"):
            raise ValueError(f"{backend} is not supported (sqlite:///path or postgresql://...)")
        return value

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _lowercase(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value


def known_variables() -> frozenset[str]:
    return frozenset(ENV_PREFIX + name.upper() for name in Settings.model_fields) | OTHER_VARIABLES


def unknown_variables(environ: Mapping[str, str]) -> list[tuple[str, str | None]]:
    """``PROMOLEDGER_*`` variables no setting reads, each with the closest known name."""
    known = sorted(known_variables())
    found = []
    for name in sorted(environ):
        if name.upper().startswith(ENV_PREFIX) and name.upper() not in known:
            close = difflib.get_close_matches(name.upper(), known, n=1, cutoff=0.6)
            found.append((name, close[0] if close else None))
    return found
