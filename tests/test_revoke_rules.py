"""The pure revoke rules (domain/revoke.py), without a database."""

from __future__ import annotations

import pytest

from promoledger.domain import errors as E
from promoledger.domain.bulk import BulkAction, CustomerEntry
from promoledger.domain.ledger import CustomerLedger, LedgerRecord
from promoledger.domain.revoke import Holdings, decide
from promoledger.domain.vocabulary import Status


def _entry(i: int, earn_ids: tuple[int, ...] | None = None) -> CustomerEntry:
    return CustomerEntry(i, str(100 + i), None, earn_ids)


def _records(*pairs: tuple[int, str]) -> list[LedgerRecord]:
    return [LedgerRecord(i, customer_id=1, status=Status(s)) for i, s in pairs]


def test_holdings_keep_only_active_records() -> None:
    held = Holdings.of(
        CustomerLedger(
            _records((3, "ACTIVE"), (1, "REPLACED"), (2, "ACTIVE")),
            _records((7, "ACTIVE"), (8, "REVOKED"), (9, "EXPIRED")),
        )
    )
    assert held == Holdings(enrolments=[2, 3], earns={7})


def test_entries_are_decided_in_order_over_shared_holdings() -> None:
    entries = [_entry(0, (5,)), _entry(1, (5,)), _entry(2), _entry(3), _entry(4, (6,))]
    plan = decide(
        BulkAction.REVOKE_EARN,
        entries,
        customer_of={0: 1, 1: 1, 2: 1, 3: 1},
        error_of={4: E.CUSTOMER_NOT_FOUND},
        holdings={1: Holdings(enrolments=[1], earns={5, 6, 4})},
    )
    assert [(o.revoked_earn_ids, o.errors) for o in plan.outcomes] == [
        ([5], ()),
        (None, (E.EARN_IDS_INVALID,)),
        ([4, 6], ()),
        (None, (E.NO_ACTIVE_ENROLMENT,)),
        (None, (E.CUSTOMER_NOT_FOUND,)),
    ]
    assert dict(plan.earns) == {4: 1, 5: 1, 6: 1}
    assert dict(plan.enrolments) == {}


@pytest.mark.parametrize(
    ("earn_ids", "expected"),
    [((), E.EARN_IDS_INVALID), ((5, 99), E.EARN_IDS_INVALID), (None, None), ((6, 5), None)],
)
def test_listed_earns_are_all_or_nothing(
    earn_ids: tuple[int, ...] | None, expected: E.ErrorDef | None
) -> None:
    held = Holdings(enrolments=[], earns={5, 6})
    plan = decide(
        BulkAction.REVOKE_EARN,
        [_entry(0, earn_ids)],
        customer_of={0: 1},
        error_of={},
        holdings={1: held},
    )
    [outcome] = plan.outcomes
    if expected is None:
        assert outcome.revoked_earn_ids == [5, 6]
        assert held.earns == set()
    else:
        assert outcome.errors == (expected,)
        assert held.earns == {5, 6}
        assert dict(plan.earns) == {}


def test_revoke_enrol_needs_no_active_earns_and_takes_the_newest() -> None:
    def one(held: Holdings) -> tuple[int | None, tuple[E.ErrorDef, ...]]:
        plan = decide(
            BulkAction.REVOKE_ENROL,
            [_entry(0)],
            customer_of={0: 1},
            error_of={},
            holdings={1: held},
        )
        return plan.outcomes[0].enrolment_id, plan.outcomes[0].errors

    assert one(Holdings(enrolments=[3, 8], earns=set())) == (8, ())
    assert one(Holdings(enrolments=[3], earns={1})) == (None, (E.ACTIVE_EARNS_EXIST,))
    assert one(Holdings(enrolments=[], earns={1})) == (None, (E.NO_ACTIVE_ENROLMENT,))


def test_other_actions_are_not_revokes() -> None:
    with pytest.raises(ValueError, match="not a revoke"):
        decide(
            BulkAction.ENROL,
            [_entry(0)],
            customer_of={0: 1},
            error_of={},
            holdings={1: Holdings()},
        )
