"""Browser tests: Playwright driving Debian's chromium against a real ``promoledger serve``.

Chromium comes from the distribution (``make test`` installs it when missing); Playwright's own
browser download is not used. Without chromium the tests skip, except with CI=true, where a
missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.servers import Server, running
from tests.support.waiting import HANG_SECONDS

CHROMIUM = os.environ.get("PROMOLEDGER_TEST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def _chromium() -> str:
    found = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if found:
        return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(
            f"chromium not found at {CHROMIUM} (make test installs it: apt-get install chromium)"
        )
    pytest.skip("chromium is not installed (make test installs it)")


# Module scope, not session: Playwright's sync API runs an event loop in this thread while it
# is open, and another module's test on the same xdist worker calling asyncio.run() would fail.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    path = _chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=path, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()


@pytest.fixture(autouse=True)
def patient_expect() -> Iterator[None]:
    """Assertions wait as long as the condition takes: ``expect`` gives up after 5 s by
    default, which a busy machine (a job worker, a page reload) can exceed."""
    expect.set_options(timeout=HANG_SECONDS * 1000)
    yield
    expect.set_options(timeout=5_000)


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    with running(database_url, tmp_path) as (started,):
        yield started


@pytest.fixture
def page(browser: Browser, server: Server) -> Iterator[Page]:
    context = browser.new_context(base_url=server.url, viewport={"width": 1100, "height": 760})
    context.set_default_timeout(300_000)  # waits for a condition; a busy machine is not a failure
    opened = context.new_page()
    yield opened
    context.close()


def shot(page: Page, name: str) -> None:
    """Save a full-page screenshot as a test artifact (test-artifacts/screenshots/NAME.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
