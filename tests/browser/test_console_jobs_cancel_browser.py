"""Jobs in a real browser against a ``promoledger serve`` without job workers (and a test app
without them either), so an uploaded job stays QUEUED until the test acts: cancel it, and a bad
file's refusal shown on the form."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from promoledger.settings import Settings
from promoledger.store import tables as t
from tests.browser.conftest import shot
from tests.browser.test_console_browser import _sign_in
from tests.support.factories import World
from tests.support.jobs import Campaign, campaign, csv_file
from tests.support.servers import Server, running
from tests.support.waiting import HANG_SECONDS

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(database_url: str) -> Settings:
    # The test's own app (behind ``world``) must not run jobs either.
    return Settings(
        database_url=database_url,
        db_pool_size=5,
        db_pool_timeout=HANG_SECONDS,
        sqlite_busy_timeout_ms=int(HANG_SECONDS * 1000),
        job_workers=0,
    )


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    with running(database_url, tmp_path, PROMOLEDGER_JOB_WORKERS="0") as (started,):
        yield started


def _choose(page: Page, c: Campaign, file: bytes, name: str = "revoke.csv") -> None:
    page.goto("/console/jobs")
    page.get_by_label("Program and promotion").select_option(f"{c.program_id}:{c.promotion.id}")
    page.get_by_label("Action").select_option("REVOKE_EARN")
    page.get_by_label("File").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": file}
    )
    page.get_by_role("button", name="Upload and start").click()


def test_cancel_a_queued_job(page: Page, world: World) -> None:
    c = campaign(world, 2)
    till = world.till(c.caller.org_id, access="customer:write,config:read")
    _sign_in(page, till)
    _choose(page, c, csv_file([{"identifierValue": str(p.id)} for p in c.customers]))
    expect(page.locator("[data-field=status]")).to_have_text("QUEUED")
    expect(page.locator("[data-field=total]")).to_have_text("2")
    shot(page, "job-queued")
    page.get_by_role("button", name="Cancel job").click()
    expect(page.locator("[data-field=status]")).to_have_text("CANCELLED")
    expect(page.get_by_role("button", name="Cancel job")).to_have_count(0)
    [job] = world.rows(t.jobs)
    assert job.status == "CANCELLED"
    assert len(world.rows(t.earns, status="ACTIVE")) == 4


def test_a_file_without_the_identifier_column_is_refused_on_the_form(
    page: Page, world: World
) -> None:
    c = campaign(world, 1)
    till = world.till(c.caller.org_id, access="customer:write,config:read")
    _sign_in(page, till)
    _choose(page, c, b"mobile\n9100000001\n")
    alert = page.locator("[data-upload-error]")
    expect(alert).to_contain_text("9460: ")
    expect(alert).to_contain_text("identifierValue")
    expect(page.get_by_role("button", name="Upload and start")).to_be_enabled()
    shot(page, "jobs-upload-refused")
    assert world.rows(t.jobs) == []
