"""The REINSTATE job: an undo too large to answer inline, put back chunk by chunk.

Its rows are the revoked items themselves, written as the job's chunks when the job is
created (``services.undo``): one row per enrolment or earn the undone request revoked, in
decision order (customer, enrolments first, id), cut with ``domain.reinstate.chunks`` so a
customer's items share a chunk (an earn is decided with the enrolment it depends on). Each row
names the request it undoes, so a chunk is self-contained: any worker, after any crash, runs it
with nothing but its rows. A chunk is one ``reinstate_chunk`` inside the worker's chunk
transaction, so the reinstatement, its audit events, the rows' outcomes and the job's progress
commit together, and the conditional UPDATE keeps it exactly once.

A row's outcome (the job's report) is ``{"entityType", "entityId", "customerId", "outcome",
"errors"}``: ``outcome`` is ``REINSTATED`` or the skip reason; a skipped item carries one error
(code = the reason) so the job counts it in ``failed`` and ``?status=FAILED`` lists it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from promoledger.domain.context import Context
from promoledger.domain.reinstate import Reason, RevokedItem
from promoledger.jobs.model import JobSpec
from promoledger.services.reinstate import reinstate_chunk

ACTION = "REINSTATE"
REINSTATED = "REINSTATED"

# Why an item was skipped, in words, for the report's ``message``.
SKIP_MESSAGES = {
    Reason.ALREADY_ACTIVE: "Not revoked any more: already reinstated",
    Reason.REVOKED_AGAIN: "Revoked again by another request since",
    Reason.EXPIRED: "Expired meanwhile",
    Reason.NOT_ENROLLED: "Its enrolment is not active",
    Reason.LIMIT: "Would exceed the promotion's per-customer limit",
}


def item_rows(request_id: str, items: Sequence[RevokedItem]) -> list[dict[str, Any]]:
    """A chunk's stored rows: the items, each naming the request it undoes."""
    return [
        {
            "requestId": request_id,
            "entityType": i.entity_type,
            "entityId": i.entity_id,
            "customerId": i.customer_id,
            "promotionId": i.promotion_id,
        }
        for i in items
    ]


def _item(row: dict[str, Any]) -> RevokedItem:
    return RevokedItem(
        customer_id=int(row["customerId"]),
        entity_type=str(row["entityType"]),
        entity_id=int(row["entityId"]),
        promotion_id=int(row["promotionId"]),
    )


def outcome(item: RevokedItem, reason: Reason | None) -> dict[str, Any]:
    """One row of the report."""
    errors = [] if reason is None else [{"code": reason.value, "message": SKIP_MESSAGES[reason]}]
    return {
        "entityType": item.entity_type,
        "entityId": item.entity_id,
        "customerId": item.customer_id,
        "outcome": REINSTATED if reason is None else reason.value,
        "errors": errors,
    }


class ReinstateJobAction:
    """``jobs.actions.ACTIONS["REINSTATE"]``: reinstate one chunk of revoked items."""

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
        # services.undo wrote the chunk: every row names the same request.
        (request_id,) = {str(row["requestId"]) for row in rows}
        items = [_item(row) for row in rows]
        result = reinstate_chunk(conn, ctx, request_id=request_id, items=items, now=now)
        # Every item not skipped was put back: reinstate_chunk raises LedgerMoved otherwise.
        skipped = {(s.entity_type, s.entity_id): s.reason for s in result.skipped}
        return [outcome(i, skipped.get((i.entity_type, i.entity_id))) for i in items]
