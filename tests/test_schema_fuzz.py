"""Schemathesis against the app's own OpenAPI document: every operation, generated inputs
(valid and invalid), valid credentials, in-process. No 5xx, ever; where a response schema is
declared, the response conforms to it."""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.support import invariants as inv
from tests.support.factories import World, bulk_body

EXAMPLES_PER_OPERATION = 20
CHECKS: list[Any] = [not_a_server_error, response_schema_conformance, content_type_conformance]


def test_every_operation_survives_generated_input(
    app: FastAPI, world: World, database_url: str
) -> None:
    org = world.org()
    till = world.till(org, access="customer:write,config:write")
    program = world.program(org)
    promo = world.promotion(org, program)
    people = world.customers(org, program, 3)
    enrolled = world.client.post(
        inv.ENROL_PATH,
        json=bulk_body(program, promo, [c.id for c in people], action="ENROL"),
        headers=till.headers,
    )
    assert enrolled.status_code == 200
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = sorted(op.label for op in operations)
    # The document covers every family of endpoint (a route missing from it goes unfuzzed).
    for needed in (
        "POST /v2/promotion/bulk/enrolAndEarn",
        "POST /v2/promotion/bulk/revokeEnrolAndEarn",
        "POST /v2/promotion/bulk/revokeDirectEarn",
        "POST /v2/promotion/bulk/directEarn",
        "POST /v2/promotion/issue",
        "GET /v2/customers/lookup/promotionData",
        "POST /v3/oauth/token/generate",
        "POST /admin/v1/customers",
        "GET /admin/v1/audit",
    ):
        assert needed in labels, labels
    seen: dict[str, set[int]] = {}
    for operation in operations:
        statuses = seen.setdefault(operation.label, set())
        _fuzz(operation.as_strategy(), till.headers, statuses)
    assert all(statuses for statuses in seen.values())
    assert not any(s >= 500 for statuses in seen.values() for s in statuses), seen
    # Whatever the generated requests did, the ledger they left is consistent.
    inv.check(database_url)


def _fuzz(strategy: Any, headers: dict[str, str], statuses: set[int]) -> None:
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, with_auth=st.booleans())
    def run(case: Any, with_auth: bool) -> None:
        sent = {**(case.headers or {}), **(headers if with_auth else {})}
        response = case.call(headers=sent)
        statuses.add(response.status_code)
        case.validate_response(response, checks=CHECKS, headers=sent)

    run()
