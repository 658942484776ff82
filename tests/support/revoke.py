"""What the revoke tests share: a ready org/till/program/promotion and request builders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx2

from tests.support.factories import Caller, Customer, World, bulk_body

REVOKE = "/v2/promotion/bulk/revokeEnrolAndEarn"
REVOKE_DIRECT = "/v2/promotion/bulk/revokeDirectEarn"


@dataclass
class Shop:
    """One org with a till (CUSTOMER WRITE), a program and one promotion."""

    world: World
    org: int
    till: Caller
    program: int
    promo: Any

    @property
    def promotion_id(self) -> int:
        return int(self.promo.id)

    def customers(self, n: int = 1, **kw: Any) -> list[Customer]:
        return self.world.customers(self.org, self.program, n, **kw)

    def enrol(self, customer: Customer, **kw: Any) -> int:
        return self.world.enrolment(self.org, self.promotion_id, customer.id, **kw)

    def earn(self, customer: Customer, enrolment_id: int | None = None, **kw: Any) -> int:
        return self.world.earn(self.org, self.promotion_id, customer.id, enrolment_id, **kw)

    def body(
        self,
        action: str | None,
        customers: list[dict[str, Any]],
        *,
        keys: tuple[str, ...] = ("promotionId",),
        identifier_name: str = "id",
    ) -> dict[str, Any]:
        return bulk_body(
            self.program, self.promo, customers, action=action, identifier=identifier_name, key=keys
        )

    def post(
        self,
        body: Any,
        *,
        path: str = REVOKE,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        caller: Caller | None = None,
    ) -> httpx2.Response:
        return self.world.client.post(
            path,
            json=body,
            headers={**(caller or self.till).headers, **(headers or {})},
            params=params,
        )


def make_shop(world: World, *, type: str = "ENROL_AND_ISSUE", **promo: Any) -> Shop:
    org = world.org()
    till = world.till(org, access="customer:write")
    program = world.program(org)
    return Shop(world, org, till, program, world.promotion(org, program, type=type, **promo))


def entry(customer: Customer, earn_ids: list[int] | None = None, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"identifierValue": str(customer.id), "source": "instore", **extra}
    if earn_ids is not None:
        item["earnIds"] = earn_ids
    return item


def ok(result: dict[str, Any]) -> dict[str, Any]:
    return {"result": result, "errors": [], "warnings": []}


def failed(code: int, message: str) -> dict[str, Any]:
    return {"errors": [{"status": False, "code": code, "message": message}], "warnings": []}


def rejected(code: int, message: str) -> dict[str, Any]:
    return {"response": [failed(code, message)], "totalCount": 1, "failureCount": 1}


NO_ACTIVE = (2305, "Active issued promotion is not available for the customer.")
EARNS_INVALID = (8903, "Earn IDs passed are either invalid or already revoked")
ACTIVE_EARNS = (9101, "Active earns exist for the customer; revoke the earns before the enrolment")
NOT_FOUND = (8015, "Customer not found for the given identifiers")
