"""What each job action does to one chunk: the registry ``ACTIONS`` maps action → ``JobAction``.

Every bulk action cuts its chunk into batches of the bulk API's batch limit, parses each batch
with the bulk API's own parser and applies it with the bulk API's own service function, inside
the chunk's transaction: so each row's outcome is exactly the entry the bulk API would answer
had the file been sent batch by batch, in order (a customer named twice sees the first row's
effect). Outcomes are rendered by the bulk API's own entry renderer.

Another kind of job is one more entry in ``ACTIONS`` whose ``run`` takes the chunk's rows and
returns their outcomes: ``REINSTATE`` (``jobs.reinstate``) is one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection

from promoledger.api.capillary import bulk_envelope
from promoledger.domain import errors as E
from promoledger.domain.bulk import (
    ENROL_AND_EARN_ACTIONS,
    REVOKE_ACTIONS,
    BulkAction,
    BulkRequest,
    parse_bulk_request,
)
from promoledger.domain.context import Context
from promoledger.domain.errors import RequestRejected
from promoledger.domain.outcomes import BatchResult
from promoledger.domain.vocabulary import IdentifierName, PromotionType
from promoledger.jobs import reinstate
from promoledger.jobs.model import JobSpec
from promoledger.services import enrol_earn, revoke
from promoledger.services import reinstate as reinstate_service
from promoledger.store.batch import members_by_identifier

# (conn, ctx, request, now) → the batch's result, inside the caller's transaction.
BatchApply = Callable[[Connection, Context, BulkRequest, datetime], BatchResult]


class JobAction(Protocol):
    def run(
        self,
        conn: Connection,
        ctx: Context,
        spec: JobSpec,
        rows: list[Any],
        *,
        first_line: int,
        now: datetime,
    ) -> list[dict[str, Any]]:
        """Apply a chunk's rows (the first is data row ``first_line``); one outcome per row,
        in order, each with an ``errors`` list (non-empty: the row counts as failed)."""
        ...


@dataclass(frozen=True, slots=True)
class BulkJobAction:
    """A job action that is one of the Capillary bulk endpoints, applied batch by batch: the
    actions a file can be submitted for."""

    bulk_action: BulkAction
    actions: Mapping[str, BulkAction] | None
    apply: BatchApply
    batch_limit: int = 100
    with_earn_ids: bool = False
    with_promotion_name: bool = False
    types: Collection[PromotionType] | None = None

    def lock_customers(
        self, conn: Connection, ctx: Context, spec: JobSpec, rows: list[Any]
    ) -> None:
        """PostgreSQL: lock every customer the chunk names, in id order, before its first
        batch. Each batch locks its own customers anyway; taking them all at once, in one
        ordered statement as any bulk request does, means a chunk can never deadlock with a
        concurrent request (batch by batch, it held some customers while waiting for others)."""
        if conn.dialect.name != "postgresql":
            return
        parsed = self._parse(self.details(spec), spec.identifier_name, rows, limit=len(rows))
        name = parsed.identifier_name
        if name is None:
            return
        by_id = name is IdentifierName.ID
        keys = {
            e.customer_id if by_id else e.identifier_value
            for e in parsed.entries
            if e.error is None
        }
        members_by_identifier(
            conn,
            org_id=ctx.org_id,
            program_id=spec.program_id,
            identifier=name,
            values=keys,
            lock=True,
        )

    def details(self, spec: JobSpec) -> dict[str, Any]:
        details: dict[str, Any] = {"programId": spec.program_id}
        if spec.by_promotion_id:
            details["promotionId"] = spec.promotion_id
        if spec.promo_identifier is not None:
            details["promoIdentifier"] = spec.promo_identifier
        return details

    def request(self, spec: JobSpec, customers: list[Any]) -> BulkRequest:
        return self._parse(self.details(spec), spec.identifier_name, customers)

    def _parse(
        self,
        details: dict[str, Any],
        identifier_name: str,
        customers: list[Any],
        *,
        limit: int | None = None,
    ) -> BulkRequest:
        payload = {
            "type": "CUSTOMER",
            "bulkAction": self.bulk_action.value,
            "promotionDetails": details,
            "identifierName": identifier_name,
            "customers": customers,
        }
        return parse_bulk_request(
            payload,
            actions=self.actions,
            fixed_action=self.bulk_action,
            batch_limit=limit or self.batch_limit,
            with_earn_ids=self.with_earn_ids,
        )

    def check(self, details: dict[str, Any], identifier_name: str) -> BulkRequest:
        """The submit's parameters through the bulk API's parser (raises its 400s); the
        promotion checks follow with the store."""
        return self._parse(details, identifier_name, [{"identifierValue": "1"}])

    def run(
        self,
        conn: Connection,
        ctx: Context,
        spec: JobSpec,
        rows: list[Any],
        *,
        first_line: int,
        now: datetime,
    ) -> list[dict[str, Any]]:
        self.lock_customers(conn, ctx, spec, rows)
        entries: list[dict[str, Any]] = []
        # Batches fall on the file's own grid (rows 1-100, 101-200, ...) whatever the chunk size.
        start, size = 0, self.batch_limit - (first_line - 1) % self.batch_limit
        while start < len(rows):
            request = self.request(spec, rows[start : start + size])
            result = self.apply(conn, ctx, request, now)
            envelope = bulk_envelope(result, with_promotion_name=self.with_promotion_name)
            entries.extend(envelope["response"])
            start, size = start + size, self.batch_limit
        return entries


def _enrol_earn(action: BulkAction) -> BatchApply:
    return lambda conn, ctx, request, now: enrol_earn.apply(
        conn, ctx, request=request, action=action, now=now
    )


def _direct_earn(
    conn: Connection, ctx: Context, request: BulkRequest, now: datetime
) -> BatchResult:
    return enrol_earn.apply(
        conn,
        ctx,
        request=request,
        action=BulkAction.EARN,
        now=now,
        types={PromotionType.DIRECT_ISSUE},
    )


def _revoke(conn: Connection, ctx: Context, request: BulkRequest, now: datetime) -> BatchResult:
    return revoke.apply(conn, ctx, request=request, now=now)


BULK_ACTIONS: dict[str, BulkJobAction] = {
    "ENROL": BulkJobAction(BulkAction.ENROL, ENROL_AND_EARN_ACTIONS, _enrol_earn(BulkAction.ENROL)),
    "EARN": BulkJobAction(BulkAction.EARN, ENROL_AND_EARN_ACTIONS, _enrol_earn(BulkAction.EARN)),
    "DIRECT_EARN": BulkJobAction(
        BulkAction.EARN,
        None,
        _direct_earn,
        with_promotion_name=True,
        types={PromotionType.DIRECT_ISSUE},
    ),
    "REVOKE_ENROL": BulkJobAction(
        BulkAction.REVOKE_ENROL, REVOKE_ACTIONS, _revoke, with_earn_ids=True
    ),
    "REVOKE_EARN": BulkJobAction(
        BulkAction.REVOKE_EARN, REVOKE_ACTIONS, _revoke, with_earn_ids=True
    ),
}
# What workers run: the file actions, and REINSTATE (an undo too large to answer inline, whose
# rows services.undo writes from the revoked items; it is not submitted as a file).
ACTIONS: dict[str, JobAction] = {**BULK_ACTIONS, reinstate.ACTION: reinstate.ReinstateJobAction()}
ALIASES = {"REVOKE_ISSUAL": "REVOKE_ENROL"}


def action_named(name: str) -> tuple[str, BulkJobAction]:
    """The canonical name of a file action and its implementation; 9001 for anything else
    (REINSTATE included: such jobs are created by POST /admin/v1/reinstatements)."""
    canonical = ALIASES.get(name, name)
    found = BULK_ACTIONS.get(canonical)
    if found is None:
        raise RequestRejected(E.INVALID_BULK_ACTION)
    return canonical, found


# Raised by a chunk whose revoke (or reinstatement) lost a row to a concurrent writer: retry
# the chunk.
RETRYABLE: tuple[type[Exception], ...] = (revoke.LedgerMoved, reinstate_service.LedgerMoved)
