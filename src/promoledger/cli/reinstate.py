"""`promoledger reinstate`: undo a revoke request or revoke job, as the operator.

A small undo prints the reinstatement as the HTTP API answers it. One of more than
``PROMOLEDGER_REINSTATE_INLINE_MAX`` items becomes a REINSTATE job, which (unless ``--detach``)
runs right here with the progress bar of ``jobs submit`` and prints the finished job; its
per-item report is ``promoledger jobs results ID``.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import typer

from promoledger.cli.common import domain_errors, emit, runtime
from promoledger.cli.jobs import run_here
from promoledger.domain.context import Context
from promoledger.domain.reinstate import Reinstatement
from promoledger.jobs.model import Job
from promoledger.jobs.wire import job_public
from promoledger.services import undo


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
        detach: Annotated[
            bool,
            typer.Option(
                "--detach", help="A large undo: queue its job for the servers and print it."
            ),
        ] = False,
    ) -> None:
        """Put back every enrolment and earn a revoke request (or job) revoked; prints
        {"reinstated": {"enrolments", "earns"}, "skipped": [...]} as the HTTP API answers, or,
        for a large undo, the REINSTATE job it ran as."""
        if (request_id is None) == (job_id is None):
            raise typer.BadParameter("give exactly one of --request-id and --job-id")
        with domain_errors(), runtime(ctx) as rt:
            operator = dataclasses.replace(Context.operator(org), dry_run=dry_run)
            result = undo.undo(
                rt.uow,
                operator,
                request_id=request_id,
                job_id=job_id,
                inline_max=rt.settings.reinstate_inline_max,
                chunk_items=rt.settings.job_chunk_rows,
            )
            if not isinstance(result, Job):
                emit(answer(result))
            elif detach:
                emit(job_public(result))
            else:
                emit(job_public(run_here(rt, operator, result)))


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
