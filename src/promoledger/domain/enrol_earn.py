"""The per-customer rules of ENROL and EARN, as pure functions over state loaded set-wise.

A batch must behave as if its entries ran one after another, yet be written with a handful of
set-based statements. So the service loads every customer's standing once, ``plan`` walks the
entries in request order updating those standings in memory, and the result is a ``Plan``: the
records to create, the enrolments to mark REPLACED, the audit events, and one outcome per entry.
Records created by this request have no id yet; they are referred to as ``New(slot)`` until the
database names them (``Plan.bind``).

Limits: a record counts against its per-customer limit unless it was REVOKED. A REPLACED
enrolment counts (each re-enrolment consumes the enrolment limit) and so does an EXPIRED record
(the customer had it; expiry is not an undo).

Direct issue (DIRECT_ISSUE): every earn is issued under the customer's dummy enrolment in the
promotion, created with their first earn and never expiring; its id is the ``issualId`` of
every earn result, as in Capillary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from promoledger.domain import errors as E
from promoledger.domain.bulk import BulkAction
from promoledger.domain.errors import ErrorDef
from promoledger.domain.ledger import CustomerLedger
from promoledger.domain.outcomes import EntryOutcome
from promoledger.domain.promotions import Promotion, within_limit
from promoledger.domain.vocabulary import PromotionType, Status

COUNTS_AGAINST_LIMIT = frozenset({Status.ACTIVE, Status.REPLACED, Status.EXPIRED})
# The audit action of a direct-issue dummy enrolment (told apart from a customer's ENROL).
DIRECT_ENROL = "DIRECT_ENROL"


@dataclass(frozen=True, slots=True)
class New:
    """A record this request creates, known by its position until it is inserted."""

    slot: int


Ref = int | New  # an existing record's id, or a record this request creates


@dataclass(slots=True)
class Standing:
    """One customer's position in one promotion, as the limits and rules see it."""

    active_enrolment: Ref | None
    enrolments_used: int
    earns_used: int

    @classmethod
    def of(cls, ledger: CustomerLedger) -> Standing:
        active = [e.id for e in ledger.enrolments if e.status is Status.ACTIVE]
        return cls(
            # At most one enrolment is ACTIVE (re-enrolling replaces); the newest wins if not.
            active_enrolment=max(active) if active else None,
            enrolments_used=sum(1 for e in ledger.enrolments if e.status in COUNTS_AGAINST_LIMIT),
            earns_used=sum(1 for e in ledger.earns if e.status in COUNTS_AGAINST_LIMIT),
        )


@dataclass(slots=True)
class Creation:
    """A record to insert for ``customers[entry_index]``."""

    entry_index: int
    customer_id: int
    enrolment: Ref | None = None  # earns: the enrolment it is earned under
    replaced: bool = False  # enrolments: superseded by a later entry of the same request


@dataclass(slots=True)  # one per customer: not frozen, whose init is several times slower
class Event:
    """One audited state change. ``entity_type`` is ENROLMENT or EARN."""

    action: str  # ENROL, DIRECT_ENROL, EARN, REPLACE
    entity_type: str
    ref: Ref
    customer_id: int
    old_status: Status | None
    new_status: Status


@dataclass(slots=True)  # one per customer: not frozen, whose init is several times slower
class BoundEvent:
    action: str
    entity_type: str
    entity_id: int
    customer_id: int
    old_status: Status | None
    new_status: Status


@dataclass(slots=True)
class Plan:
    outcomes: list[EntryOutcome]
    enrolments: list[Creation] = field(default_factory=list)
    earns: list[Creation] = field(default_factory=list)
    replaced: list[int] = field(default_factory=list)  # existing ACTIVE enrolments → REPLACED
    events: list[Event] = field(default_factory=list)

    def bind(self, enrolment_ids: Sequence[int], earn_ids: Sequence[int]) -> list[BoundEvent]:
        """Name the created records (ids in creation order): fill the outcomes, return events."""
        assert len(enrolment_ids) == len(self.enrolments)
        assert len(earn_ids) == len(self.earns)

        def enrolment_id(ref: Ref) -> int:
            return enrolment_ids[ref.slot] if isinstance(ref, New) else ref

        for creation, new_id in zip(self.enrolments, enrolment_ids, strict=True):
            self.outcomes[creation.entry_index].enrolment_id = new_id
        for creation, new_id in zip(self.earns, earn_ids, strict=True):
            outcome = self.outcomes[creation.entry_index]
            outcome.earn_id = new_id
            if creation.enrolment is not None:
                outcome.enrolment_id = enrolment_id(creation.enrolment)
        return [
            BoundEvent(
                action=e.action,
                entity_type=e.entity_type,
                entity_id=(
                    earn_ids[e.ref.slot]
                    if e.entity_type == "EARN" and isinstance(e.ref, New)
                    else enrolment_id(e.ref)
                ),
                customer_id=e.customer_id,
                old_status=e.old_status,
                new_status=e.new_status,
            )
            for e in self.events
        ]

    def earn_enrolment_ids(self, enrolment_ids: Sequence[int]) -> list[int | None]:
        """The enrolment each planned earn is earned under, once enrolments have ids."""
        return [
            None
            if c.enrolment is None
            else enrolment_ids[c.enrolment.slot]
            if isinstance(c.enrolment, New)
            else c.enrolment
            for c in self.earns
        ]


@dataclass(slots=True)  # one per customer: not frozen, whose init is several times slower
class Entry:
    """One ``customers[i]`` after resolution: a customer id, or the error it already failed with."""

    index: int
    customer_id: int | None
    error: ErrorDef | None = None


def plan(
    *,
    promotion: Promotion,
    action: BulkAction,
    entries: Sequence[Entry],
    standings: dict[int, Standing],
) -> Plan:
    """Decide every entry in request order, as if each were applied before the next."""
    assert action in (BulkAction.ENROL, BulkAction.EARN)
    result = Plan(outcomes=[])
    for entry in entries:
        if entry.customer_id is None:
            assert entry.error is not None
            result.outcomes.append(EntryOutcome.failure(entry.index, entry.error))
            continue
        outcome = EntryOutcome(index=entry.index, customer_id=entry.customer_id)
        standing = standings[entry.customer_id]
        if action is BulkAction.ENROL:
            _enrol(promotion, entry, standing, outcome, result)
        else:
            _earn(promotion, entry, standing, outcome, result)
        result.outcomes.append(outcome)
    return result


def _enrol(
    promotion: Promotion, entry: Entry, standing: Standing, outcome: EntryOutcome, out: Plan
) -> None:
    assert entry.customer_id is not None
    if not within_limit(promotion.enrolments_per_customer, standing.enrolments_used):
        outcome.warnings = (E.LIMIT_EXHAUSTED,)
        return
    previous = standing.active_enrolment
    if previous is not None:
        # Re-enrolling replaces the enrolment; the earns made under it stay as they are.
        if isinstance(previous, New):
            out.enrolments[previous.slot].replaced = True
        else:
            out.replaced.append(previous)
        out.events.append(
            Event(
                "REPLACE", "ENROLMENT", previous, entry.customer_id, Status.ACTIVE, Status.REPLACED
            )
        )
    new = New(len(out.enrolments))
    out.enrolments.append(Creation(entry.index, entry.customer_id))
    out.events.append(Event("ENROL", "ENROLMENT", new, entry.customer_id, None, Status.ACTIVE))
    standing.active_enrolment = new
    standing.enrolments_used += 1


def _earn(
    promotion: Promotion, entry: Entry, standing: Standing, outcome: EntryOutcome, out: Plan
) -> None:
    assert entry.customer_id is not None
    enrolment = standing.active_enrolment
    if enrolment is None and promotion.type is PromotionType.ENROL_AND_ISSUE:
        outcome.errors = (E.NOT_ENROLLED,)
        return
    if isinstance(enrolment, int):
        outcome.enrolment_id = enrolment
    if not within_limit(promotion.earns_per_customer, standing.earns_used):
        outcome.warnings = (E.LIMIT_EXHAUSTED,)
        return
    if enrolment is None:
        # Direct issue: the customer's first earn creates their dummy enrolment, as Capillary
        # does, and every later earn of theirs in this promotion is issued under it. Only
        # DIRECT_ISSUE has dummies: ENROL (whose limit they would count against) and
        # REVOKE_ENROL are refused on it with 8902.
        enrolment = New(len(out.enrolments))
        out.enrolments.append(Creation(entry.index, entry.customer_id))
        out.events.append(
            Event(DIRECT_ENROL, "ENROLMENT", enrolment, entry.customer_id, None, Status.ACTIVE)
        )
        standing.active_enrolment = enrolment
    new = New(len(out.earns))
    out.earns.append(Creation(entry.index, entry.customer_id, enrolment=enrolment))
    out.events.append(Event("EARN", "EARN", new, entry.customer_id, None, Status.ACTIVE))
    standing.earns_used += 1
