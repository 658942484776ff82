"""Hypothesis-generated bodies for the bulk endpoints: near-valid bodies with any field swapped
for arbitrary JSON. Never a 5xx; a 400 leaves the database exactly as it was; whatever was
accepted leaves a consistent ledger."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import invariants as inv
from tests.support.factories import World

PATHS = (inv.ENROL_PATH, inv.DIRECT_PATH, inv.REVOKE_PATH, inv.REVOKE_DIRECT_PATH)
EXAMPLES = 80

junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def mostly(valid: Any) -> Any:
    """``valid`` nine times in ten, arbitrary JSON otherwise."""
    return st.one_of(*([valid] * 9), junk)


def bodies(program: int, promotions: list[int], customers: list[int]) -> Any:
    ids = st.sampled_from(customers) | st.integers(min_value=-2, max_value=2**63)
    entry = st.fixed_dictionaries(
        {"identifierValue": mostly(ids.map(str))},
        optional={
            "source": st.sampled_from(["INSTORE", "instore", "ALL", "MARS", ""]) | junk,
            "earnIds": st.lists(st.integers(min_value=-1, max_value=50), max_size=3) | junk,
        },
    )
    return st.fixed_dictionaries(
        {
            "type": mostly(st.sampled_from(["CUSTOMER", "CUSTOMER", "USERGROUP2", "customer"])),
            "promotionDetails": mostly(
                st.fixed_dictionaries(
                    {
                        "programId": mostly(st.sampled_from([program, str(program), 999])),
                        "promotionId": mostly(st.sampled_from(promotions)),
                    },
                    optional={"promoIdentifier": junk},
                )
            ),
            "customers": mostly(st.lists(entry, min_size=1, max_size=4)),
            "identifierName": mostly(st.sampled_from(["id", "id", "mobile", "email", "ID"])),
        },
        optional={
            "bulkAction": mostly(
                st.sampled_from(
                    ["ENROL", "EARN", "REVOKE_EARN", "REVOKE_ENROL", "REVOKE_ISSUAL", "enrol"]
                )
            ),
        },
    )


def test_generated_bulk_bodies_never_5xx_and_a_400_changes_nothing(
    world: World, database_url: str
) -> None:
    org = world.org()
    till = world.till(org, access="customer:write")
    program = world.program(org)
    enrol = world.promotion(org, program, enrolments_per_customer=3, earns_per_customer=3)
    direct = world.promotion(org, program, type="DIRECT_ISSUE", earns_per_customer=3)
    people = [c.id for c in world.customers(org, program, 3)]
    seen: dict[int, int] = {}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(path=st.sampled_from(PATHS), body=bodies(program, [enrol.id, direct.id], people))
    def run(path: str, body: Any) -> None:
        before = inv.table_counts(database_url)
        response = world.client.post(
            path,
            content=orjson.dumps(body),
            headers={**till.headers, "Content-Type": "application/json"},
        )
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        assert response.status_code in (200, 400), (path, body, response.text[:300])
        if response.status_code == 400:
            assert inv.table_counts(database_url) == before, (path, body)
            assert response.json()["failureCount"] == 1

    run()
    # Both kinds of answer were exercised.
    assert seen.get(400), seen
    assert seen.get(200), seen
    inv.check(database_url)
