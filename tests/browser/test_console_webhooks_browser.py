"""Webhooks in a real browser: create an endpoint, see its secret once, find it listed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from promoledger.store import tables as t
from tests.browser.conftest import shot
from tests.browser.test_console_browser import _sign_in
from tests.support.factories import World

pytestmark = pytest.mark.slow


def test_create_an_endpoint_and_see_it_listed(page: Page, world: World) -> None:
    org = world.org()
    till = world.till(org, access="customer:read,config:write")
    _sign_in(page, till)
    page.get_by_role("link", name="Webhooks", exact=True).click()
    expect(page.get_by_text("No endpoints yet.")).to_be_visible()
    page.get_by_label("URL (https)").fill("https://hooks.example.com/promoledger")
    page.get_by_label("every event (*)").uncheck()
    page.get_by_label("earn.revoked").check()
    page.get_by_label("enrolment.reinstated").check()
    page.get_by_label("Description (optional)").fill("CRM sync")
    shot(page, "webhooks-new")
    page.get_by_role("button", name="Create endpoint").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Endpoint \d+ created"))).to_be_visible()
    secret = page.get_by_label(re.compile("^Signing secret")).input_value()
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/=]{40,}", secret)
    shot(page, "webhook-created")

    page.get_by_role("link", name="All endpoints").click()
    row = page.get_by_role("row").filter(has_text="https://hooks.example.com/promoledger")
    expect(row).to_contain_text("enrolment.reinstated, earn.revoked")
    expect(row).to_contain_text("enabled")
    expect(row).to_contain_text("CRM sync")
    assert secret not in page.content()
    shot(page, "webhooks")
    [endpoint] = world.rows(t.webhook_endpoints)
    assert endpoint.url == "https://hooks.example.com/promoledger"

    row.get_by_role("link", name=str(endpoint.id), exact=True).click()
    expect(page.get_by_text("No deliveries yet.")).to_be_visible()
    page.get_by_label("Replay events after id").fill("0")
    page.get_by_role("button", name="Replay").click()
    expect(page.get_by_role("status")).to_contain_text("after 0 will be sent again")
    shot(page, "webhook")
    assert len(world.audit(action="WEBHOOK_REPLAYED")) == 1
