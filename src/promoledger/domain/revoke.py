"""The revoke rules (contract 3.1), decided per customer by pure functions.

``decide`` folds the batch's entries in request order over an in-memory copy of each customer's
ledger, so the batch behaves exactly as if its entries ran one after another: a customer named
twice sees, the second time, what the first entry revoked. It never touches the database; the
service applies the resulting ``Plan`` in one conditional statement per table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from promoledger.domain import errors as E
from promoledger.domain.bulk import BulkAction, CustomerEntry
from promoledger.domain.errors import ErrorDef
from promoledger.domain.ledger import CustomerLedger
from promoledger.domain.outcomes import EntryOutcome
from promoledger.domain.vocabulary import Status

_ACTIVE = Status.ACTIVE  # bound once: an enum member lookup per record was measurable


@dataclass(slots=True)
class Holdings:
    """What a customer still holds ACTIVE in the promotion, as the batch has left it so far."""

    enrolments: list[int] = field(default_factory=list)  # ascending ids
    earns: set[int] = field(default_factory=set)

    @classmethod
    def of(cls, ledger: CustomerLedger) -> Holdings:
        return cls(
            enrolments=sorted(r.id for r in ledger.enrolments if r.status is _ACTIVE),
            earns={r.id for r in ledger.earns if r.status is _ACTIVE},
        )


@dataclass(frozen=True, slots=True)
class Plan:
    """Per-entry outcomes in request order, and the ledger rows they revoke (id → customer id)."""

    outcomes: tuple[EntryOutcome, ...]
    enrolments: Mapping[int, int]
    earns: Mapping[int, int]


def decide(
    action: BulkAction,
    entries: Sequence[CustomerEntry],
    *,
    customer_of: Mapping[int, int],
    error_of: Mapping[int, ErrorDef],
    holdings: Mapping[int, Holdings],
) -> Plan:
    """Decide every entry of a REVOKE_ENROL or REVOKE_EARN batch. ``holdings`` is consumed."""
    outcomes: list[EntryOutcome] = []
    enrolments: dict[int, int] = {}
    earns: dict[int, int] = {}
    for entry in entries:
        error = error_of.get(entry.index)
        if error is not None:
            outcomes.append(EntryOutcome.failure(entry.index, error))
            continue
        customer_id = customer_of[entry.index]
        held = holdings[customer_id]
        if action is BulkAction.REVOKE_ENROL:
            outcome = revoke_enrolment(entry.index, customer_id, held)
            if outcome.enrolment_id is not None:
                enrolments[outcome.enrolment_id] = customer_id
        elif action is BulkAction.REVOKE_EARN:
            outcome = revoke_earns(entry.index, customer_id, held, entry.earn_ids)
            earns.update(dict.fromkeys(outcome.revoked_earn_ids or (), customer_id))
        else:
            raise ValueError(f"not a revoke: {action}")
        outcomes.append(outcome)
    return Plan(tuple(outcomes), enrolments, earns)


def revoke_enrolment(index: int, customer_id: int, held: Holdings) -> EntryOutcome:
    """REVOKE_ENROL: the newest ACTIVE enrolment, and only once no earn is ACTIVE any more.

    Re-enrolling replaces the previous enrolment, so a customer holds at most one ACTIVE
    enrolment; should several ever exist, the newest is the one the customer is enrolled by.
    """
    if not held.enrolments:
        return EntryOutcome.failure(index, E.NO_ACTIVE_ENROLMENT)
    if held.earns:
        return EntryOutcome.failure(index, E.ACTIVE_EARNS_EXIST)
    enrolment_id = held.enrolments.pop()
    return EntryOutcome(index=index, customer_id=customer_id, enrolment_id=enrolment_id)


def revoke_earns(
    index: int, customer_id: int, held: Holdings, earn_ids: tuple[int, ...] | None
) -> EntryOutcome:
    """REVOKE_EARN: the listed earns (all or nothing), or every ACTIVE earn when none are listed."""
    if earn_ids is None:
        if not held.earns:
            return EntryOutcome.failure(index, E.NO_ACTIVE_ENROLMENT)
        chosen = set(held.earns)
    else:
        chosen = set(earn_ids)
        # [] never means "all"; an unknown, foreign, expired or revoked id fails the whole entry.
        if not chosen or not chosen <= held.earns:
            return EntryOutcome.failure(index, E.EARN_IDS_INVALID)
    held.earns -= chosen
    return EntryOutcome(index=index, customer_id=customer_id, revoked_earn_ids=sorted(chosen))
