"""Customer use cases: bulk create (all or nothing, set-based) and the full ledger view of one.

A batch is checked completely before anything is written — identifiers unique within the batch
and against the org, programs belong to the org, sources are known — and then inserted with one
multi-row statement per table, in one transaction with one audit event per customer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from promoledger.domain.context import Context
from promoledger.domain.customers import Customer
from promoledger.domain.errors import DUPLICATE, VALIDATION, Conflict, Invalid, NotFound
from promoledger.domain.ledger import LedgerRecord
from promoledger.domain.promotions import Promotion
from promoledger.domain.vocabulary import parse_source
from promoledger.store import audit
from promoledger.store import customers as store
from promoledger.store import programs as program_store
from promoledger.store import promotions as promotion_store
from promoledger.store.types import utcnow
from promoledger.store.uow import UnitOfWork

MAX_BATCH = 1000
# Identifier: (column, wire name, longest value the column holds).
_IDENTIFIERS = (
    ("mobile", "mobile", 64),
    ("email", "email", 320),
    ("external_id", "externalId", 200),
)


@dataclass(frozen=True, slots=True)
class NewCustomer:
    mobile: str | None = None
    email: str | None = None
    external_id: str | None = None
    sources: Sequence[str] = ()
    program_ids: Sequence[int] = ()


@dataclass(frozen=True, slots=True)
class CreatedCustomer:
    id: int
    mobile: str | None
    email: str | None
    external_id: str | None
    sources: list[str]
    program_ids: list[int]


@dataclass(frozen=True, slots=True)
class PromotionLedger:
    """One promotion's records for one customer."""

    promotion: Promotion
    enrolments: list[LedgerRecord] = field(default_factory=list)
    earns: list[LedgerRecord] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CustomerView:
    customer: Customer
    sources: list[str]
    program_ids: list[int]
    promotions: list[PromotionLedger]
    as_of: datetime


def create_customers(
    uow: UnitOfWork, ctx: Context, *, customers: Sequence[NewCustomer]
) -> list[CreatedCustomer]:
    """Create 1..1000 customers, answering in input order; any problem writes nothing."""
    org_id = ctx.org_id
    if not 1 <= len(customers) <= MAX_BATCH:
        raise Invalid(
            VALIDATION, detail=f"customers must hold 1..{MAX_BATCH} entries", field="customers"
        )
    batch = [_normalised(i, c) for i, c in enumerate(customers)]
    _refuse_repeats(batch)
    now = utcnow()

    def work(conn: Connection) -> list[CreatedCustomer]:
        wanted = {pid for c in batch for pid in c.program_ids}
        missing = wanted - program_store.existing_ids(conn, org_id=org_id, program_ids=wanted)
        if missing:
            i, pid = next(
                (i, p) for i, c in enumerate(batch) for p in c.program_ids if p in missing
            )
            raise Invalid(
                VALIDATION, detail=f"program {pid} not found", field=f"customers.{i}.programIds"
            )
        for column, wire, _ in _IDENTIFIERS:
            values = {getattr(c, column) for c in batch} - {None}
            clash = store.taken(conn, org_id=org_id, column=column, values=values)
            if clash:
                i, value = next(
                    (i, getattr(c, column))
                    for i, c in enumerate(batch)
                    if getattr(c, column) in clash
                )
                raise Conflict(
                    DUPLICATE,
                    detail=f"{wire} {value!r} already belongs to another customer",
                    field=f"customers.{i}.{wire}",
                )
        ids = store.insert_customers(
            conn,
            [
                {
                    "org_id": org_id,
                    "mobile": c.mobile,
                    "email": c.email,
                    "external_id": c.external_id,
                    "created_at": now,
                }
                for c in batch
            ],
        )
        store.insert_sources(
            conn,
            [
                {"customer_id": cid, "source": s}
                for cid, c in zip(ids, batch, strict=True)
                for s in c.sources
            ],
        )
        store.insert_memberships(
            conn,
            [
                {"program_id": pid, "customer_id": cid, "joined_at": now}
                for cid, c in zip(ids, batch, strict=True)
                for pid in c.program_ids
            ],
        )
        created = [
            CreatedCustomer(
                cid, c.mobile, c.email, c.external_id, list(c.sources), list(c.program_ids)
            )
            for cid, c in zip(ids, batch, strict=True)
        ]
        audit.record(
            conn,
            ctx,
            [
                audit.Change(
                    "CUSTOMER_CREATED",
                    "CUSTOMER",
                    c.id,
                    customer_id=c.id,
                    detail={"sources": c.sources, "programIds": c.program_ids},
                )
                for c in created
            ],
            at=now,
        )
        return created

    try:
        return uow.apply(work, dry_run=ctx.dry_run)
    except IntegrityError as exc:  # a concurrent request took an identifier after our check
        raise _race(exc) from exc


def get_customer(uow: UnitOfWork, *, org_id: int, customer_id: int) -> CustomerView:
    """The profile and every enrolment and earn in every promotion, whatever their status."""
    with uow.read() as conn:
        customer = store.get_customer(conn, org_id=org_id, customer_id=customer_id)
        if customer is None:
            raise NotFound("customer")
        sources = store.sources_of(conn, [customer_id]).get(customer_id, [])
        program_ids = store.programs_of(conn, [customer_id]).get(customer_id, [])
        enrolments, earns = store.ledger_of(conn, customer_id)
        promotion_ids = {r.promotion_id for r in (*enrolments, *earns) if r.promotion_id}
        promotions = promotion_store.by_ids(conn, org_id=org_id, promotion_ids=promotion_ids)
    ledgers = {p.id: PromotionLedger(p) for p in promotions}
    for record in enrolments:
        ledgers[record.promotion_id or 0].enrolments.append(record)
    for record in earns:
        ledgers[record.promotion_id or 0].earns.append(record)
    return CustomerView(customer, sources, program_ids, list(ledgers.values()), utcnow())


# --- rules ------------------------------------------------------------------------------------
def _normalised(i: int, c: NewCustomer) -> NewCustomer:
    values: dict[str, str | None] = {}
    for column, wire, longest in _IDENTIFIERS:
        raw = getattr(c, column)
        value = raw.strip() if isinstance(raw, str) else None
        if raw is not None and not value:
            raise Invalid(
                VALIDATION, detail=f"{wire} must not be blank", field=f"customers.{i}.{wire}"
            )
        if value is not None and len(value) > longest:
            raise Invalid(
                VALIDATION,
                detail=f"{wire} must be at most {longest} characters",
                field=f"customers.{i}.{wire}",
            )
        # The bulk APIs look emails up lowercased, so that is how they are stored.
        values[column] = value.lower() if value is not None and column == "email" else value
    if not any(values.values()):
        raise Invalid(
            VALIDATION,
            detail="a customer needs at least one of mobile, email, externalId",
            field=f"customers.{i}",
        )
    sources: list[str] = []
    for j, text in enumerate(c.sources):
        source = parse_source(text)
        if source is None:
            raise Invalid(
                VALIDATION, detail=f"unknown source {text!r}", field=f"customers.{i}.sources.{j}"
            )
        if source.value not in sources:
            sources.append(source.value)
    program_ids = list(dict.fromkeys(c.program_ids))
    return NewCustomer(
        values["mobile"], values["email"], values["external_id"], tuple(sources), tuple(program_ids)
    )


def _refuse_repeats(batch: Sequence[NewCustomer]) -> None:
    for column, wire, _ in _IDENTIFIERS:
        first: dict[str, int] = {}
        for i, c in enumerate(batch):
            value = getattr(c, column)
            if value is None:
                continue
            if value in first:
                raise Conflict(
                    DUPLICATE,
                    detail=f"{wire} {value!r} appears twice in the batch "
                    f"(customers {first[value]} and {i})",
                    field=f"customers.{i}.{wire}",
                )
            first[value] = i


def _race(exc: IntegrityError) -> Conflict:
    text = str(exc.orig)
    for column, wire, _ in _IDENTIFIERS:
        if f"customers_org_id_{column}" in text or f"customers.{column}" in text:
            return Conflict(
                DUPLICATE, detail=f"{wire} already belongs to another customer", field=wire
            )
    return Conflict(DUPLICATE, detail="an identifier already belongs to another customer")
