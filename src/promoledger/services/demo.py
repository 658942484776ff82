"""The demo use case: a ready org with a program, both promotion types, customers and a ledger.

It goes through the same services as the API (programs, promotions, customers), so the demo is
also a smoke test of them. The till's credentials are fixed and documented, so the printed curl
line works on every run: a later run points the same till at the newest demo org.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

import orjson

from promoledger.domain.bulk import BulkAction, BulkRequest, CustomerEntry, PromotionRef
from promoledger.domain.context import Context
from promoledger.domain.promotions import ExpirySpec, Promotion
from promoledger.domain.vocabulary import CredentialKind, ExpiryRule, IdentifierName, PromotionType
from promoledger.services import credentials, customers, enrol_earn, programs
from promoledger.services.auth import hash_secret, md5_hex
from promoledger.services.customers import NewCustomer
from promoledger.store import audit, seed
from promoledger.store import credentials as credential_store
from promoledger.store import promotions as promotion_store
from promoledger.store.uow import UnitOfWork

ORG_NAME = "Demo"
TILL_CODE = "demo-till"
# Documented in the README: the demo's password is public on purpose.
TILL_PASSWORD = "demo-password"  # noqa: S105
TILL_ACCESS = "customer:write,config:write"
ENROL_AND_ISSUE_IDENTIFIER = "demo-welcome-offer"
DIRECT_ISSUE_IDENTIFIER = "demo-instant-reward"
CUSTOMERS = 20
SOURCES = ("INSTORE", "WEBSITE")
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True, slots=True)
class DemoPromotion:
    id: int
    identifier: str
    name: str
    type: str


@dataclass(frozen=True, slots=True)
class Demo:
    created: bool
    org_id: int
    program_id: int
    enrol_and_issue: DemoPromotion
    direct_issue: DemoPromotion
    sample_mobile: str  # the customer the curl line revokes earns of

    def curl(self, base_url: str = DEFAULT_BASE_URL) -> str:
        """A REVOKE_EARN for the sample customer, exactly as a Capillary client would send it."""
        body = {
            "type": "CUSTOMER",
            "bulkAction": "REVOKE_EARN",
            "identifierName": "mobile",
            "promotionDetails": {
                "programId": self.program_id,
                "promoIdentifier": self.enrol_and_issue.identifier,
            },
            "customers": [{"identifierValue": self.sample_mobile, "source": "INSTORE"}],
        }
        return " ".join(
            [
                "curl -sS",
                f"-u {TILL_CODE}:{md5_hex(TILL_PASSWORD)}",
                "-H 'Content-Type: application/json'",
                f"-X POST {base_url.rstrip('/')}/v2/promotion/bulk/revokeEnrolAndEarn",
                f"-d {shlex.quote(orjson.dumps(body).decode())}",
            ]
        )

    def as_json(self, base_url: str = DEFAULT_BASE_URL) -> dict[str, Any]:
        return {
            "created": self.created,
            "org": {"id": self.org_id, "name": ORG_NAME},
            "till": {
                "code": TILL_CODE,
                "password": TILL_PASSWORD,
                "md5Password": md5_hex(TILL_PASSWORD),
                "access": TILL_ACCESS,
            },
            "program": {"id": self.program_id},
            "promotions": {
                "enrolAndIssue": _promotion_json(self.enrol_and_issue),
                "directIssue": _promotion_json(self.direct_issue),
            },
            "sampleCustomer": {"mobile": self.sample_mobile},
            "curl": self.curl(base_url),
        }


def load(uow: UnitOfWork, *, if_empty: bool = False) -> Demo | None:
    """Create a demo org. With ``if_empty`` and any org already present, create nothing and
    describe the existing demo (None when the orgs there are not a demo's)."""
    if if_empty:
        with uow.read() as conn:
            existing = seed.any_org_id(conn)
        if existing is not None:
            return describe(uow)
    return _create(uow)


def describe(uow: UnitOfWork) -> Demo | None:
    """The demo org the demo till currently points at, if there is one."""
    with uow.read() as conn:
        till = credential_store.by_name(conn, CredentialKind.TILL.value, TILL_CODE)
        if till is None:
            return None
        org_id = int(till.org_id)
        program_id = seed.first_program_id(conn, org_id)
        mobile = seed.first_mobile(conn, org_id)
        if program_id is None or mobile is None:
            return None
        promotions = promotion_store.list_for_program(conn, org_id=org_id, program_id=program_id)
    found = {p.identifier: _promotion(p) for p in promotions}
    if ENROL_AND_ISSUE_IDENTIFIER not in found or DIRECT_ISSUE_IDENTIFIER not in found:
        return None
    return Demo(
        created=False,
        org_id=org_id,
        program_id=program_id,
        enrol_and_issue=found[ENROL_AND_ISSUE_IDENTIFIER],
        direct_issue=found[DIRECT_ISSUE_IDENTIFIER],
        sample_mobile=mobile,
    )


def _create(uow: UnitOfWork) -> Demo:
    org_id = credentials.create_org(uow, name=ORG_NAME)
    _demo_till(uow, org_id)
    ctx = Context.operator(org_id)
    created = programs.create_program(
        uow,
        ctx,
        name="Demo rewards",
        promotions=[
            {
                "name": "Welcome offer",
                "type": PromotionType.ENROL_AND_ISSUE.value,
                "identifier": ENROL_AND_ISSUE_IDENTIFIER,
                "earns_per_customer": 5,
                "earn_expiry": ExpirySpec(ExpiryRule.CUSTOM, 90),
            },
            {
                "name": "Instant reward",
                "type": PromotionType.DIRECT_ISSUE.value,
                "identifier": DIRECT_ISSUE_IDENTIFIER,
                "earns_per_customer": 3,
            },
        ],
    )
    program_id = created.program.id
    welcome, instant = created.promotions
    made = customers.create_customers(
        uow,
        ctx,
        customers=[
            NewCustomer(
                mobile=f"9198765{n:05d}",
                email=f"demo{n:02d}@example.com",
                external_id=f"demo-{n:02d}",
                sources=SOURCES,
                program_ids=(program_id,),
            )
            for n in range(1, CUSTOMERS + 1)
        ],
    )
    ids = [c.id for c in made]
    _seed_ledger(uow, ctx, welcome, instant, customer_ids=ids)
    return Demo(
        created=True,
        org_id=org_id,
        program_id=program_id,
        enrol_and_issue=_promotion(welcome),
        direct_issue=_promotion(instant),
        sample_mobile=str(made[0].mobile),
    )


def _demo_till(uow: UnitOfWork, org_id: int) -> None:
    """Create the demo till, or point the existing one at this org with the documented password."""
    with uow.read() as conn:
        existing = credential_store.by_name(conn, CredentialKind.TILL.value, TILL_CODE)
    access = credentials.AccessGroup.parse(TILL_ACCESS)
    if existing is None:
        credentials.create_till(
            uow, org_id=org_id, code=TILL_CODE, password=TILL_PASSWORD, access=access
        )
        return
    secret_hash = hash_secret(md5_hex(TILL_PASSWORD))  # slow; outside the transaction
    with uow.write() as conn:
        credential_store.update_credential(
            conn,
            int(existing.id),
            org_id=org_id,
            secret_hash=secret_hash,
            customer_access=access.customer.name,
            config_access=access.config.name,
            disabled=False,
        )
        audit.record(
            conn,
            Context.operator(org_id),
            [
                audit.Change(
                    "CREDENTIAL_UPDATED",
                    "CREDENTIAL",
                    int(existing.id),
                    detail={
                        "name": TILL_CODE,
                        "orgId": {"from": int(existing.org_id), "to": org_id},
                    },
                )
            ],
        )


def _seed_ledger(
    uow: UnitOfWork,
    ctx: Context,
    welcome: Promotion,
    instant: Promotion,
    *,
    customer_ids: list[int],
) -> None:
    """Half the customers enrolled in the welcome offer, six of them with earns (the first with
    two); the other half with an instant reward. Through the same services as the bulk API."""
    enrolled, direct = customer_ids[: CUSTOMERS // 2], customer_ids[CUSTOMERS // 2 :]
    for run, promotion, action, ids in (
        (enrol_earn.enrol_and_earn, welcome, BulkAction.ENROL, enrolled),
        (enrol_earn.enrol_and_earn, welcome, BulkAction.EARN, [enrolled[0], *enrolled[:6]]),
        (enrol_earn.direct_earn, instant, BulkAction.EARN, direct),
    ):
        request = BulkRequest(
            action=action,
            promotion=PromotionRef(
                program_id=promotion.program_id, promotion_id=promotion.id, promo_identifier=None
            ),
            identifier_name=IdentifierName.ID,
            entries=tuple(
                CustomerEntry(i, str(cid), None, None, customer_id=cid) for i, cid in enumerate(ids)
            ),
        )
        result = run(uow, ctx, request=request)
        failed = [o for o in result.outcomes if o.failed or o.warnings]
        if failed:  # the demo's own data breaking its own rules is a bug, not an input error
            raise RuntimeError(f"demo {action} did not apply cleanly: {failed[0]}")


def _promotion(p: Promotion) -> DemoPromotion:
    return DemoPromotion(p.id, p.identifier, p.name, p.type.value)


def _promotion_json(p: DemoPromotion) -> dict[str, Any]:
    return {"id": p.id, "identifier": p.identifier, "name": p.name, "type": p.type}
