"""Jobs and Undo in a real browser against a real ``promoledger serve`` (with its job worker):
a revoke confirmed then undone, and a revoke job uploaded, watched to 100%, its results
downloaded and checked, then undone."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from promoledger.store import tables as t
from tests.browser.conftest import shot
from tests.browser.test_console_browser import _demo, _sign_in
from tests.support.factories import World
from tests.support.jobs import campaign, csv_file

pytestmark = pytest.mark.slow


def test_undo_of_a_confirmed_revoke_puts_the_ledger_back(page: Page, world: World) -> None:
    demo = _demo(world)
    people, enrolments = demo["people"], demo["enrolments"]
    _sign_in(page, demo["till"])
    page.goto(f"/console/revoke?promotion={demo['promotion'].program_id}:{demo['promotion'].id}"
              f"&identifierName=id&identifiers={people[0].id}%0A{people[1].id}"
              "&action=REVOKE_ENROL")  # fmt: skip
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("button", name="Confirm revoke").click()
    expect(page.get_by_text("2 of 2 revoked")).to_be_visible()
    assert world.status_of(t.enrolments, enrolments[0]) == "REVOKED"

    page.get_by_role("button", name="Undo this revoke").click()
    expect(page.get_by_text("Reinstated 2 enrolments and 0 earns; 0 skipped.")).to_be_visible()
    shot(page, "undo-outcome")
    for enrolment in enrolments[:2]:
        assert world.status_of(t.enrolments, enrolment) == "ACTIVE"
    page.goto(f"/console/customers/{people[0].id}")
    expect(page.get_by_role("cell", name="ACTIVE", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="REVOKED", exact=True)).to_have_count(0)


def test_a_revoke_job_is_uploaded_watched_to_100_downloaded_and_undone(
    page: Page, world: World, tmp_path: Path
) -> None:
    c = campaign(world, 5)
    till = world.till(c.caller.org_id, access="customer:write,config:read")
    _sign_in(page, till)
    page.get_by_role("link", name="Jobs", exact=True).click()
    expect(page.get_by_role("heading", name="Jobs")).to_be_visible()
    rows = [{"identifierValue": str(p.id)} for p in c.customers] + [{"identifierValue": "999999"}]
    page.get_by_label("Program and promotion").select_option(f"{c.program_id}:{c.promotion.id}")
    page.get_by_label("Action").select_option("REVOKE_EARN")
    page.get_by_label("Customers are identified by").select_option("id")
    page.get_by_label("File").set_input_files(
        {"name": "revoke.csv", "mimeType": "text/csv", "buffer": csv_file(rows)}
    )
    shot(page, "jobs-upload")
    page.get_by_role("button", name="Upload and start").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Job job_\d+"))).to_be_visible()
    # The page polls its progress; the worker runs the job to its end.
    expect(page.locator("[data-field=percent]")).to_have_text("100")
    expect(page.locator("[data-field=status]")).to_have_text("SUCCEEDED")
    expect(page.locator("[data-field=processed]")).to_have_text("6")
    expect(page.locator("[data-field=failed]")).to_have_text("1")
    shot(page, "job-done")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing wider than it
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "job-done-phone")
    page.set_viewport_size({"width": 1100, "height": 760})
    assert world.rows(t.earns, status="ACTIVE") == []

    with page.expect_download() as download:
        page.get_by_role("link", name="Download results (CSV)").click()
    saved = tmp_path / "results.csv"
    download.value.save_as(saved)
    report = list(csv.DictReader(io.StringIO(saved.read_text())))
    assert [(r["line"], r["identifierValue"], r["status"], r["code"]) for r in report] == [
        *[(str(i), str(p.id), "SUCCESS", "") for i, p in enumerate(c.customers, 1)],
        ("6", "999999", "FAILED", "8015"),
    ]
    for r, p in zip(report, c.customers, strict=False):
        assert r["revokedEarnIds"] == ";".join(str(e) for e in c.earns[p.id])

    page.get_by_role("button", name="Undo this job").click()
    expect(page.get_by_text("Reinstated 0 enrolments and 10 earns; 0 skipped.")).to_be_visible()
    shot(page, "job-undone")
    assert len(world.rows(t.earns, status="ACTIVE")) == 10
    page.get_by_role("link", name="Jobs", exact=True).click()
    expect(page.get_by_role("cell", name="SUCCEEDED")).to_have_count(1)
    shot(page, "jobs")
