"""What each job action does to one chunk: the registry ``ACTIONS`` maps action → ``JobAction``.

Every bulk action parses its chunk with the bulk API's own parser and applies it with the bulk
API's own service functions, inside the chunk's transaction: as one batch when its rows name
distinct customers, else batch by batch on the file's 100-row grid. Either way each row's
outcome is exactly the entry the bulk API would answer had the file been sent 100 rows at a
time, in order (a customer named twice sees the first row's effect). Outcomes are rendered by
the bulk API's own entry renderer.

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
from promoledger.domain.vocabulary import PromotionType
from promoledger.jobs import reinstate
from promoledger.jobs.model import JobSpec
from promoledger.services import enrol_earn, revoke
from promoledger.services import reinstate as reinstate_service
from promoledger.services.batch import ResolvedBatch

# (conn, ctx, request, now) → the request-level checks passed and its customers found (and
# locked), inside the caller's transaction.
BatchResolve = Callable[[Connection, Context, BulkRequest, datetime], ResolvedBatch]
# (conn, ctx, request, now, what BatchResolve answered for it or None) → the batch's result.
BatchApply = Callable[
    [Connection, Context, BulkRequest, datetime, ResolvedBatch | None], BatchResult
]


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
    """A job action that is one of the Capillary bulk endpoints: the actions a file can be
    submitted for.

    A chunk whose rows name distinct customers is applied as one batch; otherwise batch by
    batch on the file's 100-row grid (see ``run``)."""

    bulk_action: BulkAction
    actions: Mapping[str, BulkAction] | None
    resolve: BatchResolve
    apply: BatchApply
    batch_limit: int = 100
    with_earn_ids: bool = False
    with_promotion_name: bool = False
    types: Collection[PromotionType] | None = None

    def details(self, spec: JobSpec) -> dict[str, Any]:
        details: dict[str, Any] = {"programId": spec.program_id}
        if spec.by_promotion_id:
            details["promotionId"] = spec.promotion_id
        if spec.promo_identifier is not None:
            details["promoIdentifier"] = spec.promo_identifier
        return details

    def request(
        self, spec: JobSpec, customers: list[Any], *, limit: int | None = None
    ) -> BulkRequest:
        return self._parse(self.details(spec), spec.identifier_name, customers, limit=limit)

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
        """The whole chunk is first parsed and resolved as one request: the request-level
        checks run once, and every customer it names is found in one statement (on PostgreSQL
        locked in id order, as any bulk request locks its own, so a chunk never deadlocks with
        a concurrent request).

        Entries of distinct customers are independent: each is decided on its own customer's
        ledger, whatever batch it falls in. So when no customer is named twice (by resolved
        id: "07" and "7" are one customer), the chunk is applied as that one batch, with the
        bulk service's own code — the same outcomes as batch by batch, in a handful of
        statements instead of a handful per 100 rows. Otherwise it goes batch by batch on the
        file's own grid (rows 1-100, 101-200, ... whatever the chunk size), the customers
        already locked, so a customer named twice sees the first row's effect exactly where
        the bulk API would have shown it.
        """
        if not rows:
            return []
        whole = self.request(spec, rows, limit=len(rows))
        resolved = self.resolve(conn, ctx, whole, now)
        if _distinct(resolved):
            return self._entries(self.apply(conn, ctx, whole, now, resolved))
        entries: list[dict[str, Any]] = []
        start, size = 0, self.batch_limit - (first_line - 1) % self.batch_limit
        while start < len(rows):
            request = self.request(spec, rows[start : start + size])
            entries.extend(self._entries(self.apply(conn, ctx, request, now, None)))
            start, size = start + size, self.batch_limit
        return entries

    def _entries(self, result: BatchResult) -> list[dict[str, Any]]:
        envelope = bulk_envelope(result, with_promotion_name=self.with_promotion_name)
        entries: list[dict[str, Any]] = envelope["response"]
        return entries


def _distinct(batch: ResolvedBatch) -> bool:
    """Does every resolved entry name a different customer?"""
    return len(set(batch.customer_of.values())) == len(batch.customer_of)


def _enrol_earn(
    action: BulkAction, types: Collection[PromotionType] | None = None
) -> tuple[BatchResolve, BatchApply]:
    def resolve(
        conn: Connection, ctx: Context, request: BulkRequest, now: datetime
    ) -> ResolvedBatch:
        return enrol_earn.resolve_batch(
            conn, ctx, request=request, action=action, now=now, types=types
        )

    def apply(
        conn: Connection,
        ctx: Context,
        request: BulkRequest,
        now: datetime,
        resolved: ResolvedBatch | None,
    ) -> BatchResult:
        return enrol_earn.apply(
            conn, ctx, request=request, action=action, now=now, types=types, resolved=resolved
        )

    return resolve, apply


def _revoke_resolve(
    conn: Connection, ctx: Context, request: BulkRequest, now: datetime
) -> ResolvedBatch:
    return revoke.resolve_batch(conn, ctx, request=request, now=now)


def _revoke(
    conn: Connection,
    ctx: Context,
    request: BulkRequest,
    now: datetime,
    resolved: ResolvedBatch | None,
) -> BatchResult:
    return revoke.apply(conn, ctx, request=request, now=now, resolved=resolved)


_DIRECT_ISSUE_ONLY = frozenset({PromotionType.DIRECT_ISSUE})

BULK_ACTIONS: dict[str, BulkJobAction] = {
    "ENROL": BulkJobAction(
        BulkAction.ENROL, ENROL_AND_EARN_ACTIONS, *_enrol_earn(BulkAction.ENROL)
    ),
    "EARN": BulkJobAction(BulkAction.EARN, ENROL_AND_EARN_ACTIONS, *_enrol_earn(BulkAction.EARN)),
    "DIRECT_EARN": BulkJobAction(
        BulkAction.EARN,
        None,
        *_enrol_earn(BulkAction.EARN, _DIRECT_ISSUE_ONLY),
        with_promotion_name=True,
        types=_DIRECT_ISSUE_ONLY,
    ),
    "REVOKE_ENROL": BulkJobAction(
        BulkAction.REVOKE_ENROL, REVOKE_ACTIONS, _revoke_resolve, _revoke, with_earn_ids=True
    ),
    "REVOKE_EARN": BulkJobAction(
        BulkAction.REVOKE_EARN, REVOKE_ACTIONS, _revoke_resolve, _revoke, with_earn_ids=True
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
