"""The domain's words: promotion types and their aliases, sources, statuses, access levels."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import IntEnum, StrEnum


class PromotionType(StrEnum):
    ENROL_AND_ISSUE = "ENROL_AND_ISSUE"
    DIRECT_ISSUE = "DIRECT_ISSUE"
    GENERIC = "GENERIC"


# Capillary spells each type several ways; accept all of them, store the canonical one.
PROMOTION_TYPE_ALIASES: dict[str, PromotionType] = {
    "ENROL_AND_ISSUE": PromotionType.ENROL_AND_ISSUE,
    "LOYALTY_EARNING": PromotionType.ENROL_AND_ISSUE,
    "ISSUE_AND_EARN": PromotionType.ENROL_AND_ISSUE,
    "DIRECT_ISSUE": PromotionType.DIRECT_ISSUE,
    "LOYALTY": PromotionType.DIRECT_ISSUE,
    "DIRECT_EARN": PromotionType.DIRECT_ISSUE,
    "GENERIC": PromotionType.GENERIC,
}


def canonical_promotion_type(value: str) -> PromotionType | None:
    return PROMOTION_TYPE_ALIASES.get(value.strip().upper())


class Source(StrEnum):
    FACEBOOK = "FACEBOOK"
    WEB_ENGAGE = "WEB_ENGAGE"
    INSTORE = "INSTORE"
    MARTJACK = "MARTJACK"
    TMALL = "TMALL"
    TAOBAO = "TAOBAO"
    JD = "JD"
    ECOMMERCE = "ECOMMERCE"
    WEBSITE = "WEBSITE"
    LINE = "LINE"
    MOBILE_APP = "MOBILE_APP"
    WECHAT = "WECHAT"
    ALL = "ALL"


_SOURCES: dict[str, Source] = {s.value: s for s in Source}


def parse_source(value: str) -> Source | None:
    """Sources match case-insensitively (``instore`` == ``INSTORE``)."""
    return _SOURCES.get(value.strip().upper())


class IdentifierName(StrEnum):
    ID = "id"
    MOBILE = "mobile"
    EMAIL = "email"
    EXTERNAL_ID = "externalId"


# The spellings each kind of endpoint accepts. Capillary's bulk APIs take id, mobile and email;
# its single-customer endpoints (``/v2/promotion/issue``, promotionData) add externalId, and
# cuid, which names the same numeric customer id as ``id``.
BULK_IDENTIFIER_NAMES: Mapping[str, IdentifierName] = {
    n.value: n for n in (IdentifierName.ID, IdentifierName.MOBILE, IdentifierName.EMAIL)
}
SINGLE_CUSTOMER_IDENTIFIER_NAMES: Mapping[str, IdentifierName] = {
    **{n.value: n for n in IdentifierName},
    "cuid": IdentifierName.ID,
}


def parse_identifier_name(
    value: object, accepted: Mapping[str, IdentifierName] = BULK_IDENTIFIER_NAMES
) -> IdentifierName | None:
    """The identifier kind ``value`` names among ``accepted`` spellings (case-sensitive)."""
    return accepted.get(value) if isinstance(value, str) else None


_REGISTERED_KEYS = frozenset({IdentifierName.MOBILE, IdentifierName.EMAIL})


def needs_registration(identifier: IdentifierName, source: Source | None) -> bool:
    """A mobile/email lookup naming a source other than ALL must find the customer registered
    in that source (contract section 3); lookups by id or externalId ignore the source."""
    return identifier in _REGISTERED_KEYS and source not in (None, Source.ALL)


def source_matches(
    identifier: IdentifierName, source: Source | None, registered: Collection[str]
) -> bool:
    return not needs_registration(identifier, source) or (
        source is not None and source.value in registered
    )


class Status(StrEnum):
    ACTIVE = "ACTIVE"
    REVOKED = "REVOKED"
    REPLACED = "REPLACED"  # enrolments only: superseded by a re-enrolment
    EXPIRED = "EXPIRED"


# The members by their stored text: one dict lookup per row instead of EnumType.__call__.
STATUS_OF: dict[str, Status] = {s.value: s for s in Status}


class ExpiryRule(StrEnum):
    PROMOTION = "PROMOTION"  # at the promotion's end date
    CUSTOM = "CUSTOM"  # N days after the record is created


class Access(IntEnum):
    NONE = 0
    READ = 1
    WRITE = 2  # implies READ


class Resource(StrEnum):
    CUSTOMER = "CUSTOMER"
    CONFIG = "CONFIG"


class CredentialKind(StrEnum):
    TILL = "TILL"
    CLIENT = "CLIENT"
