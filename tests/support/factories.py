"""Test data factories. Credentials go through the real services (so auth is exercised);
programs, promotions, customers and ledger rows are inserted directly, so tests of one
endpoint never depend on another endpoint being right.
"""

from __future__ import annotations

import base64
import itertools
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from promoledger.runtime import Runtime
from promoledger.services import credentials
from promoledger.services.auth import md5_hex
from promoledger.store import tables as t
from promoledger.store.types import utcnow

_seq = itertools.count(1)


@dataclass
class Caller:
    """A credential and the headers that authenticate it."""

    org_id: int
    credential_id: int
    headers: dict[str, str]
    name: str = ""
    secret: str = ""


@dataclass
class Customer:
    id: int
    mobile: str
    email: str
    external_id: str


@dataclass
class World:
    runtime: Runtime
    client: TestClient
    _orgs: list[int] = field(default_factory=list)

    @property
    def uow(self) -> Any:
        return self.runtime.uow

    @property
    def url(self) -> str:
        """The database URL the app under test serves."""
        return self.runtime.settings.database_url

    def org(self, name: str = "acme") -> int:
        return credentials.create_org(self.uow, name=name)

    def till(
        self, org_id: int, access: str = "customer:write,config:write", password: str = "s3cret!"
    ) -> Caller:
        code = f"till-{next(_seq)}-{uuid.uuid4().hex[:6]}"
        cred_id = credentials.create_till(
            self.uow,
            org_id=org_id,
            code=code,
            password=password,
            access=credentials.AccessGroup.parse(access),
        )
        token = base64.b64encode(f"{code}:{md5_hex(password)}".encode()).decode()
        return Caller(org_id, cred_id, {"Authorization": f"Basic {token}"}, code, password)

    def oauth_client(
        self, org_id: int, access: str = "customer:write,config:write", ttl: int = 3600
    ) -> Caller:
        cred_id, key, secret = credentials.create_client(
            self.uow,
            org_id=org_id,
            name="test",
            access=credentials.AccessGroup.parse(access),
            ttl=ttl,
        )
        return Caller(org_id, cred_id, {}, key, secret)

    def program(self, org_id: int, name: str = "Rewards") -> int:
        with self.uow.write() as conn:
            row = conn.execute(
                insert(t.programs)
                .values(org_id=org_id, name=name, created_at=utcnow())
                .returning(t.programs.c.id)
            ).one()
        return int(row.id)

    def promotion(
        self,
        org_id: int,
        program_id: int,
        *,
        type: str = "ENROL_AND_ISSUE",
        identifier: str | None = None,
        active: bool = True,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        enrolments_per_customer: int = 1,
        earns_per_customer: int = 1,
        enrolment_expiry: str | None = None,
        enrolment_expiry_days: int | None = None,
        earn_expiry: str | None = None,
        earn_expiry_days: int | None = None,
    ) -> Any:
        now = utcnow()
        with self.uow.write() as conn:
            return conn.execute(
                insert(t.promotions)
                .values(
                    org_id=org_id,
                    program_id=program_id,
                    identifier=identifier or str(uuid.uuid4()),
                    name=f"promo {next(_seq)}",
                    type=type,
                    active=active,
                    start_date=start_date,
                    end_date=end_date,
                    enrolments_per_customer=enrolments_per_customer,
                    earns_per_customer=earns_per_customer,
                    enrolment_expiry=enrolment_expiry,
                    enrolment_expiry_days=enrolment_expiry_days,
                    earn_expiry=earn_expiry,
                    earn_expiry_days=earn_expiry_days,
                    created_at=now,
                    updated_at=now,
                )
                .returning(t.promotions)
            ).one()

    def customers(
        self,
        org_id: int,
        program_id: int | None,
        n: int = 1,
        sources: tuple[str, ...] = ("INSTORE",),
    ) -> list[Customer]:
        made: list[Customer] = []
        now = utcnow()
        with self.uow.write() as conn:
            for _ in range(n):
                k = next(_seq)
                mobile, email, ext = f"9100{k:08d}", f"c{k}@example.com", f"ext-{k}"
                cid = int(
                    conn.execute(
                        insert(t.customers)
                        .values(
                            org_id=org_id,
                            mobile=mobile,
                            email=email,
                            external_id=ext,
                            created_at=now,
                        )
                        .returning(t.customers.c.id)
                    )
                    .one()
                    .id
                )
                for source in sources:
                    conn.execute(insert(t.customer_sources).values(customer_id=cid, source=source))
                if program_id is not None:
                    conn.execute(
                        insert(t.program_members).values(
                            program_id=program_id, customer_id=cid, joined_at=now
                        )
                    )
                made.append(Customer(cid, mobile, email, ext))
        return made

    def enrolment(
        self,
        org_id: int,
        promotion_id: int,
        customer_id: int,
        status: str = "ACTIVE",
        expires_at: datetime | None = None,
    ) -> int:
        with self.uow.write() as conn:
            row = conn.execute(
                insert(t.enrolments)
                .values(
                    org_id=org_id,
                    promotion_id=promotion_id,
                    customer_id=customer_id,
                    status=status,
                    created_at=utcnow(),
                    expires_at=expires_at,
                )
                .returning(t.enrolments.c.id)
            ).one()
        return int(row.id)

    def earn(
        self,
        org_id: int,
        promotion_id: int,
        customer_id: int,
        enrolment_id: int | None = None,
        status: str = "ACTIVE",
        expires_at: datetime | None = None,
    ) -> int:
        with self.uow.write() as conn:
            row = conn.execute(
                insert(t.earns)
                .values(
                    org_id=org_id,
                    promotion_id=promotion_id,
                    customer_id=customer_id,
                    enrolment_id=enrolment_id,
                    status=status,
                    created_at=utcnow(),
                    expires_at=expires_at,
                )
                .returning(t.earns.c.id)
            ).one()
        return int(row.id)

    # --- reading state back ------------------------------------------------------------
    def rows(self, table: Any, **where: Any) -> list[Any]:
        stmt = (
            select(table)
            .where(*(table.c[k] == v for k, v in where.items()))
            .order_by(table.c[table.primary_key.columns.keys()[0]])
        )
        with self.uow.read() as conn:
            return list(conn.execute(stmt).all())

    def status_of(self, table: Any, row_id: int) -> str:
        with self.uow.read() as conn:
            return str(
                conn.execute(select(table.c.status).where(table.c.id == row_id)).scalar_one()
            )

    def audit(self, **where: Any) -> list[Any]:
        return self.rows(t.audit_events, **where)

    # --- OAuth ---------------------------------------------------------------------------
    def oauth_token(self, caller: Caller) -> str:
        """An access token for an ``oauth_client`` caller, through the real token endpoint."""
        response = self.client.post(
            "/v3/oauth/token/generate", json={"key": caller.name, "secret": caller.secret}
        )
        assert response.status_code == 200, response.text
        return str(response.json()["data"]["accessToken"])

    def oauth_headers(self, caller: Caller) -> dict[str, str]:
        """``X-CAP-API-OAUTH-TOKEN`` headers for an ``oauth_client`` caller."""
        return {"X-CAP-API-OAUTH-TOKEN": self.oauth_token(caller)}


def bulk_body(
    program_id: Any,
    promotion: Any,
    customers: list[Any],
    *,
    action: str | None = "ENROL",
    identifier: str = "id",
    source: str | None = "INSTORE",
    key: str | tuple[str, ...] = "promotionId",
) -> dict[str, Any]:
    """A Capillary bulk body naming ``promotion`` (a row, or a raw key value) by ``key`` (or by
    each of several keys). A customer is an entry dict, used as is, or an identifier value."""
    details: dict[str, Any] = {"programId": program_id}
    for name in (key,) if isinstance(key, str) else key:
        attr = "id" if name == "promotionId" else "identifier"
        details[name] = getattr(promotion, attr) if hasattr(promotion, attr) else promotion
    body: dict[str, Any] = {
        "type": "CUSTOMER",
        "promotionDetails": details,
        "identifierName": identifier,
        "customers": [
            c
            if isinstance(c, dict)
            else {"identifierValue": str(c), **({"source": source} if source else {})}
            for c in customers
        ],
    }
    if action is not None:
        body["bulkAction"] = action
    return body
