"""The console in a real browser: sign-in and out, CSRF refusal, search, preview then confirm,
a double click revoking once, and the access-denied page of a read-only till."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from promoledger.store import tables as t
from tests.browser.conftest import shot
from tests.support.factories import Caller, World

pytestmark = pytest.mark.slow


def _demo(world: World, access: str = "customer:write,config:read") -> dict[str, Any]:
    """Demo-like data: a program with an enrol-and-issue promotion and three enrolled customers,
    one of whom has an earn."""
    org = world.org("Demo Retail")
    till = world.till(org, access=access)
    program = world.program(org, "Demo Rewards")
    promotion = world.promotion(org, program)
    people = world.customers(org, program, n=3)
    enrolments = [world.enrolment(org, promotion.id, c.id) for c in people]
    earn = world.earn(org, promotion.id, people[2].id, enrolments[2])
    return {"till": till, "promotion": promotion, "people": people, "enrolments": enrolments,
            "earn": earn}  # fmt: skip


def _sign_in(page: Page, till: Caller) -> None:
    page.goto("/console/signin")
    page.get_by_label("Till code or client key").fill(till.name)
    page.get_by_label("Password or client secret").fill(till.secret)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_search_customer_page_and_sign_out(page: Page, world: World) -> None:
    demo = _demo(world)
    page.goto("/console/signin")
    shot(page, "signin")
    _sign_in(page, demo["till"])
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()
    expect(page.get_by_text(demo["till"].name)).to_be_visible()

    first = demo["people"][0]
    page.get_by_label("Id, or the start of a mobile, email or external id").fill("ext-")
    page.get_by_role("button", name="Search").click()
    for person in demo["people"]:
        expect(page.get_by_role("link", name=str(person.id), exact=True)).to_be_visible()
    shot(page, "customers")
    page.get_by_role("link", name=str(first.id), exact=True).click()
    expect(page.get_by_role("heading", name=f"Customer {first.id}")).to_be_visible()
    expect(page.get_by_text(f"Enrolment {demo['enrolments'][0]}")).to_be_visible()
    shot(page, "customer")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing wider than it
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "customer-phone")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert world.rows(t.console_sessions) == []
    response = page.goto("/console/customers")
    assert response is not None
    assert response.status == 401
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_preview_then_confirm_revokes_and_the_ledger_shows_it(page: Page, world: World) -> None:
    demo = _demo(world)
    person, enrolment = demo["people"][0], demo["enrolments"][0]
    _sign_in(page, demo["till"])
    page.goto(f"/console/customers/{person.id}")
    page.get_by_role("link", name="Revoke enrolment…").click()
    expect(page.get_by_label(re.compile("^Identifiers, one per line"))).to_have_value(
        str(person.id)
    )
    shot(page, "revoke")
    # Two lines: the preview carries them (hidden field) to the confirm intact.
    other = demo["people"][1]
    page.get_by_label(re.compile("^Identifiers, one per line")).fill(f"{person.id}\n{other.id}")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", name=re.compile("Preview"))).to_be_visible()
    expect(page.get_by_role("cell", name="Would revoke")).to_have_count(2)
    shot(page, "revoke-preview")
    assert world.status_of(t.enrolments, enrolment) == "ACTIVE"  # a preview changes nothing

    page.get_by_role("button", name="Confirm revoke").click()
    expect(page.get_by_text("2 of 2 revoked")).to_be_visible()
    shot(page, "revoke-outcome")
    assert world.status_of(t.enrolments, enrolment) == "REVOKED"
    assert world.status_of(t.enrolments, demo["enrolments"][1]) == "REVOKED"

    page.get_by_role("link", name=str(person.id), exact=True).click()
    expect(page.get_by_text("REVOKED")).to_be_visible()
    expect(page.get_by_text(f"TILL:{demo['till'].credential_id}")).to_be_visible()
    shot(page, "customer-revoked")

    page.get_by_role("link", name="Audit", exact=True).click()
    page.get_by_label("Action").fill("REVOKE_ENROL")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("cell", name="REVOKE_ENROL")).to_have_count(2)
    shot(page, "audit")


def test_a_double_click_on_confirm_revokes_once(page: Page, world: World) -> None:
    demo = _demo(world)
    person, enrolment = demo["people"][1], demo["enrolments"][1]
    _sign_in(page, demo["till"])
    page.goto(f"/console/revoke?promotion={demo['promotion'].program_id}:{demo['promotion'].id}"
              f"&identifierName=id&identifiers={person.id}&action=REVOKE_ENROL")  # fmt: skip
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("button", name="Confirm revoke")).to_be_visible()
    # Two submissions of the very same form at once (what a double click sends without the
    # page's script), then the button itself, double-clicked.
    statuses = page.evaluate(
        """async () => {
            const form = document.querySelector("form.confirm");
            const body = new URLSearchParams(new FormData(form));
            const url = form.getAttribute("action");
            const send = () => fetch(url, {method: "POST", body}).then(r => r.status);
            return Promise.all([send(), send()]);
        }"""
    )
    assert statuses == [200, 200]
    page.get_by_role("button", name="Confirm revoke").dblclick()
    expect(page.get_by_text("already been confirmed")).to_be_visible()
    assert world.status_of(t.enrolments, enrolment) == "REVOKED"
    assert len(world.rows(t.enrolments, status="REVOKED")) == 1
    assert len(world.audit(action="REVOKE_ENROL")) == 1


def test_a_form_without_the_session_csrf_token_is_refused(page: Page, world: World) -> None:
    demo = _demo(world)
    _sign_in(page, demo["till"])
    page.goto(f"/console/revoke?promotion={demo['promotion'].program_id}:{demo['promotion'].id}"
              f"&identifierName=id&identifiers={demo['people'][0].id}")  # fmt: skip
    page.locator("form[action='/console/revoke/preview'] input[name=csrf]").evaluate(
        "input => { input.value = 'forged'; }"
    )
    with page.expect_response(re.compile("/console/revoke/preview")) as answer:
        page.get_by_role("button", name="Preview").click()
    assert answer.value.status == 403
    expect(page.get_by_role("heading", name="Form refused")).to_be_visible()
    shot(page, "csrf-refused")
    assert world.rows(t.enrolments, status="REVOKED") == []


def test_a_read_only_till_gets_the_access_denied_page(page: Page, world: World) -> None:
    demo = _demo(world, access="customer:read,config:read")
    _sign_in(page, demo["till"])
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()
    with page.expect_response(re.compile("/console/revoke$")) as answer:
        page.get_by_role("link", name="Revoke", exact=True).click()
    assert answer.value.status == 403
    expect(page.get_by_role("heading", name="Access denied")).to_be_visible()
    shot(page, "access-denied")
