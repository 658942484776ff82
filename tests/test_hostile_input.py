"""A hand list of hostile input against every mutating endpoint, with valid credentials:
malformed and deeply nested JSON, huge numbers, wrong types everywhere, unicode, SQL-looking
strings, NUL bytes, oversized bodies and batches. Always a clear 4xx with a documented code (or,
for a bad value inside one bulk entry, that entry failing), never a 5xx, and nothing written:
the row count of every table is the same before and after.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from promoledger.domain.errors import CATALOGUE
from tests.support import invariants as inv
from tests.support.factories import Caller, World

CODES = {e.code for e in CATALOGUE} | {401, 413}
BULK_PATHS = (inv.ENROL_PATH, inv.DIRECT_PATH, inv.REVOKE_PATH, inv.REVOKE_DIRECT_PATH)

# Raw bodies no endpoint may choke on.
RAW_BODIES: list[bytes] = [
    b"",
    b"null",
    b"[]",
    b"{",
    b'{"type": "CUSTOMER",}',
    b"[" * 100_000,
    b'{"a":' * 50_000,
    b"[" * 1000 + b"]" * 1000,
    b"1" * 5000,
    b"18446744073709551616",
    b"1e400",
    b"-1e400",
    b"NaN",
    b'"\\ud800"',
    b"\xff\xfe\x00\x00",
    b"\xef\xbb\xbf{}",
    b'{"type": "CUSTOMER"}\x00',
    b'"' + b"a" * 1_000_000 + b'"',
    orjson.dumps({"customers": [[[[[[[[[[[]]]]]]]]]]]}),
]

# Values put, one at a time, into each field of a valid bulk body. Raw JSON text, so that
# numbers JSON allows but Python would not produce (2**64, 1e400) arrive as sent.
NASTY_VALUES: list[str] = [
    "null",
    "true",
    "0",
    "-1",
    "18446744073709551616",
    "9223372036854775808",
    "-9223372036854775809",
    "1e400",
    "1.5",
    '""',
    '"   "',
    orjson.dumps("x" * 10_000).decode(),
    "[]",
    "{}",
    '[[[["deep"]]]]',
    orjson.dumps("' OR 1=1; DROP TABLE earns; --").decode(),
    orjson.dumps("a\x00b").decode(),
    orjson.dumps("\x00").decode(),
    orjson.dumps("😀\u202e\ufeffΩ").decode(),
    orjson.dumps("１２３").decode(),  # fullwidth digits: isdigit() but not an id
    orjson.dumps("12 3").decode(),
    orjson.dumps("0x1F").decode(),
    orjson.dumps("-5").decode(),
    orjson.dumps("99999999999999999999999999").decode(),
    orjson.dumps("9" * 5000).decode(),  # past Python's int() digit limit
    "9" * 5000,
]

FIELDS: list[tuple[str, ...]] = [
    ("type",),
    ("bulkAction",),
    ("identifierName",),
    ("promotionDetails",),
    ("promotionDetails", "programId"),
    ("promotionDetails", "promotionId"),
    ("promotionDetails", "promoIdentifier"),
    ("customers",),
    ("customers", "0"),
    ("customers", "0", "identifierValue"),
    ("customers", "0", "source"),
    ("customers", "0", "earnIds"),
    ("customers", "0", "earnIds", "0"),
]
_PLACEHOLDER = "__NASTY__"


@dataclass
class Shop:
    world: World
    till: Caller
    program: int
    promo: Any
    direct: Any
    customer_id: int
    earn_ids: dict[int, int]  # promotion id -> the customer's earn in it

    def valid_body(self, path: str) -> dict[str, Any]:
        promo = self.direct if path in (inv.DIRECT_PATH, inv.REVOKE_DIRECT_PATH) else self.promo
        body: dict[str, Any] = {
            "type": "CUSTOMER",
            "promotionDetails": {"programId": self.program, "promotionId": promo.id},
            "identifierName": "id",
            "customers": [{"identifierValue": str(self.customer_id), "source": "INSTORE"}],
        }
        if path == inv.ENROL_PATH:
            body["bulkAction"] = "ENROL"
        elif path in (inv.REVOKE_PATH, inv.REVOKE_DIRECT_PATH):
            body["bulkAction"] = "REVOKE_EARN"
            body["customers"][0]["earnIds"] = [self.earn_ids[promo.id]]
        return body


@pytest.fixture
def shop(world: World) -> Shop:
    org = world.org()
    till = world.till(org, access="customer:write,config:write")
    program = world.program(org)
    promo = world.promotion(org, program, enrolments_per_customer=-1, earns_per_customer=-1)
    direct = world.promotion(org, program, type="DIRECT_ISSUE", earns_per_customer=-1)
    customer = world.customers(org, program, 1)[0]
    shop = Shop(world, till, program, promo, direct, customer.id, {})
    # Something to revoke: a hostile revoke that slipped through would show up in the counts.
    for path, body in (
        (inv.ENROL_PATH, shop.valid_body(inv.ENROL_PATH)),
        (inv.ENROL_PATH, {**shop.valid_body(inv.ENROL_PATH), "bulkAction": "EARN"}),
        (inv.DIRECT_PATH, shop.valid_body(inv.DIRECT_PATH)),
    ):
        answer = world.client.post(path, json=body, headers=till.headers)
        assert answer.status_code == 200
        result = answer.json()["response"][0]["result"]
        if "earnedId" in result:
            shop.earn_ids[int(body["promotionDetails"]["promotionId"])] = int(result["earnedId"])
    return shop


def _mutations(body: dict[str, Any]) -> Iterator[tuple[str, str, bytes]]:
    for field in FIELDS:
        mutated = copy.deepcopy(body)
        target: Any = mutated
        try:
            for part in field[:-1]:
                target = target[int(part)] if isinstance(target, list) else target[part]
        except KeyError:
            continue  # this endpoint's body has no such field
        last = field[-1]
        if isinstance(target, list):
            target[int(last)] = _PLACEHOLDER
        elif isinstance(target, dict):
            target[last] = _PLACEHOLDER
        else:
            continue
        template = orjson.dumps(mutated).decode()
        for value in NASTY_VALUES:
            yield ".".join(field), value, template.replace(f'"{_PLACEHOLDER}"', value).encode()


def _assert_clean_refusal(response: Any, context: object) -> None:
    """A 4xx with a documented code; or a 200 in which every entry failed."""
    assert response.status_code < 500, (context, response.status_code, response.text[:300])
    body = response.json()
    if response.status_code == 200:
        assert body["failureCount"] == body["totalCount"], (context, body)
        codes = {e["code"] for entry in body["response"] for e in entry["errors"]}
    else:
        assert 400 <= response.status_code < 500, context
        items = body.get("errors") or body["response"][0]["errors"]
        codes = {item["code"] for item in items}
    assert codes, (context, body)
    assert codes <= CODES, (context, codes)


def _may_be_accepted(path: str, field: str, value: str) -> bool:
    """The only nasty values a valid bulk body may still succeed with: the ones that mean
    "absent" for an optional key, and keys the endpoint ignores."""
    if value == "null" and field in (
        "promotionDetails.promoIdentifier",
        "customers.0.source",
        "customers.0.earnIds",
        "bulkAction",
    ):
        return True  # optional keys; null is absence (revokeDirectEarn's bulkAction included)
    if value == '""' and field == "promotionDetails.promoIdentifier":
        return True
    if path in (inv.ENROL_PATH, inv.DIRECT_PATH) and field.startswith("customers.0.earnIds"):
        return True  # earnIds means nothing to enrol/earn
    return path == inv.DIRECT_PATH and field == "bulkAction"  # directEarn takes none


def test_nasty_values_in_every_bulk_field_change_nothing(shop: Shop, database_url: str) -> None:
    world = shop.world
    before = inv.table_counts(database_url)
    refused = 0
    for path in BULK_PATHS:
        for field, value, raw in _mutations(shop.valid_body(path)):
            harmless = _may_be_accepted(path, field, value)
            if harmless:
                # Everything refused since the last snapshot wrote nothing.
                assert inv.table_counts(database_url) == before, (path, field, value)
            response = world.client.post(
                path,
                content=raw,
                headers={**shop.till.headers, "Content-Type": "application/json"},
            )
            if response.status_code == 200 and response.json()["failureCount"] == 0:
                assert harmless, ("accepted", path, field, value, response.text[:300])
                before = inv.table_counts(database_url)
                continue
            _assert_clean_refusal(response, (path, field, value))
            refused += 1
    assert refused > 1000
    assert inv.table_counts(database_url) == before
    inv.check(database_url)


def test_raw_garbage_on_every_post_endpoint_is_a_clean_4xx(shop: Shop, database_url: str) -> None:
    paths = [
        *BULK_PATHS,
        "/v2/promotion/issue?identifierName=id&identifierValue=1",
        "/v3/oauth/token/generate",
        "/admin/v1/programs",
        f"/admin/v1/programs/{shop.program}/promotions",
        "/admin/v1/customers",
    ]
    before = inv.table_counts(database_url)
    for path in paths:
        for raw in RAW_BODIES:
            response = shop.world.client.post(
                path,
                content=raw,
                headers={**shop.till.headers, "Content-Type": "application/json"},
            )
            _assert_clean_refusal(response, (path, raw[:80]))
            if path in BULK_PATHS:
                assert response.status_code == 400, (path, raw[:80])
    assert inv.table_counts(database_url) == before


def test_oversized_bodies_and_batches_are_refused_before_any_write(
    shop: Shop, database_url: str
) -> None:
    client = shop.world.client
    headers = {**shop.till.headers, "Content-Type": "application/json"}
    before = inv.table_counts(database_url)
    twelve_mb = b'{"type":"CUSTOMER","customers":["' + b"x" * (12 * 1024 * 1024) + b'"]}'
    for path in BULK_PATHS:
        declared = client.post(path, content=twelve_mb, headers=headers)
        assert declared.status_code == 413
        assert declared.json()["errors"][0]["code"] == 9413
        # Chunked, with no Content-Length to trust: cut off while streaming.
        streamed = client.post(
            path,
            content=iter([twelve_mb[i : i + 65536] for i in range(0, len(twelve_mb), 65536)]),
            headers=headers,
        )
        assert streamed.status_code == 413
        body = shop.valid_body(path)
        body["customers"] = [{"identifierValue": str(i)} for i in range(1, 10_001)]
        batch = client.post(path, json=body, headers=shop.till.headers)
        assert batch.status_code == 400
        assert batch.json()["response"][0]["errors"][0]["code"] == 1060
    assert inv.table_counts(database_url) == before


def test_nasty_query_parameters_on_the_single_customer_endpoints(
    shop: Shop, database_url: str
) -> None:
    client = shop.world.client
    before = inv.table_counts(database_url)
    for raw in NASTY_VALUES:
        text = orjson.loads(raw) if raw.startswith('"') else raw
        for name in ("id", "mobile", "email", text):
            params = {"identifierName": name, "identifierValue": text, "source": text}
            lookup = client.get(
                "/v2/customers/lookup/promotionData", params=params, headers=shop.till.headers
            )
            _assert_clean_refusal(lookup, ("lookup", params))
            issue = client.post(
                "/v2/promotion/issue",
                params={**params, "source": "INSTORE"},
                json={"programId": shop.program, "promotionId": shop.promo.id},
                headers=shop.till.headers,
            )
            _assert_clean_refusal(issue, ("issue", params))
        for param in ("limit", "offset"):
            lookup = client.get(
                "/v2/customers/lookup/promotionData",
                params={
                    "identifierName": "id",
                    "identifierValue": str(shop.customer_id),
                    param: text,
                },
                headers=shop.till.headers,
            )
            assert lookup.status_code < 500, (param, text, lookup.text)
    assert inv.table_counts(database_url) == before


def test_nul_bytes_in_text_keys_match_nothing_on_either_database(
    shop: Shop, database_url: str
) -> None:
    """PostgreSQL refuses NUL in text outright (that was a 500); no stored key can hold one,
    so on both databases such a key is simply not found."""
    before = inv.table_counts(database_url)
    for name in ("mobile", "email"):
        body = shop.valid_body(inv.ENROL_PATH)
        body["identifierName"] = name
        body["customers"] = [{"identifierValue": "a\x00b", "source": "INSTORE"}]
        answer = shop.world.client.post(inv.ENROL_PATH, json=body, headers=shop.till.headers)
        assert answer.status_code == 200
        assert answer.json()["response"][0]["errors"][0]["code"] == 8015
    body = shop.valid_body(inv.ENROL_PATH)
    body["promotionDetails"]["promoIdentifier"] = "\x00"
    answer = shop.world.client.post(inv.ENROL_PATH, json=body, headers=shop.till.headers)
    assert answer.status_code == 400
    assert answer.json()["response"][0]["errors"][0]["code"] == 8874
    lookup = shop.world.client.get(
        "/v2/customers/lookup/promotionData",
        params={"identifierName": "email", "identifierValue": "a\x00b"},
        headers=shop.till.headers,
    )
    assert lookup.status_code == 400
    assert lookup.json()["errors"][0]["code"] == 8015
    assert inv.table_counts(database_url) == before
