"""The common request rules of every Capillary bulk endpoint (contract section 3), as pure parsing.

Request-level problems found here are raised at once when they come first in the contract's
order (bad JSON, 8899/8901, bulkAction, 8881). Those that the contract orders *after* the
promotion checks (8013, 11013 for an empty list, 1060) are carried in ``BulkRequest.deferred``
and raised by the service once 1101/8874/8892/8902 have had their turn.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from promoledger.domain import errors as E
from promoledger.domain.errors import ErrorDef, RequestRejected
from promoledger.domain.vocabulary import (
    BULK_IDENTIFIER_NAMES,
    IdentifierName,
    Source,
    parse_identifier_name,
    parse_source,
)

MAX_DB_INT = 2**63 - 1


class BulkAction(StrEnum):
    ENROL = "ENROL"
    EARN = "EARN"
    REVOKE_ENROL = "REVOKE_ENROL"
    REVOKE_EARN = "REVOKE_EARN"


ENROL_AND_EARN_ACTIONS: Mapping[str, BulkAction] = {
    "ENROL": BulkAction.ENROL,
    "EARN": BulkAction.EARN,
}
REVOKE_ACTIONS: Mapping[str, BulkAction] = {
    "REVOKE_ENROL": BulkAction.REVOKE_ENROL,
    "REVOKE_ISSUAL": BulkAction.REVOKE_ENROL,
    "REVOKE_EARN": BulkAction.REVOKE_EARN,
}


@dataclass(frozen=True, slots=True)
class PromotionRef:
    """How the request named the promotion; the response echoes the keys that were used."""

    program_id: int | None  # None: given but not a valid id (→ 1101)
    promotion_id: int | None
    promo_identifier: str | None
    promotion_id_invalid: bool = False  # given but not a valid id (→ 8874)


@dataclass(slots=True)  # not frozen: one per customer, and frozen init is several times slower
class CustomerEntry:
    index: int
    identifier_value: str
    source: Source | None
    earn_ids: tuple[int, ...] | None  # None: not given (revoke all); () is never "all"
    error: ErrorDef | None = None  # the entry fails with this before any lookup
    customer_id: int | None = None  # parsed value when identifierName is id


@dataclass(frozen=True, slots=True)
class BulkRequest:
    action: BulkAction
    promotion: PromotionRef
    identifier_name: IdentifierName | None
    entries: tuple[CustomerEntry, ...]
    deferred: ErrorDef | None = None  # raise after the promotion checks


def parse_bulk_request(
    payload: Any,
    *,
    actions: Mapping[str, BulkAction] | None,
    fixed_action: BulkAction | None = None,
    batch_limit: int,
    with_earn_ids: bool = False,
    identifier_names: Mapping[str, IdentifierName] = BULK_IDENTIFIER_NAMES,
) -> BulkRequest:
    """Parse a bulk body. ``actions`` maps accepted bulkAction spellings; None means the endpoint
    takes no bulkAction and performs ``fixed_action``. With both, bulkAction is optional: absent
    means ``fixed_action``, present must be one of ``actions``. ``identifier_names`` are the
    identifierName spellings the endpoint accepts (others → 8013)."""
    if not isinstance(payload, dict):
        raise RequestRejected(E.INVALID_JSON)
    _check_entity_type(payload.get("type"))
    action = _parse_action(payload.get("bulkAction"), actions, fixed_action)
    details = payload.get("promotionDetails")
    if details is None:
        details = {}
    if not isinstance(details, dict):
        raise RequestRejected(E.INSUFFICIENT_PARAMS)
    ref = _parse_promotion_ref(details)

    identifier_raw = payload.get("identifierName", details.get("identifierName"))
    identifier = parse_identifier_name(identifier_raw, identifier_names)
    deferred: ErrorDef | None = None if identifier else E.INVALID_IDENTIFIER_NAME

    raw_customers = payload.get("customers")
    entries: tuple[CustomerEntry, ...] = ()
    if raw_customers is None or (isinstance(raw_customers, list) and not raw_customers):
        deferred = deferred or E.EMPTY_CUSTOMERS
    elif not isinstance(raw_customers, list):
        raise RequestRejected(E.INVALID_FIELD, detail="customers must be a list")
    elif len(raw_customers) > batch_limit:
        deferred = deferred or E.BATCH_LIMIT
    else:
        entries = tuple(
            _parse_entry(i, raw, identifier, with_earn_ids) for i, raw in enumerate(raw_customers)
        )
    return BulkRequest(action, ref, identifier, entries, deferred)


_MAX_DIGITS = len(str(MAX_DB_INT))


def parse_int(value: Any) -> int | None:
    """A positive id given as a JSON number or a numeric string; anything else is None."""
    kind = type(value)
    if kind is str:
        text = value.strip()
        if not (text.isascii() and text.isdigit()):
            return None
        digits = text.lstrip("0") or "0"
        if len(digits) > _MAX_DIGITS:
            return None  # out of range; and int() refuses strings past 4300 digits outright
        number = int(digits)
    elif kind is int:  # bool is a subclass of int, not int itself: never an id
        number = value
    else:
        return None
    return number if 0 < number <= MAX_DB_INT else None


def _check_entity_type(value: Any) -> None:
    if value == "CUSTOMER":
        return
    if value == "USERGROUP2":
        raise RequestRejected(E.USER_GROUP)
    raise RequestRejected(E.INVALID_ENTITY_TYPE)


def _parse_action(
    value: Any, actions: Mapping[str, BulkAction] | None, fixed: BulkAction | None
) -> BulkAction:
    if actions is None or (value is None and fixed is not None):
        assert fixed is not None
        return fixed
    if isinstance(value, str) and value in actions:
        return actions[value]
    raise RequestRejected(E.INVALID_BULK_ACTION)


def _present(value: Any) -> bool:
    return value is not None and value != ""


def _parse_promotion_ref(details: dict[str, Any]) -> PromotionRef:
    program_raw = details.get("programId")
    promotion_raw = details.get("promotionId")
    identifier_raw = details.get("promoIdentifier")
    if not _present(program_raw) or not (_present(promotion_raw) or _present(identifier_raw)):
        raise RequestRejected(E.INSUFFICIENT_PARAMS)
    promotion_id = parse_int(promotion_raw) if _present(promotion_raw) else None
    identifier = identifier_raw if isinstance(identifier_raw, str) and identifier_raw else None
    return PromotionRef(
        program_id=parse_int(program_raw),
        promotion_id=promotion_id,
        promo_identifier=identifier,
        # A promoIdentifier that is not a string can never name a promotion: 8874 too.
        promotion_id_invalid=(_present(promotion_raw) and promotion_id is None)
        or (_present(identifier_raw) and identifier is None),
    )


_BY_ID, _BY_EMAIL = IdentifierName.ID, IdentifierName.EMAIL  # bound once: read per customer


def _parse_entry(
    index: int, raw: Any, identifier: IdentifierName | None, with_earn_ids: bool
) -> CustomerEntry:
    if not isinstance(raw, dict):
        return CustomerEntry(index, "", None, None, error=E.EMPTY_CUSTOMERS)
    value = raw.get("identifierValue")
    if type(value) is int:  # not bool, whose type is bool
        value = str(value)
    if type(value) is not str or not (value := value.strip()):
        return CustomerEntry(index, "", None, None, error=E.EMPTY_CUSTOMERS)

    source: Source | None = None
    source_raw = raw.get("source")
    if source_raw is not None:
        source = parse_source(source_raw) if isinstance(source_raw, str) else None
        if source is None:
            return CustomerEntry(index, value, None, None, error=E.INVALID_SOURCE)

    earn_ids: tuple[int, ...] | None = None
    if with_earn_ids:
        raw_ids = raw.get("earnIds", raw.get("earnIDs"))
        if raw_ids is not None:
            parsed = [parse_int(x) for x in raw_ids] if isinstance(raw_ids, list) else [None]
            if not parsed or any(x is None for x in parsed):
                # [] never means "all"; junk ids can never be active earns.
                return CustomerEntry(index, value, source, (), error=E.EARN_IDS_INVALID)
            earn_ids = tuple(x for x in parsed if x is not None)

    customer_id: int | None = None
    if identifier is _BY_ID:
        customer_id = parse_int(value)
        if customer_id is None:
            return CustomerEntry(index, value, source, earn_ids, error=E.ISSUE_FAILED)
    elif identifier is _BY_EMAIL:
        value = value.lower()
    return CustomerEntry(index, value, source, earn_ids, customer_id=customer_id)
