"""A bulk job as the services and routes see it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class JobStatus(StrEnum):
    UPLOADING = "UPLOADING"  # the file is still streaming in; no worker touches it
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


JOB_ID_PREFIX = "job_"


def public_id(job_id: int) -> str:
    """The id the API shows and every chunk's ``request_id`` carries: ``job_<number>``."""
    return f"{JOB_ID_PREFIX}{job_id}"


def parse_public_id(value: str) -> int | None:
    number = value.removeprefix(JOB_ID_PREFIX)
    if not (number.isascii() and number.isdigit()) or len(number) > 18:
        return None
    return int(number) or None


@dataclass(frozen=True, slots=True)
class JobSpec:
    """What was asked for: the action and the promotion, as the submit named them."""

    action: str  # a key of jobs.actions.ACTIONS (REVOKE_ISSUAL is stored as REVOKE_ENROL)
    program_id: int
    promotion_id: int  # resolved at submit
    by_promotion_id: bool  # the submit named promotionId (results echo it)
    promo_identifier: str | None  # the submit named promoIdentifier (results echo it)
    identifier_name: str
    dry_run: bool


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    org_id: int
    spec: JobSpec
    status: JobStatus
    total: int
    chunks: int
    next_chunk: int
    processed: int
    succeeded: int
    failed: int
    cancel_requested: bool
    actor_kind: str
    actor_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None

    @property
    def public_id(self) -> str:
        return public_id(self.id)

    def eta_seconds(self, now: datetime) -> int | None:
        """Remaining rows at the rate so far; None before the first chunk or once finished."""
        if self.status is not JobStatus.RUNNING or not self.processed or self.started_at is None:
            return None
        elapsed = (now - self.started_at).total_seconds()
        rate = self.processed / elapsed if elapsed > 0 else 0.0
        if rate <= 0:
            return None
        return round((self.total - self.processed) / rate)


@dataclass(frozen=True, slots=True)
class ChunkInput:
    seq: int
    first_line: int
    rows: list[object]  # one Capillary customers[] entry (a dict, or what the line held)
