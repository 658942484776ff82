"""``POST /v2/promotion/issue``: one customer; enrols on ENROL_AND_ISSUE, earns on DIRECT_ISSUE.

The same rules and writes as the bulk endpoints (``enrol_earn.apply``) with a batch of one;
the action follows from the promotion's type. A failure of that one entry fails the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from promoledger.domain.bulk import BulkAction, BulkRequest
from promoledger.domain.context import Context
from promoledger.domain.errors import RequestRejected
from promoledger.domain.outcomes import EntryOutcome
from promoledger.domain.promotions import Promotion
from promoledger.domain.vocabulary import PromotionType
from promoledger.services.batch import resolve_promotion
from promoledger.services.enrol_earn import apply
from promoledger.store.types import utcnow
from promoledger.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class IssueResult:
    promotion: Promotion
    action: BulkAction
    outcome: EntryOutcome  # never failed; may carry the 8890 warning (nothing changed)


def issue(
    uow: UnitOfWork, ctx: Context, *, request: BulkRequest, now: datetime | None = None
) -> IssueResult:
    assert len(request.entries) <= 1
    when = now or utcnow()

    def work(conn: Connection) -> IssueResult:
        promotion = resolve_promotion(conn, ctx.org_id, request.promotion)
        # GENERIC falls through to ENROL, which check_action refuses with 8902.
        action = (
            BulkAction.EARN if promotion.type is PromotionType.DIRECT_ISSUE else BulkAction.ENROL
        )
        batch = apply(conn, ctx, request=request, action=action, now=when)
        outcome = batch.outcomes[0]
        if outcome.failed:
            raise RequestRejected(outcome.errors[0])
        return IssueResult(batch.promotion, action, outcome)

    return uow.apply(work, dry_run=ctx.dry_run)
