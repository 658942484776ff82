"""``GET /v2/customers/lookup/promotionData``: a customer's promotions and their timelines.

Promotions come newest first (descending id), narrowed by the promotionType, programs,
sourceType and promotionStatusForCustomer filters. Read-only: nothing is expired here (a write
does that); an overdue ACTIVE record is shown as EXPIRED. The filter needs every record, so the
page is cut after filtering; a customer's promotions are those of their programs, a small set.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from promoledger.domain import errors as E
from promoledger.domain.errors import RequestRejected
from promoledger.domain.ledger import LedgerRecord
from promoledger.domain.lookup import (
    PROMOTIONS_SOURCE_TYPE,
    CustomerPromotion,
    CustomerPromotionStatus,
    PromotionSourceType,
    customer_promotion,
    matches,
)
from promoledger.domain.vocabulary import IdentifierName, PromotionType, Source, source_matches
from promoledger.store import lookup as store
from promoledger.store.customers import sources_of
from promoledger.store.types import utcnow
from promoledger.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class LookupQuery:
    identifier: IdentifierName
    value: str
    customer_id: int | None  # the parsed value when identifier is id (None: not an id)
    source: Source | None
    status: CustomerPromotionStatus | None
    limit: int
    offset: int
    types: frozenset[PromotionType] | None = None  # promotionType filter
    programs: frozenset[int] | None = None  # programs filter
    source_type: PromotionSourceType | None = None  # sourceType filter


@dataclass(frozen=True, slots=True)
class PromotionPage:
    customer_id: int
    total: int
    limit: int
    offset: int
    items: list[CustomerPromotion]
    # (ENROLMENT | EARN, record id) -> the id of the audit event that created the record.
    event_ids: dict[tuple[str, int], int] = field(default_factory=dict)


def promotion_data(
    uow: UnitOfWork, *, org_id: int, query: LookupQuery, now: datetime | None = None
) -> PromotionPage:
    now = now or utcnow()
    with uow.read() as conn:
        key: Any = query.customer_id if query.identifier is IdentifierName.ID else query.value
        customer_id = (
            None
            if key is None
            else store.find_customer(conn, org_id=org_id, identifier=query.identifier, value=key)
        )
        if customer_id is not None and not source_matches(
            query.identifier, query.source, sources_of(conn, [customer_id]).get(customer_id, ())
        ):
            customer_id = None
        if customer_id is None:
            raise RequestRejected(E.CUSTOMER_NOT_FOUND)
        promotions = store.member_promotions(conn, org_id=org_id, customer_id=customer_id)
        enrolment_rows, earn_rows = store.records_of(
            conn, customer_id=customer_id, promotion_ids=[p.id for p in promotions]
        )
        enrolments = _by_promotion(enrolment_rows)
        earns = _by_promotion(earn_rows)
        # Newest first, as Capillary lists them.
        promotions = sorted(promotions, key=lambda p: p.id, reverse=True)
        if query.types is not None:
            promotions = [p for p in promotions if p.type in query.types]
        if query.programs is not None:
            promotions = [p for p in promotions if p.program_id in query.programs]
        if query.source_type not in (None, PROMOTIONS_SOURCE_TYPE):
            promotions = []
        if query.status is not None:
            wanted = query.status
            promotions = [
                p for p in promotions if matches(wanted, p, enrolments[p.id], earns[p.id], now)
            ]
        page = promotions[query.offset : query.offset + query.limit]
        # The page's event log ids: one audit statement, in the same read.
        event_ids = store.creation_events(
            conn, org_id=org_id, customer_id=customer_id, promotion_ids=[p.id for p in page]
        )
    return PromotionPage(
        customer_id=customer_id,
        total=len(promotions),
        limit=query.limit,
        offset=query.offset,
        items=[customer_promotion(p, enrolments[p.id], earns[p.id], now) for p in page],
        event_ids=event_ids,
    )


def _by_promotion(records: list[LedgerRecord]) -> defaultdict[int, list[LedgerRecord]]:
    grouped: defaultdict[int, list[LedgerRecord]] = defaultdict(list)
    for r in records:
        grouped[r.promotion_id or 0].append(r)
    return grouped
