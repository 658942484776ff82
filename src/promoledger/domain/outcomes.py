"""Per-customer outcomes of a bulk request, in domain words (the wire layer renames them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from promoledger.domain.bulk import BulkAction, PromotionRef
from promoledger.domain.errors import ErrorDef
from promoledger.domain.promotions import Promotion


@dataclass(slots=True)
class EntryOutcome:
    """What happened to ``customers[index]``. Failed when ``errors`` is non-empty.

    ``errors`` and ``warnings`` are tuples, replaced rather than appended to: a bulk request
    makes one outcome per customer, and two empty lists each was a measurable allocation."""

    index: int
    customer_id: int | None = None
    errors: tuple[ErrorDef, ...] = ()
    warnings: tuple[ErrorDef, ...] = ()
    enrolment_id: int | None = None  # created (ENROL/EARN) or revoked (REVOKE_ENROL)
    earn_id: int | None = None  # created (EARN)
    revoked_earn_ids: list[int] | None = None  # REVOKE_EARN, ascending

    @property
    def failed(self) -> bool:
        return bool(self.errors)

    @classmethod
    def failure(cls, index: int, error: ErrorDef) -> EntryOutcome:
        return cls(index=index, errors=(error,))


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What a bulk service did: the promotion it acted on (and the keys the request named it
    by, which the answer echoes) and one outcome per entry."""

    promotion: Promotion
    action: BulkAction
    outcomes: Sequence[EntryOutcome]  # outcomes[i] answers customers[i]
    ref: PromotionRef
