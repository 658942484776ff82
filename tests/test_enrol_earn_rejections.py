"""Request-level rejections of enrolAndEarn and directEarn: HTTP 400, nothing changed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from promoledger.domain import errors as E
from promoledger.store import tables as t
from promoledger.store.types import utcnow
from tests.support.factories import World, bulk_body

URL = "/v2/promotion/bulk/enrolAndEarn"
DIRECT = "/v2/promotion/bulk/directEarn"


def envelope(code: int, message: str) -> dict[str, Any]:
    return {
        "response": [
            {"errors": [{"status": False, "code": code, "message": message}], "warnings": []}
        ],
        "totalCount": 1,
        "failureCount": 1,
    }


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(body: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        target = body
        for p in parents:
            target = target[p]
        if value is _DROP:
            target.pop(leaf, None)
        else:
            target[leaf] = value

    return apply


_DROP = object()


def test_every_request_level_rejection_changes_nothing(world: World, client: TestClient) -> None:
    org = world.org()
    caller = world.till(org)
    program = world.program(org)
    other_program = world.program(org, "Other")
    now = utcnow()
    promo = world.promotion(org, program)
    direct = world.promotion(org, program, type="DIRECT_ISSUE")
    generic = world.promotion(org, program, type="GENERIC")
    inactive = world.promotion(org, program, active=False)
    future = world.promotion(org, program, start_date=now + timedelta(days=1))
    past = world.promotion(org, program, end_date=now - timedelta(days=1))
    elsewhere = world.promotion(org, other_program)
    foreign_org = world.org("foreign")
    foreign_program = world.program(foreign_org)
    people = world.customers(org, program, 2)
    world.enrolment(org, promo.id, people[0].id)

    def body(promotion: Any = promo, action: str = "ENROL") -> dict[str, Any]:
        return bulk_body(program, promotion, [c.id for c in people], action=action)

    cases: list[tuple[str, dict[str, Any], int, str, str]] = []

    def case(name: str, b: dict[str, Any], error: E.ErrorDef, url: str = URL) -> None:
        cases.append((name, b, error.code, error.message, url))

    def changed(*changes: Callable[[dict[str, Any]], None], **kw: Any) -> dict[str, Any]:
        b = body(**kw)
        for change in changes:
            change(b)
        return b

    case("user group", changed(_set("type", "USERGROUP2")), E.USER_GROUP)
    case("type is case-sensitive", changed(_set("type", "customer")), E.INVALID_ENTITY_TYPE)
    case("no type", changed(_set("type", _DROP)), E.INVALID_ENTITY_TYPE)
    case("revoke action here", changed(_set("bulkAction", "REVOKE_EARN")), E.INVALID_BULK_ACTION)
    case("no bulkAction", changed(_set("bulkAction", _DROP)), E.INVALID_BULK_ACTION)
    case("no programId", changed(_set("promotionDetails.programId", _DROP)), E.INSUFFICIENT_PARAMS)
    case(
        "no promotion key",
        changed(_set("promotionDetails.promotionId", _DROP)),
        E.INSUFFICIENT_PARAMS,
    )
    case("unknown program", changed(_set("promotionDetails.programId", 987654)), E.INVALID_PROGRAM)
    case(
        "foreign program",
        changed(_set("promotionDetails.programId", foreign_program)),
        E.INVALID_PROGRAM,
    )
    case(
        "unknown promotion",
        changed(_set("promotionDetails.promotionId", 987654)),
        E.INVALID_PROMOTION,
    )
    case("promotion of another program", body(elsewhere), E.INVALID_PROMOTION)
    case(
        "keys disagree",
        changed(_set("promotionDetails.promoIdentifier", direct.identifier)),
        E.INVALID_PROMOTION,
    )
    case("inactive", body(inactive), E.PROMOTION_INACTIVE)
    case("inactive EARN", body(inactive, "EARN"), E.PROMOTION_INACTIVE)
    case("not started", body(future), E.PROMOTION_INACTIVE)
    case("ended", body(past, "EARN"), E.PROMOTION_INACTIVE)
    case("ENROL on direct issue", body(direct), E.ACTION_NOT_SUPPORTED)
    case("ENROL on generic", body(generic), E.ACTION_NOT_SUPPORTED)
    case("EARN on generic", body(generic, "EARN"), E.ACTION_NOT_SUPPORTED)
    case("directEarn on enrol-and-issue", body(promo, "EARN"), E.ACTION_NOT_SUPPORTED, DIRECT)
    case("directEarn on generic", body(generic, "EARN"), E.ACTION_NOT_SUPPORTED, DIRECT)
    case("no identifierName", changed(_set("identifierName", _DROP)), E.INVALID_IDENTIFIER_NAME)
    case(
        "externalId is not an identifierName",
        changed(_set("identifierName", "externalId")),
        E.INVALID_IDENTIFIER_NAME,
    )
    case(
        "bad nested identifierName",
        changed(_set("identifierName", _DROP), _set("promotionDetails.identifierName", "phone")),
        E.INVALID_IDENTIFIER_NAME,
    )
    case("empty customers", changed(_set("customers", [])), E.EMPTY_CUSTOMERS)
    case("no customers", changed(_set("customers", _DROP)), E.EMPTY_CUSTOMERS)
    case(
        "101 customers",
        changed(_set("customers", [{"identifierValue": str(i)} for i in range(1, 102)])),
        E.BATCH_LIMIT,
    )
    # The contract's order: the promotion checks come before 8013/11013/1060.
    case(
        "1101 before 8013",
        changed(_set("promotionDetails.programId", 987654), _set("identifierName", _DROP)),
        E.INVALID_PROGRAM,
    )
    case(
        "8892 before 11013",
        changed(_set("customers", []), promotion=inactive),
        E.PROMOTION_INACTIVE,
    )
    case(
        "8881 before 1101",
        changed(_set("promotionDetails.programId", _DROP), _set("type", "CUSTOMER")),
        E.INSUFFICIENT_PARAMS,
    )

    before = (world.rows(t.enrolments), world.rows(t.earns), world.audit())
    for name, b, code, message, url in cases:
        response = client.post(url, json=b, headers=caller.headers)
        assert response.status_code == 400, name
        assert response.json() == envelope(code, message), name
    malformed = client.post(URL, content=b"{not json", headers=caller.headers)
    assert malformed.status_code == 400
    assert malformed.json()["response"][0]["errors"][0]["code"] == E.INVALID_JSON.code
    assert (world.rows(t.enrolments), world.rows(t.earns), world.audit()) == before

    # A valid identifierName may sit inside promotionDetails (the seed's table).
    nested = changed(_set("identifierName", _DROP), _set("promotionDetails.identifierName", "id"))
    nested["customers"] = nested["customers"][1:]
    ok = client.post(URL, json=nested, headers=caller.headers)
    assert ok.status_code == 200
    assert ok.json()["failureCount"] == 0


def test_permissions(world: World, client: TestClient) -> None:
    org = world.org()
    reader = world.till(org, access="customer:read")
    program = world.program(org)
    promotion = world.promotion(org, program)
    (c,) = world.customers(org, program)
    body = bulk_body(program, promotion, [c.id])
    denied = client.post(URL, json=body, headers=reader.headers)
    assert denied.status_code == 403
    assert denied.json() == {
        "errors": [{"status": False, "code": 4000, "message": "Not authorized. Access is denied!"}]
    }
    assert client.post(DIRECT, json=body).status_code == 401
    assert world.rows(t.enrolments) == []
