"""The /admin/v1 wire models: XCreate / XUpdate (requests), XPublic (responses); camelCase.

This module holds the shared bases and the program and promotion models; customers, their
ledger and the audit trail are in ``admin_customer_schemas``.

Shapes are checked here (types, lengths, counts); the rules that span fields (limits, date
order) live in ``domain.promotions`` and those that need the database (duplicate identifiers) in
the services, so every caller of the services gets them too.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from promoledger.domain.programs import Program
from promoledger.domain.promotions import ExpirySpec, Promotion
from promoledger.domain.vocabulary import ExpiryRule
from promoledger.services.programs import CreatedProgram

MAX_ID = 2**63 - 1
MAX_PROMOTIONS_INLINE = 50
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def _as_utc(value: datetime | None) -> datetime | None:
    """A date without a zone is read as UTC; every date goes out as UTC."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as exc:  # e.g. 9999-12-31T23:59:59-01:00 is past year 9999 in UTC
        raise ValueError("date is out of range") from exc


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _no_control(value: str) -> str:
    # Every admin text field is one line. PostgreSQL text cannot hold NUL at all, and a stored
    # newline, escape or backspace forges log lines and rewrites whoever's terminal prints it.
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters (NUL, newline, tab, escape...)")
    return value


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]
Text = Annotated[str, AfterValidator(_no_control)]


class AdminIn(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", str_strip_whitespace=True)


class AdminOut(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, serialize_by_alias=True, validate_by_name=True
    )

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


# --- programs ---------------------------------------------------------------------------------
class ProgramCreate(AdminIn):
    name: Text = Field(min_length=1, max_length=200)
    promotions: list[PromotionCreate] = Field(
        default_factory=list,
        max_length=MAX_PROMOTIONS_INLINE,
        description="Promotions to create with the program, in the same transaction.",
    )


class ProgramProfile(AdminOut):
    """What every program answer starts with."""

    id: int
    name: str
    created_at: datetime


class ProgramPublic(ProgramProfile):
    @classmethod
    def of(cls, program: Program) -> ProgramPublic:
        return cls(id=program.id, name=program.name, created_at=program.created_at)


class ProgramCreated(ProgramProfile):
    """A new program and the promotions created with it (in request order)."""

    promotions: list[PromotionPublic]

    @classmethod
    def of(cls, created: CreatedProgram) -> ProgramCreated:
        program = created.program
        return cls(
            id=program.id,
            name=program.name,
            created_at=program.created_at,
            promotions=[PromotionPublic.of(p) for p in created.promotions],
        )


class ProgramList(AdminOut):
    programs: list[ProgramPublic]


# --- promotions -------------------------------------------------------------------------------
class Limits(AdminIn):
    """Per customer: 1..100, or -1 for unlimited. Omitted values default to 1 (keep, on PATCH)."""

    enrolments_per_customer: int | None = Field(default=None, strict=True)
    earns_per_customer: int | None = Field(default=None, strict=True)


class ExpiryRuleIn(AdminIn):
    rule: ExpiryRule
    days: int | None = Field(
        default=None, strict=True, description="Required for CUSTOM: days after creation."
    )

    def spec(self) -> ExpirySpec:
        return ExpirySpec(self.rule, self.days)


class Expiry(AdminIn):
    """Per record kind; null (or omitted, on create) means the records never expire."""

    enrolment: ExpiryRuleIn | None = None
    earn: ExpiryRuleIn | None = None


class PromotionCreate(AdminIn):
    name: Text = Field(min_length=1, max_length=200)
    type: Text = Field(
        description="ENROL_AND_ISSUE (LOYALTY_EARNING, ISSUE_AND_EARN), "
        "DIRECT_ISSUE (LOYALTY, DIRECT_EARN) or GENERIC."
    )
    identifier: Text | None = Field(default=None, max_length=200)
    active: bool = True
    start_date: UtcDatetime | None = None
    end_date: UtcDatetime | None = None
    limits: Limits | None = None
    expiry: Expiry | None = None

    def service_args(self) -> dict[str, Any]:
        limits = self.limits or Limits()
        expiry = self.expiry or Expiry()
        args: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "identifier": self.identifier,
            "active": self.active,
            "start_date": self.start_date,
            "end_date": self.end_date,
            "enrolment_expiry": expiry.enrolment.spec() if expiry.enrolment else None,
            "earn_expiry": expiry.earn.spec() if expiry.earn else None,
        }
        if limits.enrolments_per_customer is not None:
            args["enrolments_per_customer"] = limits.enrolments_per_customer
        if limits.earns_per_customer is not None:
            args["earns_per_customer"] = limits.earns_per_customer
        return args


class PromotionUpdate(AdminIn):
    """Only the fields present change; null clears a date or an expiry rule."""

    name: Text | None = Field(default=None, min_length=1, max_length=200)
    type: Text | None = Field(
        default=None, description="Immutable: only the stored type is accepted."
    )
    active: bool | None = None
    start_date: UtcDatetime | None = None
    end_date: UtcDatetime | None = None
    limits: Limits | None = None
    expiry: Expiry | None = None

    def changes(self) -> dict[str, Any]:
        given = self.model_fields_set
        out: dict[str, Any] = {}
        for key in ("name", "type", "active"):
            if key in given and getattr(self, key) is not None:
                out[key] = getattr(self, key)
        for key in ("start_date", "end_date"):
            if key in given:
                out[key] = getattr(self, key)
        if self.limits is not None:
            for key in ("enrolments_per_customer", "earns_per_customer"):
                if getattr(self.limits, key) is not None:
                    out[key] = getattr(self.limits, key)
        if self.expiry is not None:
            for kind in ("enrolment", "earn"):
                if kind in self.expiry.model_fields_set:
                    rule = getattr(self.expiry, kind)
                    out[f"{kind}_expiry"] = rule.spec() if rule else None
        return out


class LimitsPublic(AdminOut):
    enrolments_per_customer: int
    earns_per_customer: int


class ExpiryRulePublic(AdminOut):
    rule: ExpiryRule
    days: int | None

    @classmethod
    def of(cls, spec: ExpirySpec | None) -> ExpiryRulePublic | None:
        return cls(rule=spec.rule, days=spec.days) if spec else None


class ExpiryPublic(AdminOut):
    enrolment: ExpiryRulePublic | None
    earn: ExpiryRulePublic | None


class PromotionPublic(AdminOut):
    id: int
    program_id: int
    identifier: str
    name: str
    type: str
    active: bool
    start_date: datetime | None
    end_date: datetime | None
    limits: LimitsPublic
    expiry: ExpiryPublic
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, promotion: Promotion) -> PromotionPublic:
        p = promotion
        assert p.created_at is not None  # full rows: store.promotions.promotion_of
        assert p.updated_at is not None
        return cls(
            id=p.id,
            program_id=p.program_id,
            identifier=p.identifier,
            name=p.name,
            type=p.type.value,
            active=p.active,
            start_date=p.start_date,
            end_date=p.end_date,
            limits=LimitsPublic(
                enrolments_per_customer=p.enrolments_per_customer,
                earns_per_customer=p.earns_per_customer,
            ),
            expiry=ExpiryPublic(
                enrolment=ExpiryRulePublic.of(p.enrolment_expiry_spec),
                earn=ExpiryRulePublic.of(p.earn_expiry_spec),
            ),
            created_at=p.created_at,
            updated_at=p.updated_at,
        )


class PromotionList(AdminOut):
    promotions: list[PromotionPublic]
