"""`promoledger reinstate`: undo a revoke request or revoke job, as the operator."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import typer

from promoledger.cli.common import domain_errors, emit, unit_of_work
from promoledger.domain.context import Context
from promoledger.domain.reinstate import Reinstatement
from promoledger.services import reinstate as service


def register(app: typer.Typer) -> None:
    @app.command("reinstate")
    def reinstate(
        ctx: typer.Context,
        *,
        org: Annotated[int, typer.Option(help="The org whose revoke is undone.")],
        request_id: Annotated[
            str | None, typer.Option(help="The X-Request-ID of the revoke call to undo.")
        ] = None,
        job_id: Annotated[str | None, typer.Option(help="The revoke job to undo.")] = None,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Decide and print, commit nothing.")
        ] = False,
    ) -> None:
        """Put back every enrolment and earn a revoke request (or job) revoked; prints
        {"reinstated": {"enrolments", "earns"}, "skipped": [...]} as the HTTP API answers."""
        if (request_id is None) == (job_id is None):
            raise typer.BadParameter("give exactly one of --request-id and --job-id")
        with domain_errors(), unit_of_work(ctx) as uow:
            operator = dataclasses.replace(Context.operator(org), dry_run=dry_run)
            target = request_id or service.request_id_of_job(uow, org_id=org, job_id=str(job_id))
            emit(answer(service.reinstate(uow, operator, request_id=target)))


def answer(result: Reinstatement) -> dict[str, Any]:
    """The HTTP API's answer shape (``api/admin_reinstatements.ReinstatementPublic``)."""
    return {
        "reinstated": {"enrolments": result.enrolments, "earns": result.earns},
        "skipped": [
            {
                "entityType": s.entity_type,
                "entityId": s.entity_id,
                "customerId": s.customer_id,
                "reason": s.reason.value,
            }
            for s in result.skipped
        ],
    }
