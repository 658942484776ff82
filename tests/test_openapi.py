"""The OpenAPI document describes what the Capillary operations really take and answer."""

from __future__ import annotations

from typing import Any

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
