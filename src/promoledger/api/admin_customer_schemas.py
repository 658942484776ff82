"""The /admin/v1 wire models for customers, their ledger and the audit trail (camelCase)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from promoledger.api.admin_schemas import AdminIn, AdminOut, Id, Text
from promoledger.domain.audit import AuditEvent
from promoledger.domain.customers import Customer
from promoledger.domain.ledger import LedgerRecord
from promoledger.services.customers import (
    MAX_BATCH,
    CreatedCustomer,
    CustomerChanges,
    CustomerPage,
    CustomerView,
)
from promoledger.services.customers import (
    CustomerProfile as ProfileView,
)


# --- customers --------------------------------------------------------------------------------
class CustomerCreate(AdminIn):
    mobile: Text | None = Field(default=None, max_length=64)
    email: Text | None = Field(default=None, max_length=320)
    external_id: Text | None = Field(default=None, max_length=200)
    sources: list[Text] = Field(default_factory=list, max_length=20)
    program_ids: list[Id] = Field(default_factory=list, max_length=100)


class CustomersCreate(AdminIn):
    customers: list[CustomerCreate] = Field(min_length=1, max_length=MAX_BATCH)


class CustomerProfile(AdminOut):
    """What every customer answer starts with."""

    id: int
    mobile: str | None
    email: str | None
    external_id: str | None
    sources: list[str]
    program_ids: list[int]


class CustomerPublic(CustomerProfile):
    @classmethod
    def of(cls, c: CreatedCustomer) -> CustomerPublic:
        return cls.model_validate(c, from_attributes=True)


class CustomersPublic(AdminOut):
    customers: list[CustomerPublic]


class LedgerRecordPublic(AdminOut):
    """An enrolment or an earn. ``status`` is EXPIRED once past ``expiresAt``."""

    id: int
    status: str
    created_at: datetime
    expires_at: datetime | None
    ended_at: datetime | None
    ended_by: str | None
    ended_request_id: str | None
    enrolment_id: int | None = Field(default=None, description="Earns: the enrolment it is under.")

    @classmethod
    def of(cls, record: LedgerRecord, now: datetime) -> LedgerRecordPublic:
        assert record.created_at is not None  # full rows: store.ledger.record_of
        return cls(
            id=record.id,
            status=record.status_at(now).value,
            created_at=record.created_at,
            expires_at=record.expires_at,
            ended_at=record.ended_at,
            ended_by=record.ended_by,
            ended_request_id=record.ended_request_id,
            enrolment_id=record.enrolment_id,
        )


class PromotionLedgerPublic(AdminOut):
    promotion_id: int
    program_id: int
    identifier: str
    name: str
    type: str
    enrolments: list[LedgerRecordPublic]
    earns: list[LedgerRecordPublic]


class CustomerLedgerPublic(CustomerProfile):
    created_at: datetime
    erased_at: datetime | None = Field(
        default=None, description="Set once the customer was erased (DELETE): no identifiers."
    )
    promotions: list[PromotionLedgerPublic]

    @classmethod
    def of(cls, view: CustomerView) -> CustomerLedgerPublic:
        c = view.customer
        return cls(
            id=c.id,
            mobile=c.mobile,
            email=c.email,
            external_id=c.external_id,
            sources=view.sources,
            program_ids=view.program_ids,
            created_at=c.created_at,
            erased_at=c.erased_at,
            promotions=[
                PromotionLedgerPublic(
                    promotion_id=p.promotion.id,
                    program_id=p.promotion.program_id,
                    identifier=p.promotion.identifier,
                    name=p.promotion.name,
                    type=p.promotion.type.value,
                    enrolments=[LedgerRecordPublic.of(r, view.as_of) for r in p.enrolments],
                    earns=[LedgerRecordPublic.of(r, view.as_of) for r in p.earns],
                )
                for p in view.promotions
            ],
        )


class CustomerUpdate(AdminIn):
    """PATCH: only the fields sent change; ``null`` removes an identifier; ``sources`` and
    ``programIds`` replace the whole set."""

    mobile: Text | None = Field(default=None, max_length=64)
    email: Text | None = Field(default=None, max_length=320)
    external_id: Text | None = Field(default=None, max_length=200)
    sources: list[Text] | None = Field(default=None, max_length=20)
    program_ids: list[Id] | None = Field(default=None, max_length=100)

    def changes(self) -> CustomerChanges:
        given = self.model_fields_set
        return CustomerChanges(
            identifiers={
                column: getattr(self, column)
                for column in ("mobile", "email", "external_id")
                if column in given
            },
            sources=self.sources,
            program_ids=self.program_ids,
        )


class CustomerFound(CustomerProfile):
    created_at: datetime

    @classmethod
    def of(cls, view: ProfileView) -> CustomerFound:
        c = view.customer
        return cls(
            id=c.id,
            mobile=c.mobile,
            email=c.email,
            external_id=c.external_id,
            sources=view.sources,
            program_ids=view.program_ids,
            created_at=c.created_at,
        )


class CustomerSearchPublic(AdminOut):
    customers: list[CustomerFound]
    next_cursor: str | None

    @classmethod
    def of(cls, page: CustomerPage) -> CustomerSearchPublic:
        return cls(
            customers=[CustomerFound.of(p) for p in page.customers], next_cursor=page.next_cursor
        )


class CustomerErasedPublic(AdminOut):
    id: int
    erased_at: datetime

    @classmethod
    def of(cls, customer: Customer) -> CustomerErasedPublic:
        assert customer.erased_at is not None
        return cls(id=customer.id, erased_at=customer.erased_at)


# --- audit ------------------------------------------------------------------------------------
class AuditEventPublic(AdminOut):
    id: int
    occurred_at: datetime
    actor_kind: str
    actor_id: int | None
    action: str
    entity_type: str
    entity_id: int | None
    customer_id: int | None
    promotion_id: int | None
    old_status: str | None
    new_status: str | None
    request_id: str | None
    idempotency_key: str | None
    detail: dict[str, Any] | None

    @classmethod
    def of(cls, event: AuditEvent) -> AuditEventPublic:
        return cls(
            id=event.id,
            occurred_at=event.occurred_at,
            actor_kind=event.actor_kind,
            actor_id=event.actor_id,
            action=event.action,
            entity_type=event.entity_type,
            entity_id=event.entity_id,
            customer_id=event.customer_id,
            promotion_id=event.promotion_id,
            old_status=event.old_status,
            new_status=event.new_status,
            request_id=event.request_id,
            idempotency_key=event.idempotency_key,
            detail=event.detail,
        )


class AuditPagePublic(AdminOut):
    events: list[AuditEventPublic]
    next_cursor: str | None
