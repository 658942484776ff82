"""A job as the API and the CLI show it (camelCase JSON)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from promoledger.jobs.model import Job
from promoledger.store.types import utcnow


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def job_public(job: Job, now: datetime | None = None) -> dict[str, Any]:
    spec = job.spec
    out: dict[str, Any] = {
        "id": job.public_id,
        "action": spec.action,
        "programId": spec.program_id,
        "promotionId": spec.promotion_id,
    }
    if spec.promo_identifier is not None:
        out["promoIdentifier"] = spec.promo_identifier
    out |= {
        "identifierName": spec.identifier_name,
        "dryRun": spec.dry_run,
        "status": job.status.value,
        "total": job.total,
        "processed": job.processed,
        "succeeded": job.succeeded,
        "failed": job.failed,
        "cancelRequested": job.cancel_requested,
        "createdAt": _when(job.created_at),
        "startedAt": _when(job.started_at),
        "finishedAt": _when(job.finished_at),
        "etaSeconds": job.eta_seconds(now or utcnow()),
        "error": job.error,
    }
    return out
