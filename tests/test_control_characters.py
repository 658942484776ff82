"""Control characters never reach the database through the admin API: 422 naming the field."""

from __future__ import annotations

import pytest

from promoledger.domain.errors import VALIDATION
from promoledger.store import tables as t
from tests.support.factories import World

CONTROL = ["\x00", "\n", "\r", "\t", "\x1b[31m", "\x08", "\x7f", "\x85", "\x9b"]


@pytest.mark.parametrize("char", CONTROL)
def test_customer_fields_refuse_control_characters(world: World, char: str) -> None:
    admin = world.till(world.org())
    for field, value in (
        ("mobile", f"9170{char}1"),
        ("email", f"a{char}b@example.com"),
        ("externalId", f"x{char}y"),
    ):
        response = world.client.post(
            "/admin/v1/customers",
            json={"customers": [{field: value}]},
            headers=admin.headers,
        )
        assert response.status_code == 422, (field, repr(char), response.text)
        (error,) = response.json()["errors"]
        assert error["code"] == VALIDATION.code
        assert error["field"] == f"customers.0.{field}"
    assert world.rows(t.customers) == []


def test_program_and_promotion_names_refuse_control_characters(world: World) -> None:
    admin = world.till(world.org())
    response = world.client.post(
        "/admin/v1/programs", json={"name": "Acme\r\nX-Injected: 1"}, headers=admin.headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "name"
    assert world.rows(t.programs) == []


def test_ordinary_unicode_is_still_accepted(world: World) -> None:
    admin = world.till(world.org())
    response = world.client.post(
        "/admin/v1/customers",
        json={"customers": [{"mobile": "+91 70100 00000", "email": "zoë@exämple.com"}]},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
