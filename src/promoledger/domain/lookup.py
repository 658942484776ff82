"""What a customer sees of their promotions: timelines and the promotionStatusForCustomer filter.

Pure rules over one customer's records. A REVOKED record is an undo and is not shown; REPLACED
and EXPIRED records are (with their status), so earns made under a replaced enrolment keep their
place. An ACTIVE record past its expiry is shown as EXPIRED even before a write marks it so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from promoledger.domain.enrol_earn import COUNTS_AGAINST_LIMIT
from promoledger.domain.ledger import LedgerRecord
from promoledger.domain.promotions import UNLIMITED, Promotion, within_limit
from promoledger.domain.vocabulary import PromotionType, Status


class PromotionSourceType(StrEnum):
    """Capillary's ``sourceType`` filter: where a promotion was created."""

    UI = "UI"
    API = "API"
    CAMPAIGN = "CAMPAIGN"


# Every promoledger promotion is created by its config API's use case (``/admin/v1``, and
# ``promoledger demo`` through the same service): there is no Capillary UI and no campaign.
PROMOTIONS_SOURCE_TYPE = PromotionSourceType.API


class CustomerPromotionStatus(StrEnum):
    AVAILABLE_TO_ENROL = "AVAILABLE_TO_ENROL"
    AVAILABLE_TO_EARN = "AVAILABLE_TO_EARN"
    AVAILABLE_TO_REDEEM = "AVAILABLE_TO_REDEEM"
    EXPIRED = "EXPIRED"


def _seen_at(record: LedgerRecord, now: datetime) -> LedgerRecord:
    """The record as the customer sees it now (an overdue ACTIVE one shows as EXPIRED)."""
    return replace(record, status=record.status_at(now)) if record.overdue(now) else record


@dataclass(slots=True)
class Timeline:
    """One enrolment and the earns made under it; ``enrolment`` None groups direct earns."""

    enrolment: LedgerRecord | None
    earns: list[LedgerRecord] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Restriction:
    """A per-customer limit and the customer's live count against it (Capillary's
    ``promotionRestriction`` entries are all ``limitOn: CUSTOMER``, ``NON_PERIOD_BASED``)."""

    kpi: str
    max_limit: int  # -1: unlimited
    current_usage: int


NUMBER_OF_ISSUALS = "NUMBER_OF_ISSUALS"
NUMBER_OF_EARNS = "NUMBER_OF_EARNS"


@dataclass(frozen=True, slots=True)
class CustomerPromotion:
    promotion: Promotion
    timelines: list[Timeline]
    enrolments_used: int = 0  # records that count against the per-customer limits
    earns_used: int = 0

    def restrictions(self, *, fetch_all: bool) -> tuple[list[Restriction], list[Restriction]]:
        """(issual restrictions, earn restrictions). The enrolment limit is the issual one
        (ENROL_AND_ISSUE only), the earn limit the earn one (not on GENERIC, which has no
        actions). An unlimited one is listed only when ``fetch_all`` asks for every usage."""
        p = self.promotion
        issual: list[Restriction] = []
        earn: list[Restriction] = []
        if p.type is PromotionType.ENROL_AND_ISSUE:
            issual.append(
                Restriction(NUMBER_OF_ISSUALS, p.enrolments_per_customer, self.enrolments_used)
            )
        if p.type is not PromotionType.GENERIC:
            earn.append(Restriction(NUMBER_OF_EARNS, p.earns_per_customer, self.earns_used))

        def shown(items: list[Restriction]) -> list[Restriction]:
            return [r for r in items if fetch_all or r.max_limit != UNLIMITED]

        return shown(issual), shown(earn)


def customer_promotion(
    promotion: Promotion,
    enrolments: Sequence[LedgerRecord],
    earns: Sequence[LedgerRecord],
    now: datetime,
) -> CustomerPromotion:
    shown_enrolments = [_seen_at(r, now) for r in enrolments if r.status is not Status.REVOKED]
    timelines = {r.id: Timeline(r) for r in sorted(shown_enrolments, key=lambda r: r.id)}
    loose = Timeline(None)
    for earn in sorted(earns, key=lambda r: r.id):
        if earn.status is Status.REVOKED:
            continue
        home = timelines.get(earn.enrolment_id) if earn.enrolment_id is not None else None
        (home or loose).earns.append(_seen_at(earn, now))
    result = list(timelines.values())
    if loose.earns:
        result.append(loose)
    return CustomerPromotion(
        promotion,
        result,
        enrolments_used=sum(1 for r in enrolments if r.status in COUNTS_AGAINST_LIMIT),
        earns_used=sum(1 for r in earns if r.status in COUNTS_AGAINST_LIMIT),
    )


def matches(
    wanted: CustomerPromotionStatus,
    promotion: Promotion,
    enrolments: Sequence[LedgerRecord],
    earns: Sequence[LedgerRecord],
    now: datetime,
) -> bool:
    """Capillary's promotionStatusForCustomer filter, on promoledger's rules."""
    if wanted is CustomerPromotionStatus.EXPIRED:
        return promotion.end_date is not None and promotion.end_date < now
    if not (promotion.active and promotion.in_window(now)):
        return False
    enrolled = any(r.status_at(now) is Status.ACTIVE for r in enrolments)
    earned = any(r.status_at(now) is Status.ACTIVE for r in earns)
    enrolments_used = sum(1 for r in enrolments if r.status in COUNTS_AGAINST_LIMIT)
    earns_used = sum(1 for r in earns if r.status in COUNTS_AGAINST_LIMIT)
    if wanted is CustomerPromotionStatus.AVAILABLE_TO_ENROL:
        return (
            promotion.type is PromotionType.ENROL_AND_ISSUE
            and not enrolled
            and within_limit(promotion.enrolments_per_customer, enrolments_used)
        )
    if wanted is CustomerPromotionStatus.AVAILABLE_TO_EARN:
        can_earn = promotion.type is PromotionType.DIRECT_ISSUE or (
            promotion.type is PromotionType.ENROL_AND_ISSUE and enrolled
        )
        return can_earn and within_limit(promotion.earns_per_customer, earns_used)
    return promotion.type is PromotionType.GENERIC or earned
