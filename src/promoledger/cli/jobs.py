"""`promoledger jobs ...`: bulk jobs from the command line, on the same services as the API.

``submit`` stores the file and, unless ``--detach``, runs the job in this process with a
progress bar (rows/s, ETA; plain progress lines when stdout is not a terminal), then prints the
job as JSON. A job left to the servers (``--detach``, or taken by a server's worker first) is
followed until it ends.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from promoledger.cli.common import domain_errors, emit, runtime
from promoledger.domain.context import Context
from promoledger.jobs import results as report
from promoledger.jobs.model import Job
from promoledger.jobs.wire import job_public
from promoledger.jobs.worker import JobRunner
from promoledger.runtime import Runtime
from promoledger.services import jobs as service

app = typer.Typer(help="Bulk jobs: the Capillary bulk actions over a whole file.")

POLL_SECONDS = 0.5
READ_BYTES = 1 << 20
_TYPES = {".csv": "text/csv", ".ndjson": "application/x-ndjson", ".jsonl": "application/x-ndjson"}

Org = Annotated[int, typer.Option("--org", help="The org the job belongs to.")]


def _pieces(handle: BinaryIO) -> Iterator[bytes]:
    while piece := handle.read(READ_BYTES):
        yield piece


class _Reporter:
    """A rich progress bar on a terminal; otherwise one plain line per second or so."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.started = time.monotonic()
        self.last_line = 0.0
        self.bar: Progress | None = None
        if sys.stdout.isatty():
            self.bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[rate]} rows/s"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self.task = self.bar.add_task("rows", total=total, rate="-")
            self.bar.start()

    def update(self, job: Job) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = job.processed / elapsed
        if self.bar is not None:
            self.bar.update(self.task, completed=job.processed, rate=f"{rate:,.0f}")
            return
        now = time.monotonic()
        if now - self.last_line >= 1.0 or job.status.finished:
            self.last_line = now
            left = (self.total - job.processed) / rate if rate > 0 else None
            eta = f"{left:.0f}s" if left is not None else "?"
            typer.echo(
                f"{job.public_id} {job.status.value}: {job.processed}/{self.total} rows "
                f"({job.failed} failed), {rate:,.0f} rows/s, ETA {eta}",
                err=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


@app.command("submit")
def submit(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    *,
    org: Org,
    action: Annotated[
        str,
        typer.Option(help="ENROL, EARN, DIRECT_EARN, REVOKE_ENROL (REVOKE_ISSUAL), REVOKE_EARN."),
    ],
    program: Annotated[str, typer.Option(help="The program id.")],
    promotion: Annotated[str | None, typer.Option(help="The promotion id.")] = None,
    promo_identifier: Annotated[str | None, typer.Option(help="The promoIdentifier.")] = None,
    identifier_name: Annotated[str, typer.Option(help="id, mobile or email.")] = "id",
    file_format: Annotated[
        str | None,
        typer.Option("--format", help="csv or ndjson (default: from the file's extension)."),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Decide every row; change nothing.")] = False,
    detach: Annotated[bool, typer.Option(help="Queue the job for the servers and return.")] = False,
) -> None:
    """Submit FILE as a job and (unless --detach) run it here; prints the job as JSON."""
    kind = {"csv": "text/csv", "ndjson": "application/x-ndjson"}.get(
        (file_format or "").lower(), _TYPES.get(file.suffix.lower(), "text/csv")
    )
    with domain_errors(), runtime(ctx) as rt, file.open("rb") as handle:
        operator = Context.operator(org)
        job = service.submit(
            rt.uow,
            operator,
            request=service.JobRequest(
                action=action,
                program_id=program,
                promotion_id=promotion,
                promo_identifier=promo_identifier,
                identifier_name=identifier_name,
                dry_run=dry_run,
            ),
            content_type=kind,
            body=_pieces(handle),
            max_bytes=rt.settings.job_max_bytes,
            chunk_rows=rt.settings.job_chunk_rows,
        )
        if detach:
            emit(job_public(job))
            return
        emit(job_public(run_here(rt, operator, job)))


def run_here(rt: Runtime, operator: Context, job: Job) -> Job:
    """Run ``job`` in this process with a progress bar; the job once it has ended."""
    reporter = _Reporter(job.total)
    try:
        runner = JobRunner(rt.uow, lease_seconds=rt.settings.job_lease_seconds)
        runner.run_next(job.id, progress=reporter.update)
        # Taken by a server first, or its lease lost to one: follow it to its end.
        while not (job := service.get(rt.uow, operator, job.public_id)).status.finished:
            reporter.update(job)
            time.sleep(POLL_SECONDS)
        reporter.update(job)
    finally:
        reporter.close()
    return job


@app.command("list")
def list_jobs(
    ctx: typer.Context,
    *,
    org: Org,
    limit: Annotated[int, typer.Option(min=1, max=service.MAX_PAGE)] = service.DEFAULT_PAGE,
    cursor: Annotated[str | None, typer.Option()] = None,
) -> None:
    """The org's jobs, newest first: {"jobs": [...], "nextCursor"}."""
    with domain_errors(), runtime(ctx) as rt:
        page = service.list_jobs(rt.uow, Context.operator(org), limit=limit, cursor=cursor)
    emit({"jobs": [job_public(j) for j in page.jobs], "nextCursor": page.next_cursor})


@app.command("show")
def show(ctx: typer.Context, job_id: str, *, org: Org) -> None:
    """One job's status and progress."""
    with domain_errors(), runtime(ctx) as rt:
        emit(job_public(service.get(rt.uow, Context.operator(org), job_id)))


@app.command("results")
def results(
    ctx: typer.Context,
    job_id: str,
    *,
    org: Org,
    status: Annotated[str | None, typer.Option(help="SUCCESS, FAILED or WARNING.")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to FILE.")] = None,
) -> None:
    """The job's per-row report as CSV (rows applied so far, in file order)."""
    with domain_errors(), runtime(ctx) as rt:
        found = service.job_report(rt.uow, Context.operator(org), job_id, status=status)
        pieces = report.as_csv(found.rows, action=found.job.spec.action)
        if output is None:
            for piece in pieces:
                sys.stdout.buffer.write(piece)
            sys.stdout.flush()
            return
        with output.open("wb") as handle:
            for piece in pieces:
                handle.write(piece)


@app.command("cancel")
def cancel(ctx: typer.Context, job_id: str, *, org: Org) -> None:
    """Stop a job at its next chunk boundary (a queued job at once)."""
    with domain_errors(), runtime(ctx) as rt:
        emit(job_public(service.cancel(rt.uow, Context.operator(org), job_id)))
