"""The promotion settings rules, pure: no database, no HTTP (domain.promotions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from promoledger.domain.errors import TYPE_IMMUTABLE, Invalid
from promoledger.domain.promotions import (
    MAX_EXPIRY_DAYS,
    MAX_IDENTIFIER,
    UNLIMITED,
    ExpirySpec,
    Promotion,
    canonical_type,
    check_type_kept,
    check_updatable,
    checked,
    clean_identifier,
    expiry_of,
    settings_of,
)
from promoledger.domain.vocabulary import ExpiryRule, PromotionType

START = datetime(2026, 1, 1, tzinfo=UTC)


def _settings(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "Welcome",
        "active": True,
        "start_date": None,
        "end_date": None,
        "enrolments_per_customer": 1,
        "earns_per_customer": 1,
        "enrolment_expiry": None,
        "earn_expiry": None,
    }
    return {**base, **overrides}


def _field_of(settings: dict[str, Any]) -> str | None:
    with pytest.raises(Invalid) as caught:
        checked(settings)
    return caught.value.field


def test_checked_normalises_names_and_dates() -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    out = checked(
        _settings(
            name="  Welcome  ",
            start_date=datetime(2026, 1, 1, 5, 30, tzinfo=ist),
            end_date=datetime(2026, 2, 1),  # no zone: already UTC
        )
    )
    assert out["name"] == "Welcome"
    assert out["start_date"] == START
    assert out["start_date"].tzinfo is UTC
    assert out["end_date"] == datetime(2026, 2, 1, tzinfo=UTC)


def test_a_window_may_not_end_before_it_starts() -> None:
    assert _field_of(_settings(start_date=START, end_date=START - timedelta(seconds=1))) == (
        "endDate"
    )
    assert checked(_settings(start_date=START, end_date=START))["end_date"] == START


@pytest.mark.parametrize("limit", [1, 100, UNLIMITED])
def test_limits_accept_1_to_100_or_unlimited(limit: int) -> None:
    assert checked(_settings(earns_per_customer=limit))["earns_per_customer"] == limit


@pytest.mark.parametrize("limit", [0, 101, -2, True, "1", 1.0])
def test_limits_refuse_anything_else(limit: object) -> None:
    assert _field_of(_settings(enrolments_per_customer=limit)) == "limits.enrolmentsPerCustomer"


@pytest.mark.parametrize("days", [None, 0, MAX_EXPIRY_DAYS + 1])
def test_a_custom_expiry_needs_days_in_range(days: int | None) -> None:
    spec = ExpirySpec(ExpiryRule.CUSTOM, days)
    assert _field_of(_settings(earn_expiry=spec)) == "expiry.earn.days"


def test_a_promotion_expiry_takes_no_days() -> None:
    spec = ExpirySpec(ExpiryRule.PROMOTION, 3)
    assert _field_of(_settings(enrolment_expiry=spec)) == "expiry.enrolment.days"
    ok = ExpirySpec(ExpiryRule.PROMOTION)
    assert checked(_settings(enrolment_expiry=ok))["enrolment_expiry"] == ok


def test_types_are_canonicalised_and_unknown_ones_refused() -> None:
    assert canonical_type(" loyalty_earning ") is PromotionType.ENROL_AND_ISSUE
    assert canonical_type("DIRECT_EARN") is PromotionType.DIRECT_ISSUE
    with pytest.raises(Invalid) as caught:
        canonical_type("POINTS")
    assert caught.value.field == "type"


def test_identifiers_are_trimmed_and_bounded() -> None:
    assert clean_identifier("  promo-1 ") == "promo-1"
    for bad in ("   ", "x" * (MAX_IDENTIFIER + 1)):
        with pytest.raises(Invalid):
            clean_identifier(bad)


def _promotion() -> Promotion:
    return Promotion(
        id=1,
        org_id=1,
        program_id=1,
        identifier="p",
        name="Welcome",
        type=PromotionType.ENROL_AND_ISSUE,
        active=False,
        start_date=START,
        end_date=START + timedelta(days=30),
        enrolments_per_customer=UNLIMITED,
        earns_per_customer=5,
        enrolment_expiry=ExpiryRule.PROMOTION,
        enrolment_expiry_days=None,
        earn_expiry=ExpiryRule.CUSTOM,
        earn_expiry_days=90,
    )


def test_settings_of_a_stored_promotion_pass_the_rules_unchanged() -> None:
    settings = settings_of(_promotion())
    assert settings["earn_expiry"] == ExpirySpec(ExpiryRule.CUSTOM, 90)
    assert settings["enrolment_expiry"] == ExpirySpec(ExpiryRule.PROMOTION)
    assert checked(settings) == settings
    assert expiry_of(None, None) is None


def test_a_patch_names_only_updatable_settings_and_keeps_the_type() -> None:
    with pytest.raises(Invalid) as caught:
        check_updatable({"name": "x", "org_id": 2})
    assert caught.value.field == "org_id"
    promotion = _promotion()
    check_type_kept(promotion, {"type": "loyalty_earning"})  # an alias of the stored type
    for other in ("DIRECT_ISSUE", "POINTS"):
        with pytest.raises(Invalid) as caught:
            check_type_kept(promotion, {"type": other})
        assert caught.value.error is TYPE_IMMUTABLE
