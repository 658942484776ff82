"""Resolving a bulk request against the store: the promotion, then every customer, set-wise.

Shared by enrol/earn and revoke so both apply the contract's rules identically.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from promoledger.domain import errors as E
from promoledger.domain.bulk import BulkAction, BulkRequest, CustomerEntry, PromotionRef
from promoledger.domain.errors import ErrorDef, RequestRejected
from promoledger.domain.promotions import Promotion, check_action
from promoledger.domain.vocabulary import (
    IdentifierName,
    PromotionType,
    needs_registration,
    source_matches,
)
from promoledger.store import batch as store
from promoledger.store import customers as customer_store


@dataclass(frozen=True, slots=True)
class ResolvedBatch:
    promotion: Promotion
    entries: tuple[CustomerEntry, ...]
    # entry index → customer id, or the error that entry fails with (8003/8015/8896/...)
    customer_of: dict[int, int]
    error_of: dict[int, ErrorDef]

    @property
    def customer_ids(self) -> set[int]:
        return set(self.customer_of.values())


def resolve_promotion(conn: Connection, org_id: int, ref: PromotionRef) -> Promotion:
    """1101 for an unknown (or foreign) program, 8874 for an unknown or inconsistent promotion.

    When both promotionId and promoIdentifier are given, the promotion must match both.
    """
    if ref.program_id is None:
        raise RequestRejected(E.INVALID_PROGRAM)
    program_found, promotion = store.program_and_promotion(
        conn,
        org_id,
        ref.program_id,
        None if ref.promotion_id_invalid else ref.promotion_id,
        None if ref.promotion_id_invalid else ref.promo_identifier,
    )
    if not program_found:
        raise RequestRejected(E.INVALID_PROGRAM)
    if promotion is None:
        raise RequestRejected(E.INVALID_PROMOTION)
    return promotion


def resolve(
    conn: Connection,
    *,
    org_id: int,
    request: BulkRequest,
    now: datetime,
    lock: bool,
    action: BulkAction | None = None,
    types: Collection[PromotionType] | None = None,
) -> ResolvedBatch:
    """Apply the request-level checks in the contract's order, then find every customer.

    ``types`` narrows the promotion types an endpoint serves (directEarn: DIRECT_ISSUE only);
    another type is refused with 8902 at the same point as any other unsupported action.
    """
    promotion = resolve_promotion(conn, org_id, request.promotion)
    check_action(promotion, action or request.action, now)
    if types is not None and promotion.type not in types:
        raise RequestRejected(E.ACTION_NOT_SUPPORTED)
    if request.deferred is not None:
        raise RequestRejected(request.deferred)
    assert request.identifier_name is not None
    identifier = request.identifier_name

    wanted = [e for e in request.entries if e.error is None]
    by_id = identifier is IdentifierName.ID
    keys = {e.customer_id if by_id else e.identifier_value for e in wanted}
    found = store.members_by_identifier(
        conn,
        org_id=org_id,
        program_id=promotion.program_id,
        identifier=identifier,
        values=keys,
        lock=lock,
    )
    needs_source = any(needs_registration(identifier, e.source) for e in wanted)
    sources = customer_store.sources_of(conn, found.values()) if needs_source else {}

    customer_of: dict[int, int] = {}
    error_of: dict[int, ErrorDef] = {e.index: e.error for e in request.entries if e.error}
    for entry in wanted:
        customer_id = found.get(entry.customer_id if by_id else entry.identifier_value)
        if customer_id is None or (
            needs_source and not source_matches(identifier, entry.source, sources[customer_id])
        ):
            error_of[entry.index] = E.CUSTOMER_NOT_FOUND
        else:
            customer_of[entry.index] = customer_id
    return ResolvedBatch(promotion, request.entries, customer_of, error_of)
