"""Customer use cases: bulk create (all or nothing, set-based), the full ledger view of one,
prefix search, update (PATCH) and GDPR erase.

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


# --- search, update, erase ----------------------------------------------------------------------
DEFAULT_SEARCH_PAGE = 20
MAX_SEARCH_PAGE = 100
MAX_QUERY_LENGTH = 320


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    customer: Customer
    sources: list[str]
    program_ids: list[int]


@dataclass(frozen=True, slots=True)
class CustomerPage:
    customers: list[CustomerProfile]
    next_cursor: str | None  # pass back as ``cursor``; None at the end


@dataclass(frozen=True, slots=True)
class CustomerChanges:
    """A PATCH: only what is given changes. An identifier given as None is removed; sources and
    programs, when given, replace the customer's whole set."""

    identifiers: dict[str, str | None] = field(default_factory=dict)  # column -> new value
    sources: Sequence[str] | None = None
    program_ids: Sequence[int] | None = None


def search_customers(
    uow: UnitOfWork,
    *,
    org_id: int,
    q: str,
    limit: int = DEFAULT_SEARCH_PAGE,
    cursor: str | None = None,
) -> CustomerPage:
    """Customers whose id is ``q`` or whose mobile, email or externalId starts with it
    (case-insensitive), ascending id; erased customers are never found."""
    q = q.strip()
    if not 1 <= len(q) <= MAX_QUERY_LENGTH:
        raise Invalid(VALIDATION, detail=f"q must be 1..{MAX_QUERY_LENGTH} characters", field="q")
    if not 1 <= limit <= MAX_SEARCH_PAGE:
        raise Invalid(VALIDATION, detail=f"limit must be 1..{MAX_SEARCH_PAGE}", field="limit")
    after_id = _decode_cursor(cursor) if cursor else None
    with uow.read() as conn:
        found = store.search(conn, org_id=org_id, q=q, after_id=after_id, limit=limit + 1)
        page = found[:limit]
        ids = [c.id for c in page]
        sources = store.sources_of(conn, ids)
        programs = store.programs_of(conn, ids)
    profiles = [CustomerProfile(c, sources.get(c.id, []), programs.get(c.id, [])) for c in page]
    more = len(found) > limit
    return CustomerPage(profiles, str(page[-1].id) if more and page else None)


def update_customer(
    uow: UnitOfWork, ctx: Context, *, customer_id: int, changes: CustomerChanges
) -> CustomerProfile:
    """Change identifiers, sources or programs of one customer; duplicates answer 409."""
    values = _checked_identifiers(changes.identifiers)
    sources = None if changes.sources is None else _checked_sources(changes.sources)
    program_ids = None if changes.program_ids is None else list(dict.fromkeys(changes.program_ids))
    now = utcnow()

    def work(conn: Connection) -> CustomerProfile:
        customer = store.lock_customer(conn, org_id=ctx.org_id, customer_id=customer_id)
        if customer is None or customer.erased_at is not None:
            raise NotFound("customer")
        merged = {column: getattr(customer, column) for column, _, _ in _IDENTIFIERS} | values
        if not any(merged.values()):
            raise Invalid(
                VALIDATION, detail="a customer needs at least one of mobile, email, externalId"
            )
        changed = {k: v for k, v in values.items() if getattr(customer, k) != v}
        for column, wire, _ in _IDENTIFIERS:
            value = changed.get(column)
            if value is not None and store.taken(
                conn, org_id=ctx.org_id, column=column, values={value}
            ):
                raise Conflict(
                    DUPLICATE,
                    detail=f"{wire} {value!r} already belongs to another customer",
                    field=wire,
                )
        if program_ids is not None:
            missing = set(program_ids) - program_store.existing_ids(
                conn, org_id=ctx.org_id, program_ids=set(program_ids)
            )
            if missing:
                raise Invalid(
                    VALIDATION, detail=f"program {min(missing)} not found", field="programIds"
                )
            store.replace_memberships(conn, customer_id, program_ids, joined_at=now)
        if sources is not None:
            store.replace_sources(conn, customer_id, sources)
        store.update_customer(conn, customer_id, changed)
        # Which fields changed, never their values: the audit trail must not hold identifiers.
        wire_names = [wire for column, wire, _ in _IDENTIFIERS if column in changed]
        detail: dict[str, object] = {"changed": wire_names}
        if sources is not None:
            detail["sources"] = sources
        if program_ids is not None:
            detail["programIds"] = program_ids
        audit.record(
            conn,
            ctx,
            [audit.Change("CUSTOMER_UPDATED", "CUSTOMER", customer_id, customer_id, detail=detail)],
            at=now,
        )
        fresh = store.get_customer(conn, org_id=ctx.org_id, customer_id=customer_id)
        assert fresh is not None
        return CustomerProfile(
            fresh,
            store.sources_of(conn, [customer_id]).get(customer_id, []),
            store.programs_of(conn, [customer_id]).get(customer_id, []),
        )

    try:
        return uow.apply(work, dry_run=ctx.dry_run)
    except IntegrityError as exc:  # a concurrent request took an identifier after our check
        raise _race(exc) from exc


def erase_customer(uow: UnitOfWork, ctx: Context, *, customer_id: int) -> Customer:
    """GDPR erase: the identifiers become NULL (the numeric id is the pseudonym the ledger and
    the audit trail keep), stored idempotent answers naming them are dropped, one
    CUSTOMER_ERASE event is written. An unknown, foreign or already erased customer is 404."""
    now = utcnow()

    def work(conn: Connection) -> Customer:
        customer = store.lock_customer(conn, org_id=ctx.org_id, customer_id=customer_id)
        if customer is None or customer.erased_at is not None:
            raise NotFound("customer")
        held = {column: getattr(customer, column) for column, _, _ in _IDENTIFIERS}
        store.update_customer(conn, customer_id, {**dict.fromkeys(held), "erased_at": now})
        store.forget_answers_naming(
            conn, org_id=ctx.org_id, values=[v for v in held.values() if v is not None]
        )
        erased = [wire for column, wire, _ in _IDENTIFIERS if held[column] is not None]
        audit.record(
            conn,
            ctx,
            [
                audit.Change(
                    "CUSTOMER_ERASE",
                    "CUSTOMER",
                    customer_id,
                    customer_id,
                    detail={"erased": erased},
                )
            ],
            at=now,
        )
        return Customer(customer.id, customer.org_id, None, None, None, customer.created_at, now)

    return uow.apply(work, dry_run=ctx.dry_run)


def _checked_identifiers(given: dict[str, str | None]) -> dict[str, str | None]:
    checked: dict[str, str | None] = {}
    for column, wire, longest in _IDENTIFIERS:
        if column not in given:
            continue
        raw = given[column]
        value = raw.strip() if raw is not None else None
        if raw is not None and not value:
            raise Invalid(
                VALIDATION, detail=f"{wire} must not be blank (null removes it)", field=wire
            )
        if value is not None and len(value) > longest:
            raise Invalid(
                VALIDATION, detail=f"{wire} must be at most {longest} characters", field=wire
            )
        checked[column] = value.lower() if value is not None and column == "email" else value
    return checked


def _checked_sources(given: Sequence[str]) -> list[str]:
    sources: list[str] = []
    for j, text in enumerate(given):
        source = parse_source(text)
        if source is None:
            raise Invalid(VALIDATION, detail=f"unknown source {text!r}", field=f"sources.{j}")
        if source.value not in sources:
            sources.append(source.value)
    return sources


def _decode_cursor(cursor: str) -> int:
    if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18) or int(cursor) < 1:
        raise Invalid(VALIDATION, detail="cursor is not one this API returned", field="cursor")
    return int(cursor)
