"""Undoing a revoke (reinstatement): which revoked records go back to ACTIVE, as a pure function.

The service hands ``decide`` what one revoke request (or job) revoked in one promotion — the
records as they stand now — and the customers' whole ledgers in that promotion (overdue records
already marked EXPIRED). Per customer, enrolments are decided first, then earns, each in id
order, updating the customer's standing as they go, so an earn sees the enrolments this
reinstatement puts back and the limits count what it has already reinstated.

An item is skipped, with a reason, when it is no longer this request's revoke to undo:

- ``ALREADY_ACTIVE``: it is not REVOKED any more — already reinstated (and perhaps REPLACED by a
  later enrolment since);
- ``REVOKED_AGAIN``: reinstated and then revoked by another request; that request's undo owns it;
- ``EXPIRED``: its expiry passed (while revoked, or after it was reinstated);
- ``NOT_ENROLLED``: an earn whose enrolment is not ACTIVE once this reinstatement's enrolments are
  applied (an earn never goes back under a revoked, replaced or expired enrolment);
- ``LIMIT``: putting it back would exceed the promotion's per-customer limit (a revoked record
  frees its slot; the customer may have used it since), or, for an enrolment, the customer holds
  another ACTIVE enrolment in the promotion (enrolled again since: at most one is ACTIVE).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from promoledger.domain.enrol_earn import COUNTS_AGAINST_LIMIT
from promoledger.domain.ledger import CustomerLedger, LedgerRecord
from promoledger.domain.promotions import Promotion, within_limit
from promoledger.domain.vocabulary import PromotionType, Status

ENROLMENT = "ENROLMENT"
EARN = "EARN"
# The audit actions a reinstatement undoes, and the ones it writes.
REVOKE_ACTIONS = ("REVOKE_ENROL", "REVOKE_EARN")
REINSTATE_ACTION = {ENROLMENT: "REINSTATE_ENROL", EARN: "REINSTATE_EARN"}


class Reason(StrEnum):
    EXPIRED = "EXPIRED"
    ALREADY_ACTIVE = "ALREADY_ACTIVE"
    LIMIT = "LIMIT"
    NOT_ENROLLED = "NOT_ENROLLED"
    REVOKED_AGAIN = "REVOKED_AGAIN"


@dataclass(frozen=True, slots=True)
class RevokedItem:
    """One record a revoke request revoked, as its audit event names it.

    Ordered by customer, then enrolments before earns, then id: the order items are decided in,
    and the order a job cuts them into chunks (a customer's items stay together)."""

    customer_id: int
    entity_type: str  # ENROLMENT or EARN
    entity_id: int
    promotion_id: int

    @property
    def sort_key(self) -> tuple[int, int, int]:
        return (self.customer_id, 0 if self.entity_type == ENROLMENT else 1, self.entity_id)


@dataclass(frozen=True, slots=True)
class Skip:
    entity_type: str
    entity_id: int
    customer_id: int
    reason: Reason


@dataclass(slots=True)
class Decision:
    """What to put back (record id → customer id) and what to skip, for one promotion."""

    promotion_id: int
    enrolments: dict[int, int] = field(default_factory=dict)
    earns: dict[int, int] = field(default_factory=dict)
    skipped: list[Skip] = field(default_factory=list)


@dataclass(slots=True)
class _Standing:
    active_enrolments: set[int]
    enrolments_used: int
    earns_used: int

    @classmethod
    def of(cls, ledger: CustomerLedger) -> _Standing:
        return cls(
            active_enrolments={e.id for e in ledger.enrolments if e.status is Status.ACTIVE},
            enrolments_used=sum(e.status in COUNTS_AGAINST_LIMIT for e in ledger.enrolments),
            earns_used=sum(e.status in COUNTS_AGAINST_LIMIT for e in ledger.earns),
        )


def decide(
    *,
    request_id: str,
    promotion: Promotion,
    enrolments: Sequence[LedgerRecord],
    earns: Sequence[LedgerRecord],
    ledgers: dict[int, CustomerLedger],
    now: datetime,
) -> Decision:
    """Decide every item revoked by ``request_id`` in ``promotion``: enrolments, then earns.

    ``enrolments`` and ``earns`` are the items' records as they stand now (full rows: status,
    expiry, ``ended_request_id``, the earn's enrolment); ``ledgers`` every record of their
    customers in the promotion, overdue ones already EXPIRED.
    """
    out = Decision(promotion.id)
    standing = {cid: _Standing.of(ledger) for cid, ledger in ledgers.items()}
    for record in sorted(enrolments, key=lambda r: r.id):
        cust = standing.setdefault(record.customer_id, _Standing(set(), 0, 0))
        reason = _gone(record, request_id, now)
        if reason is None and (
            cust.active_enrolments
            or not within_limit(promotion.enrolments_per_customer, cust.enrolments_used)
        ):
            reason = Reason.LIMIT
        if reason is not None:
            out.skipped.append(Skip(ENROLMENT, record.id, record.customer_id, reason))
            continue
        out.enrolments[record.id] = record.customer_id
        cust.active_enrolments.add(record.id)
        cust.enrolments_used += 1
    for record in sorted(earns, key=lambda r: r.id):
        cust = standing.setdefault(record.customer_id, _Standing(set(), 0, 0))
        reason = _gone(record, request_id, now)
        if reason is None and not _enrolled(promotion, record, cust):
            reason = Reason.NOT_ENROLLED
        if reason is None and not within_limit(promotion.earns_per_customer, cust.earns_used):
            reason = Reason.LIMIT
        if reason is not None:
            out.skipped.append(Skip(EARN, record.id, record.customer_id, reason))
            continue
        out.earns[record.id] = record.customer_id
        cust.earns_used += 1
    return out


def _gone(record: LedgerRecord, request_id: str, now: datetime) -> Reason | None:
    """Why ``record`` is no longer this request's revoke to undo, if it is not."""
    if record.status is Status.EXPIRED:
        return Reason.EXPIRED
    if record.status is not Status.REVOKED:
        return Reason.ALREADY_ACTIVE  # ACTIVE, or reinstated and REPLACED since
    if record.ended_request_id != request_id:
        return Reason.REVOKED_AGAIN
    if record.expires_at is not None and record.expires_at <= now:
        return Reason.EXPIRED
    return None


def _enrolled(promotion: Promotion, earn: LedgerRecord, cust: _Standing) -> bool:
    if earn.enrolment_id is not None:
        return earn.enrolment_id in cust.active_enrolments
    # An earn recorded without its enrolment: direct issue needs none; otherwise the customer
    # must be enrolled, as for a new EARN.
    return promotion.type is PromotionType.DIRECT_ISSUE or bool(cust.active_enrolments)


@dataclass(slots=True)
class Reinstatement:
    """The answer: how many records went back to ACTIVE, and every item skipped with why."""

    enrolments: int = 0
    earns: int = 0
    skipped: list[Skip] = field(default_factory=list)

    @classmethod
    def of(cls, decisions: Iterable[Decision]) -> Reinstatement:
        result = cls()
        for decision in decisions:
            result.enrolments += len(decision.enrolments)
            result.earns += len(decision.earns)
            result.skipped.extend(decision.skipped)
        return result

    def merged(self, other: Reinstatement) -> Reinstatement:
        """Two chunks' answers as one (a job reinstating chunk by chunk)."""
        return Reinstatement(
            self.enrolments + other.enrolments,
            self.earns + other.earns,
            [*self.skipped, *other.skipped],
        )


def chunks(items: Sequence[RevokedItem], size: int) -> list[list[RevokedItem]]:
    """Cut sorted items into chunks of about ``size``, never splitting a customer's items (an
    earn must be decided with the enrolment it depends on)."""
    out: list[list[RevokedItem]] = []
    current: list[RevokedItem] = []
    for item in sorted(items, key=lambda i: i.sort_key):
        if len(current) >= size and current[-1].customer_id != item.customer_id:
            out.append(current)
            current = []
        current.append(item)
    if current:
        out.append(current)
    return out
