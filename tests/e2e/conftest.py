"""Browser tests: real headless Chromium (Debian's package) driven by Playwright.

Playwright's own browser download cannot work offline, so the browser is the system's
``/usr/bin/chromium`` (``make test-e2e`` installs it with apt when missing). Without it these tests
FAIL with the command that installs it. Screenshots go to ``tests/e2e/screenshots/`` (ignored by
git). Every test here carries the ``e2e`` and ``kafka`` markers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = os.environ.get("AGENTSTREAM_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e" in str(item.path):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.kafka)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test-e2e` (apt-get install -y chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def screenshot_dir(request: pytest.FixtureRequest) -> Path:
    path = SCREENSHOTS / request.node.name
    path.mkdir(parents=True, exist_ok=True)
    return path
