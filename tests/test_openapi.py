"""The OpenAPI document describes what the Capillary operations really take and answer."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
from fastapi.testclient import TestClient

V2 = (
    "/v2/promotion/bulk/enrolAndEarn",
    "/v2/promotion/bulk/directEarn",
    "/v2/promotion/bulk/revokeEnrolAndEarn",
    "/v2/promotion/bulk/revokeDirectEarn",
    "/v2/promotion/issue",
)


def _document(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def test_the_three_ways_to_authenticate_are_declared(client: TestClient) -> None:
    document = _document(client)
    schemes = document["components"]["securitySchemes"]
    assert schemes["tillBasic"]["scheme"] == "basic"
    assert "md5" in schemes["tillBasic"]["description"].lower()
    assert (schemes["capOAuthToken"]["in"], schemes["capOAuthToken"]["name"]) == (
        "header",
        "X-CAP-API-OAUTH-TOKEN",
    )
    assert schemes["bearer"]["scheme"] == "bearer"
    for path in (*V2, "/v2/customers/lookup/promotionData", "/v2.1/customers/lookup/promotionData"):
        for operation in document["paths"][path].values():
            assert operation["security"] == [
                {"tillBasic": []},
                {"capOAuthToken": []},
                {"bearer": []},
            ]


def test_capillary_operations_document_their_real_envelopes(client: TestClient) -> None:
    paths = _document(client)["paths"]

    def ref(path: str, method: str, status: str) -> str:
        content = paths[path][method]["responses"][status]["content"]["application/json"]
        return str(content["schema"]["$ref"]).rsplit("/", 1)[1]

    for path in V2[:4]:
        assert (ref(path, "post", "200"), ref(path, "post", "400")) == (
            "BulkResponse",
            "BulkResponse",
        )
        names = {p["name"] for p in paths[path]["post"]["parameters"]}
        assert {"Idempotency-Key", "X-Request-ID", "dryRun"} <= names
    assert ref("/v2/promotion/issue", "post", "400") == "IssueResponse"
    lookup = "/v2/customers/lookup/promotionData"
    assert (ref(lookup, "get", "200"), ref(lookup, "get", "400")) == (
        "PromotionData",
        "LookupError",
    )
    assert ref(lookup, "get", "401") == "AuthError"
    assert "{}" not in str(paths["/v2/promotion/bulk/enrolAndEarn"]["post"]["responses"]["200"])


def test_request_schemas_carry_the_enums(client: TestClient) -> None:
    paths = _document(client)["paths"]

    def body(path: str) -> dict[str, Any]:
        schema: dict[str, Any] = paths[path]["post"]["requestBody"]["content"]["application/json"][
            "schema"
        ]
        return schema

    enrol = body("/v2/promotion/bulk/enrolAndEarn")
    assert enrol["properties"]["bulkAction"]["enum"] == ["EARN", "ENROL"]
    assert "bulkAction" in enrol["required"]
    assert body("/v2/promotion/bulk/revokeEnrolAndEarn")["properties"]["bulkAction"]["enum"] == [
        "REVOKE_EARN",
        "REVOKE_ENROL",
        "REVOKE_ISSUAL",
    ]
    assert "bulkAction" not in body("/v2/promotion/bulk/directEarn")["properties"]
    assert enrol["properties"]["identifierName"]["enum"] == ["id", "mobile", "email"]
    assert "INSTORE" in enrol["properties"]["customers"]["items"]["properties"]["source"]["enum"]
    issue = {p["name"]: p for p in paths["/v2/promotion/issue"]["post"]["parameters"]}
    assert issue["identifierName"]["schema"]["enum"] == ["id", "mobile", "email", "externalId"]
    assert all(issue[n]["required"] for n in ("identifierName", "identifierValue", "source"))


def test_validation_failures_are_documented_in_the_envelope_sent(client: TestClient) -> None:
    document = _document(client)
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for operation in operations.values():
            failure = operation.get("responses", {}).get("422")
            if failure is not None:
                schema = failure["content"]["application/json"]["schema"]["$ref"]
                assert schema.endswith("/AdminError"), path


BULK = V2[:4]


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    root = {**schema, "components": document["components"]}
    return jsonschema_rs.validator_for(root)


def test_every_bulk_example_validates_against_its_operation(client: TestClient) -> None:
    document = _document(client)
    for path in BULK:
        operation = document["paths"][path]["post"]
        body = operation["requestBody"]["content"]["application/json"]
        assert body["examples"], path
        request = _validator(document, body["schema"])
        for name, example in body["examples"].items():
            assert request.is_valid(example["value"]), (path, name)
        for status in ("200", "400"):
            content = operation["responses"][status]["content"]["application/json"]
            assert content["examples"], (path, status)
            response = _validator(document, content["schema"])
            for name, example in content["examples"].items():
                value = example["value"]
                assert response.is_valid(value), (path, status, name)
                failed = sum(1 for entry in value["response"] if entry["errors"])
                assert (value["totalCount"], value["failureCount"]) == (
                    len(value["response"]),
                    failed,
                )
                if status == "400":
                    assert failed == 1 == value["totalCount"], (path, name)


def test_the_seed_revoke_examples_are_in_the_document(client: TestClient) -> None:
    operation = _document(client)["paths"]["/v2/promotion/bulk/revokeEnrolAndEarn"]["post"]
    requests = [
        e["value"]
        for e in operation["requestBody"]["content"]["application/json"]["examples"].values()
    ]
    # The reference page's first request, verbatim (its // comment removed).
    assert {
        "type": "CUSTOMER",
        "bulkAction": "REVOKE_ENROL",
        "promotionDetails": {"programId": 2714, "promotionId": "202779"},
        "identifierName": "id",
        "customers": [{"identifierValue": "423927867", "source": "instore"}],
    } in requests
    failures = operation["responses"]["400"]["content"]["application/json"]["examples"]
    codes = {e["value"]["response"][0]["errors"][0]["code"] for e in failures.values()}
    assert codes == {8901, 1101, 8874, 8892, 8902}
    successes = operation["responses"]["200"]["content"]["application/json"]["examples"]
    assert {
        "result": {
            "entityType": "CUSTOMER",
            "entityId": 555567088,
            "promotionId": 74230,
            "programId": 753,
            "revokedEarnIds": [111],
        },
        "errors": [],
        "warnings": [],
    } in [entry for e in successes.values() for entry in e["value"]["response"]]
