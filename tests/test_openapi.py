"""The OpenAPI document describes what the Capillary operations really take and answer."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
from fastapi.testclient import TestClient

from promoledger.domain.context import Context
from promoledger.store import audit
from promoledger.store import tables as t
from tests.support.factories import World

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
                # /v2's 422 (a malformed or reused Idempotency-Key) is in Capillary's envelope.
                envelope = "/AuthError" if path.startswith("/v2") else "/AdminError"
                assert schema.endswith(envelope), path


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


def _shape(value: Any) -> Any:
    """The structure of a JSON value: keys (recursively) and value types, not the values."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def _examples(operation: dict[str, Any], status: str) -> dict[str, Any]:
    content = operation["responses"][status]["content"]["application/json"]
    examples: dict[str, Any] = {name: e["value"] for name, e in content["examples"].items()}
    return examples


def _check_examples_validate(document: dict[str, Any], operation: dict[str, Any]) -> None:
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None and "examples" in body:
        request = _validator(document, body["schema"])
        for name, example in body["examples"].items():
            assert request.is_valid(example["value"]), name
    for status, response in operation["responses"].items():
        content = response.get("content", {}).get("application/json", {})
        if "examples" in content:
            validator = _validator(document, content["schema"])
            for name, example in content["examples"].items():
                assert validator.is_valid(example["value"]), (status, name)


def test_issue_examples_are_the_answers_it_sends(world: World) -> None:
    document = _document(world.client)
    operation = document["paths"]["/v2/promotion/issue"]["post"]
    _check_examples_validate(document, operation)
    assert set(operation["requestBody"]["content"]["application/json"]["examples"]) == {
        "byPromotionId"
    }
    org = world.org()
    till = world.till(org, access="customer:write")
    program = world.program(org)
    answers = {}
    for kind, type_ in (("enrolled", "ENROL_AND_ISSUE"), ("issued", "DIRECT_ISSUE")):
        promotion = world.promotion(org, program, type=type_)
        [customer] = world.customers(org, program)
        params = {"identifierName": "id", "identifierValue": str(customer.id), "source": "INSTORE"}
        response = world.client.post(
            "/v2/promotion/issue",
            params=params,
            json={"programId": program, "promotionId": promotion.id},
            headers=till.headers,
        )
        assert response.status_code == 200, response.text
        answers[kind] = response.json()
        if kind == "issued":
            again = world.client.post(
                "/v2/promotion/issue",
                params=params,
                json={"programId": program, "promotionId": promotion.id},
                headers=till.headers,
            )
            answers["limitReached"] = again.json()
    missing = world.client.post(
        "/v2/promotion/issue",
        params={"identifierName": "id", "identifierValue": "999999", "source": "INSTORE"},
        json={"programId": program, "promotionId": promotion.id},
        headers=till.headers,
    )
    examples = _examples(operation, "200")
    for name, real in answers.items():
        assert _shape(examples[name]) == _shape(real), name
    assert missing.status_code == 400
    assert _examples(operation, "400")["8015"] == missing.json()


def test_lookup_examples_are_the_answers_it_sends(world: World) -> None:
    document = _document(world.client)
    org = world.org()
    till = world.till(org, access="customer:read")
    program = world.program(org)
    promotion = world.promotion(org, program, earns_per_customer=5)
    [customer, bare] = world.customers(org, program, 2)
    enrolment = world.enrolment(org, promotion.id, customer.id)
    world.earn(org, promotion.id, customer.id, enrolment)
    # Events, as a real enrolment and earn have: the timeline then names their audit ids.
    with world.uow.write() as conn:
        audit.record(
            conn,
            Context(org_id=org, actor_kind="SYSTEM"),
            [
                audit.Change("ENROL", "ENROLMENT", enrolment, customer.id, promotion.id),
                audit.Change("EARN", "EARN", world.rows(t.earns)[0].id, customer.id, promotion.id),
            ],
        )
    for path in ("/v2/customers/lookup/promotionData", "/v2.1/customers/lookup/promotionData"):
        operation = document["paths"][path]["get"]
        _check_examples_validate(document, operation)

        def lookup(value: str, name: str = "id", path: str = path) -> Any:
            return world.client.get(
                path,
                params={"identifierName": name, "identifierValue": value},
                headers=till.headers,
            )

        examples = _examples(operation, "200")
        assert _shape(examples["enrolledAndEarned"]) == _shape(lookup(str(customer.id)).json())
        assert _shape(examples["notEnrolled"]) == _shape(lookup(str(bare.id)).json())
        failures = _examples(operation, "400")
        assert failures["8013"] == lookup("1", name="nope").json()
        assert failures["8015"] == lookup("999999").json()
    scoped = world.client.get(
        "/v2.1/customers/lookup/promotionData",
        params={"identifierName": "id", "identifierValue": str(customer.id)},
        headers={**till.headers, "DATA-SCOPE": "ALL"},
    )
    assert failures["9002"] == scoped.json()


def test_admin_operations_document_every_error_envelope(world: World) -> None:
    document = _document(world.client)
    admin = {p: ops for p, ops in document["paths"].items() if p.startswith("/admin/")}
    assert "/admin/v1/reinstatements" in admin
    for path, operations in admin.items():
        for method, operation in operations.items():
            _check_examples_validate(document, operation)
            responses = operation["responses"]
            expected = {"401", "403", "503"}
            if "{" in path or path.endswith("/reinstatements"):
                expected.add("404")
            if method in ("post", "patch"):
                expected |= {"409", "413", "422"}
                names = {p["name"] for p in operation["parameters"]}
                assert {"Idempotency-Key", "X-Request-ID", "dryRun"} <= names, path
            assert expected <= set(responses), (path, method)
            for status in expected:
                schema = responses[status]["content"]["application/json"]["schema"]["$ref"]
                assert schema.endswith("/AdminError"), (path, method, status)
                codes = {e["errors"][0]["code"] for e in _examples(operation, status).values()}
                assert codes, (path, method, status)
    # The examples are the answers actually sent.
    programs = admin["/admin/v1/programs"]["post"]
    org = world.org()
    reader = world.till(org, access="customer:none,config:read")
    assert _examples(programs, "401")["401"] == world.client.get("/admin/v1/programs").json()
    denied = world.client.post("/admin/v1/programs", json={"name": "x"}, headers=reader.headers)
    assert _examples(programs, "403")["4000"] == denied.json()
    writer = world.till(org, access="customer:none,config:write")
    missing = world.client.get("/admin/v1/programs/999999", headers=writer.headers)
    assert _examples(admin["/admin/v1/programs/{program_id}"]["get"], "404")["9404"] == (
        missing.json()
    )
    empty = world.client.post("/admin/v1/programs", json={"name": ""}, headers=writer.headers)
    assert _examples(programs, "422")["9422"] == empty.json()


def test_the_token_endpoint_documents_its_envelopes(world: World) -> None:
    document = _document(world.client)
    operation = document["paths"]["/v3/oauth/token/generate"]["post"]
    _check_examples_validate(document, operation)
    assert {
        s: r["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        for s, r in operation["responses"].items()
    } == {
        "200": "TokenResponse",
        "400": "TokenError",
        "401": "TokenError",
        "429": "TokenError",
        "503": "TokenError",
    }
    post = world.client.post
    path = "/v3/oauth/token/generate"
    assert _examples(operation, "401")["401"] == post(path, json={"key": "k", "secret": "s"}).json()
    assert _examples(operation, "400")["9002"] == post(path, json={"key": 1}).json()
    assert _examples(operation, "400")["9400"] == post(path, content=b"{").json()
    caller = world.oauth_client(world.org())
    issued = post(path, json={"key": caller.name, "secret": caller.secret}).json()
    assert _shape(_examples(operation, "200")["issued"]) == _shape(issued)


def test_admin_inputs_are_documented_as_read(client: TestClient) -> None:
    schemas = _document(client)["components"]["schemas"]
    url = schemas["WebhookCreate"]["properties"]["url"]
    assert url["pattern"].startswith("^[Hh][Tt][Tt][Pp][Ss]?://")
    assert schemas["WebhookUpdate"]["properties"]["url"]["anyOf"][0]["pattern"] == url["pattern"]
    assert "LOYALTY_EARNING" in schemas["PromotionCreate"]["properties"]["type"]["enum"]
    # pydantic reads Unix seconds as a datetime and 0/1 as a boolean: so does the document.
    active = schemas["PromotionUpdate"]["properties"]["active"]["anyOf"][0]
    assert {"type": "boolean"} in active["anyOf"]
    start = schemas["PromotionUpdate"]["properties"]["startDate"]["anyOf"][0]
    assert {"type": "number"} in start["anyOf"]
    # Answers are not loosened.
    created = schemas["CustomerFound"]["properties"]["createdAt"]
    assert created["format"] == "date-time"
    assert "anyOf" not in created
    # A blank identifierValue is 11013: the document says it must hold a non-blank character.
    lookup = _document(client)["paths"]["/v2/customers/lookup/promotionData"]["get"]
    value = next(p for p in lookup["parameters"] if p["name"] == "identifierValue")
    assert value["schema"]["pattern"] == "\\S"
