"""Assertions that wait as long as the condition takes: Playwright's ``expect`` gives up after
5 s by default, which a busy machine (a job worker, a page reload) can exceed. A module that
imports ``patient_expect`` waits up to HANG_SECONDS for its assertions, then restores the
default for other modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.support.waiting import HANG_SECONDS

DEFAULT_EXPECT_MS = 5_000


@pytest.fixture(autouse=True)
def patient_expect() -> Iterator[None]:
    expect.set_options(timeout=HANG_SECONDS * 1000)
    yield
    expect.set_options(timeout=DEFAULT_EXPECT_MS)
