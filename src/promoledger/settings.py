"""Typed settings, read once by whoever builds the app (server, CLI, tests)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./promoledger.db"


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
