"""The seed document's request and response examples, compared field by field.

Each request below is the seed's request verbatim except for the ids, which the test database
assigns (the seed's `//` comments removed). Responses are compared as whole JSON values with
the ids substituted, so a renamed, retyped, missing or extra field fails the test.
"""

from __future__ import annotations

from typing import Any

from promoledger.store import tables as t
from tests.support.factories import World
from tests.support.revoke import Shop, make_shop


def _revoke_enrol_request(shop: Shop, customer_ids: list[int]) -> dict[str, Any]:
    return {
        "type": "CUSTOMER",
        "bulkAction": "REVOKE_ENROL",
        "promotionDetails": {
            "programId": shop.program,
            "promotionId": str(shop.promotion_id),  # the seed sends "202779", a string
        },
        "identifierName": "id",
        "customers": [{"identifierValue": str(cid), "source": "instore"} for cid in customer_ids],
    }


def test_revoke_enrol_one_and_many_customers(world: World) -> None:
    shop = make_shop(world)
    for n in (1, 2, 4):
        customers = shop.customers(n)
        enrolments = [shop.enrol(c) for c in customers]
        response = shop.post(_revoke_enrol_request(shop, [c.id for c in customers]))
        assert response.status_code == 200
        assert response.json() == {
            "response": [
                {
                    "result": {
                        "entityType": "CUSTOMER",
                        "entityId": c.id,
                        "promotionId": shop.promotion_id,
                        "programId": shop.program,
                        "issualId": str(enrolment),
                        "revokedIssualId": enrolment,  # contract 3.1: same value, as an int
                    },
                    "errors": [],
                    "warnings": [],
                }
                for c, enrolment in zip(customers, enrolments, strict=True)
            ],
            "totalCount": n,
            "failureCount": 0,
        }
        first = response.json()["response"][0]["result"]
        assert list(first) == [
            "entityType",
            "entityId",
            "promotionId",
            "programId",
            "issualId",
            "revokedIssualId",
        ]


def test_revoke_earn_with_promo_identifier(world: World) -> None:
    shop = make_shop(world, identifier="95c77d88-470c-4dd3-bde4-606ae1b64277")
    a, b = shop.customers(2)
    ea = shop.earn(a)
    eb1, eb2 = shop.earn(b), shop.earn(b)
    request = {
        "type": "CUSTOMER",
        "bulkAction": "REVOKE_EARN",
        "promotionDetails": {
            "programId": shop.program,
            "promoIdentifier": "95c77d88-470c-4dd3-bde4-606ae1b64277",
        },
        "identifierName": "id",
        "customers": [
            {"identifierValue": str(a.id), "source": "instore"},
            {"identifierValue": str(b.id), "source": "instore"},
        ],
    }
    response = shop.post(request)
    assert response.status_code == 200
    assert response.json() == {
        "response": [
            {
                "result": {
                    "entityType": "CUSTOMER",
                    "entityId": a.id,
                    "promoIdentifier": "95c77d88-470c-4dd3-bde4-606ae1b64277",
                    "programId": shop.program,
                    "revokedEarnIds": [ea],
                },
                "errors": [],
                "warnings": [],
            },
            {
                "result": {
                    "entityType": "CUSTOMER",
                    "entityId": b.id,
                    "promoIdentifier": "95c77d88-470c-4dd3-bde4-606ae1b64277",
                    "programId": shop.program,
                    "revokedEarnIds": [eb1, eb2],
                },
                "errors": [],
                "warnings": [],
            },
        ],
        "totalCount": 2,
        "failureCount": 0,
    }
    assert list(response.json()["response"][0]["result"]) == [
        "entityType",
        "entityId",
        "promoIdentifier",
        "programId",
        "revokedEarnIds",
    ]


def test_mixed_earn_ids_example(world: World) -> None:
    """Two customers name their earns, the third revokes all of its earns."""
    shop = make_shop(world, identifier="1d9e540d-ae2c-443f-9d0d-7ac146bf93f2")
    a, b, c = shop.customers(3)
    ea, ea_kept = shop.earn(a), shop.earn(a)
    eb1, eb_kept, eb2 = shop.earn(b), shop.earn(b), shop.earn(b)
    ec1, ec2 = shop.earn(c), shop.earn(c)
    request = {
        "type": "CUSTOMER",
        "bulkAction": "REVOKE_EARN",
        "promotionDetails": {
            "programId": shop.program,
            "promoIdentifier": "1d9e540d-ae2c-443f-9d0d-7ac146bf93f2",
        },
        "identifierName": "id",
        "customers": [
            {"identifierValue": str(a.id), "source": "instore", "earnIds": [ea]},
            {"identifierValue": str(b.id), "source": "instore", "earnIds": [eb1, eb2]},
            {"identifierValue": str(c.id), "source": "instore"},
        ],
    }
    response = shop.post(request)

    def result(customer_id: int, revoked: list[int]) -> dict[str, Any]:
        return {
            "result": {
                "entityType": "CUSTOMER",
                "entityId": customer_id,
                "promoIdentifier": "1d9e540d-ae2c-443f-9d0d-7ac146bf93f2",
                "programId": shop.program,
                "revokedEarnIds": revoked,
            },
            "errors": [],
            "warnings": [],
        }

    assert response.status_code == 200
    assert response.json() == {
        "response": [result(a.id, [ea]), result(b.id, [eb1, eb2]), result(c.id, [ec1, ec2])],
        "totalCount": 3,
        "failureCount": 0,
    }
    assert world.status_of(t.earns, ea_kept) == "ACTIVE"
    assert world.status_of(t.earns, eb_kept) == "ACTIVE"


def _not_found() -> dict[str, Any]:
    return {
        "errors": [
            {
                "status": False,
                "message": "Customer not found for the given identifiers",
                "code": 8015,
            }
        ],
        "warnings": [],
    }


def test_partial_failure_keeps_order_and_counts(world: World) -> None:
    shop = make_shop(world, type="DIRECT_ISSUE")
    a, b = shop.customers(2)
    ea, eb = shop.earn(a), shop.earn(b)
    unknown = str(10**9)

    def ok(customer_id: int, earn: int) -> dict[str, Any]:
        return {
            "result": {
                "entityType": "CUSTOMER",
                "entityId": customer_id,
                "promotionId": shop.promotion_id,
                "programId": shop.program,
                "revokedEarnIds": [earn],
            },
            "errors": [],
            "warnings": [],
        }

    # The seed's own example: one success, then two unknown customers.
    seed = shop.body(
        "REVOKE_EARN",
        [
            {"identifierValue": str(a.id), "source": "instore"},
            {"identifierValue": unknown, "source": "instore"},
            {"identifierValue": str(10**9 + 1), "source": "instore"},
        ],
    )
    assert shop.post(seed).json() == {
        "response": [ok(a.id, ea), _not_found(), _not_found()],
        "totalCount": 3,
        "failureCount": 2,
    }
    # 8015 in the middle: the entries around it still answer their own customers.
    middle = shop.body(
        "REVOKE_EARN",
        [
            {"identifierValue": str(b.id), "source": "instore"},
            {"identifierValue": unknown, "source": "instore"},
            {"identifierValue": str(a.id), "source": "instore"},
        ],
    )
    body = shop.post(middle).json()
    assert body["response"][0] == ok(b.id, eb)
    assert body["response"][1] == _not_found()
    assert body["response"][2]["errors"][0]["code"] == 2305  # a's earn went in the first call
    assert (body["totalCount"], body["failureCount"]) == (3, 2)


def _seed_error(code: int, message: str) -> dict[str, Any]:
    """The seed's error examples: one failed entry, counts 1/1."""
    return {
        "response": [
            {"errors": [{"status": False, "message": message, "code": code}], "warnings": []}
        ],
        "totalCount": 1,
        "failureCount": 1,
    }


def test_seed_error_8902(world: World) -> None:
    shop = make_shop(world, type="DIRECT_ISSUE")
    [c] = shop.customers()
    response = shop.post(_revoke_enrol_request(shop, [c.id]))
    assert response.status_code == 400
    assert response.json() == _seed_error(
        8902, "revoke bulk action passed not supported for loyalty/generic promotion type"
    )


def test_seed_error_1101(world: World) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    request = _revoke_enrol_request(shop, [c.id])
    request["promotionDetails"]["programId"] = shop.program + 1000
    response = shop.post(request)
    assert response.status_code == 400
    assert response.json() == _seed_error(1101, "invalid programId passed")


def test_seed_error_8892(world: World) -> None:
    shop = make_shop(world, active=False)
    [c] = shop.customers()
    response = shop.post(_revoke_enrol_request(shop, [c.id]))
    assert response.status_code == 400
    assert response.json() == _seed_error(8892, "promotion is inactive")


def test_seed_error_8874(world: World) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    request = _revoke_enrol_request(shop, [c.id])
    request["promotionDetails"]["promotionId"] = "202779"
    response = shop.post(request)
    assert response.status_code == 400
    assert response.json() == _seed_error(8874, "promotion id passed is invalid")


def test_seed_error_8896_invalid_customer_id(world: World) -> None:
    shop = make_shop(world)
    request = _revoke_enrol_request(shop, [])
    request["customers"] = [{"identifierValue": "42392786x", "source": "instore"}]
    response = shop.post(request)
    assert response.status_code == 200  # a per-entry failure: the request itself was processed
    assert response.json() == _seed_error(
        8896, "Error occurred while issuing promotion to the customer"
    )


def test_seed_error_8901(world: World) -> None:
    shop = make_shop(world)
    [c] = shop.customers()
    request = _revoke_enrol_request(shop, [c.id])
    request["type"] = "CUSTOMERS"
    response = shop.post(request)
    assert response.status_code == 400
    assert response.json() == _seed_error(8901, "invalid entity type passed")
